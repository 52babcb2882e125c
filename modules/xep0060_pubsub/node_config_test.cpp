// XEP-0060 forms (§16.4) and the node/item storage records.
#include "modules/xep0060_pubsub/node_config.hpp"

#include <gtest/gtest.h>

#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/dataform.hpp"

namespace starling::pubsub {
namespace {

namespace df = xmpp::dataform;
using xml::Element;
using xmpp::StanzaError;

Element el(const std::string& text) {
  Element e;
  EXPECT_TRUE(xml::parse_element(text, e)) << text;
  return e;
}

// A submitted form with FORM_TYPE `type` and the given single-valued fields.
Element submit(std::string_view type,
               std::vector<std::pair<std::string, std::vector<std::string>>> fields,
               std::string_view form_type = "submit") {
  std::string s = "<x xmlns='jabber:x:data' type='" + std::string(form_type) + "'>";
  if (!type.empty()) {
    s += "<field var='FORM_TYPE' type='hidden'><value>" + std::string(type) + "</value></field>";
  }
  for (const auto& [var, values] : fields) {
    s += "<field var='" + var + "'>";
    for (const auto& v : values) {
      s += "<value>" + v + "</value>";
    }
    s += "</field>";
  }
  return el(s + "</x>");
}

df::Form parse_form(const Element& x) {
  auto f = df::parse(x);
  EXPECT_TRUE(std::holds_alternative<df::Form>(f));
  return std::get<df::Form>(f);
}

const std::string& condition(const std::variant<NodeConfig, StanzaError>& r) {
  static const std::string none = "(no error)";
  const auto* e = std::get_if<StanzaError>(&r);
  return e ? e->condition : none;
}

const Limits kLimits{};

TEST(PubsubConfigForm, ShowsEveryFieldWithTypes) {
  NodeConfig c;
  c.title = "Princely Musings";
  c.access_model = AccessModel::kRoster;
  c.roster_groups_allowed = {"friends", "servants"};
  c.max_items = kMaxItemsMax;
  df::Form f = parse_form(config_form(c, kLimits));
  EXPECT_EQ(f.type, df::FormType::kForm);
  EXPECT_EQ(f.form_type(), ns::kNodeConfig);
  for (std::string_view var :
       {"pubsub#title", "pubsub#description", "pubsub#type", "pubsub#language",
        "pubsub#access_model", "pubsub#roster_groups_allowed", "pubsub#publish_model",
        "pubsub#max_items", "pubsub#persist_items", "pubsub#deliver_notifications",
        "pubsub#deliver_payloads", "pubsub#notify_config", "pubsub#notify_delete",
        "pubsub#notify_retract", "pubsub#notify_sub", "pubsub#presence_based_delivery",
        "pubsub#purge_offline", "pubsub#subscribe", "pubsub#send_last_published_item",
        "pubsub#item_expire", "pubsub#max_payload_size", "pubsub#notification_type",
        "pubsub#itemreply"}) {
    EXPECT_NE(f.field(var), nullptr) << var;
  }
  EXPECT_EQ(f.field("pubsub#title")->value(), "Princely Musings");
  EXPECT_EQ(f.field("pubsub#max_items")->value(), "max");
  const df::Field* access = f.field("pubsub#access_model");
  EXPECT_EQ(access->type, df::FieldType::kListSingle);
  EXPECT_EQ(access->value(), "roster");
  EXPECT_EQ(access->options.size(), 5u);
  EXPECT_EQ(f.field("pubsub#send_last_published_item")->options.size(), 3u);
  EXPECT_EQ(f.field("pubsub#notification_type")->type, df::FieldType::kListSingle);
  EXPECT_EQ(f.field("pubsub#itemreply")->type, df::FieldType::kListSingle);
  EXPECT_EQ(f.field("pubsub#roster_groups_allowed")->values,
            (std::vector<std::string>{"friends", "servants"}));
  EXPECT_EQ(f.field("pubsub#persist_items")->type, df::FieldType::kBoolean);
}

TEST(PubsubConfigForm, SubmittingTheFormBackChangesNothing) {
  NodeConfig c;
  c.title = "t";
  c.roster_groups_allowed = {"a"};
  c.max_items = 42;
  c.item_expire = 3600;
  c.max_payload_size = 1028;
  // A client answers with the values of the form it got.
  df::Form f = parse_form(config_form(c, kLimits));
  f.type = df::FormType::kSubmit;
  auto r = apply_config_form(c, df::to_element(f), kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r)) << condition(r);
  EXPECT_EQ(std::get<NodeConfig>(r), c);
  // The service's own payload limit shows as a number and comes back as 0.
  NodeConfig d;
  df::Form g = parse_form(config_form(d, kLimits));
  EXPECT_EQ(g.field("pubsub#max_payload_size")->value(), std::to_string(kLimits.max_payload_size));
  g.type = df::FormType::kSubmit;
  auto r2 = apply_config_form(d, df::to_element(g), kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r2));
  EXPECT_EQ(std::get<NodeConfig>(r2), d);
}

