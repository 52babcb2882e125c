// XEP-0202 Entity Time, answered for the server itself: its UTC time (XEP-0082 DateTime) and
// the numeric offset of its local time zone (XEP-0082 TZD). A query to a full JID is delivered
// to that client by the router; an account's bare JID has no clock of its own.
#include <chrono>
#include <ctime>

#include "module/module.hpp"
#include "xmpp/datetime.hpp"

namespace starling::modules {
namespace {

constexpr const char* kTimeNs = "urn:xmpp:time";

class EntityTime final : public module::Module {
 public:
  std::string_view name() const override { return "xep0202_time"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0202", "2.0", "complete",
             "the server's UTC time with milliseconds and its time zone offset; disco feature",
             "tests/e2e/test_time.py, src/xmpp/datetime_test.cpp"}};
  }
  void start(module::ModuleContext& ctx) override {
    ctx.add_feature(module::Target::kServer, kTimeNs);  // §4
    ctx.on_iq({module::IqType::kGet, module::Target::kServer, kTimeNs, "time"},
              [](const module::Iq&) -> boost::asio::awaitable<module::IqResult> {
                auto now = std::chrono::system_clock::now();
                std::time_t t = std::chrono::system_clock::to_time_t(now);
                std::tm local{};
                localtime_r(&t, &local);
                xml::Element reply("time", kTimeNs);
                auto ms = std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch();
                reply.add_child("tzo", kTimeNs).add_text(xmpp::format_tzd(local.tm_gmtoff));
                reply.add_child("utc", kTimeNs).add_text(xmpp::format_datetime_ms(ms.count()));
                co_return reply;
              });
  }
};

}  // namespace

std::unique_ptr<module::Module> make_xep0202_time() { return std::make_unique<EntityTime>(); }
}  // namespace starling::modules
