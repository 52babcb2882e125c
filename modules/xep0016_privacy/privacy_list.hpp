#pragma once
// A privacy list (XEP-0016 §2): value type, parser with the XEP's validation, serializer, and the
// matching rules (§2.1, §2.2). The blocklist of XEP-0191 is the default list's jid/deny items
// that block everything (XEP-0191 §5).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "modules/rfc6121_roster/roster_item.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::modules::privacy {

inline constexpr std::string_view kPrivacyNs = "jabber:iq:privacy";

// What an item applies to (§2.1); an item with none of them applies to every kind, both ways.
enum Kind : std::uint8_t {
  kMessage = 1,      // inbound messages
  kIq = 2,           // inbound iq
  kPresenceIn = 4,   // inbound presence
  kPresenceOut = 8,  // outbound presence
};

struct PrivacyItem {
  enum class Type { kAll, kJid, kGroup, kSubscription };
  Type type = Type::kAll;  // kAll: no 'type', the fall-through case
  std::string value;
  bool allow = false;
  std::uint32_t order = 0;
  std::uint8_t kinds = 0;  // 0: everything
  bool operator==(const PrivacyItem&) const = default;
};

struct PrivacyList {
  std::string name;
  std::vector<PrivacyItem> items;  // ascending 'order'
  bool operator==(const PrivacyList&) const = default;
};

// Parses <list name='…'>…</list> of a privacy set. Errors per §2.1 and §3: bad-request for a
// missing or bad 'action' or 'order', a duplicate 'order', an unknown 'type' or subscription
// value, or a 'jid' value that is not a JID.
std::variant<PrivacyList, xmpp::StanzaError> parse_list(const xml::Element& list);
xml::Element to_element(const PrivacyList& list);  // <list name='…'><item …/>…</list>

// The user's roster as the 'group' and 'subscription' items see it.
struct ContactInfo {
  roster::Subscription subscription = roster::Subscription::kNone;
  std::vector<std::string> groups;
};
using RosterView = std::unordered_map<std::string, ContactInfo>;  // bare JID -> facts

// §2.1: does the item's JID value match `jid`? ("user@domain/resource" only that resource,
// "user@domain" any resource, "domain/resource" only that resource, "domain" the domain and
// every JID at it.)
bool jid_matches(const std::string& value, const xmpp::Jid& jid);

// §2.2: the first item (by order) that applies to `kind` and matches `other` decides; no match
// allows. `outbound_other` is for outbound messages and iq, which only items without any
// stanza-kind child block (§2.1).
bool denies(const PrivacyList& list, const RosterView& roster, std::uint8_t kind,
            const xmpp::Jid& other);
bool denies_outbound_other(const PrivacyList& list, const RosterView& roster,
                           const xmpp::Jid& other);

// XEP-0191 over XEP-0016: the blocked JIDs of a (default) list, and edits of it.
std::vector<std::string> blocked_jids(const PrivacyList& list);
bool is_block_item(const PrivacyItem& item);
// Puts deny items for `jids` first (those not already blocked) and renumbers the list.
void block(PrivacyList& list, const std::vector<std::string>& jids);
// Removes the block items for `jids` (all of them when `jids` is empty).
void unblock(PrivacyList& list, const std::vector<std::string>& jids);

}  // namespace starling::modules::privacy
