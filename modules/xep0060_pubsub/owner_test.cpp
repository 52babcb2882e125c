// XEP-0060 §8 owner use cases, driven directly (create/owner/authorization) with a fake Host
// that records what the engine sends and stores.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <set>

#include "modules/xep0060_pubsub/engine.hpp"
#include "modules/xep0060_pubsub/node_config.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/dataform.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
using module::IqResult;
using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

struct OwnerTestAccess {
  static asio::awaitable<IqResult> create(NodeService& s, Element pubsub, Jid from) {
    return s.create(std::move(pubsub), std::move(from));
  }
  static asio::awaitable<IqResult> owner(NodeService& s, Element pubsub, bool set, Jid from) {
    return s.owner(std::move(pubsub), set, std::move(from));
  }
  static asio::awaitable<void> authorization(NodeService& s, Element message, Jid from) {
    return s.authorization(std::move(message), std::move(from));
  }
  static asio::awaitable<std::variant<std::string, StanzaError>> add_node(NodeService& s,
                                                                          std::string name,
                                                                          Jid creator,
                                                                          NodeConfig config) {
    return s.add_node(std::move(name), std::move(creator), std::move(config));
  }
};

namespace {

Jid J(std::string_view s) {
  auto j = Jid::parse(s);
  EXPECT_TRUE(j) << s;
  return j.value_or(Jid());
}

Element el(const std::string& text) {
  Element e;
  EXPECT_TRUE(xml::parse_element(text, e)) << text;
  return e;
}

template <class T>
asio::awaitable<void> store_into(asio::awaitable<T> a, std::optional<T>* out) {
  *out = co_await std::move(a);
}
asio::awaitable<void> just_run(asio::awaitable<void> a, bool* done) {
  co_await std::move(a);
  *done = true;
}

template <class T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, store_into(std::move(a), &out), asio::detached);
  io.run();
  EXPECT_TRUE(out.has_value());
  return std::move(*out);
}
void run(asio::awaitable<void> a) {
  asio::io_context io;
  bool done = false;
  asio::co_spawn(io, just_run(std::move(a), &done), asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

class FakeHost : public Host {
 public:
  std::vector<Element> sent;
  std::map<std::string, Node> stored;  // name -> last stored metadata
  std::vector<std::pair<std::string, std::vector<std::string>>> removed_items;
  std::vector<std::string> removed_nodes;
  std::set<std::string> admins;
  std::optional<StanzaError> refuse_create;
  bool fail_store = false;

  void send(Element stanza) override { sent.push_back(std::move(stanza)); }
  asio::awaitable<RosterPtr> roster(Jid) override {
    co_return std::make_shared<const RosterView>();
  }
  asio::awaitable<std::vector<Jid>> implicit_recipients(std::string) override {
    co_return std::vector<Jid>{};
  }
  // Presence for pubsub#presence_based_delivery: JIDs absent from `online` are unknown.
  asio::awaitable<std::optional<bool>> is_available(Jid jid) override {
    availability_asked.push_back(jid.str());
    auto it = online.find(jid.str());
    co_return it == online.end() ? std::nullopt : std::optional<bool>(it->second);
  }
  std::map<std::string, bool> online;
  std::vector<std::string> availability_asked;
  std::optional<StanzaError> may_create(const Jid&) override { return refuse_create; }
  bool is_admin(const Jid& bare) const override { return admins.contains(bare.str()); }
  std::int64_t now() const override { return 1700000000; }
  asio::awaitable<bool> store_node(Node node) override {
    if (fail_store) {
      co_return false;
    }
    std::string name = node.name;
    stored.insert_or_assign(std::move(name), std::move(node));
    co_return true;
  }
  asio::awaitable<bool> store_item(std::string, Item) override { co_return !fail_store; }
  asio::awaitable<bool> remove_items(std::string node, std::vector<std::string> ids) override {
    if (fail_store) {
      co_return false;
    }
    removed_items.emplace_back(std::move(node), std::move(ids));
    co_return true;
  }
  asio::awaitable<bool> remove_node(std::string node) override {
    if (fail_store) {
      co_return false;
    }
    stored.erase(node);
    removed_nodes.push_back(std::move(node));
    co_return true;
  }
};

constexpr std::string_view kService = "pubsub.shakespeare.lit";
constexpr std::string_view kHamlet = "hamlet@denmark.lit/elsinore";
constexpr std::string_view kBard = "bard@shakespeare.lit/globe";
constexpr std::string_view kHoratio = "horatio@denmark.lit/castle";

const std::string kPubsubNs(ns::kPubsub);
const std::string kOwnerNs(ns::kOwner);

std::string cond(const IqResult& r) {
  if (const auto* e = std::get_if<StanzaError>(&r)) {
    return e->condition;
  }
  return std::holds_alternative<module::Empty>(r) ? "empty" : "result";
}

class PubsubOwner : public ::testing::Test {
 protected:
  FakeHost host;
  std::unique_ptr<NodeService> svc;

  void SetUp() override { make({}); }
  void make(Options o) {
    if (o.jid.empty()) {
      o.jid = J(kService);
    }
    svc = std::make_unique<NodeService>(host, std::move(o));
  }

  IqResult create(const std::string& inner, std::string_view from = kHamlet) {
    return run(OwnerTestAccess::create(
        *svc, el("<pubsub xmlns='" + kPubsubNs + "'>" + inner + "</pubsub>"), J(from)));
  }
  IqResult owner(const std::string& inner, bool set, std::string_view from = kHamlet) {
    return run(OwnerTestAccess::owner(
        *svc, el("<pubsub xmlns='" + kOwnerNs + "'>" + inner + "</pubsub>"), set, J(from)));
  }
  void authorize(const std::string& form, std::string_view from = kHamlet) {
    run(OwnerTestAccess::authorization(
        *svc,
        el("<message xmlns='jabber:client' to='" + std::string(kService) + "' id='approve1'>" +
           form + "</message>"),
        J(from)));
  }
  void make_node(const std::string& name = "princely_musings") {
    ASSERT_EQ(cond(create("<create node='" + name + "'/>")), "result");
  }
  Node& node(const std::string& name = "princely_musings") {
    auto* n = const_cast<Node*>(svc->find(name));
    EXPECT_NE(n, nullptr);
    return *n;
  }
  void subscribe(std::string_view jid, SubState state, std::string subid) {
    node().subscriptions.push_back(Subscription{J(jid), std::move(subid), state, {}});
  }
  // The <event/> children sent to `to`.
  std::vector<Element> events_to(std::string_view to) {
    std::vector<Element> out;
    for (const Element& m : host.sent) {
      if (m.attr_or("to") == to) {
        if (const Element* ev = m.child("event", ns::kEvent)) {
          for (const Element* c : ev->elements()) {
            out.push_back(*c);
          }
        }
      }
    }
    return out;
  }
};

// ---- §8.1 create ----

TEST_F(PubsubOwner, CreateNamedNode) {
  IqResult r = create("<create node='princely_musings'/>");
  ASSERT_TRUE(std::holds_alternative<Element>(r)) << cond(r);
  const Element& p = std::get<Element>(r);
  EXPECT_EQ(p.xmlns(), kPubsubNs);
  ASSERT_NE(p.child("create", kPubsubNs), nullptr);
  EXPECT_EQ(p.child("create", kPubsubNs)->attr_or("node"), "princely_musings");
  const Node* n = svc->find("princely_musings");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->creator, "hamlet@denmark.lit");
  EXPECT_EQ(n->created, 1700000000);
  EXPECT_EQ(n->affiliation_of(J(kHamlet)), Affiliation::kOwner);
  EXPECT_EQ(n->config, NodeConfig{});
  ASSERT_TRUE(host.stored.contains("princely_musings"));  // stored before the answer
  EXPECT_EQ(host.stored["princely_musings"].creator, "hamlet@denmark.lit");
  // §8.1.1: an existing NodeID is a conflict.
  EXPECT_EQ(cond(create("<create node='princely_musings'/>", kBard)), "conflict");
}

TEST_F(PubsubOwner, CreateInstantNode) {
  IqResult r = create("<create/>");
  ASSERT_TRUE(std::holds_alternative<Element>(r)) << cond(r);
  std::string name(std::get<Element>(r).child("create", kPubsubNs)->attr_or("node"));
  EXPECT_FALSE(name.empty());
  EXPECT_NE(svc->find(name), nullptr);
  IqResult r2 = create("<create/>");
  ASSERT_TRUE(std::holds_alternative<Element>(r2));
  EXPECT_NE(std::get<Element>(r2).child("create", kPubsubNs)->attr_or("node"), name);
  EXPECT_EQ(svc->size(), 2u);
}

TEST_F(PubsubOwner, CreateAndConfigure) {
  IqResult r = create(
      "<create node='princely_musings'/><configure><x xmlns='jabber:x:data' type='submit'>"
      "<field var='FORM_TYPE' type='hidden'><value>" +
      std::string(ns::kNodeConfig) +
      "</value></field>"
      "<field var='pubsub#title'><value>Princely Musings (Atom)</value></field>"
      "<field var='pubsub#access_model'><value>whitelist</value></field>"
      "<field var='pubsub#max_items'><value>max</value></field>"
      "</x></configure>");
  ASSERT_EQ(cond(r), "result");
  EXPECT_EQ(node().config.title, "Princely Musings (Atom)");
  EXPECT_EQ(node().config.access_model, AccessModel::kWhitelist);
  EXPECT_EQ(node().config.max_items, kMaxItemsMax);
  // An empty <configure/> keeps the defaults.
  ASSERT_EQ(cond(create("<create node='other'/><configure/>")), "result");
  EXPECT_EQ(node("other").config, NodeConfig{});
}

TEST_F(PubsubOwner, CreateErrors) {
  // A bad form: nothing is created.
  EXPECT_EQ(cond(create("<create node='n'/><configure><x xmlns='jabber:x:data' type='submit'>"
                        "<field var='pubsub#max_items'><value>lots</value></field>"
                        "</x></configure>")),
            "bad-request");
  EXPECT_EQ(svc->find("n"), nullptr);
  IqResult am = create(
      "<create node='n'/><configure><x xmlns='jabber:x:data' type='submit'>"
      "<field var='pubsub#access_model'><value>secret</value></field></x></configure>");
  ASSERT_TRUE(std::holds_alternative<StanzaError>(am));
  EXPECT_EQ(std::get<StanzaError>(am).condition, "not-acceptable");
  EXPECT_EQ(std::get<StanzaError>(am).app_condition, "unsupported-access-model");
  // §8.1.3: <configure/> after <create/>, without 'node'.
  EXPECT_EQ(cond(create("<configure/><create node='n'/>")), "bad-request");
  EXPECT_EQ(cond(create("<create node='n'/><configure node='n'/>")), "bad-request");
  EXPECT_EQ(svc->find("n"), nullptr);
  // Host policy.
  host.refuse_create = StanzaError::forbidden();
  EXPECT_EQ(cond(create("<create node='n'/>")), "forbidden");
  host.refuse_create.reset();
  // Storage failure: internal-server-error and no node.
  host.fail_store = true;
  EXPECT_EQ(cond(create("<create node='n'/>")), "internal-server-error");
  EXPECT_EQ(svc->find("n"), nullptr);
}

TEST_F(PubsubOwner, NodeLimit) {
  Options o;
  o.limits.max_nodes = 1;
  make(o);
  make_node("one");
  EXPECT_EQ(cond(create("<create node='two'/>")), "not-allowed");
  EXPECT_EQ(svc->size(), 1u);
}

TEST_F(PubsubOwner, PepOnlyTheAccountCreates) {
  Options o;
  o.jid = J("hamlet@denmark.lit");
  o.pep = true;
  make(o);
  EXPECT_EQ(cond(create("<create node='urn:xmpp:microblog:0'/>", kBard)), "forbidden");
  IqResult instant = create("<create/>");
  ASSERT_TRUE(std::holds_alternative<StanzaError>(instant));
  EXPECT_EQ(std::get<StanzaError>(instant).app_condition, "nodeid-required");
  EXPECT_EQ(cond(create("<create node='urn:xmpp:microblog:0'/>")), "result");
  // add_node (PEP auto-create) with a configuration from publish-options.
  NodeConfig c;
  c.access_model = AccessModel::kWhitelist;
  auto added = run(OwnerTestAccess::add_node(*svc, "urn:xmpp:bookmarks:1", J(kHamlet), c));
  ASSERT_TRUE(std::holds_alternative<std::string>(added));
  EXPECT_EQ(node("urn:xmpp:bookmarks:1").config.access_model, AccessModel::kWhitelist);
  EXPECT_TRUE(host.stored.contains("urn:xmpp:bookmarks:1"));
}

// ---- §8.2 configure, §8.3 default ----

TEST_F(PubsubOwner, ConfigureGetShowsTheForm) {
  make_node();
  node().config.title = "Musings";
  IqResult r = owner("<configure node='princely_musings'/>", false);
  ASSERT_TRUE(std::holds_alternative<Element>(r)) << cond(r);
  const Element& p = std::get<Element>(r);
  const Element* c = p.child("configure", kOwnerNs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->attr_or("node"), "princely_musings");
  const Element* x = c->child("x", "jabber:x:data");
  ASSERT_NE(x, nullptr);
  auto form = xmpp::dataform::parse(*x);
  ASSERT_TRUE(std::holds_alternative<xmpp::dataform::Form>(form));
  EXPECT_EQ(std::get<xmpp::dataform::Form>(form).field("pubsub#title")->value(), "Musings");
}

TEST_F(PubsubOwner, ConfigureSetAppliesStoresAndNotifies) {
  make_node();
  node().config.notify_config = true;
  subscribe("francisco@denmark.lit", SubState::kSubscribed, "s1");
  IqResult r = owner(
      "<configure node='princely_musings'><x xmlns='jabber:x:data' type='submit'>"
      "<field var='FORM_TYPE' type='hidden'><value>" +
          std::string(ns::kNodeConfig) +
          "</value></field>"
          "<field var='pubsub#title'><value>New</value></field></x></configure>",
      true);
  EXPECT_EQ(cond(r), "empty");
  EXPECT_EQ(node().config.title, "New");
  EXPECT_EQ(host.stored["princely_musings"].config.title, "New");
  auto ev = events_to("francisco@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name(), "configuration");
  EXPECT_EQ(ev[0].attr_or("node"), "princely_musings");
  // deliver_payloads: the configuration is included as a result form.
  const Element* x = ev[0].child("x", "jabber:x:data");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->attr_or("type"), "result");

  // Notification-only node: an empty <configuration/>.
  host.sent.clear();
  ASSERT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='pubsub#deliver_payloads'><value>0</value>"
                       "</field></x></configure>",
                       true)),
            "empty");
  ev = events_to("francisco@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].child("x", "jabber:x:data"), nullptr);
}

