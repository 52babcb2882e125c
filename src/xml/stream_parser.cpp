#include "xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "xml/writer.hpp"

namespace starling::xml {
namespace {

// Separates namespace URI, local name and prefix in the names expat reports. U+0001 is not an
// XML 1.0 Char, so it can appear neither in a name nor in a namespace URI (not even as a
// character reference).
constexpr char kNsSep = '\x01';

// Largest span of input expat may hold as one incomplete token (in practice a start tag with its
// attributes). Expat 2.5 re-scans an incomplete token from its first byte every time more input
// arrives (CVE-2023-52425), so a peer trickling a huge start tag byte by byte costs quadratic CPU.
// Bounding the token bounds that cost (about 0.2 s of CPU for 16 KiB sent one byte per read);
// no real stanza has a 16 KiB start tag (even two 3071-byte JIDs leave ample room).
constexpr std::uint64_t kMaxTokenBytes = 16 * 1024;

// The depth limit for parse_element(): it has no stream limits, but the tree it returns is
// destroyed and written recursively, so the depth must stay bounded.
constexpr std::size_t kDocumentMaxDepth = 256;

struct ParserDeleter {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};
using ParserPtr = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter>;

bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits an expat name "uri\1local[\1prefix]" or "local".
struct SplitName {
  std::string_view uri;
  std::string_view local;
  std::string_view prefix;
};

SplitName split_name(const XML_Char* raw) {
  std::string_view s(raw);
  std::size_t a = s.find(kNsSep);
  if (a == std::string_view::npos) {
    return {{}, s, {}};
  }
  SplitName n;
  n.uri = s.substr(0, a);
  std::string_view rest = s.substr(a + 1);
  std::size_t b = rest.find(kNsSep);
  if (b == std::string_view::npos) {
    n.local = rest;
  } else {
    n.local = rest.substr(0, b);
    n.prefix = rest.substr(b + 1);
  }
  return n;
}

// Attribute names as Element stores them (see element.hpp).
std::string attr_name(const XML_Char* raw) {
  SplitName n = split_name(raw);
  if (n.uri.empty()) {
    return std::string(n.local);
  }
  std::string out;
  if (n.uri == kXmlNs) {
    out.reserve(4 + n.local.size());
    out += "xml:";
    out += n.local;
    return out;
  }
  out.reserve(n.uri.size() + n.local.size() + 2);
  out += '{';
  out += n.uri;
  out += '}';
  out += n.local;
  return out;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

ParseError map_expat_error(XML_Error code) {
  switch (code) {
    // References to entities other than the predefined five (RFC 6120 §11.1).
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_PARAM_ENTITY_REF:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
    case XML_ERROR_NOT_STANDALONE:
      return ParseError::kRestrictedXml;
    default:
      return ParseError::kNotWellFormed;
  }
}

// One expat parser plus the state that turns its callbacks into stream events (stream mode) or
// a single element tree (document mode, for parse_element).
struct Core {
  Core(ParserLimits lim, bool document) : limits(lim), document_mode(document) {
    token_cap = document ? std::numeric_limits<std::uint64_t>::max()
                         : std::min<std::uint64_t>(kMaxTokenBytes, limits.max_element_size);
    make_parser();
  }

  // Creates the expat parser with our handlers; false (and failed) when out of memory.
  bool make_parser() {
    // RFC 6120 §11.6: UTF-8 only, whatever the XML declaration says.
    parser.reset(XML_ParserCreateNS("UTF-8", kNsSep));
    if (!parser) {
      fail(ParseError::kNotWellFormed, "cannot allocate XML parser");
      return false;
    }
    XML_Parser p = parser.get();
    XML_SetUserData(p, this);
    XML_SetReturnNSTriplet(p, XML_TRUE);  // to report the stream root's prefix
    XML_SetElementHandler(p, &Core::on_start, &Core::on_end);
    XML_SetCharacterDataHandler(p, &Core::on_text);
    XML_SetNamespaceDeclHandler(p, &Core::on_ns_decl, nullptr);
    XML_SetXmlDeclHandler(p, &Core::on_xml_decl);
    // RFC 6120 §11.1 restricted XML: each of these stops the parser. A DOCTYPE is refused as soon
    // as it starts, so no entity can ever be declared, let alone expanded; the declaration
    // handlers below are a second line of defence.
    XML_SetCommentHandler(p, &Core::on_comment);
    XML_SetProcessingInstructionHandler(p, &Core::on_pi);
    XML_SetStartDoctypeDeclHandler(p, &Core::on_doctype);
    XML_SetEntityDeclHandler(p, &Core::on_entity_decl);
    XML_SetUnparsedEntityDeclHandler(p, &Core::on_unparsed_entity_decl);
    XML_SetNotationDeclHandler(p, &Core::on_notation_decl);
    XML_SetElementDeclHandler(p, &Core::on_element_decl);
    XML_SetAttlistDeclHandler(p, &Core::on_attlist_decl);
    XML_SetSkippedEntityHandler(p, &Core::on_skipped_entity);
    XML_SetExternalEntityRefHandler(p, &Core::on_external_entity);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    return true;
  }
  // expat holds a pointer to this object.
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // ---- state ----
  ParserLimits limits;
  bool document_mode;
  std::uint64_t token_cap = 0;
  ParserPtr parser;
  ParseError error = ParseError::kNone;
  std::string detail;
  bool started = false;  // some input has been seen (for the first-byte check)

  std::vector<StreamEvent>* out = nullptr;  // set during feed()
  std::size_t depth = 0;                    // open elements, the stream root included
  std::string root_default_ns;              // default namespace declared on the root
  // What hibernate() needs to rebuild the root: its qualified name and its namespace
  // declarations (prefix, or "" for the default namespace; URI).
  std::string root_qname;
  std::vector<std::pair<std::string, std::string>> root_ns;
  bool hibernating = false;  // the expat parser is freed until more input arrives
  bool resuming = false;     // parsing the rebuilt root start tag: no event
  Element current;                          // the top-level element being built
  std::vector<Element*> stack;              // open elements of `current`, innermost last
  bool have_document = false;               // document mode: the root element is complete
  bool closed = false;                      // the stream root's end tag has been parsed
  std::uint64_t closed_at = 0;              // offset just after that end tag

  // Byte offsets into the whole stream (since the parser was created).
  std::uint64_t total_fed = 0;
  // Start of the span that max_element_size applies to: 0 before the root start tag (the
  // header is capped too), the first byte of the open top-level element, or the end of the last
  // thing completed directly under the root (so whitespace keepalives never accumulate).
  std::uint64_t mark = 0;
  // End of the last event expat reported: everything after it is held as an incomplete token.
  std::uint64_t last_event_end = 0;

  // ---- helpers ----
  void fail(ParseError e, std::string why) {
    if (error != ParseError::kNone) {
      return;
    }
    error = e;
    detail = std::move(why);
    if (parser) {
      XML_StopParser(parser.get(), XML_FALSE);
    }
  }

  bool failed() const { return error != ParseError::kNone; }

  // Byte offsets of the event being reported.
  std::uint64_t event_start() const {
    return static_cast<std::uint64_t>(XML_GetCurrentByteIndex(parser.get()));
  }
  std::uint64_t event_end() const {
    return event_start() + static_cast<std::uint64_t>(XML_GetCurrentByteCount(parser.get()));
  }

  // Checks a complete markup token (tag) that ends at `end` against the token cap. Done on
  // complete tags as well as on pending input so the verdict does not depend on chunking.
  bool tag_too_big(std::uint64_t end) {
    if (end - last_event_end > token_cap) {
      fail(ParseError::kPolicyViolation,
           "markup token larger than " + std::to_string(token_cap) + " bytes");
      return true;
    }
    return false;
  }

  void fill_attrs(const XML_Char** atts, std::vector<std::pair<std::string, std::string>>& dst) {
    std::size_t n = 0;
    while (atts[n] != nullptr) {
      n += 2;
    }
    dst.reserve(n / 2);
    for (std::size_t i = 0; i < n; i += 2) {
      dst.emplace_back(attr_name(atts[i]), std::string(atts[i + 1]));
    }
  }

  // Adds the element that starts here: as the top-level element (`current`) when `parent` is
  // null, else as the last child of `parent`, built in place (no temporary Element to move).
  // The attribute list is sized once, so an element with n attributes costs one allocation
  // for the list, not log2(n) + 1.
  Element& open_element(Element* parent, const XML_Char* raw_name, const XML_Char** atts) {
    SplitName n = split_name(raw_name);
    Element* e = nullptr;
    if (parent == nullptr) {
      current = Element(std::string(n.local), std::string(n.uri));
      e = &current;
    } else {
      e = &parent->add_child(std::string(n.local), std::string(n.uri));
    }
    std::size_t count = 0;
    while (atts[count] != nullptr) {
      count += 2;
    }
    e->reserve_attrs(count / 2);
    for (std::size_t i = 0; i < count; i += 2) {
      // Expat already rejected duplicates (also namespace-expanded ones, XML-Names §6.3).
      e->append_attr(attr_name(atts[i]), std::string(atts[i + 1]));
    }
    return *e;
  }

  // ---- expat callbacks ----
  static Core& self(void* ud) { return *static_cast<Core*>(ud); }

  static void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** atts) {
    Core& s = self(ud);
    if (s.failed()) {
      return;
    }
    std::uint64_t end = s.event_end();
    if (s.tag_too_big(end)) {
      return;
    }
    s.last_event_end = end;
    if (s.document_mode) {
      s.start_document_element(name, atts);
    } else {
      s.start_stream_element(name, atts, end);
    }
  }

  void start_stream_element(const XML_Char* name, const XML_Char** atts, std::uint64_t end) {
    if (depth == 0 && resuming) {
      depth = 1;
      mark = end;
      return;
    }
    if (depth == 0) {
      // The stream header (RFC 6120 §4.2), capped like a top-level element: mark is still 0.
      if (end - mark > limits.max_element_size) {
        fail(ParseError::kPolicyViolation,
             "stream header larger than " + std::to_string(limits.max_element_size) + " bytes");
        return;
      }
      SplitName n = split_name(name);
      StreamHeader h;
      h.name.assign(n.local);
      h.xmlns.assign(n.uri);
      h.prefix.assign(n.prefix);
      root_qname.assign(n.prefix);
      if (!root_qname.empty()) {
        root_qname += ':';
      }
      root_qname += n.local;
      h.default_ns = std::move(root_default_ns);
      fill_attrs(atts, h.attrs);
      out->emplace_back(std::move(h));
      depth = 1;
      mark = end;
      return;
    }
    // Relative depth of the new element: 1 for a stanza.
    if (depth > limits.max_depth) {
      fail(ParseError::kBadFormat,
           "element nesting deeper than " + std::to_string(limits.max_depth));
      return;
    }
    if (depth == 1) {
      mark = event_start();
      stack.clear();
      stack.push_back(&open_element(nullptr, name, atts));
    } else {
      // Only the innermost open element gains children, so the pointers to its ancestors in
      // `stack` stay valid.
      stack.push_back(&open_element(stack.back(), name, atts));
    }
    ++depth;
  }

  void start_document_element(const XML_Char* name, const XML_Char** atts) {
    if (depth >= kDocumentMaxDepth) {
      fail(ParseError::kBadFormat,
           "element nesting deeper than " + std::to_string(kDocumentMaxDepth));
      return;
    }
    if (depth == 0) {
      stack.push_back(&open_element(nullptr, name, atts));
    } else {
      stack.push_back(&open_element(stack.back(), name, atts));
    }
    ++depth;
  }

  static void XMLCALL on_end(void* ud, const XML_Char* /*name*/) {
    Core& s = self(ud);
    if (s.failed()) {
      return;
    }
    std::uint64_t end = s.event_end();
    if (s.tag_too_big(end)) {
      return;
    }
    s.last_event_end = end;
    --s.depth;
    if (s.document_mode) {
      s.stack.pop_back();
      if (s.depth == 0) {
        s.have_document = true;
      }
      return;
    }
    if (s.depth == 0) {
      s.out->emplace_back(StreamEnd{});  // RFC 6120 §4.4
      // Expat is not asked about anything after the stream's end: in incremental mode its verdict
      // on trailing junk depends on how the input was split. feed() checks the rest itself.
      s.closed = true;
      s.closed_at = end;
      XML_StopParser(s.parser.get(), XML_FALSE);
      return;
    }
    s.stack.pop_back();
    if (s.depth == 1) {
      if (end - s.mark > s.limits.max_element_size) {
        s.fail(ParseError::kPolicyViolation,
               "element larger than " + std::to_string(s.limits.max_element_size) + " bytes");
        return;
      }
      s.out->emplace_back(std::move(s.current));
      s.current = Element();
      s.mark = end;
    }
  }

  static void XMLCALL on_text(void* ud, const XML_Char* text, int len) {
    Core& s = self(ud);
    if (s.failed()) {
      return;
    }
    std::string_view t(text, static_cast<std::size_t>(len));
    if (s.document_mode || s.depth >= 2) {
      s.stack.back()->append_text(t);
    } else {
      // Directly under the stream root only whitespace is allowed (RFC 6120 §11.7 keepalives).
      if (!std::all_of(t.begin(), t.end(), is_xml_space)) {
        s.fail(ParseError::kBadFormat, "text at the top level of the stream");
        return;
      }
      s.mark = s.event_end();
    }
    s.last_event_end = s.event_end();
  }

  static void XMLCALL on_ns_decl(void* ud, const XML_Char* prefix, const XML_Char* uri) {
    Core& s = self(ud);
    if (!s.document_mode && s.depth == 0 && !s.resuming) {
      if (prefix == nullptr) {
        s.root_default_ns = uri != nullptr ? uri : "";
      }
      s.root_ns.emplace_back(prefix != nullptr ? prefix : "", uri != nullptr ? uri : "");
    }
  }

  static void XMLCALL on_xml_decl(void* ud, const XML_Char* /*version*/, const XML_Char* encoding,
                                  int /*standalone*/) {
    // The standalone declaration is ignored, as RFC 6120 §11.5 allows.
    Core& s = self(ud);
    if (s.failed()) {
      return;
    }
    if (encoding != nullptr && !iequals_ascii(encoding, "UTF-8")) {
      // RFC 6120 §11.6: no encoding but UTF-8. The error enum has no <unsupported-encoding/>.
      s.fail(ParseError::kNotWellFormed, std::string("unsupported encoding ") + encoding);
      return;
    }
    s.last_event_end = s.event_end();
  }

  static void restricted(void* ud, const char* what) {
    self(ud).fail(ParseError::kRestrictedXml, std::string(what) + " (RFC 6120 §11.1)");
  }
  static void XMLCALL on_comment(void* ud, const XML_Char*) { restricted(ud, "XML comment"); }
  static void XMLCALL on_pi(void* ud, const XML_Char*, const XML_Char*) {
    restricted(ud, "processing instruction");
  }
  static void XMLCALL on_doctype(void* ud, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    restricted(ud, "document type declaration");
  }
  static void XMLCALL on_entity_decl(void* ud, const XML_Char*, int, const XML_Char*, int,
                                     const XML_Char*, const XML_Char*, const XML_Char*,
                                     const XML_Char*) {
    restricted(ud, "entity declaration");
  }
  static void XMLCALL on_unparsed_entity_decl(void* ud, const XML_Char*, const XML_Char*,
                                              const XML_Char*, const XML_Char*, const XML_Char*) {
    restricted(ud, "entity declaration");
  }
  static void XMLCALL on_notation_decl(void* ud, const XML_Char*, const XML_Char*, const XML_Char*,
                                       const XML_Char*) {
    restricted(ud, "notation declaration");
  }
  static void XMLCALL on_element_decl(void* ud, const XML_Char*, XML_Content* model) {
    Core& s = self(ud);
    XML_FreeContentModel(s.parser.get(), model);
    restricted(ud, "element declaration");
  }
  static void XMLCALL on_attlist_decl(void* ud, const XML_Char*, const XML_Char*, const XML_Char*,
                                      const XML_Char*, int) {
    restricted(ud, "attribute list declaration");
  }
  static void XMLCALL on_skipped_entity(void* ud, const XML_Char*, int) {
    restricted(ud, "entity reference");
  }
  static int XMLCALL on_external_entity(XML_Parser p, const XML_Char*, const XML_Char*,
                                        const XML_Char*, const XML_Char*) {
    restricted(XML_GetUserData(p), "external entity reference");
    return XML_STATUS_ERROR;
  }

  // ---- driving ----

  // Records expat's own error when no handler recorded a more specific one.
  void take_expat_error() {
    if (failed()) {
      return;
    }
    XML_Error code = XML_GetErrorCode(parser.get());
    std::string why = XML_ErrorString(code);
    why += " at line ";
    why += std::to_string(XML_GetCurrentLineNumber(parser.get()));
    why += ", column ";
    why += std::to_string(XML_GetCurrentColumnNumber(parser.get()));
    fail(map_expat_error(code), std::move(why));
  }

  // RFC 6120 §11.6: a leading U+FEFF is a character, not a byte order mark, and character data
  // before the root element is not well-formed; expat would silently skip a UTF-8 BOM and honour
  // a UTF-16 one. Anything before the root other than markup or whitespace is an error anyway.
  bool check_first_byte(std::string_view data) {
    if (started || data.empty()) {
      return true;
    }
    started = true;
    if (data[0] != '<' && !is_xml_space(data[0])) {
      fail(ParseError::kNotWellFormed, "stream does not start with markup");
      return false;
    }
    return true;
  }

  // After the stream's end tag only whitespace may follow (XML §2.1 Misc, without comments and
  // PIs, RFC 6120 §11.1); the peer should send nothing more at all (RFC 6120 §4.4).
  ParseError check_after_close(std::string_view data) {
    if (!std::all_of(data.begin(), data.end(), is_xml_space)) {
      fail(ParseError::kNotWellFormed, "data after the end of the stream");
    }
    return error;
  }

  ParseError feed(std::string_view data, std::vector<StreamEvent>& events) {
    if (failed()) {
      return error;
    }
    if (!check_first_byte(data)) {
      return error;
    }
    if (closed) {
      return check_after_close(data);
    }
    if (hibernating && !data.empty() && !wake()) {
      return error;
    }
    // NUL is never an XML character (XML §2.2). Refusing it before expat sees it also keeps expat
    // from guessing UTF-16 from NUL bytes near the start of the stream (RFC 6120 §11.6).
    const std::size_t nul = data.find('\0');
    out = &events;
    parse_pieces(data.substr(0, nul));
    out = nullptr;
    if (nul != std::string_view::npos) {
      fail(ParseError::kNotWellFormed, "NUL byte in the stream");
    }
    return error;
  }

  // Between stanzas, with no input held back, the expat parser (several KiB) can go: all the
  // stream's context is the root start tag, which wake() rebuilds from its name and namespace
  // declarations before the next input. Byte offsets restart with the new parser; limits only
  // use differences of them.
  bool hibernate() {
    if (document_mode || hibernating || !parser || failed() || closed || depth != 1 ||
        total_fed != last_event_end) {
      return false;
    }
    parser.reset();
    current = Element();
    std::vector<Element*>().swap(stack);
    hibernating = true;
    return true;
  }

  bool wake() {
    hibernating = false;
    if (!make_parser()) {
      return false;
    }
    std::string tag = "<" + root_qname;
    for (const auto& [prefix, uri] : root_ns) {
      tag += prefix.empty() ? " xmlns='" : " xmlns:" + prefix + "='";
      escape_attr(uri, tag);
      tag += '\'';
    }
    tag += '>';
    depth = 0;
    total_fed = mark = last_event_end = 0;
    resuming = true;
    XML_Status st = XML_Parse(parser.get(), tag.data(), static_cast<int>(tag.size()), XML_FALSE);
    resuming = false;
    total_fed = tag.size();
    if (st != XML_STATUS_OK || depth != 1) {
      fail(ParseError::kNotWellFormed, "cannot resume the stream");
      return false;
    }
    return true;
  }

  void parse_pieces(std::string_view data) {
    while (!data.empty()) {
      // Hand expat no more than what could complete the open top-level element within the limit,
      // so an endless element is refused after at most max_element_size + 1 bytes.
      std::uint64_t used = total_fed - mark;
      std::uint64_t allowance = limits.max_element_size + 1 - used;
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
          {data.size(), allowance, static_cast<std::uint64_t>(std::numeric_limits<int>::max())}));
      const std::uint64_t piece_start = total_fed;
      XML_Status st = XML_Parse(parser.get(), data.data(), static_cast<int>(n), XML_FALSE);
      total_fed += n;
      if (closed && !failed()) {
        // Stopped at the root's end tag: what follows it in this piece and in the rest of the
        // data was not parsed.
        data.remove_prefix(static_cast<std::size_t>(closed_at - piece_start));
        check_after_close(data);
        break;
      }
      data.remove_prefix(n);
      if (st != XML_STATUS_OK) {
        take_expat_error();
        break;
      }
      if (total_fed - mark > limits.max_element_size) {
        fail(ParseError::kPolicyViolation,
             depth == 0
                 ? "stream header larger than " + std::to_string(limits.max_element_size) + " bytes"
                 : "element larger than " + std::to_string(limits.max_element_size) + " bytes");
        break;
      }
      if (total_fed - last_event_end > token_cap) {
        fail(ParseError::kPolicyViolation,
             "markup token larger than " + std::to_string(token_cap) + " bytes");
        break;
      }
    }
  }

