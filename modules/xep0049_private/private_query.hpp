#pragma once
// XEP-0049 Private XML Storage: checking a jabber:iq:private request.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

namespace starling::modules::private_xml {

inline constexpr std::string_view kPrivateNs = "jabber:iq:private";

// §2.3: namespaces beginning with 'jabber:' or 'http://jabber.org/', and 'vcard-temp'.
bool reserved(std::string_view ns);

// The storage key of one fragment: its namespace and local name, "{ns}name".
std::string key_of(const xml::Element& e);

// The fragments of a <query xmlns='jabber:iq:private'/> (its child elements), or the error the
// request gets: not-acceptable for no child (§2.3 "MUST respond with a Not Acceptable error")
// or a reserved namespace (§2.3, OPTIONAL, which we apply to get and set), bad-request for a get
// naming more than one namespace (§2.3: "MUST NOT query for more than one namespace").
using Fragments = std::vector<const xml::Element*>;
std::variant<Fragments, xmpp::StanzaError> check(const xml::Element& query, bool is_get);

}  // namespace starling::modules::private_xml