TEST_F(PubsubOwner, ConfigureCancelAndNoNotification) {
  make_node();
  subscribe("francisco@denmark.lit", SubState::kSubscribed, "s1");
  EXPECT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='cancel'/></configure>",
                       true)),
            "empty");
  ASSERT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='pubsub#title'><value>T</value></field>"
                       "</x></configure>",
                       true)),
            "empty");
  EXPECT_TRUE(host.sent.empty());  // notify_config is off
}

TEST_F(PubsubOwner, ConfigureLowerMaxItemsDropsOldest) {
  make_node();
  for (int i = 1; i <= 3; ++i) {
    node().items.push_back(Item{"i" + std::to_string(i), std::nullopt, std::string(kHamlet), 0,
                                static_cast<std::uint64_t>(i)});
  }
  ASSERT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='pubsub#max_items'><value>1</value></field>"
                       "</x></configure>",
                       true)),
            "empty");
  ASSERT_EQ(node().items.size(), 1u);
  EXPECT_EQ(node().items[0].id, "i3");
  ASSERT_EQ(host.removed_items.size(), 1u);
  EXPECT_EQ(host.removed_items[0].second, (std::vector<std::string>{"i1", "i2"}));
}

TEST_F(PubsubOwner, ConfigureErrors) {
  make_node();
  EXPECT_EQ(cond(owner("<configure node='princely_musings'/>", false, kBard)), "forbidden");
  EXPECT_EQ(cond(owner("<configure node='nope'/>", false)), "item-not-found");
  IqResult noid = owner("<configure/>", false);
  ASSERT_TRUE(std::holds_alternative<StanzaError>(noid));
  EXPECT_EQ(std::get<StanzaError>(noid).condition, "bad-request");
  EXPECT_EQ(std::get<StanzaError>(noid).app_condition, "nodeid-required");
  EXPECT_EQ(cond(owner("<configure node='princely_musings'/>", true)), "bad-request");  // no form
  EXPECT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='pubsub#max_items'><value>5000</value></field>"
                       "</x></configure>",
                       true)),
            "not-acceptable");
  EXPECT_EQ(node().config.max_items, 10u);
  host.fail_store = true;
  EXPECT_EQ(cond(owner("<configure node='princely_musings'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='pubsub#title'><value>T</value></field>"
                       "</x></configure>",
                       true)),
            "internal-server-error");
  EXPECT_EQ(node().config.title, "");  // not applied
  // A service admin is an owner of every node.
  host.fail_store = false;
  host.admins.insert("bard@shakespeare.lit");
  EXPECT_EQ(cond(owner("<configure node='princely_musings'/>", false, kBard)), "result");
}

