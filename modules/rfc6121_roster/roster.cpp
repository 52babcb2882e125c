// RFC 6121 §2: roster management (jabber:iq:roster) with roster versioning (§2.6, XEP-0237).
//
// Items live in the per-account key-value shape: store "roster" (contact JID -> item with the
// version at which it last changed), "roster_removed" (tombstones: JID -> version of removal,
// at most kMaxTombstones) and "roster_meta" ("ver", "floor"). Each request's read-modify-write
// runs inside one storage call; the storage executor is a single thread, so they never
// interleave.
#include <algorithm>
#include <charconv>

#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_item.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"

namespace starling::modules {
namespace {

using roster::RosterItem;
using xmpp::StanzaError;

constexpr std::size_t kMaxTombstones = 256;

std::uint64_t to_u64(std::string_view s, std::uint64_t fallback) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) ? v : fallback;
}

struct RosterState {
  std::vector<RosterItem> items;
  std::vector<std::pair<std::string, std::uint64_t>> removed;
  std::uint64_t ver = 0;
  std::uint64_t floor = 0;  // a client version below this cannot be brought up to date by pushes
};

RosterState load(storage::Backend& b, const std::string& domain, const std::string& user) {
  RosterState st;
  for (auto& [k, v] : b.kv_get_all(domain, user, "roster")) {
    if (auto item = roster::parse_stored(v)) {
      st.items.push_back(std::move(*item));
    }
  }
  for (auto& [k, v] : b.kv_get_all(domain, user, "roster_removed")) {
    st.removed.emplace_back(k, to_u64(v, 0));
  }
  st.ver = to_u64(b.kv_get(domain, user, "roster_meta", "ver").value_or("0"), 0);
  st.floor = to_u64(b.kv_get(domain, user, "roster_meta", "floor").value_or("0"), 0);
  return st;
}

xml::Element push_for(const xml::Element& item, std::uint64_t ver, const std::string& bare) {
  // §2.1.6: a roster push is an iq set from the account's bare JID with one item.
  xml::Element iq("iq", "jabber:client");
  iq.set_attr("type", "set");
  iq.set_attr("from", bare);
  auto& q = iq.add_child("query", std::string(roster::kRosterNs));
  q.set_attr("ver", std::to_string(ver));
  q.add_child(item);
  return iq;
}

xml::Element removal_item(const std::string& jid) {
  xml::Element e("item", std::string(roster::kRosterNs));
  e.set_attr("jid", jid);
  e.set_attr("subscription", "remove");
  return e;
}

class Roster final : public module::Module {
 public:
  std::string_view name() const override { return "rfc6121_roster"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"RFC 6121 §2", "", "complete",
             "roster get/set/remove, pushes to interested resources, size limit "
             "(roster.max_items)",
             "tests/e2e/test_roster.py, modules/rfc6121_roster/roster_item_test.cpp"},
            {"XEP-0237", "1.3", "complete",
             "roster versioning: empty result plus interim pushes of only the changes",
             "tests/e2e/test_roster.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    // §2.6.1: roster versioning is announced as a stream feature.
    ctx.add_stream_feature(xml::Element("ver", "urn:xmpp:features:rosterver"));
    ctx.on_iq(
        {module::IqType::kGet, module::Target::kAccount, std::string(roster::kRosterNs), "query"},
        [this](const module::Iq& iq) { return get(iq); });
    ctx.on_iq(
        {module::IqType::kSet, module::Target::kAccount, std::string(roster::kRosterNs), "query"},
        [this](const module::Iq& iq) { return set(iq); });
  }

