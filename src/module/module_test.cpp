#include "module/module.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "server/config/config.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"

namespace starling::module {
namespace {

class NullSink : public StanzaSink {
 public:
  void route(xmpp::StanzaPtr) override {}
  void push_to_interested(const xmpp::Jid&, xml::Element, Interest) override {}
  void set_roster_interested(const xmpp::Jid&, Interest) override {}
  void set_account_filter(const xmpp::Jid&, FilterPtr) override {}
  void set_resource_filter(const xmpp::Jid&, FilterPtr) override {}
  void set_audience(const xmpp::Jid&, AudiencePtr) override {}
  boost::asio::awaitable<FilterPtr> filter_of(xmpp::Jid) override { co_return nullptr; }
  boost::asio::awaitable<std::vector<AvailableResource>> available_resources(
      xmpp::Jid) override {
    co_return std::vector<AvailableResource>{};
  }
  void deliver_to_available(const xmpp::Jid&, xmpp::StanzaPtr) override {}
  void deliver_to_resource(const xmpp::Jid&, xmpp::StanzaPtr) override {}
  void end_sessions(const xmpp::Jid& bare, std::string condition, std::string) override {
    ended.push_back(bare.str() + " " + condition);
  }
  void set_presence_state(const xmpp::Jid&, std::size_t, PresenceStatePtr) override {}
  boost::asio::awaitable<std::vector<OnlineAccount>> online_accounts(std::string,
                                                                     std::size_t) override {
    co_return std::vector<OnlineAccount>{};
  }
  std::size_t shard_count() const override { return 1; }
  boost::asio::any_io_executor shard_executor(std::size_t) override { return {}; }
  std::size_t shard_of(const xmpp::Jid&) const override { return 0; }
  std::vector<std::string> ended;
};

std::unique_ptr<storage::Storage> temp_storage() {
  char dir[] = "/tmp/starling-module-test-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  auto backend = storage::open_sqlite(std::filesystem::path(dir) / "t.db");
  EXPECT_TRUE(backend.ok());
  return std::make_unique<storage::Storage>(std::move(*backend));
}

struct Fixture {
  std::unique_ptr<storage::Storage> storage = temp_storage();
  Registry registry;
  NullSink sink;
  config::Config cfg = config::defaults();
  ServerInfo info;
  std::unique_ptr<ModuleContext> context(const std::string& name) {
    return std::make_unique<ModuleContext>(name, registry, sink, cfg, *storage, info);
  }
};

TEST(Registry, IqHandlersAreKeyedAndRemovedWithTheirContext) {
  Fixture f;
  IqKey key{IqType::kGet, Target::kServer, "urn:xmpp:ping", "ping"};
  {
    auto ctx = f.context("ping");
    ctx->on_iq(key, [](const Iq&) -> boost::asio::awaitable<IqResult> { co_return Empty{}; });
    EXPECT_NE(f.registry.find_iq(key), nullptr);
    EXPECT_EQ(f.registry.find_iq({IqType::kSet, Target::kServer, "urn:xmpp:ping", "ping"}),
              nullptr);
    EXPECT_EQ(f.registry.find_iq({IqType::kGet, Target::kAccount, "urn:xmpp:ping", "ping"}),
              nullptr);
    EXPECT_THROW(
        ctx->on_iq(key, [](const Iq&) -> boost::asio::awaitable<IqResult> { co_return Empty{}; }),
        std::logic_error);
  }
  EXPECT_EQ(f.registry.find_iq(key), nullptr);
}

class Tag final : public session::PresenceState {
 public:
  explicit Tag(std::string v) : PresenceState(1), value(std::move(v)) {}
  std::string value;
};

TEST(Registry, PresenceDecoratorsRunInSlotOrderOnlyWithAState) {
  Fixture f;
  auto ctx = f.context("deco");
  auto add = [](const xml::Element& p,
                const session::PresenceState& s) -> std::optional<xml::Element> {
    const auto& tag = static_cast<const Tag&>(s).value;
    if (tag.empty()) {
      return std::nullopt;
    }
    xml::Element out = p;
    out.add_child(tag, "urn:test");
    return out;
  };
  std::size_t first = ctx->add_presence_decorator(add);
  std::size_t second = ctx->add_presence_decorator(add);
  EXPECT_NE(first, second);
  xml::Element presence("presence", "jabber:client");
  std::vector<std::shared_ptr<const session::PresenceState>> states(2);
  EXPECT_FALSE(f.registry.decorate_presence(presence, states));  // no states: untouched
  states[first] = std::make_shared<Tag>("a");
  states[second] = std::make_shared<Tag>("b");
  auto out = f.registry.decorate_presence(presence, states);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->elements().size(), 2u);
  EXPECT_EQ(out->elements()[0]->name(), "a");  // the second decorator sees the first's output
  EXPECT_EQ(out->elements()[1]->name(), "b");
  states[first] = std::make_shared<Tag>("");
  out = f.registry.decorate_presence(presence, states);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->elements().size(), 1u);
  ctx.reset();  // removed with the context
  EXPECT_FALSE(f.registry.decorate_presence(presence, states));
}

