// XEP-0160 Best Practices for Handling Offline Messages: a chat or normal message for an
// account with no available resource is stored (RFC 6121 §8.5.2.2.1) with a XEP-0203 delay
// stamp, up to offline.max_messages per account (beyond: service-unavailable), and delivered
// when a resource sends initial presence with non-negative priority (XEP-0160 §4).
//
// Stored in the key-value shape: store "offline", key = zero-padded sequence number (so the
// key order is the arrival order), value = the stanza; store "offline_meta", key "seq".
// SQLite runs with synchronous=FULL, so a stored message survives kill -9.
//
// XEP-0013 Flexible Offline Message Retrieval on the same store: the account's disco node
// "http://jabber.org/protocol/offline" (count in disco#info, headers in disco#items, node = the
// key), <offline/> view/fetch (iq get) and remove/purge (iq set). Viewed and fetched messages
// stay stored until removed (§2.5). Only the account's own resources may use it (§2.3 to §2.7:
// forbidden otherwise). A session that used it gets no flood on initial presence, nor do the
// account's other resources while it is active (§2.2). Payloads are in flexible.hpp.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <optional>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/xep0160_offline/delay.hpp"
#include "modules/xep0160_offline/flexible.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules {
namespace {

using offline::FlexRequest;
using xmpp::StanzaError;

constexpr const char* kStore = "offline";

std::string seq_key(std::uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(n));
  return buf;
}

class Offline final : public module::Module {
 public:
  std::string_view name() const override { return "xep0160_offline"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0160", "1.0.1", "complete",
             "stored with a delay stamp, per-account quota (offline.max_messages), delivered on "
             "initial presence; survives restart and kill -9",
             "tests/e2e/test_offline.py"},
            {"XEP-0203", "2.0", "complete", "delay stamps on offline messages",
             "tests/e2e/test_offline.py, modules/xep0160_offline/delay_test.cpp"},
            {"XEP-0013", "1.3", "complete",
             "(a Deprecated XEP, for the clients that use it) count, headers, view, remove, fetch, "
             "purge on the node http://jabber.org/protocol/offline; no flood on initial presence "
             "after using it; only for the account's own resources",
             "tests/e2e/test_offline_flexible.py, modules/xep0160_offline/flexible_test.cpp"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    if (ctx.config().offline.max_messages == 0) {
      return;  // disabled: the router answers service-unavailable
    }
    ctx.add_feature(module::Target::kServer, "msgoffline");  // XEP-0160 §5
    ctx.on_offline_message([this](xmpp::StanzaPtr stanza, const xmpp::Jid& to) {
      return store(std::move(stanza), to);
    });
    ctx.on<events::SessionAvailable>([this](const events::SessionAvailable& e) {
      // XEP-0160 §4: deliver when the session first becomes available with a non-negative
      // priority, unless flexible retrieval is in use (XEP-0013 §2.2).
      if (e.first_non_negative && !flex_.suppress_flood(e.jid)) {
        boost::asio::co_spawn(e.executor, deliver(e.jid), boost::asio::detached);
      }
    });
    start_flexible(ctx);
  }

 private:
  boost::asio::awaitable<bool> store(xmpp::StanzaPtr stanza, xmpp::Jid to) {
    xml::Element copy = *stanza;
    copy.add_child(
        offline::make_delay(to.domain(), std::chrono::system_clock::now(), "Offline Storage"));
    std::string value = xml::to_string(copy);  // with its xmlns: parsed back standalone
    std::string domain = to.domain(), user = to.local();
    std::size_t quota = ctx_->config().offline.max_messages;
    auto op = ctx_->storage().run([domain, user, value, quota](storage::Backend& b) {
      if (b.kv_keys(domain, user, kStore).size() >= quota) {
        return false;
      }
      std::uint64_t seq = 0;
      if (auto s = b.kv_get(domain, user, "offline_meta", "seq")) {
        seq = std::strtoull(s->c_str(), nullptr, 10);
      }
      ++seq;
      if (b.kv_set(domain, user, kStore, seq_key(seq), value) != storage::Status::kOk) {
        return false;
      }
      b.kv_set(domain, user, "offline_meta", "seq", std::to_string(seq));
      return true;
    });
    bool stored = co_await std::move(op);
    if (!stored) {
      log::info("offline: not storing a message for {}: quota of {} reached or storage error",
                to.bare_str(), quota);
    }
    co_return stored;
  }

