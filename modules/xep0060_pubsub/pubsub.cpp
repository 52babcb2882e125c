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
        {"XEP-0060", "1.30.0", "partial",
         "service on pubsub.<domain>, nodes spread over shards by name; leaf nodes only: create "
         "(named, instant, with configure), the full node_config form, access models open/"
         "presence/roster/authorize/whitelist, publish models, publish-options preconditions, "
         "publish/retract/purge/delete with notifications, subscribe/unsubscribe with options "
         "and §8.6 approval, items by max_items, id and RSM, owner subscriptions and "
         "affiliations (a batch answers the entries that failed, §8.8.2.4/§8.9.2.4), item "
         "expiry, persistence, presence-based delivery (by the presence of local subscribers; "
         "other servers' subscribers, whose presence the service does not track, are always "
         "sent notifications). Missing: collection nodes, digests, §8.7 pending list command",
         "tests/e2e/test_pubsub_service.py, test_pubsub_gaps.py, test_pubsub_persistence.py, "
         "test_pubsub_aioxmpp.py, test_pep_federation.py (from another server); "
         "modules/xep0060_pubsub/engine_test.cpp, owner_test.cpp, "
         "node_config_test.cpp"},
        {"XEP-0163", "1.2.2", "complete",
         "PEP on every account: auto-create, presence access by default, publish-options, "
         "+notify filtering by verified XEP-0115 caps of local and federated clients, last "
         "item at presence and when caps become known; notifications respect the account's "
         "blocking and privacy lists",
         "tests/e2e/test_pep.py, test_pep_basics.py, test_pep_federation.py (Starling, "
         "Prosody 0.12 and ejabberd 23.01 contacts), test_pubsub_aioxmpp.py; "
         "modules/xep0060_pubsub/pep_test.cpp"},
        {"XEP-0059", "1.0", "partial", "RSM on pubsub item retrieval (max/after/before/index)",
         "tests/e2e/test_pubsub_service.py"},
        {"XEP-0223", "1.1.1", "complete", "whitelist PEP nodes with persist_items via publish-options",
         "tests/e2e/test_pep.py"},
        {"XEP-0084", "1.1.4", "complete", "PEP pass-through (data and metadata nodes)",
         "tests/e2e/test_pep.py, test_pubsub_aioxmpp.py"},
        {"XEP-0172", "1.1", "complete", "PEP pass-through (nick node)", "tests/e2e/test_pep.py"},
        {"XEP-0292", "0.12.0", "partial",
         "PEP pass-through (urn:xmpp:vcard4 node); no mapping to or from vcard-temp",
         "tests/e2e/test_pep.py::test_vcard4_over_pep"},
        {"XEP-0384", "0.9.1", "complete",
         "server side only: PEP device lists and bundles with open access and max_items",
         "tests/e2e/test_pep.py, test_pubsub_persistence.py"},
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
