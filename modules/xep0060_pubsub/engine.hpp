#pragma once
// XEP-0060 Publish-Subscribe: the protocol engine. A NodeService is the set of nodes of one
// pubsub entity: a shard's part of a pubsub service (pubsub.<domain>; nodes are spread over the
// shards by name, service.cpp) or one account's PEP nodes (XEP-0163, pep.cpp; on the account's
// partition shard). It lives on one shard, is touched only there (no locks), and acts on the
// world only through its Host: send stanzas, read an owner's roster, persist. The unit tests
// drive it with a fake Host.
//
// Coroutines: a request may wait (a roster read, a store), and other requests to the same
// NodeService run meanwhile on the shard. So after every co_await, look the node up again by
// name (find_mut): it may have been deleted or changed; never keep a Node* or Item* across one.
// A request acknowledged with a result has been stored (Host::store_* completed): nothing
// acknowledged is lost.
//
// Files: engine.cpp (dispatch; entity, subscriber and publisher use cases §5-§7: publish with
// publish-options §7.1.5, retract, subscribe/unsubscribe/options, items with max_items, ids and
// RSM, own subscriptions and affiliations; notifications; access checks; disco; last items),
// owner.cpp (§8: create with configure, configure, default, delete, purge, owner subscriptions
// and affiliations, §8.6 authorization forms), node_config.cpp (the pubsub#node_config,
// publish-options, subscribe_options and meta-data forms), node.cpp (enum names, Node helpers),
// node_store.cpp (serialization).
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "module/module.hpp"
#include "modules/xep0060_pubsub/node.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::pubsub {

// A contact in an owner's roster, as the presence and roster access models need it (§4.5).
struct Contact {
  bool from = false;                // subscription 'from' or 'both': sees the owner's presence
  std::vector<std::string> groups;  // roster groups
};
using RosterView = std::map<std::string, Contact>;  // contact bare JID -> contact
using RosterPtr = std::shared_ptr<const RosterView>;

struct Limits {
  std::size_t max_items = 1000;          // what "max" means; upper bound of pubsub#max_items
  std::size_t max_nodes = 10000;         // nodes of this NodeService
  std::size_t max_payload_size = 65536;  // bytes of one item payload, serialized
  std::size_t page_size = 100;  // items in one answer without max_items / RSM max (§6.5.4, XEP-0059)
};

struct Options {
  // The entity's address: the service ("pubsub.example.org") or the PEP account's bare JID.
  xmpp::Jid jid;
  // XEP-0163 rules: the account is the owner of every node (whatever `affiliations` says),
  // only it creates nodes and publishes (unless publish_model says otherwise), a publish to a
  // missing node creates it with the publish-options as configuration (§3 auto-create),
  // notifications also go to Host::implicit_recipients.
  bool pep = false;
  NodeConfig defaults;  // configuration of a new node
  Limits limits;
};

class Host {
 public:
  virtual ~Host() = default;
  // Routes a stanza (from and to set): notifications, authorization requests, errors to
  // messages.
  virtual void send(xml::Element stanza) = 0;
  // The roster of a local account; an empty view for an account of another server or none.
  virtual boost::asio::awaitable<RosterPtr> roster(xmpp::Jid owner) = 0;
  // XEP-0163 §4.3 (PEP only): full JIDs that get the node's notifications besides explicit
  // subscribers: the owner's available resources and contacts' resources whose caps ask for
  // "<node>+notify". The engine still applies the node's access model to them.
  virtual boost::asio::awaitable<std::vector<xmpp::Jid>> implicit_recipients(std::string node) = 0;
  // pubsub#presence_based_delivery (§12.8): whether `jid` has an available resource now (a
  // full JID: that resource; a bare JID: any). nullopt when the host cannot know: an address
  // of another server, or an entity without presence (a domain).
  virtual boost::asio::awaitable<std::optional<bool>> is_available(xmpp::Jid jid) = 0;
  // Whether `requester` may create a node now (§8.1.3): nullopt, or the error (forbidden when
  // the policy refuses, not-allowed / resource-constraint for limits). The engine checks
  // Limits::max_nodes itself.
  virtual std::optional<xmpp::StanzaError> may_create(const xmpp::Jid& requester) = 0;
  // Service admins (config admins, [pubsub] admins): owner rights on every node.
  virtual bool is_admin(const xmpp::Jid& bare) const = 0;
  virtual std::int64_t now() const = 0;  // unix seconds
  // Persistence. Each returns false on a storage error (the engine answers
  // internal-server-error). Items of a node with persist_items = false are not stored.
  virtual boost::asio::awaitable<bool> store_node(Node node) = 0;  // metadata only, no items
  virtual boost::asio::awaitable<bool> store_item(std::string node, Item item) = 0;
  virtual boost::asio::awaitable<bool> remove_items(std::string node,
                                                    std::vector<std::string> ids) = 0;
  virtual boost::asio::awaitable<bool> remove_node(std::string node) = 0;  // metadata and items
};

