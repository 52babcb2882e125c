// XEP-0030: Service Discovery. disco#info lists the identities and features every module
// registered for the server or for accounts; disco#items lists nothing yet (services come with
// MUC, pubsub, upload).
#include "module/module.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

using module::Target;

xml::Element info_result(const module::Registry& reg, Target target, const std::string& node) {
  xml::Element q("query", std::string(ns::kDiscoInfo));
  if (!node.empty()) {
    q.set_attr("node", node);
  }
  for (const auto& id : reg.identities(target)) {
    auto& e = q.add_child("identity", std::string(ns::kDiscoInfo));
    e.set_attr("category", id.category);
    e.set_attr("type", id.type);
    if (!id.name.empty()) {
      e.set_attr("name", id.name);
    }
  }
  for (const auto& f : reg.features(target)) {
    q.add_child("feature", std::string(ns::kDiscoInfo)).set_attr("var", f);
  }
  return q;
}

class Disco final : public module::Module {
 public:
  std::string_view name() const override { return "xep0030_disco"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0030", "2.5rc3", "partial",
             "info (identities, features of every module) and items for the server and "
             "accounts; no nodes and no service items yet",
             "tests/e2e/test_clients.py"}};
  }
  void start(module::ModuleContext& ctx) override {
    const module::Registry& reg = ctx.registry();
    for (auto target : {Target::kServer, Target::kAccount}) {
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kDiscoInfo), "query"},
                [&reg, target](const module::Iq& iq) -> boost::asio::awaitable<module::IqResult> {
                  std::string node(iq.payload.attr_or("node"));
                  if (!node.empty()) {
                    co_return xmpp::StanzaError::item_not_found();  // §3.1: unknown node
                  }
                  co_return info_result(reg, target, node);
                });
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kDiscoItems), "query"},
                [](const module::Iq& iq) -> boost::asio::awaitable<module::IqResult> {
                  if (!iq.payload.attr_or("node").empty()) {
                    co_return xmpp::StanzaError::item_not_found();
                  }
                  co_return xml::Element("query", std::string(ns::kDiscoItems));
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
