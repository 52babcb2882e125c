// XEP-0199: XMPP Ping. The server answers pings to itself and, on the account's behalf, to a
// bare JID. Server-to-client pings of quiet sessions are sent by the c2s stream.
#include "module/module.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

class Ping final : public module::Module {
 public:
  std::string_view name() const override { return "xep0199_ping"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0199", "2.0.1", "complete",
             "answers pings to the server and to accounts; pings quiet clients (c2s.ping_interval)",
             "tests/e2e/test_clients.py, tests/e2e/test_routing.py, tests/e2e/test_operation.py"}};
  }
  void start(module::ModuleContext& ctx) override {
    for (auto target : {module::Target::kServer, module::Target::kAccount}) {
      ctx.on_iq({module::IqType::kGet, target, std::string(ns::kPing), "ping"},
                [](const module::Iq&) -> boost::asio::awaitable<module::IqResult> {
                  co_return module::Empty{};  // §4.3: an empty result
                });
    }
    ctx.add_feature(module::Target::kServer, std::string(ns::kPing));
  }
};

}  // namespace

std::unique_ptr<module::Module> make_xep0199_ping() { return std::make_unique<Ping>(); }
}  // namespace starling::modules
