// XEP-0060 engine unit tests: a fake Host drives the NodeService; the tests assert the stanzas a
// client would see (iq payloads, errors, notifications). Nodes are set up with restore().
#include "modules/xep0060_pubsub/engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "modules/xep0060_pubsub/node.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::pubsub {
namespace {

namespace asio = boost::asio;
using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

TEST(PubsubNode, EnumNamesRoundTrip) {
  for (auto a : {Affiliation::kOwner, Affiliation::kPublisher, Affiliation::kPublishOnly,
                 Affiliation::kMember, Affiliation::kNone, Affiliation::kOutcast}) {
    EXPECT_EQ(parse_affiliation(to_string(a)), a);
  }
  EXPECT_EQ(parse_access_model("whitelist"), AccessModel::kWhitelist);
  EXPECT_EQ(parse_send_last("on_sub_and_presence"), SendLast::kOnSubAndPresence);
  EXPECT_FALSE(parse_access_model("secret").has_value());
}

Element parse(std::string_view s) {
  Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}
Jid J(std::string_view s) { return *Jid::parse(s); }
std::string str(const Element& e) { return xml::to_string(e); }

class FakeHost : public Host {
 public:
  void send(Element stanza) override { sent.push_back(std::move(stanza)); }
  asio::awaitable<RosterPtr> roster(Jid owner) override {
    ++roster_reads;
    auto it = rosters.find(owner.bare_str());
    co_return std::make_shared<const RosterView>(it == rosters.end() ? RosterView{} : it->second);
  }
  asio::awaitable<std::vector<Jid>> implicit_recipients(std::string node) override {
    implicit_asked.push_back(node);
    co_return implicit;
  }
  // Presence for pubsub#presence_based_delivery: JIDs absent from `online` are unknown.
  asio::awaitable<std::optional<bool>> is_available(Jid jid) override {
    availability_asked.push_back(jid.str());
    auto it = online.find(jid.str());
    co_return it == online.end() ? std::nullopt : std::optional<bool>(it->second);
  }
  std::map<std::string, bool> online;
  std::vector<std::string> availability_asked;
  std::optional<StanzaError> may_create(const Jid&) override { return std::nullopt; }
  bool is_admin(const Jid& bare) const override { return bare.bare_str() == "admin@example.org"; }
  std::int64_t now() const override { return clock; }
  asio::awaitable<bool> store_node(Node node) override {
    stored_nodes.push_back(std::move(node));
    co_return storage_ok;
  }
  asio::awaitable<bool> store_item(std::string node, Item item) override {
    stored_items.emplace_back(std::move(node), std::move(item));
    co_return storage_ok;
  }
  asio::awaitable<bool> remove_items(std::string node, std::vector<std::string> ids) override {
    removed.emplace_back(std::move(node), std::move(ids));
    co_return storage_ok;
  }
  asio::awaitable<bool> remove_node(std::string) override { co_return storage_ok; }

  std::vector<Element> sent;
  std::map<std::string, RosterView> rosters;
  std::vector<Jid> implicit;
  std::vector<std::string> implicit_asked;
  std::vector<Node> stored_nodes;
  std::vector<std::pair<std::string, Item>> stored_items;
  std::vector<std::pair<std::string, std::vector<std::string>>> removed;
  bool storage_ok = true;
  int roster_reads = 0;
  std::int64_t clock = 1700000000;  // 2023-11-14T22:13:20Z
};

template <typename T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await std::move(a); },
                 asio::detached);
  io.run();
  return std::move(*out);
}
void run_void(asio::awaitable<void> a) {
  asio::io_context io;
  asio::co_spawn(io, std::move(a), asio::detached);
  io.run();
}

constexpr std::string_view kPs = "http://jabber.org/protocol/pubsub";

Node make_node(std::string name, std::string owner = "hamlet@denmark.lit") {
  Node n;
  n.name = std::move(name);
  n.created = 1600000000;
  n.creator = owner;
  n.affiliations[owner] = Affiliation::kOwner;
  return n;
}

Item make_item(std::string id, std::uint64_t seq, std::string text = "x") {
  Item i;
  i.id = std::move(id);
  i.seq = seq;
  i.published = 1690000000 + static_cast<std::int64_t>(seq);
  i.publisher = "hamlet@denmark.lit/elsinore";
  Element p("entry", "http://www.w3.org/2005/Atom");
  p.add_child("title", "http://www.w3.org/2005/Atom").add_text(std::move(text));
  i.payload = std::move(p);
  return i;
}

Subscription make_sub(std::string jid, std::string subid,
                      SubState state = SubState::kSubscribed) {
  Subscription s;
  s.jid = J(jid);
  s.subid = std::move(subid);
  s.state = state;
  return s;
}

class Engine : public ::testing::Test {
 protected:
  Options opts() {
    Options o;
    o.jid = J("pubsub.shakespeare.lit");
    return o;
  }
  void make(Options o) { svc = std::make_unique<NodeService>(host, std::move(o)); }
  void SetUp() override { make(opts()); }

  module::IqResult iq(std::string_view type, std::string_view from, std::string_view payload) {
    Element e("iq", "jabber:client");
    e.set_attr("type", std::string(type));
    e.set_attr("id", "q1");
    e.add_child(parse(payload));
    return run(svc->handle(std::move(e), J(from)));
  }
  // The result payload (fails the test on an error or an empty result).
  Element ok(const module::IqResult& r) {
    if (auto* e = std::get_if<StanzaError>(&r)) {
      ADD_FAILURE() << "error " << e->condition << " " << e->app_condition << " " << e->text;
      return {};
    }
    if (std::holds_alternative<module::Empty>(r)) {
      return {};
    }
    return std::get<Element>(r);
  }
  bool empty(const module::IqResult& r) { return std::holds_alternative<module::Empty>(r); }
  // The <error/> a client sees.
  std::string error(const module::IqResult& r) {
    auto* e = std::get_if<StanzaError>(&r);
    if (e == nullptr) {
      return "no error";
    }
    // The condition elements (the human-readable <text/> is left out of the comparison).
    Element err = xmpp::make_error_element(*e);
    std::erase_if(err.nodes(), [](const Element& c) { return c.name() == "text"; });
    return str(err);
  }
  std::vector<Element> take_sent() { return std::exchange(host.sent, {}); }

  FakeHost host;
  std::unique_ptr<NodeService> svc;
};

constexpr std::string_view kStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";

