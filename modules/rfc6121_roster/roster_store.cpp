#include "modules/rfc6121_roster/roster_store.hpp"

#include <algorithm>
#include <charconv>

namespace starling::modules::roster {

std::uint64_t to_u64(std::string_view s, std::uint64_t fallback) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) ? v : fallback;
}

namespace {
std::uint64_t next_ver(storage::Backend& b, const std::string& domain, const std::string& user) {
  return to_u64(b.kv_get(domain, user, kMeta, "ver").value_or("0"), 0) + 1;
}
}  // namespace

RosterState load(storage::Backend& b, const std::string& domain, const std::string& user) {
  RosterState st;
  for (auto& [k, v] : b.kv_get_all(domain, user, kItems)) {
    if (auto item = parse_stored(v)) {
      st.items.push_back(std::move(*item));
    }
  }
  for (auto& [k, v] : b.kv_get_all(domain, user, kRemoved)) {
    st.removed.emplace_back(k, to_u64(v, 0));
  }
  st.ver = to_u64(b.kv_get(domain, user, kMeta, "ver").value_or("0"), 0);
  st.floor = to_u64(b.kv_get(domain, user, kMeta, "floor").value_or("0"), 0);
  return st;
}

std::optional<RosterItem> get_item(storage::Backend& b, const std::string& domain,
                                   const std::string& user, const std::string& jid) {
  auto v = b.kv_get(domain, user, kItems, jid);
  return v ? parse_stored(*v) : std::nullopt;
}

std::size_t item_count(storage::Backend& b, const std::string& domain, const std::string& user) {
  return b.kv_keys(domain, user, kItems).size();
}

bool put_item(storage::Backend& b, const std::string& domain, const std::string& user,
              RosterItem& item) {
  item.ver = next_ver(b, domain, user);
  if (b.kv_set(domain, user, kItems, item.jid, to_stored(item)) != storage::Status::kOk) {
    return false;
  }
  b.kv_delete(domain, user, kRemoved, item.jid);
  b.kv_set(domain, user, kMeta, "ver", std::to_string(item.ver));
  return true;
}

std::uint64_t remove_item(storage::Backend& b, const std::string& domain, const std::string& user,
                          const std::string& jid) {
  std::uint64_t ver = next_ver(b, domain, user);
  b.kv_delete(domain, user, kItems, jid);
  b.kv_set(domain, user, kRemoved, jid, std::to_string(ver));
  auto tombstones = b.kv_get_all(domain, user, kRemoved);
  if (tombstones.size() > kMaxTombstones) {
    std::sort(tombstones.begin(), tombstones.end(), [](const auto& a, const auto& x) {
      return to_u64(a.second, 0) < to_u64(x.second, 0);
    });
    std::uint64_t floor = 0;
    for (std::size_t i = 0; i + kMaxTombstones < tombstones.size(); ++i) {
      floor = std::max(floor, to_u64(tombstones[i].second, 0));
      b.kv_delete(domain, user, kRemoved, tombstones[i].first);
    }
    b.kv_set(domain, user, kMeta, "floor", std::to_string(floor));
  }
  b.kv_set(domain, user, kMeta, "ver", std::to_string(ver));
  return ver;
}

xml::Element push_for(const xml::Element& item, std::uint64_t ver, const std::string& bare) {
  // §2.1.6: a roster push is an iq set from the account's bare JID with one item.
  xml::Element iq("iq", "jabber:client");
  iq.set_attr("type", "set");
  iq.set_attr("from", bare);
  auto& q = iq.add_child("query", std::string(kRosterNs));
  q.set_attr("ver", std::to_string(ver));
  q.add_child(item);
  return iq;
}

xml::Element removal_item(const std::string& jid) {
  xml::Element e("item", std::string(kRosterNs));
  e.set_attr("jid", jid);
  e.set_attr("subscription", "remove");
  return e;
}

}  // namespace starling::modules::roster