  boost::asio::awaitable<void> deliver(xmpp::Jid full) {
    std::string domain = full.domain(), user = full.local();
    // Take them all in one storage call, so two resources coming online at once cannot both
    // receive the same message. XEP-0013 §2.2 is checked again there: a client that sends its
    // XEP-0013 request and its presence without waiting for the reply usually has its request
    // seen by then (the guarantee is for requests answered before the presence).
    auto op = ctx_->storage().run([this, full, domain, user](storage::Backend& b) {
      if (flex_.suppress_flood(full)) {
        return std::vector<std::pair<std::string, std::string>>{};
      }
      auto all = b.kv_get_all(domain, user, kStore);
      for (const auto& [k, v] : all) {
        b.kv_delete(domain, user, kStore, k);
      }
      return all;
    });
    auto messages = co_await std::move(op);
    for (auto& [key, value] : messages) {
      xml::Element m;
      if (!xml::parse_element(value, m)) {
        log::error("offline: dropping a corrupt stored message {} of {}", key, full.bare_str());
        continue;
      }
      m.set_attr("to", full.str());
      ctx_->send(std::move(m));
    }
  }

  // ---- XEP-0013 -------------------------------------------------------------------------------

  void start_flexible(module::ModuleContext& ctx) {
    using module::Target;
    // §2.1: the feature on the server; requests go to the account ("without a 'to' address").
    ctx.add_feature(Target::kServer, std::string(offline::kFlexNs));
    ctx.on<events::SessionBound>([this](const events::SessionBound& e) { flex_.bound(e.jid); });
    ctx.on<events::SessionClosed>([this](const events::SessionClosed& e) { flex_.closed(e.jid); });
    module::DiscoNodeHandler node;
    node.info = [this](const module::Iq& iq) { return count(iq); };
    node.items = [this](const module::Iq& iq) { return headers(iq); };
    ctx.on_disco_node(Target::kAccount, std::string(offline::kFlexNs), std::move(node));
    ctx.on_iq({module::IqType::kGet, Target::kAccount, std::string(offline::kFlexNs), "offline"},
              [this](const module::Iq& iq) { return request(iq, false); });
    ctx.on_iq({module::IqType::kSet, Target::kAccount, std::string(offline::kFlexNs), "offline"},
              [this](const module::Iq& iq) { return request(iq, true); });
  }

  // §2.3 to §2.7: "If the requester is a JID other than an authorized resource of the user (i.e.,
  // the user@host of the requester does not match the user@host of the user), the server MUST
  // return a <forbidden/> error." §4: messages go to none but the user's own resources.
  static bool is_owner(const module::Iq& iq) { return iq.from.bare_str() == iq.to.bare_str(); }

  // §2.2: the number of messages as XEP-0128 data on the node's disco#info.
  boost::asio::awaitable<module::DiscoInfoResult> count(const module::Iq& iq) {
    if (!is_owner(iq)) {
      co_return StanzaError::forbidden();
    }
    flex_.mark(iq.from);  // before the first suspension: presence may follow right away
    std::string domain = iq.to.domain(), user = iq.to.local();
    auto op = ctx_->storage().run(
        [domain, user](storage::Backend& b) { return b.kv_keys(domain, user, kStore).size(); });
    std::size_t n = co_await std::move(op);
    module::DiscoInfo info;
    info.identities.push_back({"automation", "message-list", ""});  // §6.2
    info.features.emplace_back(offline::kFlexNs);
    info.forms.push_back(offline::count_form(n));
    co_return info;
  }

  // §2.3: one header per message, in key (arrival) order; none is an empty query.
  boost::asio::awaitable<module::DiscoItemsResult> headers(const module::Iq& iq) {
    if (!is_owner(iq)) {
      co_return StanzaError::forbidden();
    }
    flex_.mark(iq.from);
    auto op = load_all(iq.to);  // not inside the co_await: GCC PR 100611
    auto messages = co_await std::move(op);
    std::vector<module::DiscoItem> items;
    items.reserve(messages.size());
    for (const auto& [key, m] : messages) {
      items.push_back(offline::header_item(iq.to, key, m));
    }
    co_return items;
  }

