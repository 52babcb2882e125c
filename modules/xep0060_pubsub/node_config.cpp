// XEP-0060 forms (XEP-0004 data forms through xmpp/dataform.hpp): pubsub#node_config (§16.4.4)
// for configure, create and default; publish-options preconditions (§7.1.5); subscribe_options
// (§16.4.2); meta-data (§5.4, §16.4.3); subscribe_authorization (§8.6, §16.4.1).
#include "modules/xep0060_pubsub/node_config.hpp"

#include <algorithm>
#include <charconv>

#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/datetime.hpp"

namespace starling::pubsub {
namespace {

namespace df = xmpp::dataform;
using df::FieldType;
using xmpp::StanzaError;

// §16.4.4 pubsub#node_config field names.
constexpr std::string_view kTitle = "pubsub#title";
constexpr std::string_view kDescription = "pubsub#description";
constexpr std::string_view kType = "pubsub#type";
constexpr std::string_view kLanguage = "pubsub#language";
constexpr std::string_view kAccessModel = "pubsub#access_model";
constexpr std::string_view kRosterGroups = "pubsub#roster_groups_allowed";
constexpr std::string_view kPublishModel = "pubsub#publish_model";
constexpr std::string_view kMaxItems = "pubsub#max_items";
constexpr std::string_view kPersistItems = "pubsub#persist_items";
constexpr std::string_view kDeliverNotifications = "pubsub#deliver_notifications";
constexpr std::string_view kDeliverPayloads = "pubsub#deliver_payloads";
constexpr std::string_view kNotifyConfig = "pubsub#notify_config";
constexpr std::string_view kNotifyDelete = "pubsub#notify_delete";
constexpr std::string_view kNotifyRetract = "pubsub#notify_retract";
constexpr std::string_view kNotifySub = "pubsub#notify_sub";
constexpr std::string_view kPresenceBased = "pubsub#presence_based_delivery";
constexpr std::string_view kPurgeOffline = "pubsub#purge_offline";
constexpr std::string_view kSubscribe = "pubsub#subscribe";
constexpr std::string_view kSendLast = "pubsub#send_last_published_item";
constexpr std::string_view kItemExpire = "pubsub#item_expire";
constexpr std::string_view kMaxPayloadSize = "pubsub#max_payload_size";
constexpr std::string_view kNotificationType = "pubsub#notification_type";
constexpr std::string_view kItemReply = "pubsub#itemreply";
constexpr std::string_view kNodeType = "pubsub#node_type";

std::string bool_value(bool b) { return b ? "1" : "0"; }

void add_bool(df::Form& f, std::string_view var, std::string label, bool value) {
  f.add(std::string(var), FieldType::kBoolean, std::move(label)).values = {bool_value(value)};
}

void add_text(df::Form& f, std::string_view var, std::string label, std::string value,
              FieldType type = FieldType::kTextSingle) {
  auto& field = f.add(std::string(var), type, std::move(label));
  if (!value.empty()) {
    field.values = {std::move(value)};
  }
}

template <class E>
void add_list(df::Form& f, std::string_view var, std::string label, E value,
              std::initializer_list<std::pair<E, std::string>> options) {
  auto& field = f.add(std::string(var), FieldType::kListSingle, std::move(label));
  for (const auto& [v, l] : options) {
    field.options.push_back({l, std::string(to_string(v))});
  }
  field.values = {std::string(to_string(value))};
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

StanzaError bad_field(std::string_view var, std::string_view what) {
  return StanzaError::bad_request(std::string(var) + ": " + std::string(what));
}

StanzaError not_acceptable(std::string text, std::string app_condition = {}) {
  StanzaError e{xmpp::ErrorType::kModify, "not-acceptable", std::move(text)};
  if (!app_condition.empty()) {
    e.app_condition = std::move(app_condition);
    e.app_ns = std::string(ns::kErrors);
  }
  return e;
}

// A single-valued field's value (a submission may omit <value/>: the empty string).
std::variant<std::string, StanzaError> single(const df::Field& f) {
  if (f.values.size() > 1) {
    return bad_field(f.var, "more than one value");
  }
  return f.value();
}

std::variant<bool, StanzaError> boolean(const df::Field& f) {
  if (f.values.size() != 1) {
    return bad_field(f.var, "a boolean needs exactly one value");
  }
  if (auto b = df::parse_bool(f.values.front())) {
    return *b;
  }
  return bad_field(f.var, "'" + f.values.front() + "' is not a boolean");
}

// Parses the form and checks its type and FORM_TYPE (one of `form_types`; absent is accepted).
std::variant<df::Form, StanzaError> submitted(const xml::Element& x,
                                              std::initializer_list<std::string_view> form_types) {
  if (x.name() != "x" || x.xmlns() != ns::kData) {
    return StanzaError::bad_request("expected a jabber:x:data form");
  }
  auto parsed = df::parse(x);
  if (auto* e = std::get_if<StanzaError>(&parsed)) {
    return *e;
  }
  auto form = std::get<df::Form>(std::move(parsed));
  if (form.type != df::FormType::kSubmit && form.type != df::FormType::kCancel) {
    return StanzaError::bad_request("the form must be of type 'submit' or 'cancel'");
  }
  if (const df::Field* ft = form.field("FORM_TYPE")) {
    std::string t = ft->value();
    if (std::find(form_types.begin(), form_types.end(), t) == form_types.end()) {
      return StanzaError::bad_request("unexpected FORM_TYPE '" + t + "'");
    }
  }
  return form;
}

}  // namespace

xml::Element config_form(const NodeConfig& c, const Limits& limits) {
  df::Form f;
  f.type = df::FormType::kForm;
  f.title = "Node configuration";
  f.add_form_type(std::string(ns::kNodeConfig));
  add_text(f, kTitle, "A friendly name for the node", c.title);
  add_text(f, kDescription, "A description of the node", c.description);
  add_text(f, kType, "The payload namespace of the node's items", c.type);
  add_text(f, kLanguage, "The default language of the node", c.language);
  {
    auto& field = f.add(std::string(kNodeType), FieldType::kListSingle, "The node type");
    field.options = {{"Leaf node", "leaf"}};
    field.values = {"leaf"};
  }
  add_list(f, kAccessModel, "Who may subscribe and retrieve items", c.access_model,
           {{AccessModel::kOpen, "Anyone"},
            {AccessModel::kPresence, "Contacts with a presence subscription"},
            {AccessModel::kRoster, "Contacts in the allowed roster groups"},
            {AccessModel::kAuthorize, "Subscriptions approved by an owner"},
            {AccessModel::kWhitelist, "Only members (the whitelist)"}});
  {
    auto& field = f.add(std::string(kRosterGroups), FieldType::kTextMulti,
                        "The roster groups allowed to subscribe (access model 'roster')");
    field.values = c.roster_groups_allowed;
  }
  add_list(f, kPublishModel, "Who may publish", c.publish_model,
           {{PublishModel::kPublishers, "Publishers and owners"},
            {PublishModel::kSubscribers, "Subscribers"},
            {PublishModel::kOpen, "Anyone"}});
  add_text(f, kMaxItems,
           "Max number of items to persist ('max' for the service limit of " +
               std::to_string(limits.max_items) + ")",
           c.max_items == kMaxItemsMax ? "max" : std::to_string(c.max_items));
  add_bool(f, kPersistItems, "Persist items to storage", c.persist_items);
  add_bool(f, kDeliverNotifications, "Deliver event notifications", c.deliver_notifications);
  add_bool(f, kDeliverPayloads, "Deliver payloads with event notifications", c.deliver_payloads);
  add_bool(f, kNotifyConfig, "Notify subscribers when the configuration changes",
           c.notify_config);
  add_bool(f, kNotifyDelete, "Notify subscribers when the node is deleted", c.notify_delete);
  add_bool(f, kNotifyRetract, "Notify subscribers when items are removed", c.notify_retract);
  add_bool(f, kNotifySub, "Notify owners about new subscribers and unsubscribes", c.notify_sub);
  add_bool(f, kPresenceBased, "Deliver notifications only to available users",
           c.presence_based_delivery);
  add_bool(f, kPurgeOffline, "Purge all items when the publisher goes offline", c.purge_offline);
  add_bool(f, kSubscribe, "Whether to allow subscriptions", c.subscribe);
  add_list(f, kSendLast, "When to send the last published item", c.send_last_published_item,
           {{SendLast::kNever, "Never"},
            {SendLast::kOnSub, "When a new subscription is processed"},
            {SendLast::kOnSubAndPresence,
             "When a new subscription is processed and whenever a subscriber comes online"}});
  add_text(f, kItemExpire, "Seconds after which items expire (0: never)",
           std::to_string(c.item_expire));
  add_text(f, kMaxPayloadSize,
           "Max payload size in bytes (at most " + std::to_string(limits.max_payload_size) + ")",
           std::to_string(c.max_payload_size == 0 ? limits.max_payload_size
                                                  : c.max_payload_size));
  add_list(f, kNotificationType, "The message type of notifications", c.notification_type,
           {{NotificationType::kHeadline, "headline"}, {NotificationType::kNormal, "normal"}});
  add_list(f, kItemReply, "Who receives replies to items", c.itemreply,
           {{ItemReply::kOwner, "The node owners"}, {ItemReply::kPublisher, "The publisher"}});
  return df::to_element(f);
}

std::variant<NodeConfig, StanzaError> apply_config_form(NodeConfig c, const xml::Element& x,
                                                        const Limits& limits) {
  // PEP auto-create (XEP-0163 §3, XEP-0060 §7.1.5) configures the node from publish-options.
  auto parsed = submitted(x, {ns::kNodeConfig, ns::kPublishOptions});
  if (auto* e = std::get_if<StanzaError>(&parsed)) {
    return *e;
  }
  const df::Form& form = std::get<df::Form>(parsed);
  if (form.type == df::FormType::kCancel) {
    return c;  // §8.2.4: the existing configuration stays
  }
  for (const df::Field& f : form.fields) {
    const std::string& var = f.var;
    if (var.empty() || var == "FORM_TYPE") {
      continue;
    }
    auto b = [&](bool& out) -> std::optional<StanzaError> {
      auto v = boolean(f);
      if (auto* e = std::get_if<StanzaError>(&v)) {
        return *e;
      }
      out = std::get<bool>(v);
      return std::nullopt;
    };
    std::optional<StanzaError> err;
    if (var == kPersistItems) {
      err = b(c.persist_items);
    } else if (var == kDeliverNotifications) {
      err = b(c.deliver_notifications);
    } else if (var == kDeliverPayloads) {
      err = b(c.deliver_payloads);
    } else if (var == kNotifyConfig) {
      err = b(c.notify_config);
    } else if (var == kNotifyDelete) {
      err = b(c.notify_delete);
    } else if (var == kNotifyRetract) {
      err = b(c.notify_retract);
    } else if (var == kNotifySub) {
      err = b(c.notify_sub);
    } else if (var == kPresenceBased) {
      err = b(c.presence_based_delivery);
    } else if (var == kPurgeOffline) {
      err = b(c.purge_offline);
    } else if (var == kSubscribe) {
      err = b(c.subscribe);
    } else if (var == kRosterGroups) {
      c.roster_groups_allowed.clear();
      for (const std::string& g : f.values) {
        if (!g.empty() && std::find(c.roster_groups_allowed.begin(),
                                    c.roster_groups_allowed.end(),
                                    g) == c.roster_groups_allowed.end()) {
          c.roster_groups_allowed.push_back(g);
        }
      }
    } else {
      auto sv = single(f);
      if (auto* e = std::get_if<StanzaError>(&sv)) {
        return *e;
      }
      const std::string& v = std::get<std::string>(sv);
      if (var == kTitle) {
        c.title = v;
      } else if (var == kDescription) {
        c.description = v;
      } else if (var == kType) {
        c.type = v;
      } else if (var == kLanguage) {
        c.language = v;
      } else if (var == kNodeType) {
        if (v == "collection") {
          return unsupported("collections");
        }
        if (v != "leaf" && !v.empty()) {
          return bad_field(var, "'" + v + "' is not a node type");
        }
      } else if (var == kAccessModel) {
        auto m = parse_access_model(v);
        if (!m) {
          // §8.1.2: an access model the service does not support.
          return not_acceptable("pubsub#access_model: '" + v + "' is not supported",
                                "unsupported-access-model");
        }
        c.access_model = *m;
      } else if (var == kPublishModel) {
        auto m = parse_publish_model(v);
        if (!m) {
          return bad_field(var, "'" + v + "' is not a publish model");
        }
        c.publish_model = *m;
      } else if (var == kSendLast) {
        auto m = parse_send_last(v);
        if (!m) {
          return bad_field(var, "'" + v + "' is not one of never, on_sub, on_sub_and_presence");
        }
        c.send_last_published_item = *m;
      } else if (var == kNotificationType) {
        auto m = parse_notification_type(v);
        if (!m) {
          return bad_field(var, "'" + v + "' is not one of headline, normal");
        }
        c.notification_type = *m;
      } else if (var == kItemReply) {
        auto m = parse_itemreply(v);
        if (!m) {
          return bad_field(var, "'" + v + "' is not one of owner, publisher");
        }
        c.itemreply = *m;
      } else if (var == kMaxItems) {
        // §16.4.4 / XEP-0402 §5: "max" = as many as the service allows.
        if (v == "max") {
          c.max_items = kMaxItemsMax;
        } else {
          auto n = parse_uint(v);
          if (!n || *n == 0) {
            return bad_field(var, "'" + v + "' is not a positive number or 'max'");
          }
          if (*n > limits.max_items) {
            return not_acceptable("pubsub#max_items: at most " +
                                  std::to_string(limits.max_items));
          }
          c.max_items = static_cast<std::size_t>(*n);
        }
      } else if (var == kItemExpire) {
        if (v == "max" || v.empty()) {
          c.item_expire = 0;
        } else {
          auto n = parse_uint(v);
          if (!n || *n > static_cast<std::uint64_t>(INT64_MAX)) {
            return bad_field(var, "'" + v + "' is not a number of seconds");
          }
          c.item_expire = static_cast<std::int64_t>(*n);
        }
      } else if (var == kMaxPayloadSize) {
        auto n = parse_uint(v);
        if (!n) {
          return bad_field(var, "'" + v + "' is not a number of bytes");
        }
        if (*n > limits.max_payload_size) {
          return not_acceptable("pubsub#max_payload_size: at most " +
                                std::to_string(limits.max_payload_size));
        }
        // The service's limit is stored as 0 ("the service's limit").
        c.max_payload_size = *n == limits.max_payload_size ? 0 : static_cast<std::size_t>(*n);
      } else {
        return bad_field(var, "unknown field");
      }
    }
    if (err) {
      return *err;
    }
  }
  return c;
}

std::optional<StanzaError> check_preconditions(const NodeConfig& config, const xml::Element& x,
                                               const Limits& limits) {
  // §7.1.5: each field is a precondition on the node configuration field of the same name; an
  // unknown field or a value the configuration does not have is not met. Applying the form to
  // the configuration changes nothing exactly when every precondition holds ("max" max_items
  // only matches a node configured with "max").
  auto parsed = submitted(x, {ns::kPublishOptions});
  if (auto* e = std::get_if<StanzaError>(&parsed)) {
    return *e;
  }
  if (std::get<df::Form>(parsed).type == df::FormType::kCancel) {
    return StanzaError::bad_request("publish-options must be a submitted form");
  }
  auto applied = apply_config_form(config, x, limits);
  auto* c = std::get_if<NodeConfig>(&applied);
  if (c == nullptr || !(*c == config)) {
    std::string text = "the node configuration does not match the publish-options";
    if (auto* e = std::get_if<StanzaError>(&applied); e != nullptr && !e->text.empty()) {
      text = e->text;
    }
    return pubsub_error("conflict", "precondition-not-met", std::move(text));
  }
  return std::nullopt;
}

xml::Element subscribe_options_form(const SubOptions& o) {
  df::Form f;
  f.type = df::FormType::kForm;
  f.title = "Subscription options";
  f.add_form_type(std::string(ns::kSubscribeOptions));
  add_bool(f, "pubsub#deliver", "Enable delivery of notifications", o.deliver);
  add_bool(f, "pubsub#include_body", "Receive a message body with notifications", o.include_body);
  {
    auto& field = f.add("pubsub#show-values", FieldType::kListMulti,
                        "The presence states for which to receive notifications (none: any)");
    field.options = {{"Away", "away"},
                     {"Chat", "chat"},
                     {"Do not disturb", "dnd"},
                     {"Available without a show value", "online"},
                     {"Extended away", "xa"}};
    field.values = o.show_values;
  }
  add_text(f, "pubsub#expire", "When the subscription ends (empty: never)",
           o.expire == 0 ? std::string() : xmpp::format_datetime(o.expire));
  return df::to_element(f);
}

std::variant<SubOptions, StanzaError> apply_subscribe_options(SubOptions o,
                                                              const xml::Element& x) {
  auto parsed = submitted(x, {ns::kSubscribeOptions});
  if (auto* e = std::get_if<StanzaError>(&parsed)) {
    return *e;
  }
  const df::Form& form = std::get<df::Form>(parsed);
  if (form.type == df::FormType::kCancel) {
    return o;
  }
  for (const df::Field& f : form.fields) {
    if (f.var.empty() || f.var == "FORM_TYPE") {
      continue;
    }
    if (f.var == "pubsub#deliver" || f.var == "pubsub#include_body" ||
        f.var == "pubsub#digest") {
      auto v = boolean(f);
      if (auto* e = std::get_if<StanzaError>(&v)) {
        return *e;
      }
      bool b = std::get<bool>(v);
      if (f.var == "pubsub#deliver") {
        o.deliver = b;
      } else if (f.var == "pubsub#include_body") {
        o.include_body = b;
      } else if (b) {
        return not_acceptable("pubsub#digest: digests are not supported");
      }
    } else if (f.var == "pubsub#show-values") {
      std::vector<std::string> values;
      for (const std::string& v : f.values) {
        if (v != "away" && v != "chat" && v != "dnd" && v != "online" && v != "xa") {
          return bad_field(f.var, "'" + v + "' is not a show value");
        }
        if (std::find(values.begin(), values.end(), v) == values.end()) {
          values.push_back(v);
        }
      }
      o.show_values = std::move(values);
    } else if (f.var == "pubsub#expire") {
      auto sv = single(f);
      if (auto* e = std::get_if<StanzaError>(&sv)) {
        return *e;
      }
      const std::string& v = std::get<std::string>(sv);
      if (v.empty()) {
        o.expire = 0;
      } else if (auto t = xmpp::parse_datetime(v)) {
        o.expire = *t;
      } else {
        return bad_field(f.var, "'" + v + "' is not a DateTime");
      }
    } else {
      return bad_field(f.var, "unknown field");
    }
  }
  return o;
}

xml::Element meta_data_form(const Node& node) {
  const NodeConfig& c = node.config;
  df::Form f;
  f.type = df::FormType::kResult;
  f.add_form_type(std::string(ns::kMetaData));
  {
    auto& field = f.add("pubsub#owner", FieldType::kJidMulti, "Owners");
    field.values = node.owners();
  }
  {
    auto& field = f.add("pubsub#publisher", FieldType::kJidMulti, "Publishers");
    for (const auto& [jid, a] : node.affiliations) {
      if (a == Affiliation::kPublisher) {
        field.values.push_back(jid);
      }
    }
  }
  add_text(f, "pubsub#creation_date", "Creation date", xmpp::format_datetime(node.created));
  add_text(f, "pubsub#creator", "Creator", node.creator, FieldType::kJidSingle);
  add_text(f, kTitle, "Title", c.title);
  add_text(f, kDescription, "Description", c.description);
  add_text(f, kType, "Payload type", c.type);
  add_text(f, kLanguage, "Language", c.language);
  add_text(f, kAccessModel, "Access model", std::string(to_string(c.access_model)),
           FieldType::kListSingle);
  add_text(f, kPublishModel, "Publish model", std::string(to_string(c.publish_model)),
           FieldType::kListSingle);
  std::size_t subscribers = std::count_if(
      node.subscriptions.begin(), node.subscriptions.end(),
      [](const Subscription& s) { return s.state == SubState::kSubscribed; });
  add_text(f, "pubsub#num_subscribers", "Number of subscribers", std::to_string(subscribers));
  add_text(f, kMaxItems, "Max number of items",
           c.max_items == kMaxItemsMax ? "max" : std::to_string(c.max_items));
  return df::to_element(f);
}

xml::Element authorization_form(const Node& node, const Subscription& sub) {
  df::Form f;
  f.type = df::FormType::kForm;
  f.title = "PubSub subscriber request";
  f.instructions = {"To approve this subscription request, set 'allow' and submit the form. To "
                    "deny it, submit the form without 'allow'."};
  f.add_form_type(std::string(ns::kSubscribeAuthorization));
  add_text(f, "pubsub#subid", {}, sub.subid, FieldType::kHidden);
  add_text(f, "pubsub#node", "Node ID", node.name);
  add_text(f, "pubsub#subscriber_jid", "Subscriber Address", sub.jid.str(),
           FieldType::kJidSingle);
  add_bool(f, "pubsub#allow", "Allow this JID to subscribe to this pubsub node?", false);
  return df::to_element(f);
}

}  // namespace starling::pubsub