TEST_F(PubsubOwner, Default) {
  Options o;
  o.defaults.access_model = AccessModel::kPresence;
  make(o);
  IqResult r = owner("<default/>", false, kBard);
  ASSERT_TRUE(std::holds_alternative<Element>(r)) << cond(r);
  const Element* d = std::get<Element>(r).child("default", kOwnerNs);
  ASSERT_NE(d, nullptr);
  auto form = xmpp::dataform::parse(*d->child("x", "jabber:x:data"));
  ASSERT_TRUE(std::holds_alternative<xmpp::dataform::Form>(form));
  EXPECT_EQ(std::get<xmpp::dataform::Form>(form).field("pubsub#access_model")->value(),
            "presence");
  EXPECT_EQ(cond(owner("<default type='leaf'/>", false)), "result");
  IqResult coll = owner("<default type='collection'/>", false);
  ASSERT_TRUE(std::holds_alternative<StanzaError>(coll));
  EXPECT_EQ(std::get<StanzaError>(coll).condition, "feature-not-implemented");
  EXPECT_EQ(std::get<StanzaError>(coll).app_condition, "unsupported");
  EXPECT_EQ(std::get<StanzaError>(coll).app_feature, "collections");
}

TEST_F(PubsubOwner, UnknownOrMalformedRequests) {
  make_node();
  EXPECT_EQ(cond(owner("<frobnicate node='princely_musings'/>", true)), "feature-not-implemented");
  EXPECT_EQ(cond(owner("", true)), "bad-request");
  EXPECT_EQ(cond(owner("<purge node='princely_musings'/><delete node='princely_musings'/>", true)),
            "bad-request");
  EXPECT_EQ(cond(owner("<delete node='princely_musings'/>", false)), "bad-request");
}