class NodeService {
 public:
  NodeService(Host& host, Options options);
  NodeService(const NodeService&) = delete;
  NodeService& operator=(const NodeService&) = delete;

  const Options& options() const { return options_; }
  // Loading: adds a node as it was stored (items in any order; sorted by seq here).
  void restore(Node node);
  const Node* find(std::string_view name) const;
  std::vector<const Node*> nodes() const;  // in name order
  std::size_t size() const { return nodes_.size(); }

  // An iq get or set whose only child is <pubsub xmlns=pubsub> or <pubsub xmlns=pubsub#owner>,
  // from `from` (a full JID, or a bare JID / domain for federated entities). The result is the
  // reply payload, an empty result, or the error with its pubsub#errors condition (§7, §8).
  // Stanzas that must reach their recipient after the reply (§6.1.7: the last item to a new
  // subscriber comes after the subscribe result) are appended to `after_reply`, which the
  // caller routes once it has routed the reply; without `after_reply` they are sent through
  // Host::send at once, so before the reply.
  boost::asio::awaitable<module::IqResult> handle(xml::Element iq, xmpp::Jid from,
                                                  std::vector<xml::Element>* after_reply = nullptr);
  // A message to the entity: §8.6 an owner's answer to a subscription authorization form.
  // Messages of other kinds are ignored; a bad form gets a message error.
  boost::asio::awaitable<void> handle_message(xml::Element message, xmpp::Jid from);
  // XEP-0030 (§5.1-§5.5): `node` empty = the entity itself (identities and features are the
  // caller's), else a node: info has identity pubsub/leaf, the features and the meta-data form
  // (§5.4); items lists the items' ids (§5.5). Nodes the requester may not access answer
  // item-not-found (PEP) or forbidden (service). Items of the entity: the nodes it may access.
  boost::asio::awaitable<module::DiscoInfoResult> disco_info(std::string node, xmpp::Jid from);
  boost::asio::awaitable<module::DiscoItemsResult> disco_items(std::string node, xmpp::Jid from);
  // XEP-0163 §4.3.2 / XEP-0060 §6.1.7: `to` (a full JID) is available: sends it the last item
  // of every node with send_last_published_item = on_sub_and_presence that it may access and
  // `wants` (e.g. its caps have <node>+notify), as a notification with <delay/>.
  boost::asio::awaitable<void> send_last_items(xmpp::Jid to,
                                               std::function<bool(std::string_view)> wants);
  // The disco#info features (§10 "http://jabber.org/protocol/pubsub#<feature>") the engine
  // implements, plus the pubsub namespace; PEP adds "#auto-create" etc. when `pep`.
  static std::vector<std::string> features(bool pep);