 private:
  boost::asio::awaitable<module::IqResult> get(const module::Iq& iq) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();  // only the account reads its roster
    }
    if (!iq.payload.elements().empty()) {
      co_return StanzaError::bad_request("A roster get has no items");  // §2.1.3
    }
    ctx_->set_roster_interested(iq.from);
    std::string domain = iq.to.domain(), user = iq.to.local();
    auto op =
        ctx_->storage().run([domain, user](storage::Backend& b) { return load(b, domain, user); });
    RosterState st = co_await std::move(op);

    if (const std::string* ver = iq.payload.attr("ver")) {
      std::uint64_t theirs = to_u64(*ver, UINT64_MAX);
      if (theirs == st.ver) {
        co_return module::Empty{};  // §2.6.3: unchanged; nothing to push
      }
      if (theirs != UINT64_MAX && theirs < st.ver && theirs >= st.floor) {
        // §2.6.3: an empty result, then one interim push per change since their version.
        std::string bare = iq.to.bare_str();
        std::vector<std::pair<std::uint64_t, xml::Element>> changes;
        for (const auto& item : st.items) {
          if (item.ver > theirs) {
            changes.emplace_back(item.ver, roster::to_wire(item));
          }
        }
        for (const auto& [jid, v] : st.removed) {
          if (v > theirs) {
            changes.emplace_back(v, removal_item(jid));
          }
        }
        std::sort(changes.begin(), changes.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [v, item] : changes) {
          xml::Element push = push_for(item, v, bare);
          push.set_attr("to", iq.from.str());
          push.set_attr("id", "rosterver-" + std::to_string(v));
          iq.then_send(std::move(push));
        }
        co_return module::Empty{};
      }
    }
    xml::Element q("query", std::string(roster::kRosterNs));
    q.set_attr("ver", std::to_string(st.ver));
    for (const auto& item : st.items) {
      q.add_child(roster::to_wire(item));
    }
    co_return q;
  }

  boost::asio::awaitable<module::IqResult> set(const module::Iq& iq) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();  // §2.1.5 security warning
    }
    std::string bare = iq.to.bare_str();
    auto parsed = roster::parse_set(iq.payload, bare);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      co_return *err;
    }
    roster::SetRequest req = std::get<roster::SetRequest>(std::move(parsed));
    std::string domain = iq.to.domain(), user = iq.to.local();
    std::size_t max_items = ctx_->config().roster.max_items;
    using Outcome = std::variant<std::pair<xml::Element, std::uint64_t>, StanzaError>;
    auto op = ctx_->storage().run([domain, user, req, max_items](storage::Backend& b) -> Outcome {
      auto existing = b.kv_get(domain, user, "roster", req.jid);
      std::uint64_t ver = to_u64(b.kv_get(domain, user, "roster_meta", "ver").value_or("0"), 0) + 1;
      if (req.remove) {
        if (!existing) {
          return StanzaError::item_not_found();  // §2.5.3
        }
        b.kv_delete(domain, user, "roster", req.jid);
        b.kv_set(domain, user, "roster_removed", req.jid, std::to_string(ver));
        auto tombstones = b.kv_get_all(domain, user, "roster_removed");
        if (tombstones.size() > kMaxTombstones) {
          std::sort(tombstones.begin(), tombstones.end(), [](const auto& a, const auto& x) {
            return to_u64(a.second, 0) < to_u64(x.second, 0);
          });
          std::uint64_t floor = 0;
          for (std::size_t i = 0; i + kMaxTombstones < tombstones.size(); ++i) {
            floor = std::max(floor, to_u64(tombstones[i].second, 0));
            b.kv_delete(domain, user, "roster_removed", tombstones[i].first);
          }
          b.kv_set(domain, user, "roster_meta", "floor", std::to_string(floor));
        }
        b.kv_set(domain, user, "roster_meta", "ver", std::to_string(ver));
        return std::make_pair(removal_item(req.jid), ver);
      }
      RosterItem item;
      if (existing) {
        if (auto old = roster::parse_stored(*existing)) {
          item = std::move(*old);  // keep subscription, ask and approved (§2.1.2.5)
        }
      } else if (b.kv_keys(domain, user, "roster").size() >= max_items) {
        return StanzaError{xmpp::ErrorType::kCancel, "not-allowed",
                           "The roster is full (" + std::to_string(max_items) + " items)"};
      }
      item.jid = req.jid;
      item.name = req.name;
      item.groups = req.groups;
      item.ver = ver;
      if (b.kv_set(domain, user, "roster", req.jid, roster::to_stored(item)) !=
          storage::Status::kOk) {
        return StanzaError::internal_server_error();
      }
      b.kv_delete(domain, user, "roster_removed", req.jid);
      b.kv_set(domain, user, "roster_meta", "ver", std::to_string(ver));
      return std::make_pair(roster::to_wire(item), ver);
    });
    Outcome outcome = co_await std::move(op);
    if (auto* err = std::get_if<StanzaError>(&outcome)) {
      co_return *err;
    }
    auto& [item, ver] = std::get<0>(outcome);
    // §2.3.2: push the new item to every interested resource, then answer the setter.
    ctx_->push_to_interested(iq.to.bare(), push_for(item, ver, bare));
    co_return module::Empty{};
  }

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_rfc6121_roster() { return std::make_unique<Roster>(); }
}  // namespace starling::modules