// ---- §8.4 delete, §8.5 purge ----

TEST_F(PubsubOwner, DeleteWithRedirectNotifies) {
  make_node();
  node().config.notify_delete = true;
  subscribe("francisco@denmark.lit", SubState::kSubscribed, "s1");
  EXPECT_EQ(cond(owner("<delete node='princely_musings' />", true, kBard)), "forbidden");
  IqResult r = owner(
      "<delete node='princely_musings'><redirect uri='xmpp:hamlet@denmark.lit?;node=blog'/>"
      "</delete>",
      true);
  EXPECT_EQ(cond(r), "empty");
  EXPECT_EQ(svc->find("princely_musings"), nullptr);
  EXPECT_EQ(host.removed_nodes, std::vector<std::string>{"princely_musings"});
  EXPECT_FALSE(host.stored.contains("princely_musings"));
  auto ev = events_to("francisco@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name(), "delete");
  EXPECT_EQ(ev[0].attr_or("node"), "princely_musings");
  ASSERT_NE(ev[0].child("redirect", ns::kEvent), nullptr);
  EXPECT_EQ(ev[0].child("redirect", ns::kEvent)->attr_or("uri"),
            "xmpp:hamlet@denmark.lit?;node=blog");
  EXPECT_EQ(cond(owner("<delete node='princely_musings'/>", true)), "item-not-found");
  // The name is free again.
  EXPECT_EQ(cond(create("<create node='princely_musings'/>", kBard)), "result");
  EXPECT_TRUE(node().subscriptions.empty());
}

TEST_F(PubsubOwner, DeleteStorageFailureKeepsTheNode) {
  make_node();
  host.fail_store = true;
  EXPECT_EQ(cond(owner("<delete node='princely_musings'/>", true)), "internal-server-error");
  EXPECT_NE(svc->find("princely_musings"), nullptr);
}

TEST_F(PubsubOwner, Purge) {
  make_node();
  subscribe("francisco@denmark.lit", SubState::kSubscribed, "s1");
  node().items.push_back(Item{"a", std::nullopt, std::string(kHamlet), 0, 1});
  node().items.push_back(Item{"b", std::nullopt, std::string(kHamlet), 0, 2});
  EXPECT_EQ(cond(owner("<purge node='princely_musings'/>", true, kBard)), "forbidden");
  EXPECT_EQ(cond(owner("<purge node='nope'/>", true)), "item-not-found");
  EXPECT_EQ(cond(owner("<purge node='princely_musings'/>", true)), "empty");
  EXPECT_TRUE(node().items.empty());
  ASSERT_EQ(host.removed_items.size(), 1u);
  EXPECT_EQ(host.removed_items[0].second, (std::vector<std::string>{"a", "b"}));
  auto ev = events_to("francisco@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);  // §8.5.2: one <purge/>, not a retraction per item
  EXPECT_EQ(ev[0].name(), "purge");
  EXPECT_EQ(ev[0].attr_or("node"), "princely_musings");
  // §8.5.2: the <purge/> event goes out when the node notifies item removal
  // (pubsub#notify_retract) and delivers notifications at all.
  host.sent.clear();
  node().items.push_back(Item{"c", std::nullopt, std::string(kHamlet), 0, 3});
  node().config.notify_retract = false;
  EXPECT_EQ(cond(owner("<purge node='princely_musings'/>", true)), "empty");
  EXPECT_TRUE(node().items.empty());
  EXPECT_TRUE(host.sent.empty());
  node().items.push_back(Item{"d", std::nullopt, std::string(kHamlet), 0, 4});
  node().config.notify_retract = true;
  node().config.deliver_notifications = false;
  EXPECT_EQ(cond(owner("<purge node='princely_musings'/>", true)), "empty");
  EXPECT_TRUE(node().items.empty());
  EXPECT_TRUE(host.sent.empty());
  // §8.5.3.3: a node that does not persist items.
  node().config.persist_items = false;
  IqResult r = owner("<purge node='princely_musings'/>", true);
  ASSERT_TRUE(std::holds_alternative<StanzaError>(r));
  EXPECT_EQ(std::get<StanzaError>(r).app_feature, "persistent-items");
}

// ---- §8.8 subscriptions ----

TEST_F(PubsubOwner, SubscriptionsGetListsSubscribedAndUnconfigured) {
  make_node();
  subscribe("hamlet@denmark.lit", SubState::kSubscribed, "");
  subscribe("polonius@denmark.lit", SubState::kUnconfigured, "p1");
  subscribe("bernardo@denmark.lit", SubState::kSubscribed, "123-abc");
  subscribe("bernardo@denmark.lit", SubState::kSubscribed, "004-yyy");
  subscribe("horatio@denmark.lit", SubState::kPending, "h1");
  EXPECT_EQ(cond(owner("<subscriptions node='princely_musings'/>", false, kBard)), "forbidden");
  IqResult r = owner("<subscriptions node='princely_musings'/>", false);
  ASSERT_TRUE(std::holds_alternative<Element>(r)) << cond(r);
  const Element* list = std::get<Element>(r).child("subscriptions", kOwnerNs);
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->attr_or("node"), "princely_musings");
  auto subs = list->elements();
  ASSERT_EQ(subs.size(), 4u);  // not the pending one
  EXPECT_EQ(subs[0]->attr_or("jid"), "hamlet@denmark.lit");
  EXPECT_EQ(subs[0]->attr("subid"), nullptr);
  EXPECT_EQ(subs[1]->attr_or("subscription"), "unconfigured");
  EXPECT_EQ(subs[3]->attr_or("subid"), "004-yyy");
}

TEST_F(PubsubOwner, SubscriptionsSet) {
  make_node();
  subscribe("polonius@denmark.lit", SubState::kSubscribed, "p1");
  subscribe("horatio@denmark.lit", SubState::kPending, "h1");
  IqResult r = owner(
      "<subscriptions node='princely_musings'>"
      "<subscription jid='polonius@denmark.lit' subscription='none'/>"
      "<subscription jid='bard@shakespeare.lit' subscription='subscribed'/>"
      "<subscription jid='horatio@denmark.lit' subscription='subscribed'/>"
      "<subscription jid='francisco@denmark.lit'/>"
      "</subscriptions>",
      true);
  EXPECT_EQ(cond(r), "empty");
  const auto& subs = node().subscriptions;
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].jid.str(), "horatio@denmark.lit");
  EXPECT_EQ(subs[0].state, SubState::kSubscribed);  // approved
  EXPECT_EQ(subs[1].jid.str(), "bard@shakespeare.lit");
  EXPECT_FALSE(subs[1].subid.empty());
  EXPECT_EQ(host.stored["princely_musings"].subscriptions.size(), 2u);
  // §8.8.4: each changed entity is told.
  auto p = events_to("polonius@denmark.lit");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name(), "subscription");
  EXPECT_EQ(p[0].attr_or("subscription"), "none");
  auto h = events_to("horatio@denmark.lit");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].attr_or("subscription"), "subscribed");
  EXPECT_EQ(events_to("bard@shakespeare.lit").size(), 1u);
  EXPECT_TRUE(events_to("francisco@denmark.lit").empty());
}