  // <offline/> in an iq get (view, fetch) or set (remove, purge).
  boost::asio::awaitable<module::IqResult> request(const module::Iq& iq, bool is_set) {
    if (!is_owner(iq)) {
      co_return StanzaError::forbidden();
    }
    auto parsed = offline::parse_request(iq.payload, is_set);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      co_return std::move(*err);
    }
    FlexRequest req = std::move(std::get<FlexRequest>(parsed));
    // §2.6: fetch has the semantics of requesting the headers. View, remove and purge name or
    // clear messages the client manages itself, so they count as choosing flexible retrieval
    // too.
    flex_.mark(iq.from);
    if (req.kind == FlexRequest::Kind::kView || req.kind == FlexRequest::Kind::kFetch) {
      auto op = retrieve(iq, std::move(req));
      co_return co_await std::move(op);
    }
    auto op = remove(iq.to, std::move(req));
    co_return co_await std::move(op);
  }

  // §2.4 view (all named messages or, when one does not exist, item-not-found) and §2.6 fetch:
  // the messages, then the result.
  boost::asio::awaitable<module::IqResult> retrieve(const module::Iq& iq, FlexRequest req) {
    std::vector<std::pair<std::string, xml::Element>> messages;
    if (req.kind == FlexRequest::Kind::kFetch) {
      auto op = load_all(iq.to);
      messages = co_await std::move(op);
    } else {
      std::string domain = iq.to.domain(), user = iq.to.local();
      using Found = std::vector<std::pair<std::string, std::string>>;
      auto op = ctx_->storage().run([domain, user, nodes = std::move(req.nodes)](
                                        storage::Backend& b) -> std::optional<Found> {
        Found found;
        for (const auto& n : nodes) {
          auto v = b.kv_get(domain, user, kStore, n);
          if (!v) {
            return std::nullopt;
          }
          found.emplace_back(n, std::move(*v));
        }
        return found;
      });
      std::optional<Found> found = co_await std::move(op);
      if (!found) {
        co_return StanzaError::item_not_found();  // §2.4: a node that does not exist
      }
      messages = parse_stored(iq.to, std::move(*found));
    }
    // The messages go out before the result (§2.4, §2.6 examples; slixmpp collects them until
    // the result). Both take the same route to the requesting resource, so they arrive in order.
    for (auto& [key, m] : messages) {
      ctx_->send(offline::retrieved_message(std::move(m), key, iq.from));
    }
    co_return module::Empty{};
  }

  // §2.5 remove (all named messages or, when one does not exist, none: item-not-found) and
  // §2.7 purge, each in one storage call.
  boost::asio::awaitable<module::IqResult> remove(xmpp::Jid account, FlexRequest req) {
    std::string domain = account.domain(), user = account.local();
    bool purge = req.kind == FlexRequest::Kind::kPurge;
    auto op = ctx_->storage().run(
        [domain, user, purge, nodes = std::move(req.nodes)](storage::Backend& b) {
          std::vector<std::string> keys = purge ? b.kv_keys(domain, user, kStore) : nodes;
          if (!purge) {
            for (const auto& n : nodes) {
              if (!b.kv_get(domain, user, kStore, n)) {
                return storage::Status::kNotFound;
              }
            }
          }
          for (const auto& k : keys) {
            if (b.kv_delete(domain, user, kStore, k) == storage::Status::kError) {
              return storage::Status::kError;
            }
          }
          return storage::Status::kOk;
        });
    storage::Status st = co_await std::move(op);
    if (st == storage::Status::kNotFound) {
      co_return StanzaError::item_not_found();  // §2.5
    }
    if (st != storage::Status::kOk) {
      co_return StanzaError::internal_server_error();
    }
    co_return module::Empty{};
  }

  // Every stored message of the account, parsed, in key order.
  boost::asio::awaitable<std::vector<std::pair<std::string, xml::Element>>> load_all(
      xmpp::Jid account) {
    std::string domain = account.domain(), user = account.local();
    auto op = ctx_->storage().run(
        [domain, user](storage::Backend& b) { return b.kv_get_all(domain, user, kStore); });
    auto raw = co_await std::move(op);
    co_return parse_stored(account, std::move(raw));
  }

  static std::vector<std::pair<std::string, xml::Element>> parse_stored(
      const xmpp::Jid& account, std::vector<std::pair<std::string, std::string>> raw) {
    std::vector<std::pair<std::string, xml::Element>> out;
    out.reserve(raw.size());
    for (auto& [key, value] : raw) {
      xml::Element m;
      if (!xml::parse_element(value, m)) {
        log::error("offline: skipping a corrupt stored message {} of {}", key, account.bare_str());
        continue;
      }
      out.emplace_back(std::move(key), std::move(m));
    }
    return out;
  }

  module::ModuleContext* ctx_ = nullptr;
  offline::FlexSessions flex_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0160_offline() { return std::make_unique<Offline>(); }
}  // namespace starling::modules
