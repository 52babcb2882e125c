// XEP-0060 engine: dispatch, entity use cases (§5), subscriber use cases (§6), publisher use
// cases (§7), and the helpers owner.cpp shares (access, notifications, last items, disco).
#include "modules/xep0060_pubsub/engine.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "base/random.hpp"
#include "modules/xep0060_pubsub/node_config.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xml/writer.hpp"
#include "xmpp/datetime.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
using module::IqResult;
using xml::Element;
using xmpp::ErrorType;
using xmpp::Jid;
using xmpp::StanzaError;

StanzaError pubsub_error(std::string condition, std::string app_condition, std::string text) {
  // The error types of the spec's examples (RFC 6120 §8.3.2 defaults per condition).
  ErrorType type = ErrorType::kCancel;
  if (condition == "bad-request" || condition == "not-acceptable" ||
      condition == "jid-malformed") {
    type = ErrorType::kModify;
  } else if (condition == "forbidden" || condition == "not-authorized") {
    type = ErrorType::kAuth;
  } else if (condition == "policy-violation" || condition == "resource-constraint") {
    type = ErrorType::kWait;
  }
  StanzaError e{type, std::move(condition), std::move(text)};
  if (!app_condition.empty()) {
    e.app_condition = std::move(app_condition);
    e.app_ns = std::string(ns::kErrors);
  }
  return e;
}

StanzaError unsupported(std::string feature) {
  StanzaError e = StanzaError::feature_not_implemented();
  e.app_condition = "unsupported";
  e.app_ns = std::string(ns::kErrors);
  e.app_feature = std::move(feature);
  return e;
}

namespace {

StanzaError bad_request(std::string app_condition, std::string text = {}) {
  return pubsub_error("bad-request", std::move(app_condition), std::move(text));
}

// XML boolean (XEP-0004 / §"BOOLEANNOTE"): "true" or "1".
bool xml_true(std::string_view v) { return v == "true" || v == "1"; }

std::optional<std::size_t> parse_size(std::string_view s) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

// The bare JID of `j` as a Jid.
Jid bare_of(const Jid& j) { return j.bare(); }

bool same_bare(const Jid& a, const Jid& b) { return a.bare_str() == b.bare_str(); }

// The item as a client sees it, in namespace `xmlns` (pubsub for retrieval, pubsub#event for
// notifications). §7.1.2.3: 'publisher' only when the node is configured to associate items
// with their publisher (itemreply = publisher).
Element item_element(std::string_view xmlns, const Item& item, const NodeConfig& config,
                     bool with_payload) {
  Element e("item", std::string(xmlns));
  e.set_attr("id", item.id);
  if (config.itemreply == ItemReply::kPublisher && !item.publisher.empty()) {
    e.set_attr("publisher", item.publisher);
  }
  if (with_payload && item.payload) {
    e.add_child(*item.payload);
  }
  return e;
}

Element subscription_element(std::string_view xmlns, const std::string& node,
                             const Subscription& s) {
  Element e("subscription", std::string(xmlns));
  e.set_attr("node", node);
  e.set_attr("jid", s.jid.str());
  if (!s.subid.empty()) {
    e.set_attr("subid", s.subid);
  }
  e.set_attr("subscription", std::string(to_string(s.state)));
  return e;
}

Element pubsub_element() { return Element("pubsub", std::string(ns::kPubsub)); }

std::size_t effective_max_items(const NodeConfig& c, const Limits& l) {
  return c.max_items == kMaxItemsMax ? l.max_items : std::min(c.max_items, l.max_items);
}

std::size_t effective_payload_limit(const NodeConfig& c, const Limits& l) {
  return c.max_payload_size == 0 ? l.max_payload_size
                                 : std::min(c.max_payload_size, l.max_payload_size);
}

// The subscriptions of exactly `jid` on `node`, as indexes.
std::vector<std::size_t> subscriptions_of(const Node& node, const Jid& jid) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < node.subscriptions.size(); ++i) {
    if (node.subscriptions[i].jid == jid) {
      out.push_back(i);
    }
  }
  return out;
}

// §6.2.3 / §6.3.4 / §6.5.9: picks the one subscription of `jid` a request means, by its subid.
std::variant<std::size_t, StanzaError> pick_subscription(const Node& node, const Jid& jid,
                                                         const std::string* subid) {
  std::vector<std::size_t> subs = subscriptions_of(node, jid);
  if (subs.empty()) {
    return pubsub_error("unexpected-request", "not-subscribed");
  }
  if (subid == nullptr || subid->empty()) {
    if (subs.size() > 1) {
      return bad_request("subid-required");
    }
    return subs.front();
  }
  for (std::size_t i : subs) {
    if (node.subscriptions[i].subid == *subid) {
      return i;
    }
  }
  return pubsub_error("not-acceptable", "invalid-subid");
}

bool has_active_subscription(const std::vector<Subscription>& subs, const Jid& who) {
  return std::any_of(subs.begin(), subs.end(), [&](const Subscription& s) {
    return s.state == SubState::kSubscribed && same_bare(s.jid, who);
  });
}

// The data form child of `e` (XEP-0004), or nullptr.
const Element* form_of(const Element& e) { return e.child("x", ns::kData); }

}  // namespace

NodeService::NodeService(Host& host, Options options) : host_(host), options_(std::move(options)) {}