// §8.8.2.4: the valid entries of a batch take effect; the error carries only the invalid ones,
// each with the existing, unaltered subscription.
TEST_F(PubsubOwner, SubscriptionsSetReturnsTheFailedEntries) {
  struct Case {
    const char* bad;
    const char* returned;  // the <subscription/> the error carries
  };
  for (const Case& c : std::initializer_list<Case>{
           {"<subscription jid='bernardo@denmark.lit' subscription='banana'/>",
            "<subscription xmlns='http://jabber.org/protocol/pubsub#owner' "
            "jid='bernardo@denmark.lit' subscription='subscribed' subid='b1'/>"},
           {"<subscription jid='@@' subscription='none'/>",
            "<subscription xmlns='http://jabber.org/protocol/pubsub#owner' jid='@@' "
            "subscription='none'/>"},
           {"<subscription jid='tybalt@capulet.lit' subscription='subscribed'/>",
            "<subscription xmlns='http://jabber.org/protocol/pubsub#owner' "
            "jid='tybalt@capulet.lit' subscription='none'/>"},
           {"<subscription jid='bernardo@denmark.lit' subid='zzz' subscription='none'/>",
            "<subscription xmlns='http://jabber.org/protocol/pubsub#owner' "
            "jid='bernardo@denmark.lit' subscription='none' subid='zzz'/>"},
           {"<subscription jid='horatio@denmark.lit' subscription='pending'/>",
            "<subscription xmlns='http://jabber.org/protocol/pubsub#owner' "
            "jid='horatio@denmark.lit' subscription='pending' subid='h1'/>"}}) {
    SetUp();
    host.sent.clear();
    make_node();
    subscribe("polonius@denmark.lit", SubState::kSubscribed, "p1");
    subscribe("bernardo@denmark.lit", SubState::kSubscribed, "b1");
    subscribe("horatio@denmark.lit", SubState::kPending, "h1");
    node().affiliations["tybalt@capulet.lit"] = Affiliation::kOutcast;
    IqResult r = owner(
        std::string("<subscriptions node='princely_musings'>"
                    "<subscription jid='polonius@denmark.lit' subscription='none'/>") +
            c.bad + "<subscription jid='bard@shakespeare.lit' subscription='subscribed'/>" +
            "</subscriptions>",
        true);
    ASSERT_EQ(cond(r), "not-acceptable") << c.bad;
    const StanzaError& err = std::get<StanzaError>(r);
    EXPECT_FALSE(err.text.empty());
    ASSERT_TRUE(err.payload.has_value()) << c.bad;
    EXPECT_EQ(xml::to_string(*err.payload),
              xml::to_string(el("<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                                "<subscriptions node='princely_musings'>" +
                                std::string(c.returned) + "</subscriptions></pubsub>")))
        << c.bad;
    // The valid entries took effect, were stored and told (§8.8.4).
    std::vector<std::string> jids;
    for (const Subscription& s : node().subscriptions) {
      jids.push_back(s.jid.str());
    }
    EXPECT_EQ(jids, (std::vector<std::string>{"bernardo@denmark.lit", "horatio@denmark.lit",
                                              "bard@shakespeare.lit"}))
        << c.bad;
    EXPECT_EQ(host.stored["princely_musings"].subscriptions.size(), 3u);
    EXPECT_EQ(events_to("polonius@denmark.lit").size(), 1u);
    EXPECT_EQ(events_to("bard@shakespeare.lit").size(), 1u);
  }

  // The client sees the failed entries in place of its request (RFC 6120 §8.3.1).
  SetUp();
  make_node();
  IqResult r = owner(
      "<subscriptions node='princely_musings'>"
      "<subscription jid='bard@shakespeare.lit' subscription='subscribed'/>"
      "<subscription jid='polonius@denmark.lit' subscription='unconfigured'/>"
      "</subscriptions>",
      true);
  ASSERT_EQ(cond(r), "not-acceptable");
  Element request = el(
      "<iq xmlns='jabber:client' type='set' id='subman3' from='hamlet@denmark.lit/elsinore' "
      "to='pubsub.shakespeare.lit'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
      "<subscriptions node='princely_musings'>"
      "<subscription jid='bard@shakespeare.lit' subscription='subscribed'/>"
      "<subscription jid='polonius@denmark.lit' subscription='unconfigured'/>"
      "</subscriptions></pubsub></iq>");
  Element reply = xmpp::make_error_reply(request, std::get<StanzaError>(r));
  auto children = reply.elements();
  ASSERT_EQ(children.size(), 2u);
  auto entries = children[0]->child("subscriptions", kOwnerNs)->elements();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]->attr_or("jid"), "polonius@denmark.lit");
  EXPECT_EQ(entries[0]->attr_or("subscription"), "none");
  EXPECT_EQ(children[1]->name(), "error");
  EXPECT_NE(children[1]->child("not-acceptable", "urn:ietf:params:xml:ns:xmpp-stanzas"), nullptr);
}

