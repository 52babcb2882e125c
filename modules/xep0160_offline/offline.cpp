// XEP-0160 Best Practices for Handling Offline Messages: a chat or normal message for an
// account with no available resource is stored (RFC 6121 §8.5.2.2.1) with a XEP-0203 delay
// stamp, up to offline.max_messages per account (beyond: service-unavailable), and delivered
// when a resource sends initial presence with non-negative priority (XEP-0160 §4).
//
// Stored in the key-value shape: store "offline", key = zero-padded sequence number (so the
// key order is the arrival order), value = the stanza; store "offline_meta", key "seq".
// SQLite runs with synchronous=FULL, so a stored message survives kill -9.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/xep0160_offline/delay.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules {
namespace {

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
             "tests/e2e/test_offline.py, modules/xep0160_offline/delay_test.cpp"}};
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
      // priority.
      if (e.first_non_negative) {
        boost::asio::co_spawn(e.executor, deliver(e.jid), boost::asio::detached);
      }
    });
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
      if (b.kv_keys(domain, user, "offline").size() >= quota) {
        return false;
      }
      std::uint64_t seq = 0;
      if (auto s = b.kv_get(domain, user, "offline_meta", "seq")) {
        seq = std::strtoull(s->c_str(), nullptr, 10);
      }
      ++seq;
      if (b.kv_set(domain, user, "offline", seq_key(seq), value) != storage::Status::kOk) {
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
    // receive the same message.
    auto op = ctx_->storage().run([domain, user](storage::Backend& b) {
      auto all = b.kv_get_all(domain, user, "offline");
      for (const auto& [k, v] : all) {
        b.kv_delete(domain, user, "offline", k);
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

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0160_offline() { return std::make_unique<Offline>(); }
}  // namespace starling::modules