 private:
  friend struct OwnerTestAccess;  // owner_test.cpp calls the §8 use cases directly
  // ---- engine.cpp ----
  // §7.1 publish (with §7.1.5 publish-options; PEP auto-create), §7.2 retract.
  boost::asio::awaitable<module::IqResult> publish(xml::Element pubsub, xmpp::Jid from);
  boost::asio::awaitable<module::IqResult> retract(xml::Element pubsub, xmpp::Jid from);
  // §6.1 subscribe (with options), §6.2 unsubscribe, §6.3 options get/set.
  boost::asio::awaitable<module::IqResult> subscribe(xml::Element pubsub, xmpp::Jid from,
                                                     std::vector<xml::Element>* after_reply);
  boost::asio::awaitable<module::IqResult> unsubscribe(xml::Element pubsub, xmpp::Jid from);
  boost::asio::awaitable<module::IqResult> options(xml::Element pubsub, bool set, xmpp::Jid from);
  // §6.5 items (all, max_items, by id, RSM).
  boost::asio::awaitable<module::IqResult> items(xml::Element pubsub, xmpp::Jid from);
  // §5.6 own subscriptions, §5.7 own affiliations (optionally of one node).
  module::IqResult own_subscriptions(const xml::Element& pubsub, const xmpp::Jid& from) const;
  module::IqResult own_affiliations(const xml::Element& pubsub, const xmpp::Jid& from) const;

  // ---- owner.cpp ----
  // §8.1 create (instant or named, with <configure/>); answers <pubsub><create node=.../>.
  boost::asio::awaitable<module::IqResult> create(xml::Element pubsub, xmpp::Jid from);
  // Every <pubsub xmlns=pubsub#owner> request: §8.2 configure get/set, §8.3 default, §8.4
  // delete, §8.5 purge, §8.8 subscriptions get/set, §8.9 affiliations get/set.
  boost::asio::awaitable<module::IqResult> owner(xml::Element pubsub, bool set, xmpp::Jid from);
  // §8.6: the owner's answer (a submitted subscribe_authorization form).
  boost::asio::awaitable<void> authorization(xml::Element message, xmpp::Jid from);
  // A new node (create here, PEP auto-create in engine.cpp's publish): checks Host::may_create
  // and Limits::max_nodes (conflict when it exists), stores it with `creator` as owner; returns
  // its name or the error. `name` empty = an instant node with a generated name (§8.1.2).
  boost::asio::awaitable<std::variant<std::string, xmpp::StanzaError>> add_node(
      std::string name, xmpp::Jid creator, NodeConfig config);

  // ---- shared, engine.cpp ----
  Node* find_mut(std::string_view name);
  // The affiliation of `who` with rights applied: the PEP account and service admins are
  // owners.
  Affiliation affiliation(const Node& node, const xmpp::Jid& who) const;
  // §6.1.3 / §6.5.2 access check for subscribing and retrieving: nullopt when allowed, else the
  // error (presence-subscription-required, not-in-roster-group, closed-node, forbidden for
  // outcasts). Waits for the owners' rosters when the model needs them.
  boost::asio::awaitable<std::optional<xmpp::StanzaError>> check_access(std::string node,
                                                                        xmpp::Jid who);
  // Sends `event` (a child of <event xmlns=pubsub#event>, e.g. <items node=.../>, <delete/>,
  // <purge/>, <configuration/>) in a message to every subscriber with a 'subscribed' state and
  // deliver = true (with pubsub#presence_based_delivery: only those Host::is_available does not
  // deny), and (PEP) to the implicit recipients allowed by the access model; one message per
  // address; SubID headers (§12.4) where one JID holds several subscriptions.
  boost::asio::awaitable<void> notify(std::string node, xml::Element event);
  // The §6.1.7 last-item notification to one address (with <delay/>); nullopt when the node
  // has no item.
  std::optional<xml::Element> last_item_message(const Node& node, const xmpp::Jid& to) const;
  void send_last_item(const Node& node, const xmpp::Jid& to);
  // Drops expired items (pubsub#item_expire) of `node` from memory and storage.
  boost::asio::awaitable<void> expire(std::string node);

  Host& host_;
  Options options_;
  std::map<std::string, Node, std::less<>> nodes_;
};

// Errors with their pubsub#errors application condition (§7, §8), e.g.
// pubsub_error("conflict", "precondition-not-met"), unsupported("publish-options").
xmpp::StanzaError pubsub_error(std::string condition, std::string app_condition = {},
                               std::string text = {});
xmpp::StanzaError unsupported(std::string feature);  // feature-not-implemented + <unsupported/>

}  // namespace starling::pubsub
