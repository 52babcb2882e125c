#pragma once
// XEP-0060 Publish-Subscribe: the data of one leaf node (no collections, §4.2), shared by the
// pubsub service (pubsub.<domain>) and PEP (XEP-0163, nodes on an account's bare JID). Plain
// values: the engine (engine.hpp) acts on them, node_store.cpp serializes them.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/jid.hpp"

namespace starling::pubsub {

// §4.1 affiliations (by bare JID). kNone is never stored.
enum class Affiliation { kOutcast, kNone, kMember, kPublishOnly, kPublisher, kOwner };
// §4.5 access models.
enum class AccessModel { kOpen, kPresence, kRoster, kAuthorize, kWhitelist };
// pubsub#publish_model.
enum class PublishModel { kPublishers, kSubscribers, kOpen };
// pubsub#send_last_published_item.
enum class SendLast { kNever, kOnSub, kOnSubAndPresence };
// pubsub#notification_type (the message type of notifications).
enum class NotificationType { kHeadline, kNormal };
// pubsub#itemreply.
enum class ItemReply { kOwner, kPublisher };
// §4.2 subscription states ("none" is the absence of a Subscription).
enum class SubState { kPending, kUnconfigured, kSubscribed };

// The wire names: "owner", "publisher", "publish-only", "member", "none", "outcast"; "open",
// "presence", "roster", "authorize", "whitelist"; "publishers", "subscribers", "open"; "never",
// "on_sub", "on_sub_and_presence"; "headline", "normal"; "owner", "publisher"; "pending",
// "unconfigured", "subscribed".
std::string_view to_string(Affiliation a);
std::string_view to_string(AccessModel a);
std::string_view to_string(PublishModel p);
std::string_view to_string(SendLast s);
std::string_view to_string(NotificationType t);
std::string_view to_string(ItemReply r);
std::string_view to_string(SubState s);
std::optional<Affiliation> parse_affiliation(std::string_view s);
std::optional<AccessModel> parse_access_model(std::string_view s);
std::optional<PublishModel> parse_publish_model(std::string_view s);
std::optional<SendLast> parse_send_last(std::string_view s);
std::optional<NotificationType> parse_notification_type(std::string_view s);
std::optional<ItemReply> parse_itemreply(std::string_view s);
std::optional<SubState> parse_sub_state(std::string_view s);

// pubsub#max_items = "max" (XEP-0060 §16.4.4 / XEP-0402 §5): as many as the service allows.
inline constexpr std::size_t kMaxItemsMax = static_cast<std::size_t>(-1);

// §16.4.4 pubsub#node_config. Every field of the form has a member here.
struct NodeConfig {
  std::string title;        // pubsub#title
  std::string description;  // pubsub#description
  std::string type;         // pubsub#type: the payload namespace
  std::string language;     // pubsub#language
  AccessModel access_model = AccessModel::kOpen;
  std::vector<std::string> roster_groups_allowed;  // for AccessModel::kRoster
  PublishModel publish_model = PublishModel::kPublishers;
  std::size_t max_items = 10;  // kMaxItemsMax = the service's limit
  bool persist_items = true;
  bool deliver_notifications = true;
  bool deliver_payloads = true;
  bool notify_config = false;
  bool notify_delete = false;
  bool notify_retract = true;
  bool notify_sub = false;
  bool presence_based_delivery = false;
  bool purge_offline = false;
  bool subscribe = true;  // pubsub#subscribe: subscriptions allowed
  SendLast send_last_published_item = SendLast::kOnSub;
  std::int64_t item_expire = 0;      // seconds; 0 = items never expire
  std::size_t max_payload_size = 0;  // bytes; 0 = the service's limit
  NotificationType notification_type = NotificationType::kHeadline;
  ItemReply itemreply = ItemReply::kOwner;
  bool operator==(const NodeConfig&) const = default;
};

// One published item.
struct Item {
  std::string id;
  std::optional<xml::Element> payload;  // none: a notification-only item
  std::string publisher;                // the publisher's full JID
  std::int64_t published = 0;           // unix seconds
  std::uint64_t seq = 0;                // publish order within the node (larger = newer)
};

// §6.3 subscription options (pubsub#subscribe_options).
struct SubOptions {
  bool deliver = true;                   // pubsub#deliver
  bool include_body = false;             // pubsub#include_body
  std::vector<std::string> show_values;  // pubsub#show-values; empty = any
  std::int64_t expire = 0;               // pubsub#expire, unix seconds; 0 = never
  bool operator==(const SubOptions&) const = default;
};

struct Subscription {
  xmpp::Jid jid;  // as subscribed: bare or full (§6.1.1)
  std::string subid;
  SubState state = SubState::kSubscribed;
  SubOptions options;
};

struct Node {
  std::string name;
  NodeConfig config;
  std::int64_t created = 0;  // unix seconds (pubsub#creation_date)
  std::string creator;       // bare JID (pubsub#creator)
  std::map<std::string, Affiliation> affiliations;  // bare JID -> affiliation; never kNone
  std::vector<Subscription> subscriptions;          // in subscription order
  std::vector<Item> items;                          // oldest first; each id once
  std::uint64_t next_seq = 1;

  // The affiliation of the bare JID of `who` (kNone when it has none).
  Affiliation affiliation_of(const xmpp::Jid& who) const;
  const Item* find_item(std::string_view id) const;
  std::vector<std::string> owners() const;
};

// Persistence (node_store.cpp). A node's metadata (config, affiliations, subscriptions,
// creation) and each item are stored as separate records so a publish writes one item.
xml::Element node_to_xml(const Node& node);  // without items
xml::Element item_to_xml(const Item& item);
// nullopt when the record is not a valid node/item (the caller logs and skips it).
std::optional<Node> node_from_xml(const xml::Element& e);
std::optional<Item> item_from_xml(const xml::Element& e);

}  // namespace starling::pubsub
