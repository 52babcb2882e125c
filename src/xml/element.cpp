#include "xml/element.hpp"

#include <algorithm>

namespace starling::xml {

const std::string* Element::attr(std::string_view name) const {
  for (const auto& [k, v] : attrs_) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

std::string_view Element::attr_or(std::string_view name, std::string_view fallback) const {
  const std::string* v = attr(name);
  return v != nullptr ? std::string_view(*v) : fallback;
}

Element& Element::set_attr(std::string name, std::string value) {
  for (auto& [k, v] : attrs_) {
    if (k == name) {
      v = std::move(value);
      return *this;
    }
  }
  attrs_.emplace_back(std::move(name), std::move(value));
  return *this;
}

Element& Element::append_attr(std::string name, std::string value) {
  attrs_.emplace_back(std::move(name), std::move(value));
  return *this;
}

bool Element::remove_attr(std::string_view name) {
  auto it =
      std::find_if(attrs_.begin(), attrs_.end(), [&](const auto& kv) { return kv.first == name; });
  if (it == attrs_.end()) {
    return false;
  }
  attrs_.erase(it);
  return true;
}

Element& Element::add_child(Element child) {
  children_.push_back(std::move(child));
  return children_.back();
}

Element& Element::add_child(std::string name, std::string xmlns) {
  children_.emplace_back(std::move(name), std::move(xmlns));
  return children_.back();
}

void Element::add_text(std::string text) {
  // Empty text nodes would not survive a write/parse round trip, so none are created.
  if (text.empty()) {
    return;
  }
  if (!children_.empty() && children_.back().is_text_) {
    children_.back().text_ += text;
    return;
  }
  children_.push_back(text_node(std::move(text)));
}

void Element::append_text(std::string_view text) {
  if (text.empty()) {
    return;
  }
  if (!children_.empty() && children_.back().is_text_) {
    children_.back().text_.append(text);
    return;
  }
  // Built in place: no temporary node to move.
  Element& node = children_.emplace_back();
  node.text_.assign(text);
  node.is_text_ = true;
}

const Element* Element::child(std::string_view name, std::string_view xmlns) const {
  for (const Element& c : children_) {
    if (!c.is_text_ && c.name_ == name && (xmlns.empty() || c.xmlns_ == xmlns)) {
      return &c;
    }
  }
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view xmlns) {
  return const_cast<Element*>(std::as_const(*this).child(name, xmlns));
}

const Element* Element::child_ns(std::string_view xmlns) const {
  for (const Element& c : children_) {
    if (!c.is_text_ && c.xmlns_ == xmlns) {
      return &c;
    }
  }
  return nullptr;
}

std::vector<const Element*> Element::elements() const {
  std::vector<const Element*> out;
  out.reserve(children_.size());
  for (const Element& c : children_) {
    if (!c.is_text_) {
      out.push_back(&c);
    }
  }
  return out;
}

std::string Element::text() const {
  std::string out;
  for (const Element& c : children_) {
    if (c.is_text_) {
      out += c.text_;
    }
  }
  return out;
}

std::string Element::child_text(std::string_view name, std::string_view xmlns) const {
  const Element* c = child(name, xmlns);
  return c != nullptr ? c->text() : std::string();
}

}  // namespace starling::xml