std::string err_xml(std::string_view type, std::string_view cond, std::string_view app = {},
                    std::string_view feature = {}) {
  std::string s = "<error xmlns='jabber:client' type='" + std::string(type) + "'><" + std::string(cond) +
                  " xmlns='" + std::string(kStanzas) + "'/>";
  if (!app.empty()) {
    s += "<" + std::string(app) + " xmlns='http://jabber.org/protocol/pubsub#errors'";
    if (!feature.empty()) {
      s += " feature='" + std::string(feature) + "'";
    }
    s += "/>";
  }
  return s + "</error>";
}
std::string err_of(std::string_view type, std::string_view cond, std::string_view app = {},
                   std::string_view feature = {}) {
  return str(parse(err_xml(type, cond, app, feature)));
}

// ---- dispatch ---------------------------------------------------------------------------

TEST_F(Engine, DispatchErrors) {
  EXPECT_EQ(error(iq("get", "a@x.lit/r", "<pubsub xmlns='http://jabber.org/protocol/pubsub'/>")),
            err_of("modify", "bad-request"));
  EXPECT_EQ(error(iq("get", "a@x.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'/></pubsub>")),
            err_of("modify", "bad-request"));
  EXPECT_EQ(error(iq("set", "a@x.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><frobnicate/></pubsub>")),
            err_of("cancel", "feature-not-implemented", "unsupported", "frobnicate"));
  EXPECT_EQ(error(iq("set", "a@x.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'/>"
                     "<retract node='n'/></pubsub>")),
            err_of("modify", "bad-request"));
}

// ---- publish ----------------------------------------------------------------------------

TEST_F(Engine, PublishNotifiesSubscribersWithPayload) {
  Node n = make_node("princely_musings");
  n.subscriptions.push_back(make_sub("francisco@denmark.lit", "s1"));
  n.subscriptions.push_back(make_sub("bernardo@denmark.lit/watch", "s2", SubState::kPending));
  svc->restore(std::move(n));
  auto r = iq("set", "hamlet@denmark.lit/elsinore",
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='princely_musings'>"
              "<item id='ae890ac52d0df67ed7cfdf51b644e901'><entry xmlns='http://www.w3.org/2005/Atom'>"
              "<title>Soliloquy</title></entry></item></publish></pubsub>");
  EXPECT_EQ(str(ok(r)),
            str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
                      "node='princely_musings'><item id='ae890ac52d0df67ed7cfdf51b644e901'/>"
                      "</publish></pubsub>")));
  ASSERT_EQ(host.stored_items.size(), 1u);
  EXPECT_EQ(host.stored_items[0].second.publisher, "hamlet@denmark.lit/elsinore");
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);  // the pending subscriber gets nothing
  Element& m = sent[0];
  EXPECT_EQ(m.attr_or("to"), "francisco@denmark.lit");
  EXPECT_EQ(m.attr_or("from"), "pubsub.shakespeare.lit");
  EXPECT_EQ(m.attr_or("type"), "headline");
  EXPECT_FALSE(m.attr_or("id").empty());
  ASSERT_NE(m.child("event", ns::kEvent), nullptr);
  EXPECT_EQ(str(*m.child("event", ns::kEvent)),
            str(parse("<event xmlns='http://jabber.org/protocol/pubsub#event'><items "
                      "node='princely_musings'><item id='ae890ac52d0df67ed7cfdf51b644e901'>"
                      "<entry xmlns='http://www.w3.org/2005/Atom'><title>Soliloquy</title>"
                      "</entry></item></items></event>")));
  EXPECT_EQ(m.child("headers", ns::kShim), nullptr);
}

TEST_F(Engine, PublishGeneratesIdsAndReplacesSameId) {
  svc->restore(make_node("n"));
  Element r = ok(iq("set", "hamlet@denmark.lit/e",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item>"
                    "<a xmlns='urn:a'/></item></publish></pubsub>"));
  const Element* item = r.child("publish", kPs)->child("item", kPs);
  ASSERT_NE(item, nullptr);
  std::string id(item->attr_or("id"));
  EXPECT_FALSE(id.empty());
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='b'>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='" + id +
            "'><a xmlns='urn:a'>new</a></item></publish></pubsub>"));
  const Node* n = svc->find("n");
  ASSERT_EQ(n->items.size(), 2u);
  EXPECT_EQ(n->items[0].id, "b");
  EXPECT_EQ(n->items[1].id, id);  // republished: now the newest, with the new payload
  EXPECT_EQ(n->items[1].payload->text(), "new");
}

TEST_F(Engine, PublishEvictsOldestBeyondMaxItems) {
  Node n = make_node("n");
  n.config.max_items = 2;
  n.items = {make_item("i1", 1), make_item("i2", 2)};
  svc->restore(std::move(n));
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='i3'>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  const Node* node = svc->find("n");
  ASSERT_EQ(node->items.size(), 2u);
  EXPECT_EQ(node->items[0].id, "i2");
  EXPECT_EQ(node->items[1].id, "i3");
  ASSERT_EQ(host.removed.size(), 1u);
  EXPECT_EQ(host.removed[0].second, std::vector<std::string>{"i1"});
}

TEST_F(Engine, TransientPayloadNodeKeepsItemsInMemoryOnly) {
  Node n = make_node("n");
  n.config.persist_items = false;
  svc->restore(std::move(n));
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='i'>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  EXPECT_TRUE(host.stored_items.empty());
  Element r = ok(iq("get", "x@y.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'/></pubsub>"));
  EXPECT_EQ(r.child("items", kPs)->elements().size(), 1u);
}

TEST_F(Engine, TransientNotificationNodeSendsEmptyItems) {
  Node n = make_node("n");
  n.config.persist_items = false;
  n.config.deliver_payloads = false;
  n.subscriptions.push_back(make_sub("f@d.lit", "s"));
  svc->restore(std::move(n));
  // §7.1.3.6: an item is forbidden on a transient notification-only node.
  EXPECT_EQ(error(iq("set", "hamlet@denmark.lit/e",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item "
                     "id='i'/></publish></pubsub>")),
            err_of("modify", "bad-request", "item-forbidden"));
  Element r = ok(iq("set", "hamlet@denmark.lit/e",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'/></pubsub>"));
  EXPECT_EQ(str(r), str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
                              "node='n'/></pubsub>")));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(str(*sent[0].child("event", ns::kEvent)),
            str(parse("<event xmlns='http://jabber.org/protocol/pubsub#event'><items "
                      "node='n'/></event>")));
  EXPECT_TRUE(svc->find("n")->items.empty());
}

TEST_F(Engine, NotificationWithoutPayloadAndWithPublisher) {
  Node n = make_node("n");
  n.config.deliver_payloads = false;
  n.config.itemreply = ItemReply::kPublisher;
  n.config.notification_type = NotificationType::kNormal;
  n.subscriptions.push_back(make_sub("f@d.lit", "s"));
  svc->restore(std::move(n));
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='i'>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attr("type"), nullptr);  // normal
  EXPECT_EQ(str(*sent[0].child("event", ns::kEvent)),
            str(parse("<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='n'>"
                      "<item id='i' publisher='hamlet@denmark.lit/e'/></items></event>")));
}

