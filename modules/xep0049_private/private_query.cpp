#include "modules/xep0049_private/private_query.hpp"

namespace starling::modules::private_xml {

namespace {
xmpp::StanzaError not_acceptable(std::string text) {
  return {xmpp::ErrorType::kModify, "not-acceptable", std::move(text)};
}
}  // namespace

bool reserved(std::string_view ns) {
  return ns.starts_with("jabber:") || ns.starts_with("http://jabber.org/") || ns == "vcard-temp";
}

std::string key_of(const xml::Element& e) { return "{" + e.xmlns() + "}" + e.name(); }

std::variant<Fragments, xmpp::StanzaError> check(const xml::Element& query, bool is_get) {
  Fragments out = query.elements();
  if (out.empty()) {
    return not_acceptable("The query needs a child element in its own namespace");
  }
  for (const xml::Element* e : out) {
    if (reserved(e->xmlns())) {
      return not_acceptable("The namespace " + e->xmlns() + " is reserved");
    }
    if (is_get && e->xmlns() != out.front()->xmlns()) {
      return xmpp::StanzaError::bad_request("A request may name only one namespace");
    }
  }
  return out;
}

}  // namespace starling::modules::private_xml
