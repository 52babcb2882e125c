#pragma once
// A roster item (RFC 6121 §2.1.2): value type, its stored form, its wire form, and validation of
// the item in a roster set (§2.3.3).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

namespace starling::modules::roster {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";
inline constexpr std::size_t kMaxNameBytes = 1023;   // §2.3.3 "server-configured limit"
inline constexpr std::size_t kMaxGroupBytes = 1023;  // §2.3.3

enum class Subscription { kNone, kTo, kFrom, kBoth };
std::string_view to_string(Subscription s);

struct RosterItem {
  std::string jid;  // prepared JID of the contact
  std::string name;
  Subscription subscription = Subscription::kNone;
  bool ask = false;       // ask='subscribe': an outbound request is pending (§2.1.2.2)
  bool approved = false;  // pre-approved inbound subscription (§2.1.2.1, §3.4)
  std::vector<std::string> groups;
  std::uint64_t ver = 0;  // roster version at which this item last changed
};

// The <item/> a client sees (roster result or push).
xml::Element to_wire(const RosterItem& item);
// The stored form keeps `ver`; parse_stored returns nullopt for a corrupt value.
std::string to_stored(const RosterItem& item);
std::optional<RosterItem> parse_stored(const std::string& value);

// What a roster set asks for (§2.1.5): a validated item to add or update, or a removal.
struct SetRequest {
  std::string jid;
  bool remove = false;
  std::string name;
  std::vector<std::string> groups;
};
// Validates the <query/> of a roster set; `own_bare` is the account's bare JID.
std::variant<SetRequest, xmpp::StanzaError> parse_set(const xml::Element& query,
                                                      const std::string& own_bare);

}  // namespace starling::modules::roster
