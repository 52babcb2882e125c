#pragma once
// Incremental parser of an XML stream (RFC 6120 §4) on expat. Yields the stream header, each
// top-level element (a stanza or nonza) as a tree, and the end of the stream. Enforces RFC 6120
// §11 restricted XML and a size limit on each top-level element.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "xml/element.hpp"

namespace starling::xml {

struct StreamHeader {
  std::string name;        // local name of the root element ("stream")
  std::string xmlns;       // namespace of the root element (kStreamNs when correct)
  std::string prefix;      // prefix used on the root element ("stream", or "" if none)
  std::string default_ns;  // default namespace declared on the root ("" if none)
  // Attributes as Element stores them: "to", "from", "version", "id", "xml:lang", ...
  std::vector<std::pair<std::string, std::string>> attrs;
  const std::string* attr(std::string_view n) const {
    for (auto& [k, v] : attrs) {
      if (k == n) {
        return &v;
      }
    }
    return nullptr;
  }
};
struct StreamEnd {};
using StreamEvent = std::variant<StreamHeader, Element, StreamEnd>;

enum class ParseError {
  kNone,
  kNotWellFormed,    // <not-well-formed/>
  kRestrictedXml,    // <restricted-xml/>: comment, PI, DTD, entity declaration or reference
  kPolicyViolation,  // <policy-violation/>: a top-level element larger than max_element_size
  kBadFormat,        // <bad-format/>: e.g. text at the top level of the stream, depth limit
};

// The RFC 6120 §4.9.3 stream error condition of an input error.
inline const char* stream_error_condition(ParseError e) {
  switch (e) {
    case ParseError::kRestrictedXml:
      return "restricted-xml";
    case ParseError::kPolicyViolation:
      return "policy-violation";
    case ParseError::kBadFormat:
      return "bad-format";
    default:
      return "not-well-formed";
  }
}

struct ParserLimits {
  std::size_t max_element_size = 262144;  // bytes of one top-level element, markup included
  std::size_t max_depth = 64;             // nesting depth of a top-level element
};

class StreamParser {
 public:
  explicit StreamParser(ParserLimits limits = {});
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Parses `data` and appends complete events to `out`. Whitespace between top-level elements
  // (keepalives) produces no event. On error returns it; the parser then stays failed until
  // reset(). Events completed before the error are still appended.
  ParseError feed(std::string_view data, std::vector<StreamEvent>& out);
  // Starts a new stream (after STARTTLS or SASL success): discards all state.
  void reset();
  // Human-readable detail of the last error (for logs and <text/>).
  const std::string& error_detail() const;
  // For idle streams: frees the XML parser's memory when the stream is between top-level
  // elements with no partial input held; the next feed() rebuilds it, with the same result as
  // if nothing had happened. Returns whether it did.
  bool hibernate();
  bool hibernating() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses one complete XML document (no stream): used by tests, config snippets and storage.
// Restricted XML rules apply. Returns false on error.
bool parse_element(std::string_view xml, Element& out);

}  // namespace starling::xml