TEST_F(Engine, PublishErrors) {
  Node n = make_node("n");
  n.config.max_payload_size = 64;
  n.affiliations["bad@d.lit"] = Affiliation::kOutcast;
  svc->restore(std::move(n));
  auto pub = [&](std::string_view from, std::string_view inner, std::string_view node = "n") {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                  std::string(node) + "'>" + std::string(inner) + "</publish></pubsub>");
  };
  EXPECT_EQ(error(iq("set", "hamlet@denmark.lit/e",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish/></pubsub>")),
            err_of("modify", "bad-request", "nodeid-required"));
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "<item id='a'><a xmlns='urn:a'/></item>", "nope")),
            err_of("cancel", "item-not-found"));
  EXPECT_EQ(error(pub("other@d.lit/e", "<item id='a'><a xmlns='urn:a'/></item>")),
            err_of("auth", "forbidden"));
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "")),
            err_of("modify", "bad-request", "item-required"));
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "<item id='a'/>")),
            err_of("modify", "bad-request", "payload-required"));
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "<item id='a'><a xmlns='urn:a'/><b xmlns='urn:b'/></item>")),
            err_of("modify", "bad-request", "invalid-payload"));
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "<item id='a'><a xmlns='urn:a'>" +
                                                  std::string(100, 'x') + "</a></item>")),
            err_of("modify", "not-acceptable", "payload-too-big"));
  EXPECT_TRUE(svc->find("n")->items.empty());
  host.storage_ok = false;
  EXPECT_EQ(error(pub("hamlet@denmark.lit/e", "<item id='a'><a xmlns='urn:a'/></item>")),
            err_of("cancel", "internal-server-error"));
  EXPECT_TRUE(svc->find("n")->items.empty());
}

TEST_F(Engine, PublishModels) {
  Node n = make_node("open");
  n.config.publish_model = PublishModel::kOpen;
  n.affiliations["bad@d.lit"] = Affiliation::kOutcast;
  svc->restore(std::move(n));
  Node s = make_node("subs");
  s.config.publish_model = PublishModel::kSubscribers;
  s.subscriptions.push_back(make_sub("sub@d.lit/r", "s1"));
  svc->restore(std::move(s));
  auto pub = [&](std::string_view from, std::string_view node) {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                  std::string(node) + "'><item><a xmlns='urn:a'/></item></publish></pubsub>");
  };
  ok(pub("anyone@else.lit/r", "open"));
  EXPECT_EQ(error(pub("bad@d.lit/r", "open")), err_of("auth", "forbidden"));
  ok(pub("sub@d.lit/other", "subs"));
  EXPECT_EQ(error(pub("anyone@else.lit/r", "subs")), err_of("auth", "forbidden"));
}

TEST_F(Engine, PublishOptionsOnServiceDoNotAutoCreate) {
  EXPECT_EQ(error(iq("set", "hamlet@denmark.lit/e",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item>"
                     "<a xmlns='urn:a'/></item></publish><publish-options><x xmlns='jabber:x:data' "
                     "type='submit'/></publish-options></pubsub>")),
            err_of("cancel", "item-not-found"));
}

// ---- retract ----------------------------------------------------------------------------

TEST_F(Engine, RetractNotifiesPerConfigurationOrRequest) {
  Node n = make_node("n");
  n.items = {make_item("i1", 1), make_item("i2", 2), make_item("i3", 3)};
  n.subscriptions.push_back(make_sub("f@d.lit", "s"));
  svc->restore(std::move(n));
  EXPECT_TRUE(empty(iq("set", "hamlet@denmark.lit/e",
                       "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='n'><item "
                       "id='i1'/></retract></pubsub>")));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);  // notify_retract defaults to true
  EXPECT_EQ(str(*sent[0].child("event", ns::kEvent)),
            str(parse("<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='n'>"
                      "<retract id='i1'/></items></event>")));
  ASSERT_EQ(host.removed.size(), 1u);
  EXPECT_EQ(host.removed[0].second, std::vector<std::string>{"i1"});


  // notify_retract off: silent unless the request asks (§7.2.2.1 notify='true').
  Node quiet = *svc->find("n");
  quiet.config.notify_retract = false;
  svc->restore(std::move(quiet));
  EXPECT_TRUE(empty(iq("set", "hamlet@denmark.lit/e",
                       "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='n'><item "
                       "id='i2'/></retract></pubsub>")));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_TRUE(empty(iq("set", "hamlet@denmark.lit/e",
                       "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='n' "
                       "notify='1'><item id='i3'/></retract></pubsub>")));
  EXPECT_EQ(take_sent().size(), 1u);
  EXPECT_TRUE(svc->find("n")->items.empty());
}

TEST_F(Engine, RetractErrors) {
  Node n = make_node("n");
  n.affiliations["pub@d.lit"] = Affiliation::kPublishOnly;
  n.items = {make_item("i1", 1)};
  svc->restore(std::move(n));
  auto retract = [&](std::string_view from, std::string_view body) {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'>" + std::string(body) +
                  "</pubsub>");
  };
  EXPECT_EQ(error(retract("hamlet@denmark.lit/e", "<retract><item id='i1'/></retract>")),
            err_of("modify", "bad-request", "nodeid-required"));
  EXPECT_EQ(error(retract("hamlet@denmark.lit/e", "<retract node='n'/>")),
            err_of("modify", "bad-request", "item-required"));
  EXPECT_EQ(error(retract("hamlet@denmark.lit/e", "<retract node='n'><item/></retract>")),
            err_of("modify", "bad-request", "item-required"));
  EXPECT_EQ(error(retract("hamlet@denmark.lit/e", "<retract node='x'><item id='i1'/></retract>")),
            err_of("cancel", "item-not-found"));
  EXPECT_EQ(error(retract("hamlet@denmark.lit/e", "<retract node='n'><item id='zz'/></retract>")),
            err_of("cancel", "item-not-found"));
  // publish-only deletes only what it published (§4.1 note).
  EXPECT_EQ(error(retract("pub@d.lit/e", "<retract node='n'><item id='i1'/></retract>")),
            err_of("auth", "forbidden"));
  EXPECT_EQ(error(retract("nobody@d.lit/e", "<retract node='n'><item id='i1'/></retract>")),
            err_of("auth", "forbidden"));
  EXPECT_EQ(svc->find("n")->items.size(), 1u);
}