  bool parse_document(std::string_view data, Element& result) {
    if (failed() || !check_first_byte(data) || data.find('\0') != std::string_view::npos) {
      return false;
    }
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return false;
    }
    XML_Status st = XML_Parse(parser.get(), data.data(), static_cast<int>(data.size()), XML_TRUE);
    if (st != XML_STATUS_OK) {
      take_expat_error();
    }
    if (failed() || !have_document) {
      return false;
    }
    result = std::move(current);
    return true;
  }
};

}  // namespace

struct StreamParser::Impl : Core {
  using Core::Core;
};

StreamParser::StreamParser(ParserLimits limits)
    : impl_(std::make_unique<Impl>(limits, /*document=*/false)) {}

StreamParser::~StreamParser() = default;

ParseError StreamParser::feed(std::string_view data, std::vector<StreamEvent>& out) {
  return impl_->feed(data, out);
}

void StreamParser::reset() {
  // A fresh expat parser: the new stream may start with its own XML declaration, and nothing of
  // the old stream (namespaces, partial input) may leak into it (RFC 6120 §5.4.3.3, §6.4.6).
  impl_ = std::make_unique<Impl>(impl_->limits, /*document=*/false);
}

const std::string& StreamParser::error_detail() const { return impl_->detail; }

bool StreamParser::hibernate() { return impl_->hibernate(); }

bool StreamParser::hibernating() const { return impl_->hibernating; }

bool parse_element(std::string_view xml, Element& out) {
  // No size limit: the caller already holds the whole text.
  ParserLimits limits;
  limits.max_element_size = std::numeric_limits<std::size_t>::max() / 2;
  Core core(limits, /*document=*/true);
  return core.parse_document(xml, out);
}

}  // namespace starling::xml
