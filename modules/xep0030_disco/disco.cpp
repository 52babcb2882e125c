// XEP-0030: Service Discovery. disco#info lists the identities, features and XEP-0128 forms every
// module registered for the server or for accounts; the server's disco#items lists the services
// modules registered (ModuleContext::add_disco_item) and those of the configuration
// ([disco] items). A query with a 'node' goes to the module that registered that node for the
// target (ModuleContext::on_disco_node); other nodes get item-not-found (§7).
//
// Accounts (bare JIDs) are answered by the server on their behalf under the rules of §8:
// disco#info only to the account itself and to entities with a presence subscription to it
// ("from" or "both"), service-unavailable to anyone else and for accounts that do not exist;
// disco#items lists the available resources to those same entities, and is an empty result for
// anyone else and for accounts that do not exist.
#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0030_disco/disco_format.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

using module::Target;
namespace asio = boost::asio;

class Disco final : public module::Module {
 public:
  std::string_view name() const override { return "xep0030_disco"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0030", "2.5.0", "complete",
             "info (identities, features, XEP-0128 forms of every module) and items for the "
             "server (services registered by modules or listed in [disco] items) and accounts "
             "(available resources, only to the account and its presence subscribers, §8); "
             "nodes registered by modules (on_disco_node), unknown nodes get item-not-found",
             "tests/e2e/test_disco.py, tests/e2e/test_clients.py, "
             "tests/e2e/test_offline_flexible.py, modules/xep0030_disco/disco_format_test.cpp"},
            {"XEP-0128", "1.0.1", "complete",
             "forms registered by modules appear in the server's disco#info (e.g. XEP-0157)",
             "tests/e2e/test_disco.py"}};
  }
  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const module::Registry& reg = ctx.registry();
    for (const auto& item : ctx.config().disco_items) {
      ctx.add_disco_item(Target::kServer, {item.jid, item.node, item.name});
    }
    for (auto target : {Target::kServer, Target::kAccount}) {
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kDiscoInfo), "query"},
                [this, &reg, target](const module::Iq& iq) -> asio::awaitable<module::IqResult> {
                  std::string node(iq.payload.attr_or("node"));
                  if (node.empty()) {
                    if (target == Target::kAccount) {
                      auto op = access(iq.from, iq.to);
                      Access a = co_await std::move(op);
                      if (!a.exists || !a.allowed) {
                        co_return xmpp::StanzaError::service_unavailable();  // §8 1.1, 1.2
                      }
                    }
                    xml::Element q =
                        disco::info_query(reg.identities(target), reg.features(target));
                    for (auto& form : reg.disco_forms(target)) {
                      q.add_child(std::move(form));  // XEP-0128 §2: after the features
                    }
                    co_return q;
                  }
                  const module::DiscoNodeHandler* h = reg.find_disco_node(target, node);
                  if (h == nullptr) {
                    h = reg.other_disco_nodes(target);
                  }
                  if (h == nullptr || !h->info) {
                    co_return xmpp::StanzaError::item_not_found();  // §7: no such JID+node
                  }
                  auto op = h->info(iq);
                  module::DiscoInfoResult r = co_await std::move(op);
                  if (auto* err = std::get_if<xmpp::StanzaError>(&r)) {
                    co_return std::move(*err);
                  }
                  co_return disco::node_info_query(node, std::move(std::get<module::DiscoInfo>(r)));
                });
      module::IqKey items_key{module::IqType::kGet, target, std::string(ns::kDiscoItems), "query"};
      ctx.on_iq(items_key,
                [this, &reg, target](const module::Iq& iq) -> asio::awaitable<module::IqResult> {
                  std::string node(iq.payload.attr_or("node"));
                  if (target == Target::kAccount) {
                    auto op = access(iq.from, iq.to);
                    Access a = co_await std::move(op);
                    if (!a.exists) {
                      // §8 2.1: an empty result, node or not (no directory harvesting).
                      xml::Element q("query", std::string(ns::kDiscoItems));
                      if (!node.empty()) {
                        q.set_attr("node", node);
                      }
                      co_return q;
                    }
                    if (node.empty()) {
                      auto items_op = account_items(iq.to.bare(), a.allowed, iq);
                      co_return co_await std::move(items_op);
                    }
                  } else if (node.empty()) {
                    xml::Element q("query", std::string(ns::kDiscoItems));
                    for (const auto& it : reg.disco_items(target, iq.to.domain())) {
                      add_item(q, it);
                    }
                    for (const module::DiscoItemsProvider* provider :
                         reg.disco_items_providers(target)) {
                      auto op = (*provider)(iq);
                      std::vector<module::DiscoItem> items = co_await std::move(op);
                      for (const auto& it : items) {
                        add_item(q, it);
                      }
                    }
                    co_return q;
                  }
                  const module::DiscoNodeHandler* h = reg.find_disco_node(target, node);
                  if (h == nullptr) {
                    h = reg.other_disco_nodes(target);
                  }
                  if (h == nullptr || !h->items) {
                    co_return xmpp::StanzaError::item_not_found();
                  }
                  auto op = h->items(iq);
                  module::DiscoItemsResult r = co_await std::move(op);
                  if (auto* err = std::get_if<xmpp::StanzaError>(&r)) {
                    co_return std::move(*err);
                  }
                  co_return disco::items_query(node, std::get<std::vector<module::DiscoItem>>(r));
                });
      ctx.add_feature(target, std::string(ns::kDiscoInfo));
      ctx.add_feature(target, std::string(ns::kDiscoItems));
    }
    // §8 2.1: disco#items to an account that does not exist is an empty result, not the
    // service-unavailable of RFC 6121 §8.5.1; the handler checks existence itself.
    ctx.answer_missing_accounts(
        {module::IqType::kGet, Target::kAccount, std::string(ns::kDiscoItems), "query"});
    ctx.add_identity(Target::kServer, {"server", "im", "Starling"});
    ctx.add_identity(Target::kAccount, {"account", "registered", ""});
  }

 private:
  struct Access {
    bool exists = false;
    bool allowed = false;  // may see the account's presence (§8: "from" or "both", or itself)
  };

  static void add_item(xml::Element& q, const module::DiscoItem& it) {
    auto& e = q.add_child("item", std::string(ns::kDiscoItems));
    e.set_attr("jid", it.jid);
    if (!it.node.empty()) {
      e.set_attr("node", it.node);
    }
    if (!it.name.empty()) {
      e.set_attr("name", it.name);
    }
  }

  // One storage call: does the account exist, and may the requester see its presence.
  asio::awaitable<Access> access(xmpp::Jid from, xmpp::Jid to) {
    xmpp::Jid user = to.bare();
    bool own = from.bare() == user;
    // The server itself (and its other domains) is trusted (§8: "otherwise trusted").
    bool trusted =
        from.local().empty() && from.resource().empty() && from.domain() == user.domain();
    std::string domain = user.domain(), local = user.local(), asker = from.bare_str();
    auto op = ctx_->storage().run([domain, local, asker, own, trusted](storage::Backend& b) {
      Access a;
      if (!b.get_account(domain, local)) {
        return a;
      }
      a.exists = true;
      if (own || trusted) {
        a.allowed = true;
      } else if (auto item = roster::get_item(b, domain, local, asker)) {
        a.allowed = roster::has_from(item->subscription);
      }
      return a;
    });
    co_return co_await std::move(op);
  }

  // §4.1, §8 2.2: the available resources (only to those allowed to see them), then the items
  // modules registered for every account and those the providers give (an empty jid stands for
  // the account's bare JID).
  asio::awaitable<module::IqResult> account_items(xmpp::Jid user, bool allowed, module::Iq iq) {
    xml::Element q("query", std::string(ns::kDiscoItems));
    if (allowed) {
      auto op = ctx_->sink().available_resources(user);
      auto resources = co_await std::move(op);
      for (const auto& r : resources) {
        add_item(q, {user.bare_str() + "/" + r.resource, "", ""});
      }
    }
    for (auto it : ctx_->registry().disco_items(Target::kAccount, user.domain())) {
      if (it.jid.empty()) {
        it.jid = user.bare_str();
      }
      add_item(q, it);
    }
    for (const module::DiscoItemsProvider* provider :
         ctx_->registry().disco_items_providers(Target::kAccount)) {
      auto op = (*provider)(iq);
      std::vector<module::DiscoItem> items = co_await std::move(op);
      for (auto& it : items) {
        if (it.jid.empty()) {
          it.jid = user.bare_str();
        }
        add_item(q, it);
      }
    }
    co_return q;
  }

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0030_disco() { return std::make_unique<Disco>(); }
}  // namespace starling::modules
