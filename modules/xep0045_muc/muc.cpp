// XEP-0045 Multi-User Chat: the module. Serves one MUC service per configured service domain
// (config.muc.services; by default conference.<domain> for each served domain) through
// module::ModuleContext::add_service. Rooms live on the shard that owns their bare JID.
#include <algorithm>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/xep0045_muc/service.hpp"
#include "server/config/config.hpp"

namespace starling::modules {
namespace {

class Muc final : public module::Module {
 public:
  std::string_view name() const override { return "xep0045_muc"; }
  std::vector<module::SpecInfo> specs() const override {
    return {
        {"XEP-0045", "1.35.5", "partial",
         "rooms on their shards; entering, leaving, presence, groupchat, history, subject, nick "
         "changes, private messages and iq, mediated invitations, voice requests, persistent "
         "rooms; removal of gone occupants (333); moderator, admin and owner use cases (§8-§10), "
         "registration (§7.10), federated occupants. Missing: registration approval (§9.9), "
         "the 101 message, history kept in "
         "memory only",
         "tests/e2e/test_muc_core.py, test_muc_rooms.py, test_muc_moderation.py, "
         "test_muc_admin.py, test_muc_aioxmpp.py, test_muc_federation.py, "
         "test_muc_persistence.py; modules/xep0045_muc/room_test.cpp, room_admin_test.cpp, "
         "room_config_test.cpp"},
        {"XEP-0249", "1.2", "complete", "direct invitations are routed between users",
         "tests/e2e/test_muc_core.py, tests/e2e/test_muc_rooms.py, tests/e2e/test_muc_aioxmpp.py"},
        {"XEP-0410", "1.1.0", "complete",
         "the service answers self-pings (muc#self-ping-optimization)",
         "tests/e2e/test_muc_core.py, modules/xep0045_muc/room_test.cpp"},
    };
  }
  void start(module::ModuleContext& ctx) override {
    const config::Config& cfg = ctx.config();
    if (!cfg.muc.enabled) {
      return;
    }
    std::vector<std::pair<std::string, std::string>> domains;  // service, parent
    if (cfg.muc.services.empty()) {
      for (const std::string& d : cfg.domains) {
        domains.emplace_back("conference." + d, d);
      }
    } else {
      for (const std::string& s : cfg.muc.services) {
        // The parent: the longest served domain the service is a subdomain of (the
        // configuration guarantees there is one).
        std::string parent;
        for (const std::string& d : cfg.domains) {
          if (s.size() > d.size() + 1 && s.ends_with(d) && s[s.size() - d.size() - 1] == '.' &&
              d.size() > parent.size()) {
            parent = d;
          }
        }
        domains.emplace_back(s, parent);
      }
    }
    for (auto& [service, parent] : domains) {
      if (std::find(cfg.domains.begin(), cfg.domains.end(), service) != cfg.domains.end()) {
        log::warn("muc: {} is a served domain; no MUC service there", service);
        continue;
      }
      auto svc = std::make_unique<muc::Service>(ctx, service, parent);
      svc->load();
      muc::Service* p = svc.get();
      ctx.add_service(service, [p](xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from) {
        p->handle(std::move(stanza), std::move(to), std::move(from));
      });
      ctx.add_disco_item(module::Target::kServer, {service, "", ""}, parent);
      services_.push_back(std::move(svc));
    }
  }

 private:
  std::vector<std::unique_ptr<muc::Service>> services_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0045_muc() { return std::make_unique<Muc>(); }
}  // namespace starling::modules
