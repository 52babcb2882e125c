#include "xml/writer.hpp"

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace starling::xml {
namespace {

constexpr std::string_view kXmlnsNs = "http://www.w3.org/2000/xmlns/";

// What to do with one byte when escaping.
enum Action : std::uint8_t {
  kCopy = 0,
  kDrop,  // C0 controls other than \t \n \r are not XML 1.0 Chars (§2.2) and cannot even be
          // written as character references; emitting one would make the peer close the stream
          // with <not-well-formed/> (RFC 6120 §11.3), so they are dropped.
  kAmp,
  kLt,
  kGt,
  kApos,
  kQuot,
  kTab,
  kLf,
  kCr,
};

constexpr std::array<std::string_view, 10> kReplacement = {
    "", "", "&amp;", "&lt;", "&gt;", "&apos;", "&quot;", "&#9;", "&#10;", "&#13;",
};

using Table = std::array<Action, 256>;

constexpr Table make_table(bool attr) {
  Table t{};
  for (int c = 0; c < 0x20; ++c) {
    t[c] = kDrop;
  }
  t['&'] = kAmp;
  t['<'] = kLt;
  // '>' needs no escaping in XML except after "]]", but escaping it always is simpler and safe.
  t['>'] = kGt;
  t['\r'] = kCr;  // a literal CR would be normalised away by the receiving parser (XML §2.11)
  if (attr) {
    // Values are single-quoted; '"' is escaped too so the value is safe either way. Whitespace
    // other than space is written as references because attribute-value normalisation (XML §3.3.3)
    // would otherwise turn it into spaces.
    t['\''] = kApos;
    t['"'] = kQuot;
    t['\t'] = kTab;
    t['\n'] = kLf;
  } else {
    t['\t'] = kCopy;
    t['\n'] = kCopy;
  }
  return t;
}

constexpr Table kTextTable = make_table(false);
constexpr Table kAttrTable = make_table(true);

void escape(std::string_view in, std::string& out, const Table& table) {
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    Action a = table[static_cast<unsigned char>(in[i])];
    if (a == kCopy) {
      continue;
    }
    out.append(in.data() + run_start, i - run_start);
    out.append(kReplacement[a]);
    run_start = i + 1;
  }
  out.append(in.data() + run_start, in.size() - run_start);
}

// A generated prefix for a namespaced attribute: "ns" followed by its index on the element.
void append_prefix(std::size_t index, std::string& out) {
  out += "ns";
  out += std::to_string(index);
}

void write_attrs(const Element& e, std::string& out) {
  // Namespaces of "{uri}local" attributes on this element, in order of first use; the index is
  // the generated prefix. Declared on this element only, so nothing has to be tracked across
  // the tree (a child may reuse "ns0" for another namespace; inner declarations shadow).
  std::vector<std::string_view> prefixed_ns;
  // Only for elements with many namespaces, so a hostile stanza cannot make writing quadratic.
  std::unordered_map<std::string_view, std::size_t> index_of;
  constexpr std::size_t kLinearScanMax = 8;
  for (const auto& [name, value] : e.attrs()) {
    std::string_view n = name;
    if (n.size() > 1 && n.front() == '{') {
      // A namespace URI may contain '}', a local name (an XML NCName) cannot.
      std::size_t close = n.rfind('}');
      if (close == std::string_view::npos) {
        continue;  // not a name the parser could have produced: skip rather than corrupt
      }
      std::string_view uri = n.substr(1, close - 1);
      std::string_view local = n.substr(close + 1);
      if (uri == kXmlnsNs || local.empty()) {
        continue;  // namespace declarations are not attributes
      }
      out += ' ';
      if (uri.empty()) {
        out += local;
      } else if (uri == kXmlNs) {
        out += "xml:";
        out += local;
      } else {
        std::size_t index = 0;
        if (prefixed_ns.size() <= kLinearScanMax) {
          while (index < prefixed_ns.size() && prefixed_ns[index] != uri) {
            ++index;
          }
        } else {
          auto it = index_of.find(uri);
          index = it != index_of.end() ? it->second : prefixed_ns.size();
        }
        if (index == prefixed_ns.size()) {
          prefixed_ns.push_back(uri);
          if (prefixed_ns.size() > kLinearScanMax) {
            if (index_of.empty()) {
              for (std::size_t i = 0; i < prefixed_ns.size(); ++i) {
                index_of.emplace(prefixed_ns[i], i);
              }
            } else {
              index_of.emplace(uri, index);
            }
          }
          out += "xmlns:";
          append_prefix(index, out);
          out += "='";
          escape(uri, out, kAttrTable);
          out += "' ";
        }
        append_prefix(index, out);
        out += ':';
        out += local;
      }
    } else {
      if (n == "xmlns" || n.starts_with("xmlns:")) {
        continue;  // namespace declarations are not attributes (the writer owns them)
      }
      out += ' ';
      out += n;
    }
    out += "='";
    escape(value, out, kAttrTable);
    out += '\'';
  }
}

// Namespaces written with a fixed prefix instead of a default-namespace declaration.
std::string_view fixed_prefix(std::string_view ns) {
  if (ns == kStreamNs) {
    return "stream:";  // RFC 6120 §4.8.5: the stream header declares the "stream" prefix
  }
  if (ns == kXmlNs) {
    return "xml:";  // predeclared, and XML-Names §3 forbids it as a default namespace
  }
  return {};
}

void write_element(const Element& e, std::string& out, std::string_view parent_ns) {
  if (e.is_text()) {
    escape(e.text_content(), out, kTextTable);
    return;
  }
  // The namespace in effect for unprefixed children: prefixed elements leave it unchanged.
  std::string_view child_ns = parent_ns;
  const std::string_view prefix = fixed_prefix(e.xmlns());
  out += '<';
  out += prefix;
  out += e.name();
  if (prefix.empty()) {
    if (e.xmlns() != parent_ns) {
      out += " xmlns='";
      escape(e.xmlns(), out, kAttrTable);
      out += '\'';
    }
    child_ns = e.xmlns();
  }
  write_attrs(e, out);
  if (e.nodes().empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const Element& c : e.nodes()) {
    write_element(c, out, child_ns);
  }
  out += "</";
  out += prefix;
  out += e.name();
  out += '>';
}

}  // namespace

void escape_text(std::string_view in, std::string& out) { escape(in, out, kTextTable); }

void escape_attr(std::string_view in, std::string& out) { escape(in, out, kAttrTable); }

void write(const Element& e, std::string& out, std::string_view parent_ns) {
  write_element(e, out, parent_ns);
}

std::string to_string(const Element& e, std::string_view parent_ns) {
  std::string out;
  out.reserve(256);
  write_element(e, out, parent_ns);
  return out;
}

}  // namespace starling::xml