TEST(Registry, FeaturesAreSortedUniqueAndPerTarget) {
  Fixture f;
  auto a = f.context("a");
  auto b = f.context("b");
  a->add_feature(Target::kServer, "urn:b");
  b->add_feature(Target::kServer, "urn:a");
  b->add_feature(Target::kServer, "urn:b");
  a->add_feature(Target::kAccount, "urn:acct");
  EXPECT_EQ(f.registry.features(Target::kServer), (std::vector<std::string>{"urn:a", "urn:b"}));
  EXPECT_EQ(f.registry.features(Target::kAccount), (std::vector<std::string>{"urn:acct"}));
  b.reset();
  EXPECT_EQ(f.registry.features(Target::kServer), (std::vector<std::string>{"urn:b"}));
}

TEST(Registry, EventsReachEveryHandlerEvenIfOneThrows) {
  Fixture f;
  std::vector<std::string> seen;
  auto a = f.context("a");
  auto b = f.context("b");
  a->on<events::SessionBound>([](const events::SessionBound&) { throw std::runtime_error("x"); });
  b->on<events::SessionBound>(
      [&seen](const events::SessionBound& e) { seen.push_back("bound " + e.jid.str()); });
  b->on<events::SessionClosed>(
      [&seen](const events::SessionClosed& e) { seen.push_back("closed " + e.jid.str()); });
  auto jid = *xmpp::Jid::parse("a@localhost/r");
  f.registry.fire(events::SessionBound{jid, {}});
  f.registry.fire(events::SessionClosed{jid});
  EXPECT_EQ(seen, (std::vector<std::string>{"bound a@localhost/r", "closed a@localhost/r"}));
  b.reset();  // b's handlers go away with its context
  f.registry.fire(events::SessionBound{jid, {}});
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Registry, DiscoNodesArePerTargetAndNodeAndRemovedWithTheirContext) {
  Fixture f;
  DiscoNodeHandler h;
  h.items = [](const Iq&) -> boost::asio::awaitable<DiscoItemsResult> {
    co_return std::vector<DiscoItem>{};
  };
  {
    auto ctx = f.context("n");
    ctx->on_disco_node(Target::kAccount, "urn:node", h);
    const DiscoNodeHandler* found = f.registry.find_disco_node(Target::kAccount, "urn:node");
    ASSERT_NE(found, nullptr);
    EXPECT_TRUE(found->items);
    EXPECT_FALSE(found->info);
    EXPECT_EQ(f.registry.find_disco_node(Target::kServer, "urn:node"), nullptr);
    EXPECT_EQ(f.registry.find_disco_node(Target::kAccount, "urn:other"), nullptr);
    EXPECT_EQ(f.registry.find_disco_node(Target::kAccount, ""), nullptr);
    EXPECT_THROW(ctx->on_disco_node(Target::kAccount, "urn:node", h), std::logic_error);
    ctx->on_disco_node(Target::kServer, "urn:node", h);  // another target: fine
  }
  EXPECT_EQ(f.registry.find_disco_node(Target::kAccount, "urn:node"), nullptr);
  EXPECT_EQ(f.registry.find_disco_node(Target::kServer, "urn:node"), nullptr);
}