void NodeService::restore(Node node) {
  std::sort(node.items.begin(), node.items.end(),
            [](const Item& a, const Item& b) { return a.seq < b.seq; });
  for (const Item& i : node.items) {
    node.next_seq = std::max(node.next_seq, i.seq + 1);
  }
  std::string name = node.name;
  nodes_.insert_or_assign(std::move(name), std::move(node));
}
const Node* NodeService::find(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}
Node* NodeService::find_mut(std::string_view name) {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}
std::vector<const Node*> NodeService::nodes() const {
  std::vector<const Node*> out;
  out.reserve(nodes_.size());
  for (const auto& [_, n] : nodes_) {
    out.push_back(&n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

asio::awaitable<IqResult> NodeService::handle(Element iq, Jid from,
                                              std::vector<Element>* after_reply) {
  const std::string type(iq.attr_or("type"));
  const bool set = type == "set";
  if (!set && type != "get") {
    co_return StanzaError::bad_request();
  }
  const Element* ps = iq.child("pubsub", ns::kPubsub);
  const bool owner_ns = ps == nullptr;
  if (ps == nullptr) {
    ps = iq.child("pubsub", ns::kOwner);
  }
  if (ps == nullptr) {
    co_return StanzaError::service_unavailable();
  }
  Element pubsub = *ps;
  if (owner_ns) {
    auto op = owner(std::move(pubsub), set, std::move(from));
    co_return co_await std::move(op);
  }
  std::vector<const Element*> children = pubsub.elements();
  // The action, and the companion element the spec allows after it (§6.3.7 subscribe+options,
  // §7.1.5 publish+publish-options, §8.1.3 create+configure). RSM <set/> goes with <items/>.
  const Element* action = nullptr;
  for (const Element* c : children) {
    if (c->xmlns() != ns::kPubsub) {
      continue;  // e.g. RSM <set/>, looked at by the action
    }
    if (action == nullptr) {
      action = c;
      continue;
    }
    const std::string& a = action->name();
    const std::string& n = c->name();
    const bool companion = (a == "create" && n == "configure") ||
                           (a == "publish" && n == "publish-options") ||
                           (a == "subscribe" && n == "options");
    if (!companion) {
      co_return StanzaError::bad_request("one action per <pubsub/> request");
    }
  }
  if (action == nullptr) {
    co_return StanzaError::bad_request("empty <pubsub/> request");
  }
  const std::string name = action->name();
  // Which actions are sets, which gets (§5-§7 schemas).
  static const std::set<std::string, std::less<>> kSets{"create", "publish", "retract",
                                                        "subscribe", "unsubscribe"};
  static const std::set<std::string, std::less<>> kGets{"items", "subscriptions",
                                                        "affiliations", "default"};
  if ((kSets.contains(name) && !set) || (kGets.contains(name) && set)) {
    co_return StanzaError::bad_request("<" + name + "/> in an iq of type '" + type + "'");
  }
  if (name == "create") {
    auto op = create(std::move(pubsub), std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "publish") {
    auto op = publish(std::move(pubsub), std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "retract") {
    auto op = retract(std::move(pubsub), std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "subscribe") {
    auto op = subscribe(std::move(pubsub), std::move(from), after_reply);
    co_return co_await std::move(op);
  }
  if (name == "unsubscribe") {
    auto op = unsubscribe(std::move(pubsub), std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "options") {
    auto op = options(std::move(pubsub), set, std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "items") {
    auto op = items(std::move(pubsub), std::move(from));
    co_return co_await std::move(op);
  }
  if (name == "subscriptions") {
    co_return own_subscriptions(pubsub, from);
  }
  if (name == "affiliations") {
    co_return own_affiliations(pubsub, from);
  }
  if (name == "default") {
    // §6.4: the default subscription options (of a node, or of the service's leaf nodes).
    std::string node(action->attr_or("node"));
    if (!node.empty() && find(node) == nullptr) {
      co_return StanzaError::item_not_found();
    }
    Element result = pubsub_element();
    Element& d = result.add_child("default", std::string(ns::kPubsub));
    if (!node.empty()) {
      d.set_attr("node", node);
    }
    d.add_child(subscribe_options_form(SubOptions{}));
    co_return result;
  }
  if (name == "configure" || name == "publish-options") {
    co_return StanzaError::bad_request("<" + name + "/> without its action");
  }
  co_return unsupported(name);
}

asio::awaitable<void> NodeService::handle_message(Element message, Jid from) {
  // §8.6: an owner's answer is a message carrying a submitted subscribe_authorization form.
  const Element* x = form_of(message);
  if (x == nullptr || message.attr_or("type") == "error") {
    co_return;
  }
  auto op = authorization(std::move(message), std::move(from));
  co_await std::move(op);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

Affiliation NodeService::affiliation(const Node& node, const Jid& who) const {
  const Jid bare = bare_of(who);
  if ((options_.pep && bare.bare_str() == options_.jid.bare_str()) || host_.is_admin(bare)) {
    return Affiliation::kOwner;
  }
  return node.affiliation_of(who);
}

asio::awaitable<std::optional<StanzaError>> NodeService::check_access(std::string node, Jid who) {
  const Node* n = find(node);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  const Affiliation aff = affiliation(*n, who);
  // §4.1 affiliation table: outcasts and publish-only entities neither subscribe nor retrieve;
  // members, publishers and owners always may (a whitelist is its members, §4.5).
  if (aff == Affiliation::kOutcast || aff == Affiliation::kPublishOnly) {
    co_return StanzaError::forbidden();
  }
  if (aff >= Affiliation::kMember) {
    co_return std::nullopt;
  }
  const AccessModel model = n->config.access_model;
  switch (model) {
    case AccessModel::kOpen:
    case AccessModel::kAuthorize:  // anyone may ask; the caller applies the subscription rule
      co_return std::nullopt;
    case AccessModel::kWhitelist:
      co_return pubsub_error("not-allowed", "closed-node");  // §6.1.3.3
    case AccessModel::kPresence:
    case AccessModel::kRoster:
      break;
  }
  // §4.5 presence / roster: the requester in one owner's roster ('from' or 'both'), or in one
  // of the allowed roster groups. Copy what is needed: the node may change while we wait.
  std::vector<std::string> owners = n->owners();
  if (options_.pep && std::find(owners.begin(), owners.end(), options_.jid.bare_str()) ==
                          owners.end()) {
    owners.push_back(options_.jid.bare_str());
  }
  const std::vector<std::string> groups = n->config.roster_groups_allowed;
  const std::string requester = who.bare_str();
  for (const std::string& o : owners) {
    std::optional<Jid> owner = Jid::parse(o);
    if (!owner) {
      continue;
    }
    auto op = host_.roster(*owner);
    RosterPtr roster = co_await std::move(op);
    if (!roster) {
      continue;
    }
    auto it = roster->find(requester);
    if (it == roster->end()) {
      continue;
    }
    if (model == AccessModel::kPresence && it->second.from) {
      co_return std::nullopt;
    }
    if (model == AccessModel::kRoster) {
      for (const std::string& g : it->second.groups) {
        if (std::find(groups.begin(), groups.end(), g) != groups.end()) {
          co_return std::nullopt;
        }
      }
    }
  }
  if (find(node) == nullptr) {
    co_return StanzaError::item_not_found();
  }
  if (model == AccessModel::kPresence) {
    co_return pubsub_error("not-authorized", "presence-subscription-required");  // §6.1.3.2
  }
  co_return pubsub_error("not-authorized", "not-in-roster-group");  // §6.1.3.3
}

asio::awaitable<void> NodeService::notify(std::string node, Element event) {
  const Node* n = find(node);
  if (n == nullptr) {
    co_return;
  }
  // Snapshot what the recipients depend on: the node may change while we wait.
  const NodeConfig config = n->config;
  const std::vector<Subscription> subs = n->subscriptions;
  const std::map<std::string, Affiliation> affiliations = n->affiliations;
  const std::int64_t now = host_.now();

  // Address -> SubIDs, in first-seen order (§6.1.6: one notification per subscribed JID).
  std::vector<std::pair<Jid, std::vector<std::string>>> recipients;
  auto add = [&](const Jid& to, const std::string& subid) {
    auto it = std::find_if(recipients.begin(), recipients.end(),
                           [&](const auto& r) { return r.first == to; });
    if (it == recipients.end()) {
      recipients.push_back({to, {}});
      it = std::prev(recipients.end());
    }
    if (!subid.empty()) {
      it->second.push_back(subid);
    }
  };
  for (const Subscription& s : subs) {
    if (s.state != SubState::kSubscribed || !s.options.deliver ||
        (s.options.expire != 0 && s.options.expire <= now)) {
      continue;
    }
    add(s.jid, s.subid);
  }
  if (config.presence_based_delivery && !recipients.empty()) {
    // §12.8 presence-based delivery: only to subscribers that are online, as the subscribed
    // JID's presence says (a bare JID: any available resource; a full JID: that resource).
    // The host knows the presence of local accounts. For other addresses (another server's
    // users, entities without presence) the service holds no presence subscription (§12.8 has
    // the service subscribe to the subscribed JID's presence; this service does not), so it
    // cannot know, and delivers: withholding would silently cut such subscribers off for good,
    // and headline notifications (the default pubsub#notification_type) are not stored
    // offline (§12.9).
    std::vector<std::pair<Jid, std::vector<std::string>>> online;
    for (auto& r : recipients) {
      auto op = host_.is_available(r.first);
      std::optional<bool> available = co_await std::move(op);
      if (available.value_or(true)) {
        online.push_back(std::move(r));
      }
    }
    recipients = std::move(online);
  }

  if (options_.pep) {
    // XEP-0163 §4.3: the owner's resources and interested contacts, subject to the access model.
    auto op = host_.implicit_recipients(node);
    std::vector<Jid> implicit = co_await std::move(op);
    RosterPtr roster;
    if (config.access_model == AccessModel::kPresence ||
        config.access_model == AccessModel::kRoster) {
      bool needed = std::any_of(implicit.begin(), implicit.end(), [&](const Jid& j) {
        return j.bare_str() != options_.jid.bare_str();
      });
      if (needed) {
        auto rop = host_.roster(options_.jid);
        roster = co_await std::move(rop);
      }
    }
    auto allowed = [&](const Jid& j) {
      const std::string bare = j.bare_str();
      if (bare == options_.jid.bare_str()) {
        return true;
      }
      auto a = affiliations.find(bare);
      const Affiliation aff = a == affiliations.end() ? Affiliation::kNone : a->second;
      if (aff == Affiliation::kOutcast || aff == Affiliation::kPublishOnly) {
        return false;
      }
      if (aff >= Affiliation::kMember) {
        return true;
      }
      switch (config.access_model) {
        case AccessModel::kOpen:
          return true;
        case AccessModel::kWhitelist:
          return false;
        case AccessModel::kAuthorize:
          return has_active_subscription(subs, j);
        case AccessModel::kPresence:
        case AccessModel::kRoster: {
          if (!roster) {
            return false;
          }
          auto it = roster->find(bare);
          if (it == roster->end()) {
            return false;
          }
          if (config.access_model == AccessModel::kPresence) {
            return it->second.from;
          }
          for (const std::string& g : it->second.groups) {
            if (std::find(config.roster_groups_allowed.begin(),
                          config.roster_groups_allowed.end(),
                          g) != config.roster_groups_allowed.end()) {
              return true;
            }
          }
          return false;
        }
      }
      return false;
    };
    std::set<std::string> implicit_bares;
    for (const Jid& j : implicit) {
      if (allowed(j)) {
        add(j, {});
        implicit_bares.insert(j.bare_str());
      }
    }
    // XEP-0163 §4.3.1: a subscriber by bare JID whose interested resources we know gets the
    // notification at those resources, not also at its bare JID.
    std::erase_if(recipients, [&](const auto& r) {
      return r.first.is_bare() && !r.first.local().empty() &&
             implicit_bares.contains(r.first.bare_str());
    });
  }

  // §12.4: SubID headers only where the content depends on the subscription (items events).
  const bool shim = event.name() == "items";
  for (const auto& [to, subids] : recipients) {
    Element m("message", "jabber:client");
    m.set_attr("from", options_.jid.str());
    m.set_attr("to", to.str());
    if (config.notification_type == NotificationType::kHeadline) {
      m.set_attr("type", "headline");
    }
    m.set_attr("id", random_id(16));  // §12.3: to track errors
    m.add_child("event", std::string(ns::kEvent)).add_child(event);
    if (shim && subids.size() > 1) {
      Element& headers = m.add_child("headers", std::string(ns::kShim));
      for (const std::string& id : subids) {
        Element& h = headers.add_child("header", std::string(ns::kShim));
        h.set_attr("name", "SubID");
        h.add_text(id);
      }
    }
    host_.send(std::move(m));
  }
}

std::optional<Element> NodeService::last_item_message(const Node& node, const Jid& to) const {
  if (node.items.empty()) {
    return std::nullopt;
  }
  const Item& item = node.items.back();
  Element m("message", "jabber:client");
  m.set_attr("from", options_.jid.str());
  m.set_attr("to", to.str());
  if (node.config.notification_type == NotificationType::kHeadline) {
    m.set_attr("type", "headline");
  }
  m.set_attr("id", random_id(16));
  Element& items = m.add_child("event", std::string(ns::kEvent))
                       .add_child("items", std::string(ns::kEvent));
  items.set_attr("node", node.name);
  items.add_child(item_element(ns::kEvent, item, node.config, node.config.deliver_payloads));
  // §6.1.7: stamped as delayed delivery (XEP-0203) with the publication time.
  Element& delay = m.add_child("delay", std::string(ns::kDelay));
  delay.set_attr("from", options_.jid.str());
  delay.set_attr("stamp", xmpp::format_datetime(item.published));
  return m;
}

void NodeService::send_last_item(const Node& node, const Jid& to) {
  if (std::optional<Element> m = last_item_message(node, to)) {
    host_.send(std::move(*m));
  }
}

asio::awaitable<void> NodeService::send_last_items(Jid to,
                                                   std::function<bool(std::string_view)> wants) {
  std::vector<std::string> names;
  for (const auto& [name, n] : nodes_) {
    if (n.config.send_last_published_item == SendLast::kOnSubAndPresence && !n.items.empty() &&
        n.config.deliver_notifications && wants && wants(name)) {
      names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    auto eop = expire(name);
    co_await std::move(eop);
    const Node* n = find(name);
    if (n == nullptr) {
      continue;
    }
    if (n->config.access_model == AccessModel::kAuthorize &&
        affiliation(*n, to) < Affiliation::kMember &&
        !has_active_subscription(n->subscriptions, to)) {
      continue;
    }
    auto op = check_access(name, to);
    std::optional<StanzaError> err = co_await std::move(op);
    n = find(name);
    if (err || n == nullptr) {
      continue;
    }
    send_last_item(*n, to);
  }
}

asio::awaitable<void> NodeService::expire(std::string node) {
  Node* n = find_mut(node);
  if (n == nullptr || n->config.item_expire <= 0) {
    co_return;
  }
  const std::int64_t cutoff = host_.now() - n->config.item_expire;
  std::vector<std::string> gone;
  std::erase_if(n->items, [&](const Item& i) {
    if (i.published <= cutoff) {
      gone.push_back(i.id);
      return true;
    }
    return false;
  });
  if (!gone.empty() && n->config.persist_items) {
    auto op = host_.remove_items(node, std::move(gone));
    co_await std::move(op);
  }
}

// ---------------------------------------------------------------------------------------------
// §7.1 publish

asio::awaitable<IqResult> NodeService::publish(Element pubsub, Jid from) {
  const Element* pub = pubsub.child("publish", ns::kPubsub);
  const std::string name(pub->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");
  }
  std::vector<const Element*> item_elems;
  for (const Element* c : pub->elements()) {
    if (c->name() == "item" && c->xmlns() == ns::kPubsub) {
      item_elems.push_back(c);
    } else {
      co_return StanzaError::bad_request("unexpected <" + c->name() + "/> in <publish/>");
    }
  }
  if (item_elems.size() > 1) {
    // §7.1.1: batch publishing was removed in version 1.13.
    co_return bad_request("invalid-payload", "one <item/> per publish request");
  }
  const Element* publish_options = pubsub.child("publish-options", ns::kPubsub);
  const Element* po_form = publish_options ? form_of(*publish_options) : nullptr;
  if (publish_options != nullptr && po_form == nullptr && !publish_options->elements().empty()) {
    co_return StanzaError::bad_request("<publish-options/> holds a data form");
  }

  if (find(name) == nullptr) {
    // XEP-0163 §3 / §7.1.4 auto-create (PEP only): the account creates the node with the
    // publish-options as its configuration (§7.1.5 "default configuration in all respects
    // except those specified in the preconditions").
    if (options_.pep && !same_bare(from, options_.jid)) {
      // XEP-0163 §3: only the account publishes to its PEP service; do not tell others which
      // nodes exist.
      co_return StanzaError::forbidden();
    }
    if (!options_.pep) {
      co_return StanzaError::item_not_found();
    }
    NodeConfig config = options_.defaults;
    if (po_form != nullptr) {
      auto applied = apply_config_form(config, *po_form, options_.limits);
      if (auto* e = std::get_if<StanzaError>(&applied)) {
        co_return *e;
      }
      config = std::get<NodeConfig>(std::move(applied));
    }
    auto op = add_node(name, bare_of(from), std::move(config));
    auto created = co_await std::move(op);
    if (auto* e = std::get_if<StanzaError>(&created)) {
      // A concurrent publish may have created it meanwhile: carry on with that node.
      if (find(name) == nullptr) {
        co_return *e;
      }
    }
  } else if (po_form != nullptr) {
    if (auto err = check_preconditions(find(name)->config, *po_form, options_.limits)) {
      co_return *err;  // §7.1.5: conflict + <precondition-not-met/>
    }
  }
  {
    auto eop = expire(name);
    co_await std::move(eop);
  }

  Node* n = find_mut(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  const NodeConfig& cfg = n->config;
  // §7.1.3.1 privileges by publish_model.
  const Affiliation aff = affiliation(*n, from);
  bool may_publish = false;
  if (aff == Affiliation::kOutcast) {
    may_publish = false;
  } else if (aff == Affiliation::kOwner || aff == Affiliation::kPublisher ||
             aff == Affiliation::kPublishOnly) {
    may_publish = true;
  } else if (cfg.publish_model == PublishModel::kOpen) {
    may_publish = true;
  } else if (cfg.publish_model == PublishModel::kSubscribers) {
    may_publish = has_active_subscription(n->subscriptions, from);
  }
  if (!may_publish) {
    co_return StanzaError::forbidden();
  }

  // §4.3 event types and §7.1.3.6 request-does-not-match-configuration.
  const Element* item_el = item_elems.empty() ? nullptr : item_elems.front();
  const bool transient_notification = !cfg.persist_items && !cfg.deliver_payloads;
  if (item_el == nullptr && !transient_notification) {
    co_return bad_request("item-required");
  }
  if (item_el != nullptr && transient_notification) {
    co_return bad_request("item-forbidden");
  }
  std::optional<Element> payload;
  if (item_el != nullptr) {
    std::vector<const Element*> payloads = item_el->elements();
    if (payloads.size() > 1) {
      co_return bad_request("invalid-payload", "one payload element per item");  // §7.1.3.5
    }
    if (!payloads.empty()) {
      if (!cfg.type.empty() && payloads.front()->xmlns() != cfg.type) {
        co_return bad_request("invalid-payload", "the node's payload namespace is " + cfg.type);
      }
      if (xml::to_string(*payloads.front()).size() > effective_payload_limit(cfg, options_.limits)) {
        co_return pubsub_error("not-acceptable", "payload-too-big");  // §7.1.3.4
      }
      payload = *payloads.front();
    } else if (cfg.deliver_payloads) {
      co_return bad_request("payload-required");
    }
  }

  Element result = pubsub_element();
  Element& result_publish = result.add_child("publish", std::string(ns::kPubsub));
  result_publish.set_attr("node", name);

  if (item_el == nullptr) {
    // A transient, notification-only node: an empty <items/> notification, nothing kept.
    if (cfg.deliver_notifications) {
      Element event("items", std::string(ns::kEvent));
      event.set_attr("node", name);
      auto op = notify(name, std::move(event));
      co_await std::move(op);
    }
    co_return result;
  }

  Item item;
  item.id = std::string(item_el->attr_or("id"));
  if (item.id.empty()) {
    do {
      item.id = random_id(24);  // §7.1.1: unique within the node
    } while (n->find_item(item.id) != nullptr);
  } else if (item.id.size() > 1023) {
    co_return StanzaError::bad_request("item id longer than 1023 bytes");
  }
  item.payload = std::move(payload);
  item.publisher = from.str();
  item.published = host_.now();
  item.seq = n->next_seq++;
  const bool persist = cfg.persist_items;

  if (persist) {
    auto op = host_.store_item(name, item);
    bool ok = co_await std::move(op);
    if (!ok) {
      co_return StanzaError::internal_server_error();
    }
  }
  n = find_mut(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();  // deleted while the item was being stored
  }
  // §12.1: a republished id replaces the old item and becomes the newest.
  std::erase_if(n->items, [&](const Item& i) { return i.id == item.id; });
  auto pos = std::upper_bound(n->items.begin(), n->items.end(), item.seq,
                              [](std::uint64_t s, const Item& i) { return s < i.seq; });
  n->items.insert(pos, item);
  // §7.1.2.5 node full: retract the oldest (the default publish_node_full behaviour).
  std::vector<std::string> evicted;
  const std::size_t max = effective_max_items(n->config, options_.limits);
  while (n->items.size() > max) {
    evicted.push_back(n->items.front().id);
    n->items.erase(n->items.begin());
  }
  const bool deliver = n->config.deliver_notifications;
  Element event("items", std::string(ns::kEvent));
  event.set_attr("node", name);
  event.add_child(item_element(ns::kEvent, item, n->config, n->config.deliver_payloads));
  if (!evicted.empty() && persist) {
    auto op = host_.remove_items(name, std::move(evicted));
    co_await std::move(op);
  }
  result_publish.add_child("item", std::string(ns::kPubsub)).set_attr("id", item.id);
  if (deliver) {
    auto op = notify(name, std::move(event));
    co_await std::move(op);
  }
  co_return result;
}

// ---------------------------------------------------------------------------------------------
// §7.2 retract

asio::awaitable<IqResult> NodeService::retract(Element pubsub, Jid from) {
  const Element* r = pubsub.child("retract", ns::kPubsub);
  const std::string name(r->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");  // §7.2.3.3
  }
  std::vector<std::string> ids;
  for (const Element* c : r->elements()) {
    if (c->name() != "item" || c->attr_or("id").empty()) {
      co_return bad_request("item-required");  // §7.2.3.4
    }
    ids.emplace_back(c->attr_or("id"));
  }
  if (ids.empty()) {
    co_return bad_request("item-required");
  }
  const Node* n = find(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  if (!n->config.persist_items && !n->config.deliver_payloads) {
    co_return unsupported("persistent-items");  // §7.2.3.5
  }
  const Affiliation aff = affiliation(*n, from);
  if (aff == Affiliation::kOutcast) {
    co_return StanzaError::forbidden();
  }
  for (const std::string& id : ids) {
    const Item* item = n->find_item(id);
    if (item == nullptr) {
      co_return StanzaError::item_not_found();
    }
    // §4.1: owners and publishers delete any item; everyone else (publish-only, open or
    // subscriber publish models) only the items it published.
    const bool own = !item->publisher.empty() &&
                     Jid::parse(item->publisher).value_or(Jid()).bare_str() == from.bare_str();
    if (aff != Affiliation::kOwner && aff != Affiliation::kPublisher && !own) {
      co_return StanzaError::forbidden();
    }
  }
  // §7.2.2.1: notify when asked (notify='true'/'1') or when the node is configured to.
  const bool notify_retract =
      n->config.deliver_notifications && (xml_true(r->attr_or("notify")) || n->config.notify_retract);
  if (n->config.persist_items) {
    auto op = host_.remove_items(name, ids);
    bool ok = co_await std::move(op);
    if (!ok) {
      co_return StanzaError::internal_server_error();
    }
  }
  Node* m = find_mut(name);
  if (m == nullptr) {
    co_return module::Empty{};  // deleted meanwhile: the items are gone either way
  }
  std::erase_if(m->items, [&](const Item& i) {
    return std::find(ids.begin(), ids.end(), i.id) != ids.end();
  });
  if (notify_retract) {
    Element event("items", std::string(ns::kEvent));
    event.set_attr("node", name);
    for (const std::string& id : ids) {
      event.add_child("retract", std::string(ns::kEvent)).set_attr("id", id);
    }
    auto op = notify(name, std::move(event));
    co_await std::move(op);
  }
  co_return module::Empty{};
}

// ---------------------------------------------------------------------------------------------
// §6.1 subscribe, §6.2 unsubscribe, §6.3 options

asio::awaitable<IqResult> NodeService::subscribe(Element pubsub, Jid from,
                                                 std::vector<Element>* after_reply) {
  const Element* s = pubsub.child("subscribe", ns::kPubsub);
  const std::string name(s->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");
  }
  const std::string* jid_attr = s->attr("jid");
  if (jid_attr == nullptr || jid_attr->empty()) {
    co_return bad_request("jid-required");
  }
  std::optional<Jid> jid = Jid::parse(*jid_attr);
  // §6.1.3.1: the subscribed JID must be the requester's (bare JID compared).
  if (!jid || (!same_bare(*jid, from) && !host_.is_admin(bare_of(from)))) {
    co_return bad_request("invalid-jid");
  }
  const Element* opts = pubsub.child("options", ns::kPubsub);
  std::optional<SubOptions> sub_options;
  if (opts != nullptr) {
    // §6.3.7: the options follow <subscribe/> and carry neither node nor jid.
    if (opts->attr("node") != nullptr || opts->attr("jid") != nullptr) {
      co_return StanzaError::bad_request("<options/> with <subscribe/> has no node or jid");
    }
    if (const Element* x = form_of(*opts)) {
      auto applied = apply_subscribe_options(SubOptions{}, *x);
      if (auto* e = std::get_if<StanzaError>(&applied)) {
        co_return *e;
      }
      sub_options = std::get<SubOptions>(std::move(applied));
    }
  }
  const Node* n = find(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();  // §6.1.3.12
  }
  if (!n->config.subscribe) {
    co_return unsupported("subscribe");  // §6.1.3.9
  }
  {
    auto op = check_access(name, *jid);
    std::optional<StanzaError> err = co_await std::move(op);
    if (err) {
      co_return *err;
    }
  }
  Node* m = find_mut(name);
  if (m == nullptr) {
    co_return StanzaError::item_not_found();
  }
  // One subscription per subscribed JID (no multi-subscribe): a repeated request answers the
  // current state (§6.1.6), except a pending one (§6.1.3.7).
  std::vector<std::size_t> existing = subscriptions_of(*m, *jid);
  if (!existing.empty()) {
    Subscription& cur = m->subscriptions[existing.front()];
    if (cur.state == SubState::kPending) {
      co_return pubsub_error("not-authorized", "pending-subscription");
    }
    if (sub_options && *sub_options != cur.options) {
      cur.options = *sub_options;
      auto op = host_.store_node(*m);
      if (!co_await std::move(op)) {
        co_return StanzaError::internal_server_error();
      }
      m = find_mut(name);
      if (m == nullptr) {
        co_return StanzaError::item_not_found();
      }
      existing = subscriptions_of(*m, *jid);
      if (existing.empty()) {
        co_return StanzaError::item_not_found();
      }
    }
    Element result = pubsub_element();
    result.add_child(subscription_element(ns::kPubsub, name, m->subscriptions[existing.front()]));
    co_return result;
  }
  Subscription sub;
  sub.jid = *jid;
  sub.subid = random_id(16);
  sub.options = sub_options.value_or(SubOptions{});
  // §6.1.4: authorize nodes need an owner's approval, except for affiliated entities (§6.1.4
  // "service policy allows entities with affiliations other than none to auto-subscribe").
  const bool approval = m->config.access_model == AccessModel::kAuthorize &&
                        affiliation(*m, *jid) < Affiliation::kMember;
  sub.state = approval ? SubState::kPending : SubState::kSubscribed;
  m->subscriptions.push_back(sub);
  {
    auto op = host_.store_node(*m);
    bool ok = co_await std::move(op);
    m = find_mut(name);
    if (!ok) {
      if (m != nullptr) {
        std::erase_if(m->subscriptions,
                      [&](const Subscription& x) { return x.subid == sub.subid; });
      }
      co_return StanzaError::internal_server_error();
    }
    if (m == nullptr) {
      co_return StanzaError::item_not_found();
    }
  }
  if (approval) {
    // §8.6: ask every owner (first answer wins, owner.cpp).
    std::vector<std::string> owners = m->owners();
    if (options_.pep && std::find(owners.begin(), owners.end(), options_.jid.bare_str()) ==
                            owners.end()) {
      owners.push_back(options_.jid.bare_str());
    }
    for (const std::string& o : owners) {
      Element msg("message", "jabber:client");
      msg.set_attr("from", options_.jid.str());
      msg.set_attr("to", o);
      msg.set_attr("id", random_id(16));
      msg.add_child(authorization_form(*m, sub));
      host_.send(std::move(msg));
    }
  }
  if (m->config.notify_sub) {
    for (const std::string& o : m->owners()) {
      Element msg("message", "jabber:client");
      msg.set_attr("from", options_.jid.str());
      msg.set_attr("to", o);
      msg.set_attr("id", random_id(16));
      msg.add_child("event", std::string(ns::kEvent))
          .add_child(subscription_element(ns::kEvent, name, sub));
      host_.send(std::move(msg));
    }
  }
  Element result = pubsub_element();
  result.add_child(subscription_element(ns::kPubsub, name, sub));
  if (sub_options) {
    // §6.3.7: the resulting options as a result form.
    Element& o = result.add_child("options", std::string(ns::kPubsub));
    o.set_attr("node", name);
    o.set_attr("jid", sub.jid.str());
    o.set_attr("subid", sub.subid);
    Element form = subscribe_options_form(sub.options);
    form.set_attr("type", "result");
    o.add_child(std::move(form));
  }
  // §6.1.7 / §12.9: the last published item to the new subscriber, after the result (the
  // examples of §6.1.7 show the iq result, then the notification).
  if (sub.state == SubState::kSubscribed &&
      m->config.send_last_published_item != SendLast::kNever && m->config.deliver_notifications &&
      sub.options.deliver) {
    if (std::optional<Element> last = last_item_message(*m, sub.jid)) {
      if (after_reply != nullptr) {
        after_reply->push_back(std::move(*last));
      } else {
        host_.send(std::move(*last));
      }
    }
  }
  co_return result;
}

asio::awaitable<IqResult> NodeService::unsubscribe(Element pubsub, Jid from) {
  const Element* u = pubsub.child("unsubscribe", ns::kPubsub);
  const std::string name(u->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");
  }
  const std::string* jid_attr = u->attr("jid");
  if (jid_attr == nullptr || jid_attr->empty()) {
    co_return bad_request("jid-required");
  }
  std::optional<Jid> jid = Jid::parse(*jid_attr);
  if (!jid) {
    co_return bad_request("invalid-jid");
  }
  Node* n = find_mut(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();  // §6.2.3.4
  }
  // §6.2.3.3: only the subscriber itself (bare JIDs compared), owners and admins.
  if (!same_bare(*jid, from) && affiliation(*n, from) != Affiliation::kOwner) {
    co_return StanzaError::forbidden();
  }
  auto picked = pick_subscription(*n, *jid, u->attr("subid"));
  if (auto* e = std::get_if<StanzaError>(&picked)) {
    co_return *e;
  }
  Subscription removed = n->subscriptions[std::get<std::size_t>(picked)];
  n->subscriptions.erase(n->subscriptions.begin() +
                         static_cast<std::ptrdiff_t>(std::get<std::size_t>(picked)));
  auto op = host_.store_node(*n);
  bool ok = co_await std::move(op);
  if (!ok) {
    co_return StanzaError::internal_server_error();
  }
  n = find_mut(name);
  if (n != nullptr && n->config.notify_sub) {
    removed.state = SubState::kSubscribed;
    for (const std::string& o : n->owners()) {
      Element msg("message", "jabber:client");
      msg.set_attr("from", options_.jid.str());
      msg.set_attr("to", o);
      msg.set_attr("id", random_id(16));
      Element s = subscription_element(ns::kEvent, name, removed);
      s.set_attr("subscription", "none");
      msg.add_child("event", std::string(ns::kEvent)).add_child(std::move(s));
      host_.send(std::move(msg));
    }
  }
  co_return module::Empty{};
}

asio::awaitable<IqResult> NodeService::options(Element pubsub, bool set, Jid from) {
  const Element* o = pubsub.child("options", ns::kPubsub);
  const std::string name(o->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");
  }
  const std::string* jid_attr = o->attr("jid");
  if (jid_attr == nullptr || jid_attr->empty()) {
    co_return bad_request("jid-required");  // §6.3.4.3
  }
  std::optional<Jid> jid = Jid::parse(*jid_attr);
  if (!jid) {
    co_return bad_request("invalid-jid");
  }
  Node* n = find_mut(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  if (!same_bare(*jid, from) && affiliation(*n, from) != Affiliation::kOwner) {
    co_return StanzaError::forbidden();  // §6.3.4.1
  }
  auto picked = pick_subscription(*n, *jid, o->attr("subid"));
  if (auto* e = std::get_if<StanzaError>(&picked)) {
    co_return *e;
  }
  Subscription& sub = n->subscriptions[std::get<std::size_t>(picked)];
  if (!set) {
    Element result = pubsub_element();
    Element& out = result.add_child("options", std::string(ns::kPubsub));
    out.set_attr("node", name);
    out.set_attr("jid", sub.jid.str());
    if (!sub.subid.empty()) {
      out.set_attr("subid", sub.subid);
    }
    out.add_child(subscribe_options_form(sub.options));
    co_return result;
  }
  const Element* x = form_of(*o);
  if (x == nullptr) {
    co_return StanzaError::bad_request("<options/> holds a submitted data form");
  }
  auto applied = apply_subscribe_options(sub.options, *x);
  if (auto* e = std::get_if<StanzaError>(&applied)) {
    co_return *e;
  }
  sub.options = std::get<SubOptions>(std::move(applied));
  if (sub.state == SubState::kUnconfigured) {
    sub.state = SubState::kSubscribed;
  }
  auto op = host_.store_node(*n);
  if (!co_await std::move(op)) {
    co_return StanzaError::internal_server_error();
  }
  co_return module::Empty{};
}

// ---------------------------------------------------------------------------------------------
// §6.5 items

asio::awaitable<IqResult> NodeService::items(Element pubsub, Jid from) {
  const Element* req = pubsub.child("items", ns::kPubsub);
  const std::string name(req->attr_or("node"));
  if (name.empty()) {
    co_return bad_request("nodeid-required");
  }
  std::optional<std::size_t> max_items;
  if (const std::string* m = req->attr("max_items")) {
    max_items = parse_size(*m);
    if (!max_items) {
      co_return StanzaError::bad_request("max_items is a non-negative integer");
    }
  }
  std::vector<std::string> wanted;
  for (const Element* c : req->elements()) {
    if (c->name() != "item" || c->attr_or("id").empty()) {
      co_return bad_request("item-required");
    }
    wanted.emplace_back(c->attr_or("id"));
  }
  const Element* rsm = pubsub.child("set", ns::kRsm);

  const Node* n = find(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();  // §6.5.9.11
  }
  // §6.5.1: owners and publishers always; otherwise the access model.
  const Affiliation aff = affiliation(*n, from);
  if (aff != Affiliation::kOwner && aff != Affiliation::kPublisher) {
    auto op = check_access(name, from);
    std::optional<StanzaError> err = co_await std::move(op);
    if (err) {
      co_return *err;
    }
    n = find(name);
    if (n == nullptr) {
      co_return StanzaError::item_not_found();
    }
    // "authorize": only subscribers (a pending subscription is none, §6.5.9.3).
    if (n->config.access_model == AccessModel::kAuthorize &&
        affiliation(*n, from) < Affiliation::kMember &&
        !has_active_subscription(n->subscriptions, from)) {
      co_return pubsub_error("not-authorized", "not-subscribed");
    }
  }
  {
    auto op = expire(name);
    co_await std::move(op);
  }
  n = find(name);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }

  Element result = pubsub_element();
  Element& out = result.add_child("items", std::string(ns::kPubsub));
  out.set_attr("node", name);
  auto emit = [&](const Item& i) {
    out.add_child(item_element(ns::kPubsub, i, n->config, true));
  };

  if (!wanted.empty()) {
    // §6.5.7: particular items, in the order asked; unknown ids are left out (§6.5.9.12).
    for (const std::string& id : wanted) {
      if (const Item* i = n->find_item(id)) {
        emit(*i);
      }
    }
    co_return result;
  }

  // The candidate list, oldest first; max_items = the N most recent (§6.5.6).
  std::vector<const Item*> list;
  list.reserve(n->items.size());
  for (const Item& i : n->items) {
    list.push_back(&i);
  }
  if (max_items && *max_items < list.size()) {
    list.erase(list.begin(), list.end() - static_cast<std::ptrdiff_t>(*max_items));
  }
  const std::size_t count = list.size();
  const std::size_t page = options_.limits.page_size;
  std::size_t begin = 0, end = count;
  bool notate = false;
  if (rsm != nullptr) {
    // XEP-0059 over the items in publication order.
    notate = true;
    std::size_t max = page;
    if (const Element* m = rsm->child("max", ns::kRsm)) {
      std::optional<std::size_t> v = parse_size(m->text());
      if (!v) {
        co_return StanzaError::bad_request("RSM <max/> is a non-negative integer");
      }
      max = std::min(*v, page);
    }
    auto position = [&](const std::string& id) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i]->id == id) {
          return i;
        }
      }
      return std::nullopt;
    };
    if (const Element* a = rsm->child("after", ns::kRsm)) {
      std::optional<std::size_t> p = position(a->text());
      if (!p) {
        co_return StanzaError::item_not_found();  // XEP-0059 §2.6
      }
      begin = *p + 1;
      end = std::min(count, begin + max);
    } else if (const Element* b = rsm->child("before", ns::kRsm)) {
      std::size_t stop = count;  // empty <before/>: the last page
      if (!b->text().empty()) {
        std::optional<std::size_t> p = position(b->text());
        if (!p) {
          co_return StanzaError::item_not_found();
        }
        stop = *p;
      }
      end = stop;
      begin = stop > max ? stop - max : 0;
    } else if (const Element* ix = rsm->child("index", ns::kRsm)) {
      std::optional<std::size_t> v = parse_size(ix->text());
      if (!v) {
        co_return StanzaError::bad_request("RSM <index/> is a non-negative integer");
      }
      begin = std::min(*v, count);
      end = std::min(count, begin + max);
    } else {
      end = std::min(count, max);
    }
  } else if (count > page) {
    // §6.5.4: too many to return at once: the most recent page, noted with RSM.
    notate = true;
    begin = count - page;
  }
  for (std::size_t i = begin; i < end; ++i) {
    emit(*list[i]);
  }
  if (notate) {
    Element& set = result.add_child("set", std::string(ns::kRsm));
    if (begin < end) {
      Element& first = set.add_child("first", std::string(ns::kRsm));
      first.set_attr("index", std::to_string(begin));
      first.add_text(list[begin]->id);
      set.add_child("last", std::string(ns::kRsm)).add_text(list[end - 1]->id);
    }
    set.add_child("count", std::string(ns::kRsm)).add_text(std::to_string(count));
  }
  co_return result;
}

// ---------------------------------------------------------------------------------------------
// §5.6 / §5.7 own subscriptions and affiliations

IqResult NodeService::own_subscriptions(const Element& pubsub, const Jid& from) const {
  const Element* req = pubsub.child("subscriptions", ns::kPubsub);
  const std::string filter(req->attr_or("node"));
  if (!filter.empty() && find(filter) == nullptr) {
    return StanzaError::item_not_found();
  }
  Element result = pubsub_element();
  Element& out = result.add_child("subscriptions", std::string(ns::kPubsub));
  if (!filter.empty()) {
    out.set_attr("node", filter);
  }
  for (const auto& [name, n] : nodes_) {
    if (!filter.empty() && name != filter) {
      continue;
    }
    for (const Subscription& s : n.subscriptions) {
      if (same_bare(s.jid, from)) {
        out.add_child(subscription_element(ns::kPubsub, name, s));
      }
    }
  }
  return result;
}

IqResult NodeService::own_affiliations(const Element& pubsub, const Jid& from) const {
  const Element* req = pubsub.child("affiliations", ns::kPubsub);
  const std::string filter(req->attr_or("node"));
  if (!filter.empty() && find(filter) == nullptr) {
    return StanzaError::item_not_found();
  }
  const bool account = options_.pep && same_bare(from, options_.jid);
  Element result = pubsub_element();
  Element& out = result.add_child("affiliations", std::string(ns::kPubsub));
  for (const auto& [name, n] : nodes_) {
    if (!filter.empty() && name != filter) {
      continue;
    }
    const Affiliation a = account ? Affiliation::kOwner : n.affiliation_of(from);
    if (a == Affiliation::kNone) {
      continue;
    }
    Element& e = out.add_child("affiliation", std::string(ns::kPubsub));
    e.set_attr("node", name);
    e.set_attr("affiliation", std::string(to_string(a)));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// §5.1-§5.5 disco

asio::awaitable<module::DiscoInfoResult> NodeService::disco_info(std::string node, Jid from) {
  if (node.empty()) {
    co_return module::DiscoInfo{};
  }
  if (find(node) == nullptr) {
    co_return StanzaError::item_not_found();
  }
  auto op = check_access(node, from);
  std::optional<StanzaError> err = co_await std::move(op);
  const Node* n = find(node);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  if (err) {
    co_return options_.pep ? StanzaError::item_not_found() : StanzaError::forbidden();
  }
  module::DiscoInfo info;
  info.identities.push_back({"pubsub", "leaf", n->config.title});
  info.features = features(options_.pep);
  info.forms.push_back(meta_data_form(*n));
  co_return info;
}

asio::awaitable<module::DiscoItemsResult> NodeService::disco_items(std::string node, Jid from) {
  std::vector<module::DiscoItem> out;
  if (node.empty()) {
    // §5.2 (XEP-0163 §5.2: only nodes the requester may subscribe to or retrieve from).
    std::vector<std::string> names;
    for (const auto& [name, _] : nodes_) {
      names.push_back(name);
    }
    for (const std::string& name : names) {
      auto op = check_access(name, from);
      std::optional<StanzaError> err = co_await std::move(op);
      const Node* n = find(name);
      if (err || n == nullptr) {
        continue;
      }
      out.push_back({options_.jid.str(), name, n->config.title});
    }
    co_return out;
  }
  if (find(node) == nullptr) {
    co_return StanzaError::item_not_found();
  }
  auto op = check_access(node, from);
  std::optional<StanzaError> err = co_await std::move(op);
  if (err) {
    co_return options_.pep ? StanzaError::item_not_found() : StanzaError::forbidden();
  }
  auto eop = expire(node);
  co_await std::move(eop);
  const Node* n = find(node);
  if (n == nullptr) {
    co_return StanzaError::item_not_found();
  }
  // §5.5: the items' ids as 'name'.
  for (const Item& i : n->items) {
    out.push_back({options_.jid.str(), "", i.id});
  }
  co_return out;
}

std::vector<std::string> NodeService::features(bool pep) {
  // §10: what the engine and owner.cpp implement.
  static constexpr std::string_view kCommon[] = {
      "access-authorize",
      "access-open",
      "access-presence",
      "access-roster",
      "access-whitelist",
      "config-node",
      "config-node-max",
      "create-and-configure",
      "create-nodes",
      "delete-items",
      "delete-nodes",
      "instant-nodes",
      "item-ids",
      "manage-subscriptions",
      "member-affiliation",
      "meta-data",
      "modify-affiliations",
      "multi-items",
      "outcast-affiliation",
      "persistent-items",
      "presence-notifications",
      "publish",
      "publish-only-affiliation",
      "publish-options",
      "publisher-affiliation",
      "purge-nodes",
      "retract-items",
      "retrieve-affiliations",
      "retrieve-default",
      "retrieve-default-sub",
      "retrieve-items",
      "retrieve-subscriptions",
      "rsm",
      "subscribe",
      "subscription-options",
  };
  // XEP-0163 §6: auto-create, auto-subscribe, filtered-notifications; last items by default.
  static constexpr std::string_view kPep[] = {"auto-create", "auto-subscribe",
                                              "filtered-notifications", "last-published"};
  std::vector<std::string> out{std::string(ns::kPubsub)};
  for (std::string_view f : kCommon) {
    out.push_back(std::string(ns::kFeaturePrefix) + std::string(f));
  }
  if (pep) {
    for (std::string_view f : kPep) {
      out.push_back(std::string(ns::kFeaturePrefix) + std::string(f));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace starling::pubsub
