// XEP-0060 Publish-Subscribe and XEP-0163 PEP: the module. Serves one pubsub service per
// configured service domain (config.pubsub.services; by default pubsub.<domain> for each served
// domain) and PEP on every local account.
#include <algorithm>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/xep0060_pubsub/pep.hpp"
#include "modules/xep0060_pubsub/service.hpp"
#include "server/config/config.hpp"

namespace starling::modules {
namespace {

class Pubsub final : public module::Module {
 public:
  std::string_view name() const override { return "xep0060_pubsub"; }
  std::vector<module::SpecInfo> specs() const override {
    return {
        {"XEP-0060", "1.26.0", "partial", "pubsub service on pubsub.<domain>: work in progress",
         "tests/e2e/test_pubsub_*.py"},
    };
  }
  void start(module::ModuleContext& ctx) override {
    const config::Config& cfg = ctx.config();
    if (cfg.pep.enabled) {
      pep_ = std::make_unique<pubsub::Pep>(ctx);
    }
    if (!cfg.pubsub.enabled) {
      return;
    }
    std::vector<std::pair<std::string, std::string>> domains;  // service, parent
    if (cfg.pubsub.services.empty()) {
      for (const std::string& d : cfg.domains) {
        domains.emplace_back("pubsub." + d, d);
      }
    } else {
      for (const std::string& s : cfg.pubsub.services) {
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
        log::warn("pubsub: {} is a served domain; no pubsub service there", service);
        continue;
      }
      auto svc = std::make_unique<pubsub::Service>(ctx, service, parent);
      svc->load();
      pubsub::Service* p = svc.get();
      ctx.add_service(service, [p](xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from) {
        p->handle(std::move(stanza), std::move(to), std::move(from));
      });
      ctx.add_disco_item(module::Target::kServer, {service, "", ""}, parent);
      services_.push_back(std::move(svc));
    }
  }

 private:
  std::unique_ptr<pubsub::Pep> pep_;
  std::vector<std::unique_ptr<pubsub::Service>> services_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0060_pubsub() { return std::make_unique<Pubsub>(); }
}  // namespace starling::modules