TEST(Registry, PreAuthIqHandlersAreKeyedByTypeAndPayload) {
  Fixture f;
  {
    auto ctx = f.context("register");
    ctx->on_pre_auth_iq(
        IqType::kGet, "jabber:iq:register", "query",
        [](const PreAuthIq&) -> boost::asio::awaitable<IqResult> { co_return Empty{}; });
    EXPECT_NE(f.registry.find_pre_auth_iq(IqType::kGet, "jabber:iq:register", "query"), nullptr);
    EXPECT_EQ(f.registry.find_pre_auth_iq(IqType::kSet, "jabber:iq:register", "query"), nullptr);
    EXPECT_EQ(f.registry.find_pre_auth_iq(IqType::kGet, "jabber:iq:roster", "query"), nullptr);
    // Post-authentication handlers are a separate table.
    EXPECT_EQ(f.registry.find_iq({IqType::kGet, Target::kServer, "jabber:iq:register", "query"}),
              nullptr);
    EXPECT_THROW(ctx->on_pre_auth_iq(IqType::kGet, "jabber:iq:register", "query",
                                     [](const PreAuthIq&) -> boost::asio::awaitable<IqResult> {
                                       co_return Empty{};
                                     }),
                 std::logic_error);
  }
  EXPECT_EQ(f.registry.find_pre_auth_iq(IqType::kGet, "jabber:iq:register", "query"), nullptr);
}

TEST(Registry, PreAuthStreamFeaturesAreFilteredPerDomain) {
  Fixture f;
  auto ctx = f.context("register");
  ctx->add_pre_auth_stream_feature(
      xml::Element("register", "http://jabber.org/features/iq-register"),
      [](std::string_view d) { return d == "open.example"; });
  ctx->add_pre_auth_stream_feature(xml::Element("always", "urn:test"), nullptr);
  auto open = f.registry.pre_auth_stream_features("open.example");
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].name(), "register");
  EXPECT_EQ(open[1].name(), "always");
  auto closed = f.registry.pre_auth_stream_features("closed.example");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].name(), "always");
  ctx.reset();
  EXPECT_TRUE(f.registry.pre_auth_stream_features("open.example").empty());
}

TEST(ModuleContext, EndSessionsGoesToTheSink) {
  Fixture f;
  auto ctx = f.context("register");
  ctx->end_sessions(*xmpp::Jid::parse("bill@localhost"), "not-authorized");
  EXPECT_EQ(f.sink.ended, std::vector<std::string>{"bill@localhost not-authorized"});
}

TEST(Registry, DiscoItemsFormsAndIqResponsePrefixes) {
  Fixture f;
  auto ctx = f.context("services");
  ctx->add_disco_item(Target::kServer, {"conference.a.example", "", "Rooms"}, "a.example");
  ctx->add_disco_item(Target::kServer, {"upload.example", "", ""});
  xml::Element form("x", "jabber:x:data");
  ctx->add_disco_form(Target::kServer, form);
  ctx->on_iq_response("caps-", [](xmpp::StanzaPtr) {});
  EXPECT_EQ(f.registry.disco_items(Target::kServer, "a.example").size(), 2u);
  ASSERT_EQ(f.registry.disco_items(Target::kServer, "b.example").size(), 1u);
  EXPECT_EQ(f.registry.disco_items(Target::kServer, "b.example")[0].jid, "upload.example");
  EXPECT_TRUE(f.registry.disco_items(Target::kAccount, "a.example").empty());
  EXPECT_EQ(f.registry.disco_forms(Target::kServer).size(), 1u);
  EXPECT_NE(f.registry.find_iq_response("caps-123"), nullptr);
  EXPECT_EQ(f.registry.find_iq_response("cap"), nullptr);
  EXPECT_EQ(f.registry.find_iq_response("ping-1"), nullptr);
  EXPECT_THROW(ctx->on_iq_response("caps-", [](xmpp::StanzaPtr) {}), std::logic_error);
  ctx.reset();
  EXPECT_TRUE(f.registry.disco_items(Target::kServer, "a.example").empty());
  EXPECT_TRUE(f.registry.disco_forms(Target::kServer).empty());
  EXPECT_EQ(f.registry.find_iq_response("caps-123"), nullptr);
}

TEST(EntityCaps, FeaturesAndNotify) {
  EntityCaps c;
  c.features = {"http://jabber.org/protocol/tune+notify", "urn:xmpp:ping"};
  EXPECT_TRUE(c.has_feature("urn:xmpp:ping"));
  EXPECT_FALSE(c.has_feature("urn:xmpp:time"));
  EXPECT_TRUE(c.wants_notify("http://jabber.org/protocol/tune"));
  EXPECT_FALSE(c.wants_notify("urn:xmpp:avatar:metadata"));
}

}  // namespace
}  // namespace starling::module