// §8.8.2.4: several entries for one entity need distinct subids.
TEST_F(PubsubOwner, SubscriptionsSetSameEntityTwice) {
  make_node();
  subscribe("bernardo@denmark.lit", SubState::kSubscribed, "b1");
  subscribe("bernardo@denmark.lit", SubState::kSubscribed, "b2");
  EXPECT_EQ(cond(owner("<subscriptions node='princely_musings'>"
                       "<subscription jid='bernardo@denmark.lit' subid='b1' subscription='none'/>"
                       "<subscription jid='bernardo@denmark.lit' subid='b2' subscription='none'/>"
                       "</subscriptions>",
                       true)),
            "empty");
  EXPECT_TRUE(node().subscriptions.empty());
  IqResult r = owner(
      "<subscriptions node='princely_musings'>"
      "<subscription jid='bard@shakespeare.lit' subscription='subscribed'/>"
      "<subscription jid='bard@shakespeare.lit' subscription='none'/>"
      "</subscriptions>",
      true);
  ASSERT_EQ(cond(r), "not-acceptable");
  auto entries =
      std::get<StanzaError>(r).payload->child("subscriptions", kOwnerNs)->elements();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]->attr_or("subscription"), "subscribed");  // the first entry took effect
  ASSERT_EQ(node().subscriptions.size(), 1u);
}

