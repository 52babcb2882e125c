#pragma once
// The one XML writer. It always escapes; XML is never written by string concatenation elsewhere.
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace starling::xml {

inline constexpr std::string_view kStreamNs = "http://etherx.jabber.org/streams";

// Escapes text content: & < > (and \r as &#13;, so it survives parsing).
void escape_text(std::string_view in, std::string& out);
// Escapes an attribute value (single-quoted): & < > ' " and \t \n \r as character references.
void escape_attr(std::string_view in, std::string& out);

// Serializes `e` as it appears inside a parent whose default namespace is `parent_ns`:
// an xmlns attribute is written only where an element's namespace differs from its parent's.
// Elements in kStreamNs are written with the "stream:" prefix and no declaration (the stream
// header declares it). Attributes "{uri}local" get a generated prefix declared on the element.
void write(const Element& e, std::string& out, std::string_view parent_ns = {});
std::string to_string(const Element& e, std::string_view parent_ns = {});

}  // namespace starling::xml