// ---- subscribe / unsubscribe / options -------------------------------------------------

TEST_F(Engine, SubscribeOpenNodeSendsLastItemWithDelay) {
  Node n = make_node("princely_musings");
  n.items = {make_item("old", 1), make_item("last", 2, "latest")};
  svc->restore(std::move(n));
  Element r = ok(iq("set", "francisco@denmark.lit/barracks",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe "
                    "node='princely_musings' jid='francisco@denmark.lit'/></pubsub>"));
  const Element* s = r.child("subscription", kPs);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->attr_or("node"), "princely_musings");
  EXPECT_EQ(s->attr_or("jid"), "francisco@denmark.lit");
  EXPECT_EQ(s->attr_or("subscription"), "subscribed");
  std::string subid(s->attr_or("subid"));
  EXPECT_FALSE(subid.empty());
  ASSERT_EQ(host.stored_nodes.size(), 1u);
  EXPECT_EQ(host.stored_nodes[0].subscriptions.size(), 1u);
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attr_or("to"), "francisco@denmark.lit");
  EXPECT_EQ(str(*sent[0].child("event", ns::kEvent)),
            str(parse("<event xmlns='http://jabber.org/protocol/pubsub#event'><items "
                      "node='princely_musings'><item id='last'><entry "
                      "xmlns='http://www.w3.org/2005/Atom'><title>latest</title></entry></item>"
                      "</items></event>")));
  const Element* delay = sent[0].child("delay", ns::kDelay);
  ASSERT_NE(delay, nullptr);
  EXPECT_EQ(delay->attr_or("stamp"), "2023-07-22T04:26:42Z");  // 1690000002

  // Subscribing again answers the current subscription (§6.1.6, no multi-subscribe).
  Element again = ok(iq("set", "francisco@denmark.lit/barracks",
                        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe "
                        "node='princely_musings' jid='francisco@denmark.lit'/></pubsub>"));
  EXPECT_EQ(again.child("subscription", kPs)->attr_or("subid"), subid);
  EXPECT_EQ(svc->find("princely_musings")->subscriptions.size(), 1u);
}

// §6.1.7: the last item reaches the new subscriber after the iq result. The engine hands it to
// the caller (after_reply), which routes it once it has routed the result.
TEST_F(Engine, SubscribeLastItemFollowsTheResult) {
  Node n = make_node("princely_musings");
  n.items = {make_item("last", 2, "latest")};
  svc->restore(std::move(n));
  Element e("iq", "jabber:client");
  e.set_attr("type", "set");
  e.set_attr("id", "sub1");
  e.add_child(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe "
                    "node='princely_musings' jid='francisco@denmark.lit'/></pubsub>"));
  std::vector<Element> after;
  module::IqResult r = run(svc->handle(e, J("francisco@denmark.lit/barracks"), &after));
  EXPECT_EQ(ok(r).child("subscription", kPs)->attr_or("subscription"), "subscribed");
  EXPECT_TRUE(host.sent.empty());  // nothing went out before the result
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].attr_or("to"), "francisco@denmark.lit");
  const Element* items = after[0].child("event", ns::kEvent)->child("items", ns::kEvent);
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->child("item", ns::kEvent)->attr_or("id"), "last");
  EXPECT_NE(after[0].child("delay", ns::kDelay), nullptr);

  // A repeated subscribe answers the subscription and sends nothing more (§6.1.6).
  after.clear();
  r = run(svc->handle(e, J("francisco@denmark.lit/barracks"), &after));
  EXPECT_EQ(ok(r).child("subscription", kPs)->attr_or("subscription"), "subscribed");
  EXPECT_TRUE(after.empty());
  EXPECT_TRUE(host.sent.empty());
}

// pubsub#presence_based_delivery (§12.8): notifications only to subscribers the host knows to be
// available; subscribers whose presence the host cannot know still get them.
TEST_F(Engine, PresenceBasedDelivery) {
  Node n = make_node("princely_musings");
  n.config.presence_based_delivery = true;
  n.subscriptions.push_back(make_sub("francisco@denmark.lit", "s1"));        // online
  n.subscriptions.push_back(make_sub("bernardo@denmark.lit/watch", "s2"));   // offline
  n.subscriptions.push_back(make_sub("marcellus@denmark.lit", "s3"));        // offline
  n.subscriptions.push_back(make_sub("yorick@elsewhere.example", "s4"));     // unknown
  svc->restore(std::move(n));
  host.online = {{"francisco@denmark.lit", true},
                 {"bernardo@denmark.lit/watch", false},
                 {"marcellus@denmark.lit", false}};
  auto publish = [&] {
    return iq("set", "hamlet@denmark.lit/elsinore",
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
              "node='princely_musings'><item id='i1'><entry "
              "xmlns='http://www.w3.org/2005/Atom'/></item></publish></pubsub>");
  };
  ok(publish());
  auto recipients = [&] {
    std::vector<std::string> to;
    for (const Element& m : take_sent()) {
      to.emplace_back(m.attr_or("to"));
    }
    return to;
  };
  EXPECT_EQ(recipients(),
            (std::vector<std::string>{"francisco@denmark.lit", "yorick@elsewhere.example"}));
  // Presence is read at each notification: bernardo's resource came online.
  host.online["bernardo@denmark.lit/watch"] = true;
  ok(publish());
  EXPECT_EQ(recipients(), (std::vector<std::string>{"francisco@denmark.lit",
                                                    "bernardo@denmark.lit/watch",
                                                    "yorick@elsewhere.example"}));
  // Without the option, every subscriber gets it and presence is not looked at.
  const_cast<Node*>(svc->find("princely_musings"))->config.presence_based_delivery = false;
  host.availability_asked.clear();
  ok(publish());
  EXPECT_EQ(recipients().size(), 4u);
  EXPECT_TRUE(host.availability_asked.empty());
}

TEST_F(Engine, SubscribeErrors) {
  Node n = make_node("n");
  n.affiliations["bad@d.lit"] = Affiliation::kOutcast;
  svc->restore(std::move(n));
  Node closed = make_node("closed");
  closed.config.subscribe = false;
  svc->restore(std::move(closed));
  auto sub = [&](std::string_view from, std::string_view attrs) {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe " +
                  std::string(attrs) + "/></pubsub>");
  };
  EXPECT_EQ(error(sub("f@d.lit/r", "node='n' jid='other@d.lit'")),
            err_of("modify", "bad-request", "invalid-jid"));
  EXPECT_EQ(error(sub("f@d.lit/r", "jid='f@d.lit'")),
            err_of("modify", "bad-request", "nodeid-required"));
  EXPECT_EQ(error(sub("f@d.lit/r", "node='n'")),
            err_of("modify", "bad-request", "jid-required"));
  EXPECT_EQ(error(sub("f@d.lit/r", "node='missing' jid='f@d.lit'")),
            err_of("cancel", "item-not-found"));
  EXPECT_EQ(error(sub("bad@d.lit/r", "node='n' jid='bad@d.lit'")), err_of("auth", "forbidden"));
  EXPECT_EQ(error(sub("f@d.lit/r", "node='closed' jid='f@d.lit'")),
            err_of("cancel", "feature-not-implemented", "unsupported", "subscribe"));
  // A service admin may subscribe someone else (§6.1.3.1 "admin or proxy privilege").
  ok(sub("admin@example.org/r", "node='n' jid='other@d.lit'"));
}

