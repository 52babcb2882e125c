// XEP-0030: Service Discovery. disco#info lists the identities and features every module
// registered for the server or for accounts; disco#items lists nothing yet (services come with
// MUC, pubsub, upload). A query with a 'node' goes to the module that registered that node for
// the target (ModuleContext::on_disco_node); other nodes get item-not-found.
#include "module/module.hpp"
#include "modules/xep0030_disco/disco_format.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

using module::Target;

class Disco final : public module::Module {
 public:
  std::string_view name() const override { return "xep0030_disco"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0030", "2.5rc3", "partial",
             "info (identities, features of every module) and items for the server and "
             "accounts; nodes registered by modules (on_disco_node), unknown nodes get "
             "item-not-found; no service items yet",
             "tests/e2e/test_clients.py, tests/e2e/test_offline_flexible.py, "
             "modules/xep0030_disco/disco_format_test.cpp"}};
  }
  void start(module::ModuleContext& ctx) override {
    const module::Registry& reg = ctx.registry();
    for (auto target : {Target::kServer, Target::kAccount}) {
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kDiscoInfo), "query"},
                [&reg, target](const module::Iq& iq) -> boost::asio::awaitable<module::IqResult> {
                  std::string node(iq.payload.attr_or("node"));
                  if (node.empty()) {
                    co_return disco::info_query(reg.identities(target), reg.features(target));
                  }
                  const module::DiscoNodeHandler* h = reg.find_disco_node(target, node);
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
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kDiscoItems), "query"},
                [&reg, target](const module::Iq& iq) -> boost::asio::awaitable<module::IqResult> {
                  std::string node(iq.payload.attr_or("node"));
                  if (node.empty()) {
                    co_return xml::Element("query", std::string(ns::kDiscoItems));
                  }
                  const module::DiscoNodeHandler* h = reg.find_disco_node(target, node);
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
    ctx.add_identity(Target::kServer, {"server", "im", "Starling"});
    ctx.add_identity(Target::kAccount, {"account", "registered", ""});
  }
};

}  // namespace

std::unique_ptr<module::Module> make_xep0030_disco() { return std::make_unique<Disco>(); }
}  // namespace starling::modules
