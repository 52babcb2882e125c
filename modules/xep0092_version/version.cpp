// XEP-0092: Software Version, answered for the server itself. The operating system is not
// disclosed (§3: the <os/> element is optional and discloses information to attackers).
#include "module/module.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

class Version final : public module::Module {
 public:
  std::string_view name() const override { return "xep0092_version"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0092", "1.1", "complete", "server name and version; the OS is not disclosed",
             "tests/e2e/test_clients.py"}};
  }
  void start(module::ModuleContext& ctx) override {
    const module::ServerInfo& info = ctx.server_info();
    ctx.on_iq({module::IqType::kGet, module::Target::kServer, std::string(ns::kVersion), "query"},
              [&info](const module::Iq&) -> boost::asio::awaitable<module::IqResult> {
                xml::Element q("query", std::string(ns::kVersion));
                q.add_child("name", std::string(ns::kVersion)).add_text(info.name);
                q.add_child("version", std::string(ns::kVersion)).add_text(info.version);
                co_return q;
              });
    ctx.add_feature(module::Target::kServer, std::string(ns::kVersion));
  }
};

}  // namespace

std::unique_ptr<module::Module> make_xep0092_version() { return std::make_unique<Version>(); }
}  // namespace starling::modules