TEST_F(Engine, SubscribeAccessModels) {
  Node p = make_node("presence");
  p.config.access_model = AccessModel::kPresence;
  svc->restore(std::move(p));
  Node r = make_node("roster");
  r.config.access_model = AccessModel::kRoster;
  r.config.roster_groups_allowed = {"Friends"};
  svc->restore(std::move(r));
  Node w = make_node("white");
  w.config.access_model = AccessModel::kWhitelist;
  w.affiliations["member@d.lit"] = Affiliation::kMember;
  svc->restore(std::move(w));
  host.rosters["hamlet@denmark.lit"] = {
      {"friend@d.lit", Contact{true, {"Friends"}}},
      {"servant@d.lit", Contact{true, {"Servants"}}},
      {"pending@d.lit", Contact{false, {"Friends"}}},
  };
  auto sub = [&](std::string_view who, std::string_view node) {
    return iq("set", std::string(who) + "/r",
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='" +
                  std::string(node) + "' jid='" + std::string(who) + "'/></pubsub>");
  };
  ok(sub("servant@d.lit", "presence"));
  EXPECT_EQ(error(sub("pending@d.lit", "presence")),
            err_of("auth", "not-authorized", "presence-subscription-required"));
  EXPECT_EQ(error(sub("stranger@d.lit", "presence")),
            err_of("auth", "not-authorized", "presence-subscription-required"));
  ok(sub("friend@d.lit", "roster"));
  EXPECT_EQ(error(sub("servant@d.lit", "roster")),
            err_of("auth", "not-authorized", "not-in-roster-group"));
  ok(sub("member@d.lit", "white"));
  EXPECT_EQ(error(sub("friend@d.lit", "white")), err_of("cancel", "not-allowed", "closed-node"));
  // The owner always may.
  ok(sub("hamlet@denmark.lit", "white"));
}

TEST_F(Engine, SubscribeAuthorizeIsPendingAndAsksOwners) {
  Node n = make_node("auth");
  n.config.access_model = AccessModel::kAuthorize;
  n.affiliations["horatio@denmark.lit"] = Affiliation::kOwner;
  n.items = {make_item("i", 1)};
  svc->restore(std::move(n));
  Element r = ok(iq("set", "bernardo@denmark.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='auth' "
                    "jid='bernardo@denmark.lit'/></pubsub>"));
  EXPECT_EQ(r.child("subscription", kPs)->attr_or("subscription"), "pending");
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 2u);  // one form per owner, no last item while pending
  std::set<std::string> to;
  for (const Element& m : sent) {
    to.insert(std::string(m.attr_or("to")));
    EXPECT_NE(m.child("x", ns::kData), nullptr);
    EXPECT_EQ(m.child("event", ns::kEvent), nullptr);
  }
  EXPECT_EQ(to, (std::set<std::string>{"hamlet@denmark.lit", "horatio@denmark.lit"}));
  EXPECT_EQ(error(iq("set", "bernardo@denmark.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='auth' "
                     "jid='bernardo@denmark.lit'/></pubsub>")),
            err_of("auth", "not-authorized", "pending-subscription"));
  // Items need an approved subscription (§6.5.9.3).
  EXPECT_EQ(error(iq("get", "bernardo@denmark.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='auth'/>"
                     "</pubsub>")),
            err_of("auth", "not-authorized", "not-subscribed"));
}

TEST_F(Engine, SubscribeWithOptionsAnswersResultForm) {
  svc->restore(make_node("n"));
  Element r = ok(iq("set", "f@d.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='n' "
                    "jid='f@d.lit/r'/><options><x xmlns='jabber:x:data' type='submit'><field "
                    "var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/"
                    "pubsub#subscribe_options</value></field></x></options></pubsub>"));
  const Element* o = r.child("options", kPs);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->attr_or("jid"), "f@d.lit/r");
  EXPECT_EQ(o->child("x", ns::kData)->attr_or("type"), "result");
  EXPECT_EQ(error(iq("set", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='n' "
                     "jid='f@d.lit'/><options node='n'/></pubsub>")),
            err_of("modify", "bad-request"));
}

TEST_F(Engine, UnsubscribeAndErrors) {
  Node n = make_node("n");
  n.subscriptions.push_back(make_sub("f@d.lit", "s1"));
  n.subscriptions.push_back(make_sub("multi@d.lit", "m1"));
  n.subscriptions.push_back(make_sub("multi@d.lit", "m2"));
  svc->restore(std::move(n));
  auto unsub = [&](std::string_view from, std::string_view attrs) {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><unsubscribe " +
                  std::string(attrs) + "/></pubsub>");
  };
  EXPECT_EQ(error(unsub("x@d.lit/r", "node='n' jid='x@d.lit'")),
            err_of("cancel", "unexpected-request", "not-subscribed"));
  EXPECT_EQ(error(unsub("x@d.lit/r", "node='n' jid='f@d.lit'")), err_of("auth", "forbidden"));
  EXPECT_EQ(error(unsub("f@d.lit/r", "node='zz' jid='f@d.lit'")),
            err_of("cancel", "item-not-found"));
  EXPECT_EQ(error(unsub("multi@d.lit/r", "node='n' jid='multi@d.lit'")),
            err_of("modify", "bad-request", "subid-required"));
  EXPECT_EQ(error(unsub("multi@d.lit/r", "node='n' jid='multi@d.lit' subid='nope'")),
            err_of("modify", "not-acceptable", "invalid-subid"));
  EXPECT_TRUE(empty(unsub("multi@d.lit/r", "node='n' jid='multi@d.lit' subid='m2'")));
  EXPECT_TRUE(empty(unsub("f@d.lit/other", "node='n' jid='f@d.lit'")));
  ASSERT_EQ(svc->find("n")->subscriptions.size(), 1u);
  EXPECT_EQ(svc->find("n")->subscriptions[0].subid, "m1");
  // The node owner may remove a subscriber.
  EXPECT_TRUE(empty(unsub("hamlet@denmark.lit/e", "node='n' jid='multi@d.lit'")));
}

