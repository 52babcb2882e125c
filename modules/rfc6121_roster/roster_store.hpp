#pragma once
// The roster in the per-account key-value shape, shared by roster management (§2), the
// subscription state machine (§3) and presence (§4). Every function runs on the storage
// executor, inside one Storage::run() call per read-modify-write (the executor is one thread, so
// they never interleave).
//
// Stores: "roster" (contact JID -> item with the version at which it last changed),
// "roster_removed" (tombstones: JID -> version of removal, at most kMaxTombstones),
// "roster_meta" ("ver", "floor"), "roster_pending_in" (contact JID -> the stored inbound
// subscription request, §3.1.3 #4) and "presence_last" ("stamp", "stanza": the last
// unavailable presence, §4.3.2 #3 and XEP-0012).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "modules/rfc6121_roster/roster_item.hpp"
#include "storage/backend.hpp"
#include "xml/element.hpp"

namespace starling::modules::roster {

inline constexpr const char* kItems = "roster";
inline constexpr const char* kRemoved = "roster_removed";
inline constexpr const char* kMeta = "roster_meta";
inline constexpr const char* kPendingIn = "roster_pending_in";
inline constexpr const char* kLast = "presence_last";
inline constexpr std::size_t kMaxTombstones = 256;

std::uint64_t to_u64(std::string_view s, std::uint64_t fallback);

struct RosterState {
  std::vector<RosterItem> items;
  std::vector<std::pair<std::string, std::uint64_t>> removed;
  std::uint64_t ver = 0;
  std::uint64_t floor = 0;  // a client version below this cannot be brought up to date by pushes
};

RosterState load(storage::Backend& b, const std::string& domain, const std::string& user);
std::optional<RosterItem> get_item(storage::Backend& b, const std::string& domain,
                                   const std::string& user, const std::string& jid);
std::size_t item_count(storage::Backend& b, const std::string& domain, const std::string& user);
// Writes the item at the next roster version (set in item.ver); false on a storage error.
bool put_item(storage::Backend& b, const std::string& domain, const std::string& user,
              RosterItem& item);
// Removes the item, leaving a tombstone; returns the new roster version.
std::uint64_t remove_item(storage::Backend& b, const std::string& domain, const std::string& user,
                          const std::string& jid);

// The roster push of RFC 6121 §2.1.6 for one item (an <item/> as to_wire or removal_item make).
xml::Element push_for(const xml::Element& item, std::uint64_t ver, const std::string& bare);
xml::Element removal_item(const std::string& jid);

}  // namespace starling::modules::roster
