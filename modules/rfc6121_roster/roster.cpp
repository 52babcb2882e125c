// RFC 6121: roster management (§2) with roster versioning (§2.6, XEP-0237), and through
// presence.{hpp,cpp} subscriptions (§3) and presence (§4). Storage layout: roster_store.hpp.
#include <algorithm>
#include <boost/asio/this_coro.hpp>

#include "module/module.hpp"
#include "modules/rfc6121_roster/presence.hpp"
#include "modules/rfc6121_roster/roster_item.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"

namespace starling::modules {
namespace {

using roster::RosterItem;
using roster::RosterState;
using xmpp::StanzaError;

class Roster final : public module::Module {
 public:
  std::string_view name() const override { return "rfc6121_roster"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"RFC 6121 §2", "", "complete",
             "roster get/set/remove, pushes to interested resources, size limit "
             "(roster.max_items)",
             "tests/e2e/test_roster.py, modules/rfc6121_roster/roster_item_test.cpp"},
            {"RFC 6121 §3", "", "complete",
             "subscription state machine of Appendix A, pre-approval (§3.4), pending inbound "
             "requests stored and redelivered at every login until answered",
             "tests/e2e/test_presence.py, modules/rfc6121_roster/subscription_test.cpp"},
            {"RFC 6121 §4", "", "complete",
             "initial, subsequent and unavailable broadcast (also on stream loss), probes "
             "answered with each resource's last presence or the last unavailable time, "
             "directed presence tracking",
             "tests/e2e/test_presence.py"},
            {"XEP-0237", "1.3", "complete",
             "roster versioning: empty result plus interim pushes of only the changes",
             "tests/e2e/test_roster.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    presence_.start(ctx);
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
        ctx_->storage().run([domain, user](storage::Backend& b) { return roster::load(b, domain, user); });
    RosterState st = co_await std::move(op);

    if (const std::string* ver = iq.payload.attr("ver")) {
      std::uint64_t theirs = roster::to_u64(*ver, UINT64_MAX);
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
            changes.emplace_back(v, roster::removal_item(jid));
          }
        }
        std::sort(changes.begin(), changes.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [v, item] : changes) {
          xml::Element push = roster::push_for(item, v, bare);
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
    struct Outcome {
      std::optional<StanzaError> error;
      xml::Element item;
      std::uint64_t ver = 0;
      std::optional<RosterItem> removed;  // the item as it was before a removal
      bool pending_in = false;
    };
    auto op = ctx_->storage().run([domain, user, req, max_items](storage::Backend& b) {
      Outcome o;
      auto existing = roster::get_item(b, domain, user, req.jid);
      if (req.remove) {
        if (!existing) {
          o.error = StanzaError::item_not_found();  // §2.5.3
          return o;
        }
        // §2.5.2: a pending request from the contact is cancelled with the item.
        o.pending_in = b.kv_get(domain, user, roster::kPendingIn, req.jid).has_value();
        b.kv_delete(domain, user, roster::kPendingIn, req.jid);
        o.ver = roster::remove_item(b, domain, user, req.jid);
        o.item = roster::removal_item(req.jid);
        o.removed = std::move(existing);
        return o;
      }
      RosterItem item;
      if (existing) {
        item = std::move(*existing);  // keep subscription, ask and approved (§2.1.2.5)
      } else if (roster::item_count(b, domain, user) >= max_items) {
        o.error = StanzaError{xmpp::ErrorType::kCancel, "not-allowed",
                              "The roster is full (" + std::to_string(max_items) + " items)"};
        return o;
      }
      item.jid = req.jid;
      item.name = req.name;
      item.groups = req.groups;
      if (!roster::put_item(b, domain, user, item)) {
        o.error = StanzaError::internal_server_error();
        return o;
      }
      o.item = roster::to_wire(item);
      o.ver = item.ver;
      return o;
    });
    Outcome outcome = co_await std::move(op);
    if (outcome.error) {
      co_return *outcome.error;
    }
    // §2.3.2: push the new item to every interested resource, then answer the setter.
    ctx_->push_to_interested(iq.to.bare(), roster::push_for(outcome.item, outcome.ver, bare));
    auto ex = co_await boost::asio::this_coro::executor;
    ctx_->fire(events::RosterChanged{iq.to.bare(), ex});
    if (outcome.removed) {
      auto cancel = presence_.after_removal(iq.to.bare(), std::move(*outcome.removed),
                                            outcome.pending_in);
      co_await std::move(cancel);
    }
    co_return module::Empty{};
  }

  module::ModuleContext* ctx_ = nullptr;
  roster::Presence presence_;
};

}  // namespace

std::unique_ptr<module::Module> make_rfc6121_roster() { return std::make_unique<Roster>(); }
}  // namespace starling::modules