TEST_F(Engine, OptionsGetSetAndErrors) {
  Node n = make_node("n");
  n.subscriptions.push_back(make_sub("f@d.lit", "s1"));
  svc->restore(std::move(n));
  Element r = ok(iq("get", "f@d.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n' "
                    "jid='f@d.lit'/></pubsub>"));
  const Element* o = r.child("options", kPs);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->attr_or("subid"), "s1");
  EXPECT_NE(o->child("x", ns::kData), nullptr);
  EXPECT_TRUE(empty(iq("set", "f@d.lit/r",
                       "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n' "
                       "jid='f@d.lit'><x xmlns='jabber:x:data' type='submit'/></options></pubsub>")));
  EXPECT_EQ(error(iq("set", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n' "
                     "jid='f@d.lit'/></pubsub>")),
            err_of("modify", "bad-request"));
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n'/>"
                     "</pubsub>")),
            err_of("modify", "bad-request", "jid-required"));
  EXPECT_EQ(error(iq("get", "g@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n' "
                     "jid='g@d.lit'/></pubsub>")),
            err_of("cancel", "unexpected-request", "not-subscribed"));
  EXPECT_EQ(error(iq("get", "g@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='n' "
                     "jid='f@d.lit'/></pubsub>")),
            err_of("auth", "forbidden"));
  Element d = ok(iq("get", "g@d.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><default/></pubsub>"));
  EXPECT_NE(d.child("default", kPs), nullptr);
}

// ---- items ------------------------------------------------------------------------------

class Items : public Engine {
 protected:
  void SetUp() override {
    Options o = opts();
    o.limits.page_size = 3;
    make(std::move(o));
    Node n = make_node("n");
    n.config.max_items = kMaxItemsMax;
    // Restored out of order: restore sorts by seq.
    for (int i : {4, 1, 3, 5, 2}) {
      n.items.push_back(make_item("i" + std::to_string(i), static_cast<std::uint64_t>(i)));
    }
    svc->restore(std::move(n));
  }
  std::vector<std::string> ids(const Element& r) {
    std::vector<std::string> out;
    for (const Element* i : r.child("items", kPs)->elements()) {
      out.emplace_back(i->attr_or("id"));
    }
    return out;
  }
  Element get(std::string_view inner, std::string_view extra = {}) {
    return ok(iq("get", "f@d.lit/r",
                 "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'" +
                     std::string(inner) + "</items>" + std::string(extra) + "</pubsub>"));
  }
  std::string set_of(const Element& r) {
    const Element* s = r.child("set", ns::kRsm);
    return s == nullptr ? "" : str(*s);
  }
};

std::string rsm(std::string_view inner) {
  return str(parse("<set xmlns='http://jabber.org/protocol/rsm'>" + std::string(inner) + "</set>"));
}

TEST_F(Items, AllMostRecentPageWithRsmNotation) {
  Element r = get(">");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i3", "i4", "i5"}));
  EXPECT_EQ(set_of(r), rsm("<first index='2'>i3</first><last>i5</last><count>5</count>"));
  // Payloads are included in retrieval.
  EXPECT_NE(r.child("items", kPs)->elements()[0]->child("entry"), nullptr);
}

TEST_F(Items, MaxItemsAndById) {
  Element r = get(" max_items='2'>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i4", "i5"}));
  EXPECT_EQ(set_of(r), "");
  r = get("><item id='i2'/><item id='zz'/><item id='i1'/>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i2", "i1"}));
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n' "
                     "max_items='-1'/></pubsub>")),
            err_of("modify", "bad-request"));
}

TEST_F(Items, RsmPaging) {
  const std::string s = "<set xmlns='http://jabber.org/protocol/rsm'>";
  Element r = get(">", s + "<max>2</max></set>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i1", "i2"}));
  EXPECT_EQ(set_of(r), rsm("<first index='0'>i1</first><last>i2</last><count>5</count>"));
  r = get(">", s + "<max>2</max><after>i2</after></set>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i3", "i4"}));
  EXPECT_EQ(set_of(r), rsm("<first index='2'>i3</first><last>i4</last><count>5</count>"));
  r = get(">", s + "<max>2</max><before/></set>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i4", "i5"}));
  r = get(">", s + "<max>2</max><before>i4</before></set>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i2", "i3"}));
  r = get(">", s + "<max>10</max><index>4</index></set>");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"i5"}));
  r = get(">", s + "<max>0</max></set>");
  EXPECT_TRUE(ids(r).empty());
  EXPECT_EQ(set_of(r), rsm("<count>5</count>"));
  // max above the page size is capped.
  r = get(">", s + "<max>50</max></set>");
  EXPECT_EQ(ids(r).size(), 3u);
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'/>" + s +
                         "<after>gone</after></set></pubsub>")),
            err_of("cancel", "item-not-found"));
}