TEST(PubsubConfigForm, AppliesTheSpecExample) {
  // §8.2.4 (without pubsub#body_xslt, which the service does not implement).
  auto r = apply_config_form(
      NodeConfig{},
      submit(ns::kNodeConfig, {{"pubsub#title", {"Princely Musings (Atom)"}},
                               {"pubsub#deliver_notifications", {"1"}},
                               {"pubsub#deliver_payloads", {"1"}},
                               {"pubsub#persist_items", {"1"}},
                               {"pubsub#max_items", {"10"}},
                               {"pubsub#item_expire", {"604800"}},
                               {"pubsub#access_model", {"roster"}},
                               {"pubsub#roster_groups_allowed", {"friends", "servants", "courtiers"}},
                               {"pubsub#publish_model", {"publishers"}},
                               {"pubsub#purge_offline", {"0"}},
                               {"pubsub#send_last_published_item", {"never"}},
                               {"pubsub#presence_based_delivery", {"false"}},
                               {"pubsub#notification_type", {"headline"}},
                               {"pubsub#notify_config", {"0"}},
                               {"pubsub#notify_delete", {"0"}},
                               {"pubsub#notify_retract", {"0"}},
                               {"pubsub#notify_sub", {"0"}},
                               {"pubsub#max_payload_size", {"1028"}},
                               {"pubsub#type", {"urn:example:e2ee:bundle"}}}),
      kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r)) << condition(r);
  const NodeConfig& c = std::get<NodeConfig>(r);
  EXPECT_EQ(c.title, "Princely Musings (Atom)");
  EXPECT_EQ(c.item_expire, 604800);
  EXPECT_EQ(c.access_model, AccessModel::kRoster);
  EXPECT_EQ(c.roster_groups_allowed, (std::vector<std::string>{"friends", "servants", "courtiers"}));
  EXPECT_EQ(c.send_last_published_item, SendLast::kNever);
  EXPECT_FALSE(c.notify_retract);
  EXPECT_EQ(c.max_payload_size, 1028u);
  EXPECT_EQ(c.type, "urn:example:e2ee:bundle");
}

TEST(PubsubConfigForm, AcceptsPublishOptionsAndMax) {
  // XEP-0402 §3 / XEP-0163 auto-create: the publish-options form configures the node.
  auto r = apply_config_form(NodeConfig{},
                             submit(ns::kPublishOptions,
                                    {{"pubsub#persist_items", {"true"}},
                                     {"pubsub#max_items", {"max"}},
                                     {"pubsub#send_last_published_item", {"never"}},
                                     {"pubsub#access_model", {"whitelist"}}}),
                             kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r)) << condition(r);
  EXPECT_EQ(std::get<NodeConfig>(r).max_items, kMaxItemsMax);
  EXPECT_EQ(std::get<NodeConfig>(r).access_model, AccessModel::kWhitelist);
  // No FORM_TYPE at all is accepted too.
  auto r2 = apply_config_form(NodeConfig{}, submit("", {{"pubsub#title", {"x"}}}), kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r2));
  EXPECT_EQ(std::get<NodeConfig>(r2).title, "x");
}

