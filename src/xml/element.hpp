#pragma once
// An XML element tree: the value type for stanzas. Namespaces are resolved: every element knows
// its namespace URI; prefixes are not kept (the writer chooses them).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling::xml {

inline constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";

class Element {
 public:
  Element() = default;
  Element(std::string name, std::string xmlns) : name_(std::move(name)), xmlns_(std::move(xmlns)) {}
  static Element text_node(std::string text) {
    Element e;
    e.text_ = std::move(text);
    e.is_text_ = true;
    return e;
  }

  bool is_text() const { return is_text_; }
  const std::string& name() const { return name_; }
  const std::string& xmlns() const { return xmlns_; }
  void set_name(std::string n) { name_ = std::move(n); }
  void set_xmlns(std::string ns) { xmlns_ = std::move(ns); }
  // Text content of a text node.
  const std::string& text_content() const { return text_; }

  // Attributes. Unprefixed attributes by local name; attributes in the XML namespace as
  // "xml:lang"; attributes in another namespace as "{uri}local". Namespace declarations are
  // not attributes.
  const std::vector<std::pair<std::string, std::string>>& attrs() const { return attrs_; }
  const std::string* attr(std::string_view name) const;  // nullptr when absent
  std::string_view attr_or(std::string_view name, std::string_view fallback = {}) const;
  Element& set_attr(std::string name, std::string value);  // replaces an existing one
  bool remove_attr(std::string_view name);
  // Appends without looking for an existing attribute of that name: for builders (the parser)
  // that already guarantee unique names, so many attributes cost O(n), not O(n^2).
  Element& append_attr(std::string name, std::string value);
  // Room for n attributes in all, for builders that know the count before appending.
  void reserve_attrs(std::size_t n) { attrs_.reserve(n); }

  // Children, in document order: elements and text nodes.
  const std::vector<Element>& nodes() const { return children_; }
  std::vector<Element>& nodes() { return children_; }
  Element& add_child(Element child);                        // returns the added child
  Element& add_child(std::string name, std::string xmlns);  // new empty child
  void add_text(std::string text);                          // merges with a trailing text node
  void append_text(std::string_view text);  // as add_text, without a temporary string
  // First child element with this local name and namespace (empty xmlns: any namespace).
  const Element* child(std::string_view name, std::string_view xmlns = {}) const;
  Element* child(std::string_view name, std::string_view xmlns = {});
  // First child element of any name in this namespace.
  const Element* child_ns(std::string_view xmlns) const;
  // Element children only.
  std::vector<const Element*> elements() const;
  // Concatenated text of direct text children.
  std::string text() const;
  // Text of child(name, xmlns), or empty.
  std::string child_text(std::string_view name, std::string_view xmlns = {}) const;

  // Structural equality: names, namespaces, attributes in order, children.
  bool operator==(const Element& other) const = default;

 private:
  std::string name_;
  std::string xmlns_;
  std::string text_;
  bool is_text_ = false;
  std::vector<std::pair<std::string, std::string>> attrs_;
  std::vector<Element> children_;
};

}  // namespace starling::xml