// ---- §8.9 affiliations ----

TEST_F(PubsubOwner, AffiliationsGetAndSet) {
  make_node();
  subscribe("polonius@denmark.lit/arras", SubState::kSubscribed, "p1");
  IqResult r = owner(
      "<affiliations node='princely_musings'>"
      "<affiliation jid='bard@shakespeare.lit' affiliation='publisher'/>"
      "<affiliation jid='polonius@denmark.lit' affiliation='outcast'/>"
      "<affiliation jid='nurse@capulet.lit' affiliation='publish-only'/>"
      "<affiliation jid='romeo@montague.lit/orchard' affiliation='member'/>"
      "</affiliations>",
      true);
  EXPECT_EQ(cond(r), "empty");
  EXPECT_EQ(node().affiliation_of(J("bard@shakespeare.lit")), Affiliation::kPublisher);
  EXPECT_EQ(node().affiliation_of(J("romeo@montague.lit")), Affiliation::kMember);
  EXPECT_EQ(node().affiliation_of(J("nurse@capulet.lit")), Affiliation::kPublishOnly);
  EXPECT_TRUE(node().subscriptions.empty());  // the outcast's subscription is gone
  auto ev = events_to("polonius@denmark.lit/arras");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].attr_or("subscription"), "none");
  EXPECT_EQ(host.stored["princely_musings"].affiliations.size(), 5u);

  IqResult g = owner("<affiliations node='princely_musings'/>", false);
  ASSERT_TRUE(std::holds_alternative<Element>(g)) << cond(g);
  auto list = std::get<Element>(g).child("affiliations", kOwnerNs)->elements();
  ASSERT_EQ(list.size(), 5u);
  std::map<std::string, std::string> got;
  for (const Element* a : list) {
    got[std::string(a->attr_or("jid"))] = std::string(a->attr_or("affiliation"));
  }
  EXPECT_EQ(got["hamlet@denmark.lit"], "owner");
  EXPECT_EQ(got["polonius@denmark.lit"], "outcast");

  // 'none' removes the affiliation.
  ASSERT_EQ(cond(owner("<affiliations node='princely_musings'>"
                       "<affiliation jid='bard@shakespeare.lit' affiliation='none'/>"
                       "</affiliations>",
                       true)),
            "empty");
  EXPECT_FALSE(node().affiliations.contains("bard@shakespeare.lit"));
}

TEST_F(PubsubOwner, AffiliationsKeepAnOwner) {
  make_node();
  node().affiliations["polonius@denmark.lit"] = Affiliation::kMember;
  // §8.9.2.4 (its example): the only owner cannot give up ownership; the error carries that
  // entry with the existing affiliation, the other entries take effect.
  IqResult r = owner(
      "<affiliations node='princely_musings'>"
      "<affiliation jid='hamlet@denmark.lit' affiliation='none'/>"
      "<affiliation jid='polonius@denmark.lit' affiliation='none'/>"
      "<affiliation jid='bard@shakespeare.lit' affiliation='publisher'/>"
      "</affiliations>",
      true);
  ASSERT_EQ(cond(r), "not-acceptable");
  ASSERT_TRUE(std::get<StanzaError>(r).payload.has_value());
  EXPECT_EQ(xml::to_string(*std::get<StanzaError>(r).payload),
            xml::to_string(el("<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                              "<affiliations node='princely_musings'>"
                              "<affiliation jid='hamlet@denmark.lit' affiliation='owner'/>"
                              "</affiliations></pubsub>")));
  EXPECT_EQ(node().affiliation_of(J(kHamlet)), Affiliation::kOwner);
  EXPECT_EQ(node().affiliation_of(J(kBard)), Affiliation::kPublisher);
  EXPECT_EQ(node().affiliation_of(J("polonius@denmark.lit")), Affiliation::kNone);
  EXPECT_EQ(host.stored["princely_musings"].affiliations.size(), 2u);
  ASSERT_EQ(cond(owner("<affiliations node='princely_musings'>"
                       "<affiliation jid='bard@shakespeare.lit' affiliation='none'/>"
                       "</affiliations>",
                       true)),
            "empty");
  // With a second owner it can.
  ASSERT_EQ(cond(owner("<affiliations node='princely_musings'>"
                       "<affiliation jid='bard@shakespeare.lit' affiliation='owner'/>"
                       "<affiliation jid='hamlet@denmark.lit' affiliation='none'/>"
                       "</affiliations>",
                       true)),
            "empty");
  EXPECT_EQ(cond(owner("<affiliations node='princely_musings'/>", false)), "forbidden");
  EXPECT_EQ(cond(owner("<affiliations node='princely_musings'/>", false, kBard)), "result");
  IqResult king = owner(
      "<affiliations node='princely_musings'>"
      "<affiliation jid='x@y' affiliation='king'/>"
      "<affiliation jid='@@' affiliation='member'/>"
      "<affiliation jid='hamlet@denmark.lit' affiliation='member'/></affiliations>",
      true, kBard);
  ASSERT_EQ(cond(king), "not-acceptable");
  EXPECT_EQ(xml::to_string(*std::get<StanzaError>(king).payload),
            xml::to_string(el("<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                              "<affiliations node='princely_musings'>"
                              "<affiliation jid='x@y' affiliation='none'/>"
                              "<affiliation jid='@@' affiliation='none'/>"
                              "</affiliations></pubsub>")));
  EXPECT_EQ(node().affiliation_of(J(kHamlet)), Affiliation::kMember);
}