TEST(PubsubConfigForm, CancelChangesNothing) {
  NodeConfig c;
  c.title = "kept";
  auto r = apply_config_form(c, el("<x xmlns='jabber:x:data' type='cancel'/>"), kLimits);
  ASSERT_TRUE(std::holds_alternative<NodeConfig>(r));
  EXPECT_EQ(std::get<NodeConfig>(r), c);
}

TEST(PubsubConfigForm, RejectsBadInput) {
  auto bad = [](std::vector<std::pair<std::string, std::vector<std::string>>> fields,
                std::string_view type = ns::kNodeConfig) {
    return condition(apply_config_form(NodeConfig{}, submit(type, std::move(fields)), kLimits));
  };
  EXPECT_EQ(bad({{"pubsub#body_xslt", {"http://x"}}}), "bad-request");  // unknown field
  EXPECT_EQ(bad({{"pubsub#persist_items", {"yes"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#persist_items", {}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#max_items", {"ten"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#max_items", {"-1"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#max_items", {"1001"}}}), "not-acceptable");  // above Limits::max_items
  EXPECT_EQ(bad({{"pubsub#max_items", {"1000"}}}), "(no error)");
  EXPECT_EQ(bad({{"pubsub#max_payload_size", {"65537"}}}), "not-acceptable");
  EXPECT_EQ(bad({{"pubsub#publish_model", {"everyone"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#send_last_published_item", {"always"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#notification_type", {"chat"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#itemreply", {"nobody"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#item_expire", {"soon"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#title", {"a", "b"}}}), "bad-request");
  EXPECT_EQ(bad({{"pubsub#title", {"a"}}}, "urn:example:other"), "bad-request");  // FORM_TYPE
  EXPECT_EQ(bad({{"pubsub#node_type", {"collection"}}}), "feature-not-implemented");
  EXPECT_EQ(bad({{"pubsub#node_type", {"leaf"}}}), "(no error)");
  // §8.1.2: an unsupported access model.
  auto r = apply_config_form(NodeConfig{},
                             submit(ns::kNodeConfig, {{"pubsub#access_model", {"secret"}}}),
                             kLimits);
  ASSERT_TRUE(std::holds_alternative<StanzaError>(r));
  EXPECT_EQ(std::get<StanzaError>(r).condition, "not-acceptable");
  EXPECT_EQ(std::get<StanzaError>(r).app_condition, "unsupported-access-model");
  // Not a data form / a form of type 'form'.
  EXPECT_EQ(condition(apply_config_form(NodeConfig{}, el("<x xmlns='urn:other'/>"), kLimits)),
            "bad-request");
  EXPECT_EQ(condition(apply_config_form(NodeConfig{}, el("<x xmlns='jabber:x:data' type='form'/>"),
                                        kLimits)),
            "bad-request");
}

TEST(PubsubPreconditions, MetAndNotMet) {
  // The XEP-0402 bookmarks node configuration.
  NodeConfig c;
  c.persist_items = true;
  c.max_items = kMaxItemsMax;
  c.send_last_published_item = SendLast::kNever;
  c.access_model = AccessModel::kWhitelist;
  Element bookmarks = submit(ns::kPublishOptions, {{"pubsub#persist_items", {"true"}},
                                                   {"pubsub#max_items", {"max"}},
                                                   {"pubsub#send_last_published_item", {"never"}},
                                                   {"pubsub#access_model", {"whitelist"}}});
  EXPECT_FALSE(check_preconditions(c, bookmarks, kLimits).has_value());

  NodeConfig open = c;
  open.access_model = AccessModel::kOpen;
  auto e = check_preconditions(open, bookmarks, kLimits);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->condition, "conflict");
  EXPECT_EQ(e->app_condition, "precondition-not-met");
  EXPECT_EQ(e->app_ns, ns::kErrors);

  NodeConfig ten = c;
  ten.max_items = 10;
  EXPECT_TRUE(check_preconditions(ten, bookmarks, kLimits).has_value());
  // "1" and "true" are the same boolean.
  EXPECT_FALSE(check_preconditions(
                   c, submit(ns::kPublishOptions, {{"pubsub#persist_items", {"1"}}}), kLimits)
                   .has_value());
  // An unknown field is not met (§7.1.5: reject unknown fields).
  auto u = check_preconditions(c, submit(ns::kPublishOptions, {{"pubsub#frobnicate", {"1"}}}),
                               kLimits);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->app_condition, "precondition-not-met");
  // A form of another FORM_TYPE is a bad request.
  auto t = check_preconditions(c, submit(ns::kNodeConfig, {{"pubsub#persist_items", {"1"}}}),
                               kLimits);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->condition, "bad-request");
}

TEST(PubsubSubscribeOptions, FormAndApply) {
  SubOptions o;
  df::Form f = parse_form(subscribe_options_form(o));
  EXPECT_EQ(f.form_type(), ns::kSubscribeOptions);
  EXPECT_EQ(f.field("pubsub#deliver")->value(), "1");
  EXPECT_EQ(f.field("pubsub#show-values")->options.size(), 5u);
  auto r = apply_subscribe_options(
      o, submit(ns::kSubscribeOptions, {{"pubsub#deliver", {"false"}},
                                        {"pubsub#include_body", {"1"}},
                                        {"pubsub#show-values", {"chat", "online"}},
                                        {"pubsub#expire", {"2006-02-28T23:59:59Z"}}}));
  ASSERT_TRUE(std::holds_alternative<SubOptions>(r));
  const SubOptions& s = std::get<SubOptions>(r);
  EXPECT_FALSE(s.deliver);
  EXPECT_TRUE(s.include_body);
  EXPECT_EQ(s.show_values, (std::vector<std::string>{"chat", "online"}));
  EXPECT_EQ(s.expire, 1141171199);
  // And back: the form shows the expiry as a DateTime.
  df::Form back = parse_form(subscribe_options_form(s));
  EXPECT_EQ(back.field("pubsub#expire")->value(), "2006-02-28T23:59:59Z");
  back.type = df::FormType::kSubmit;
  auto again = apply_subscribe_options(SubOptions{}, df::to_element(back));
  ASSERT_TRUE(std::holds_alternative<SubOptions>(again));
  EXPECT_EQ(std::get<SubOptions>(again), s);

  auto bad = [](std::vector<std::pair<std::string, std::vector<std::string>>> fields) {
    auto r = apply_subscribe_options(SubOptions{}, submit(ns::kSubscribeOptions, fields));
    return std::holds_alternative<StanzaError>(r);
  };
  EXPECT_TRUE(bad({{"pubsub#deliver", {"maybe"}}}));
  EXPECT_TRUE(bad({{"pubsub#show-values", {"sleeping"}}}));
  EXPECT_TRUE(bad({{"pubsub#expire", {"tomorrow"}}}));
  EXPECT_TRUE(bad({{"pubsub#unknown", {"1"}}}));
  EXPECT_FALSE(bad({{"pubsub#digest", {"0"}}}));
}

TEST(PubsubMetaData, DescribesTheNode) {
  Node n;
  n.name = "princely_musings";
  n.created = 0;
  n.creator = "hamlet@denmark.lit";
  n.config.title = "Princely Musings (Atom)";
  n.config.type = "http://www.w3.org/2005/Atom";
  n.affiliations = {{"hamlet@denmark.lit", Affiliation::kOwner},
                    {"bard@shakespeare.lit", Affiliation::kPublisher}};
  n.subscriptions.push_back({*xmpp::Jid::parse("a@b"), "1", SubState::kSubscribed, {}});
  n.subscriptions.push_back({*xmpp::Jid::parse("c@d"), "2", SubState::kPending, {}});
  df::Form f = parse_form(meta_data_form(n));
  EXPECT_EQ(f.type, df::FormType::kResult);
  EXPECT_EQ(f.form_type(), ns::kMetaData);
  EXPECT_EQ(f.field("pubsub#owner")->values, std::vector<std::string>{"hamlet@denmark.lit"});
  EXPECT_EQ(f.field("pubsub#publisher")->values, std::vector<std::string>{"bard@shakespeare.lit"});
  EXPECT_EQ(f.field("pubsub#creator")->value(), "hamlet@denmark.lit");
  EXPECT_EQ(f.field("pubsub#creation_date")->value(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(f.field("pubsub#title")->value(), "Princely Musings (Atom)");
  EXPECT_EQ(f.field("pubsub#type")->value(), "http://www.w3.org/2005/Atom");
  EXPECT_EQ(f.field("pubsub#access_model")->value(), "open");
  EXPECT_EQ(f.field("pubsub#publish_model")->value(), "publishers");
  EXPECT_EQ(f.field("pubsub#num_subscribers")->value(), "1");
  EXPECT_EQ(f.field("pubsub#max_items")->value(), "10");
}

TEST(PubsubAuthorizationForm, Fields) {
  Node n;
  n.name = "princely_musings";
  Subscription s{*xmpp::Jid::parse("horatio@denmark.lit"), "123-abc", SubState::kPending, {}};
  df::Form f = parse_form(authorization_form(n, s));
  EXPECT_EQ(f.type, df::FormType::kForm);
  EXPECT_EQ(f.form_type(), ns::kSubscribeAuthorization);
  EXPECT_EQ(f.field("pubsub#subid")->value(), "123-abc");
  EXPECT_EQ(f.field("pubsub#node")->value(), "princely_musings");
  EXPECT_EQ(f.field("pubsub#subscriber_jid")->value(), "horatio@denmark.lit");
  EXPECT_EQ(f.field("pubsub#subscriber_jid")->type, df::FieldType::kJidSingle);
  EXPECT_EQ(f.field("pubsub#allow")->type, df::FieldType::kBoolean);
  EXPECT_EQ(f.field("pubsub#allow")->value(), "0");
}

// ---- storage records ----

Node sample_node() {
  Node n;
  n.name = "urn:xmpp:bookmarks:1";
  n.created = 1700000000;
  n.creator = "juliet@capulet.lit";
  n.next_seq = 17;
  NodeConfig& c = n.config;
  c.title = "Bookmarks <&>";
  c.description = "d";
  c.type = "urn:xmpp:bookmarks:1";
  c.language = "en";
  c.access_model = AccessModel::kRoster;
  c.roster_groups_allowed = {"Friends", "Family"};
  c.publish_model = PublishModel::kOpen;
  c.max_items = kMaxItemsMax;
  c.persist_items = false;
  c.deliver_notifications = false;
  c.deliver_payloads = false;
  c.notify_config = true;
  c.notify_delete = true;
  c.notify_retract = false;
  c.notify_sub = true;
  c.presence_based_delivery = true;
  c.purge_offline = true;
  c.subscribe = false;
  c.send_last_published_item = SendLast::kOnSubAndPresence;
  c.item_expire = 86400;
  c.max_payload_size = 2048;
  c.notification_type = NotificationType::kNormal;
  c.itemreply = ItemReply::kPublisher;
  n.affiliations = {{"juliet@capulet.lit", Affiliation::kOwner},
                    {"nurse@capulet.lit", Affiliation::kPublishOnly},
                    {"tybalt@capulet.lit", Affiliation::kOutcast}};
  Subscription s1{*xmpp::Jid::parse("romeo@montague.lit/orchard"), "abc", SubState::kPending, {}};
  Subscription s2{*xmpp::Jid::parse("benvolio@montague.lit"), "def", SubState::kUnconfigured, {}};
  s2.options.deliver = false;
  s2.options.include_body = true;
  s2.options.show_values = {"away", "xa"};
  s2.options.expire = 1800000000;
  n.subscriptions = {s1, s2};
  return n;
}

TEST(PubsubNodeStore, NodeRoundTrip) {
  Node n = sample_node();
  n.items.push_back(Item{"i1", std::nullopt, "x@y/z", 1, 1});
  Element e = node_to_xml(n);
  EXPECT_EQ(e.child("item"), nullptr);  // metadata only
  auto back = node_from_xml(e);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name, n.name);
  EXPECT_EQ(back->config, n.config);
  EXPECT_EQ(back->created, n.created);
  EXPECT_EQ(back->creator, n.creator);
  EXPECT_EQ(back->affiliations, n.affiliations);
  EXPECT_EQ(back->next_seq, n.next_seq);
  EXPECT_TRUE(back->items.empty());
  ASSERT_EQ(back->subscriptions.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->subscriptions[i].jid, n.subscriptions[i].jid);
    EXPECT_EQ(back->subscriptions[i].subid, n.subscriptions[i].subid);
    EXPECT_EQ(back->subscriptions[i].state, n.subscriptions[i].state);
    EXPECT_EQ(back->subscriptions[i].options, n.subscriptions[i].options);
  }
  // Defaults survive as well.
  Node plain;
  plain.name = "n";
  auto p = node_from_xml(node_to_xml(plain));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->config, NodeConfig{});
}

TEST(PubsubNodeStore, ItemRoundTrip) {
  Item i{"current", el("<storage xmlns='storage:bookmarks'><conference jid='a@b'/></storage>"),
         "juliet@capulet.lit/balcony", 1700000001, 42};
  auto back = item_from_xml(item_to_xml(i));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, i.id);
  EXPECT_EQ(back->payload, i.payload);
  EXPECT_EQ(back->publisher, i.publisher);
  EXPECT_EQ(back->published, i.published);
  EXPECT_EQ(back->seq, i.seq);
  Item empty{"n", std::nullopt, "p", 0, 1};
  auto e = item_from_xml(item_to_xml(empty));
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->payload.has_value());
}

TEST(PubsubNodeStore, JunkIsRejected) {
  constexpr const char* kNs = "urn:starling:pubsub:0";
  EXPECT_FALSE(node_from_xml(el("<node xmlns='urn:other' name='a'><config/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs + "'><config/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs + "' name='a'/>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a' created='yesterday'><config/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config access_model='secret'/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config max_items='-3'/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config persist_items='yes'/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config/><affiliation jid='' "
                                "affiliation='owner'/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config/><affiliation jid='a@b' "
                                "affiliation='king'/></node>")));
  EXPECT_FALSE(node_from_xml(el(std::string("<node xmlns='") + kNs +
                                "' name='a'><config/><subscription jid='a@b' "
                                "state='maybe'/></node>")));
  EXPECT_TRUE(node_from_xml(el(std::string("<node xmlns='") + kNs + "' name='a'><config/></node>")));
  EXPECT_FALSE(item_from_xml(el(std::string("<item xmlns='") + kNs + "'/>")));
  EXPECT_FALSE(item_from_xml(el(std::string("<item xmlns='") + kNs + "' id='a' seq='x'/>")));
  EXPECT_FALSE(item_from_xml(el("<item xmlns='urn:other' id='a'/>")));
  EXPECT_FALSE(item_from_xml(el(std::string("<item xmlns='") + kNs + "' id='a'><p/><q/></item>")));
}

}  // namespace
}  // namespace starling::pubsub