TEST_F(Items, Errors) {
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items/></pubsub>")),
            err_of("modify", "bad-request", "nodeid-required"));
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='x'/></pubsub>")),
            err_of("cancel", "item-not-found"));
  Node w = make_node("w");
  w.config.access_model = AccessModel::kWhitelist;
  w.affiliations["bad@d.lit"] = Affiliation::kOutcast;
  svc->restore(std::move(w));
  EXPECT_EQ(error(iq("get", "f@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='w'/></pubsub>")),
            err_of("cancel", "not-allowed", "closed-node"));
  EXPECT_EQ(error(iq("get", "bad@d.lit/r",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='w'/></pubsub>")),
            err_of("auth", "forbidden"));
  ok(iq("get", "hamlet@denmark.lit/r",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='w'/></pubsub>"));
}

TEST_F(Engine, ExpiredItemsAreDropped) {
  Node n = make_node("n");
  n.config.item_expire = 60;
  Item old = make_item("old", 1);
  old.published = host.clock - 120;
  Item fresh = make_item("fresh", 2);
  fresh.published = host.clock - 10;
  n.items = {old, fresh};
  svc->restore(std::move(n));
  Element r = ok(iq("get", "f@d.lit/r",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'/></pubsub>"));
  ASSERT_EQ(r.child("items", kPs)->elements().size(), 1u);
  EXPECT_EQ(r.child("items", kPs)->elements()[0]->attr_or("id"), "fresh");
  ASSERT_EQ(host.removed.size(), 1u);
  EXPECT_EQ(host.removed[0].second, std::vector<std::string>{"old"});
}

// ---- own subscriptions and affiliations ---------------------------------------------------

TEST_F(Engine, OwnSubscriptionsAndAffiliations) {
  Node a = make_node("a");
  a.subscriptions.push_back(make_sub("f@d.lit", "s1"));
  a.subscriptions.push_back(make_sub("f@d.lit/r", "s2", SubState::kPending));
  a.subscriptions.push_back(make_sub("g@d.lit", "s3"));
  a.affiliations["f@d.lit"] = Affiliation::kPublisher;
  svc->restore(std::move(a));
  Node b = make_node("b", "f@d.lit");
  svc->restore(std::move(b));
  Element r = ok(iq("get", "f@d.lit/x",
                    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions/></pubsub>"));
  EXPECT_EQ(str(r),
            str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions>"
                      "<subscription node='a' jid='f@d.lit' subid='s1' subscription='subscribed'/>"
                      "<subscription node='a' jid='f@d.lit/r' subid='s2' subscription='pending'/>"
                      "</subscriptions></pubsub>")));
  r = ok(iq("get", "f@d.lit/x",
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions node='b'/></pubsub>"));
  EXPECT_EQ(str(r), str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions "
                              "node='b'/></pubsub>")));
  r = ok(iq("get", "f@d.lit/x",
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations/></pubsub>"));
  EXPECT_EQ(str(r),
            str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations>"
                      "<affiliation node='a' affiliation='publisher'/>"
                      "<affiliation node='b' affiliation='owner'/></affiliations></pubsub>")));
  r = ok(iq("get", "nobody@d.lit/x",
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations/></pubsub>"));
  EXPECT_EQ(str(r), str(parse("<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations/>"
                              "</pubsub>")));
  EXPECT_EQ(error(iq("get", "f@d.lit/x",
                     "<pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations node='zz'/>"
                     "</pubsub>")),
            err_of("cancel", "item-not-found"));
}

// ---- notifications ------------------------------------------------------------------------

TEST_F(Engine, SubIdHeadersWhenOneJidHasSeveralSubscriptions) {
  Node n = make_node("n");
  n.subscriptions.push_back(make_sub("f@d.lit", "123-abc"));
  n.subscriptions.push_back(make_sub("f@d.lit", "004-yyy"));
  n.subscriptions.push_back(make_sub("f@d.lit/r", "zzz"));
  Subscription off = make_sub("off@d.lit", "o");
  off.options.deliver = false;
  n.subscriptions.push_back(off);
  svc->restore(std::move(n));
  ok(iq("set", "hamlet@denmark.lit/e",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='i'>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 2u);  // f@d.lit once, f@d.lit/r once, off@d.lit nothing
  EXPECT_EQ(sent[0].attr_or("to"), "f@d.lit");
  ASSERT_NE(sent[0].child("headers", ns::kShim), nullptr);
  EXPECT_EQ(str(*sent[0].child("headers", ns::kShim)),
            str(parse("<headers xmlns='http://jabber.org/protocol/shim'><header name='SubID'>"
                      "123-abc</header><header name='SubID'>004-yyy</header></headers>")));
  EXPECT_EQ(sent[1].attr_or("to"), "f@d.lit/r");
  EXPECT_EQ(sent[1].child("headers", ns::kShim), nullptr);
}

// ---- PEP ----------------------------------------------------------------------------------

class Pep : public Engine {
 protected:
  void SetUp() override {
    Options o;
    o.jid = J("juliet@capulet.lit");
    o.pep = true;
    o.defaults.access_model = AccessModel::kPresence;
    o.defaults.send_last_published_item = SendLast::kOnSubAndPresence;
    make(std::move(o));
    host.rosters["juliet@capulet.lit"] = {
        {"romeo@montague.lit", Contact{true, {"Friends"}}},
        {"nurse@capulet.lit", Contact{true, {"Servants"}}},
        {"benvolio@montague.lit", Contact{false, {}}},
    };
  }
  module::IqResult publish_tune(std::string_view from, std::string_view extra = {}) {
    return iq("set", from,
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
              "node='http://jabber.org/protocol/tune'><item id='current'><tune "
              "xmlns='http://jabber.org/protocol/tune'><title>Yesterday</title></tune></item>"
              "</publish>" +
                  std::string(extra) + "</pubsub>");
  }
};

TEST_F(Pep, PublishAutoCreatesAndNotifiesImplicitRecipientsByAccessModel) {
  host.implicit = {J("juliet@capulet.lit/balcony"), J("romeo@montague.lit/orchard"),
                   J("benvolio@montague.lit/street"), J("nurse@capulet.lit/chamber")};
  ok(publish_tune("juliet@capulet.lit/balcony"));
  const Node* n = svc->find("http://jabber.org/protocol/tune");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->config.access_model, AccessModel::kPresence);
  EXPECT_EQ(n->affiliation_of(J("juliet@capulet.lit")), Affiliation::kOwner);
  auto sent = take_sent();
  std::vector<std::string> to;
  for (const Element& m : sent) {
    to.emplace_back(m.attr_or("to"));
    EXPECT_EQ(m.attr_or("from"), "juliet@capulet.lit");  // XEP-0163 §4.3.1
  }
  // benvolio has no presence subscription: filtered out.
  EXPECT_EQ(to, (std::vector<std::string>{"juliet@capulet.lit/balcony",
                                          "romeo@montague.lit/orchard",
                                          "nurse@capulet.lit/chamber"}));
}

TEST_F(Pep, RosterAndWhitelistFilterImplicitRecipients) {
  Node n = make_node("roster", "juliet@capulet.lit");
  n.config.access_model = AccessModel::kRoster;
  n.config.roster_groups_allowed = {"Friends"};
  svc->restore(std::move(n));
  Node w = make_node("white", "juliet@capulet.lit");
  w.config.access_model = AccessModel::kWhitelist;
  w.affiliations["nurse@capulet.lit"] = Affiliation::kMember;
  svc->restore(std::move(w));
  host.implicit = {J("romeo@montague.lit/orchard"), J("nurse@capulet.lit/chamber")};
  auto pub = [&](std::string_view node) {
    return iq("set", "juliet@capulet.lit/balcony",
              "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                  std::string(node) + "'><item><a xmlns='urn:a'/></item></publish></pubsub>");
  };
  ok(pub("roster"));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attr_or("to"), "romeo@montague.lit/orchard");
  ok(pub("white"));
  sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attr_or("to"), "nurse@capulet.lit/chamber");
}

TEST_F(Pep, BareSubscriberWithKnownResourcesIsNotNotifiedTwice) {
  Node n = make_node("open", "juliet@capulet.lit");
  n.config.access_model = AccessModel::kOpen;
  n.subscriptions.push_back(make_sub("romeo@montague.lit", "s"));
  n.subscriptions.push_back(make_sub("benvolio@montague.lit", "b"));
  svc->restore(std::move(n));
  host.implicit = {J("romeo@montague.lit/orchard")};
  ok(iq("set", "juliet@capulet.lit/balcony",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='open'><item>"
        "<a xmlns='urn:a'/></item></publish></pubsub>"));
  std::vector<std::string> to;
  for (const Element& m : take_sent()) {
    to.emplace_back(m.attr_or("to"));
  }
  EXPECT_EQ(to, (std::vector<std::string>{"benvolio@montague.lit", "romeo@montague.lit/orchard"}));
}

TEST_F(Pep, OthersCannotPublishOrAutoCreate) {
  EXPECT_EQ(error(publish_tune("romeo@montague.lit/orchard")), err_of("auth", "forbidden"));
  EXPECT_EQ(svc->find("http://jabber.org/protocol/tune"), nullptr);
  ok(publish_tune("juliet@capulet.lit/balcony"));
  EXPECT_EQ(error(publish_tune("romeo@montague.lit/orchard")), err_of("auth", "forbidden"));
}

TEST_F(Pep, PublishOptionsOnExistingNodeAreChecked) {
  ok(publish_tune("juliet@capulet.lit/balcony",
                  "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "
                  "type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value>"
                  "</field><field var='pubsub#access_model'><value>presence</value></field></x>"
                  "</publish-options>"));
  ASSERT_NE(svc->find("http://jabber.org/protocol/tune"), nullptr);
  // A publish-options element holding something other than a data form.
  EXPECT_EQ(error(publish_tune("juliet@capulet.lit/balcony", "<publish-options><foo/></publish-options>")),
            err_of("modify", "bad-request"));
}

TEST_F(Pep, DiscoHidesInaccessibleNodes) {
  Node n = make_node("secret", "juliet@capulet.lit");
  n.config.access_model = AccessModel::kPresence;
  n.items = {make_item("i1", 1)};
  svc->restore(std::move(n));
  Node o = make_node("public", "juliet@capulet.lit");
  o.config.title = "Public";
  svc->restore(std::move(o));
  auto items = run(svc->disco_items("", J("benvolio@montague.lit/street")));
  auto& list = std::get<std::vector<module::DiscoItem>>(items);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].jid, "juliet@capulet.lit");
  EXPECT_EQ(list[0].node, "public");
  EXPECT_EQ(list[0].name, "Public");
  auto info = run(svc->disco_info("secret", J("benvolio@montague.lit/street")));
  ASSERT_TRUE(std::holds_alternative<StanzaError>(info));
  EXPECT_EQ(std::get<StanzaError>(info).condition, "item-not-found");
  info = run(svc->disco_info("secret", J("romeo@montague.lit/orchard")));
  auto& di = std::get<module::DiscoInfo>(info);
  ASSERT_EQ(di.identities.size(), 1u);
  EXPECT_EQ(di.identities[0].category, "pubsub");
  EXPECT_EQ(di.identities[0].type, "leaf");
  EXPECT_EQ(di.forms.size(), 1u);
  EXPECT_NE(std::find(di.features.begin(), di.features.end(),
                      "http://jabber.org/protocol/pubsub#auto-create"),
            di.features.end());
  auto node_items = run(svc->disco_items("secret", J("romeo@montague.lit/orchard")));
  auto& ni = std::get<std::vector<module::DiscoItem>>(node_items);
  ASSERT_EQ(ni.size(), 1u);
  EXPECT_EQ(ni[0].name, "i1");
  EXPECT_EQ(ni[0].jid, "juliet@capulet.lit");
}

TEST_F(Engine, ServiceDiscoForbidsInaccessibleNode) {
  Node n = make_node("w");
  n.config.access_model = AccessModel::kWhitelist;
  svc->restore(std::move(n));
  auto info = run(svc->disco_info("w", J("f@d.lit/r")));
  EXPECT_EQ(std::get<StanzaError>(info).condition, "forbidden");
  info = run(svc->disco_info("none", J("f@d.lit/r")));
  EXPECT_EQ(std::get<StanzaError>(info).condition, "item-not-found");
}

TEST_F(Pep, SendLastItemsOnPresence) {
  Node a = make_node("http://jabber.org/protocol/tune", "juliet@capulet.lit");
  a.config.access_model = AccessModel::kPresence;
  a.config.send_last_published_item = SendLast::kOnSubAndPresence;
  a.items = {make_item("i1", 1), make_item("i2", 2)};
  svc->restore(std::move(a));
  Node b = make_node("http://jabber.org/protocol/mood", "juliet@capulet.lit");
  b.config.send_last_published_item = SendLast::kOnSubAndPresence;
  b.items = {make_item("m", 1)};
  svc->restore(std::move(b));
  Node c = make_node("never", "juliet@capulet.lit");
  c.config.send_last_published_item = SendLast::kOnSub;
  c.items = {make_item("n", 1)};
  svc->restore(std::move(c));
  auto wants = [](std::string_view node) { return node != "http://jabber.org/protocol/mood"; };
  run_void(svc->send_last_items(J("romeo@montague.lit/orchard"), wants));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  const Element* items = sent[0].child("event", ns::kEvent)->child("items", ns::kEvent);
  EXPECT_EQ(items->attr_or("node"), "http://jabber.org/protocol/tune");
  EXPECT_EQ(items->elements()[0]->attr_or("id"), "i2");
  EXPECT_NE(sent[0].child("delay", ns::kDelay), nullptr);
  // No presence subscription: nothing.
  run_void(svc->send_last_items(J("benvolio@montague.lit/street"), wants));
  EXPECT_TRUE(take_sent().empty());
}

TEST(PubsubFeatures, PepAddsItsFeatures) {
  auto svc = NodeService::features(false);
  auto pep = NodeService::features(true);
  auto has = [](const std::vector<std::string>& v, std::string_view f) {
    return std::find(v.begin(), v.end(), f) != v.end();
  };
  EXPECT_TRUE(has(svc, "http://jabber.org/protocol/pubsub"));
  EXPECT_TRUE(has(svc, "http://jabber.org/protocol/pubsub#publish"));
  EXPECT_TRUE(has(svc, "http://jabber.org/protocol/pubsub#rsm"));
  EXPECT_FALSE(has(svc, "http://jabber.org/protocol/pubsub#auto-create"));
  EXPECT_TRUE(has(pep, "http://jabber.org/protocol/pubsub#auto-create"));
  EXPECT_TRUE(has(pep, "http://jabber.org/protocol/pubsub#filtered-notifications"));
}

}  // namespace
}  // namespace starling::pubsub