// §8.9.2.4: two entries for one entity are a bad-request; nothing changes.
TEST_F(PubsubOwner, AffiliationsSameEntityTwice) {
  make_node();
  IqResult r = owner(
      "<affiliations node='princely_musings'>"
      "<affiliation jid='bard@shakespeare.lit' affiliation='publisher'/>"
      "<affiliation jid='bard@shakespeare.lit/globe' affiliation='member'/>"
      "</affiliations>",
      true);
  EXPECT_EQ(cond(r), "bad-request");
  EXPECT_EQ(node().affiliation_of(J(kBard)), Affiliation::kNone);
  EXPECT_TRUE(host.stored["princely_musings"].affiliations.size() == 1u);
}

// ---- §8.6 authorization ----

std::string auth_form(std::string_view type, std::string_view allow,
                      std::string_view subid = "123-abc") {
  return "<x xmlns='jabber:x:data' type='" + std::string(type) +
         "'><field var='FORM_TYPE' type='hidden'><value>" +
         std::string(ns::kSubscribeAuthorization) +
         "</value></field><field var='pubsub#subid'><value>" + std::string(subid) +
         "</value></field><field var='pubsub#node'><value>princely_musings</value></field>"
         "<field var='pubsub#subscriber_jid'><value>horatio@denmark.lit</value></field>"
         "<field var='pubsub#allow'><value>" +
         std::string(allow) + "</value></field></x>";
}

TEST_F(PubsubOwner, AuthorizationAllow) {
  make_node();
  subscribe("horatio@denmark.lit", SubState::kPending, "123-abc");
  authorize(auth_form("submit", "true"));
  ASSERT_EQ(node().subscriptions.size(), 1u);
  EXPECT_EQ(node().subscriptions[0].state, SubState::kSubscribed);
  EXPECT_EQ(host.stored["princely_musings"].subscriptions[0].state, SubState::kSubscribed);
  auto ev = events_to("horatio@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name(), "subscription");
  EXPECT_EQ(ev[0].attr_or("node"), "princely_musings");
  EXPECT_EQ(ev[0].attr_or("jid"), "horatio@denmark.lit");
  EXPECT_EQ(ev[0].attr_or("subscription"), "subscribed");
}

TEST_F(PubsubOwner, AuthorizationDenyAndCancel) {
  make_node();
  subscribe("horatio@denmark.lit", SubState::kPending, "123-abc");
  authorize(auth_form("cancel", "true"));  // stays pending
  ASSERT_EQ(node().subscriptions.size(), 1u);
  EXPECT_EQ(node().subscriptions[0].state, SubState::kPending);
  EXPECT_TRUE(host.sent.empty());
  authorize(auth_form("submit", "false"));
  EXPECT_TRUE(node().subscriptions.empty());
  auto ev = events_to("horatio@denmark.lit");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].attr_or("subscription"), "none");
}

TEST_F(PubsubOwner, AuthorizationErrors) {
  make_node();
  subscribe("horatio@denmark.lit", SubState::kPending, "123-abc");
  auto last_error = [&]() -> std::string {
    if (host.sent.empty() || host.sent.back().attr_or("type") != "error") {
      return "(none)";
    }
    const Element* e = host.sent.back().child("error");
    return e && !e->elements().empty() ? e->elements().front()->name() : "(empty)";
  };
  // Not an owner: forbidden, nothing changes.
  authorize(auth_form("submit", "true"), kBard);
  EXPECT_EQ(last_error(), "forbidden");
  EXPECT_EQ(host.sent.back().attr_or("to"), kBard);
  EXPECT_EQ(node().subscriptions[0].state, SubState::kPending);
  // An unknown subid.
  authorize(auth_form("submit", "true", "nope"));
  EXPECT_EQ(last_error(), "item-not-found");
  // No allow field value.
  authorize(auth_form("submit", "perhaps"));
  EXPECT_EQ(last_error(), "bad-request");
  EXPECT_EQ(node().subscriptions[0].state, SubState::kPending);
  // A form of another kind is ignored.
  std::size_t before = host.sent.size();
  authorize("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other"
            "</value></field></x>");
  authorize("<body>hello</body>");
  EXPECT_EQ(host.sent.size(), before);
}

}  // namespace
}  // namespace starling::pubsub
