// XEP-0012 Last Activity: for an account (bare JID), the seconds since its last resource went
// unavailable and the status it gave then, only for those allowed to see its presence (§3); for
// the server, its uptime (§5). A query to a full JID is delivered to that client by the router.
//
// The time and status come from the presence module's "presence_last" store (§4.3.2 #3 of
// RFC 6121 needs the same facts); the subscription check reads the roster.
#include <chrono>

#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/datetime.hpp"

namespace starling::modules {
namespace {

using xmpp::StanzaError;
constexpr const char* kLastNs = "jabber:iq:last";

std::int64_t now_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

xml::Element last_query(std::int64_t seconds, const std::string& status) {
  xml::Element q("query", kLastNs);
  q.set_attr("seconds", std::to_string(seconds < 0 ? 0 : seconds));
  if (!status.empty()) {
    q.add_text(status);
  }
  return q;
}

class LastActivity final : public module::Module {
 public:
  std::string_view name() const override { return "xep0012_last"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0012", "2.0", "complete",
             "seconds since logout and the last status for accounts (only to subscribers), "
             "server uptime; queries to full JIDs go to the client",
             "tests/e2e/test_last.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    started_ = std::chrono::steady_clock::now();
    ctx.add_feature(module::Target::kServer, kLastNs);  // §6
    ctx.add_feature(module::Target::kAccount, kLastNs);
    ctx.on_iq({module::IqType::kGet, module::Target::kServer, kLastNs, "query"},
              [this](const module::Iq&) -> boost::asio::awaitable<module::IqResult> {
                // §5: the server's uptime, without character data.
                auto up = std::chrono::steady_clock::now() - started_;
                co_return last_query(
                    std::chrono::duration_cast<std::chrono::seconds>(up).count(), "");
              });
    ctx.on_iq({module::IqType::kGet, module::Target::kAccount, kLastNs, "query"},
              [this](const module::Iq& iq) { return account(iq); });
  }

 private:
  boost::asio::awaitable<module::IqResult> account(const module::Iq& iq) {
    xmpp::Jid user = iq.to.bare();
    bool own = iq.from.bare() == user;
    std::string domain = user.domain(), local = user.local(), asker = iq.from.bare_str();
    struct Facts {
      bool exists = false;
      bool allowed = false;
      std::optional<std::string> stamp, stanza;
      std::int64_t created_at = 0;
    };
    auto op = ctx_->storage().run([domain, local, asker, own](storage::Backend& b) {
      Facts f;
      auto account = b.get_account(domain, local);
      if (!account) {
        return f;
      }
      f.exists = true;
      f.created_at = account->created_at;
      if (own) {
        f.allowed = true;
      } else if (auto item = roster::get_item(b, domain, local, asker)) {
        f.allowed = roster::has_from(item->subscription);
      }
      f.stamp = b.kv_get(domain, local, roster::kLast, "stamp");
      f.stanza = b.kv_get(domain, local, roster::kLast, "stanza");
      return f;
    });
    Facts f = co_await std::move(op);
    if (!f.exists) {
      co_return StanzaError::service_unavailable();  // RFC 6121 §8.5.1
    }
    if (!f.allowed) {
      co_return StanzaError::forbidden();  // §3: not authorized to see the presence
    }
    auto rop = ctx_->sink().available_resources(user);
    auto resources = co_await std::move(rop);
    if (!resources.empty()) {
      co_return last_query(0, "");  // §3: an available resource: seconds='0'
    }
    std::int64_t since = f.created_at;  // never logged out: since the account was created
    if (f.stamp) {
      since = xmpp::parse_datetime(*f.stamp).value_or(since);
    }
    std::string status;
    if (f.stanza) {
      xml::Element last;
      if (xml::parse_element(*f.stanza, last)) {
        status = last.child_text("status");
      }
    }
    co_return last_query(now_seconds() - since, status);
  }

  module::ModuleContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0012_last() { return std::make_unique<LastActivity>(); }
}  // namespace starling::modules
