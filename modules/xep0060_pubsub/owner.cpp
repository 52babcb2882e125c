// XEP-0060 §8 owner use cases: create (§8.1), configure (§8.2), default (§8.3), delete (§8.4),
// purge (§8.5), subscription authorization (§8.6), owner subscriptions (§8.8) and affiliations
// (§8.9). Every change is stored (Host::store_node / remove_*) before the answer; after every
// co_await the node is looked up again by name (engine.hpp).
#include <algorithm>

#include "base/random.hpp"
#include "modules/xep0060_pubsub/engine.hpp"
#include "modules/xep0060_pubsub/node_config.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "xmpp/dataform.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
using module::IqResult;
using xmpp::Jid;
using xmpp::StanzaError;

namespace {

// What Host::store_node stores: the node without its items (stored one by one), copied without
// copying the items first.
Node metadata_of(const Node& n) {
  Node m;
  m.name = n.name;
  m.config = n.config;
  m.created = n.created;
  m.creator = n.creator;
  m.affiliations = n.affiliations;
  m.subscriptions = n.subscriptions;
  m.next_seq = n.next_seq;
  return m;
}

StanzaError nodeid_required() {
  // §8.2.3.3: the request did not name a node.
  StanzaError e = StanzaError::bad_request();
  e.app_condition = "nodeid-required";
  e.app_ns = std::string(ns::kErrors);
  return e;
}

StanzaError not_acceptable(std::string text) {
  return {xmpp::ErrorType::kModify, "not-acceptable", std::move(text)};
}

StanzaError node_limit() {
  return {xmpp::ErrorType::kCancel, "not-allowed", "the service holds as many nodes as it may"};
}

const xml::Element* data_form(const xml::Element& parent) {
  return parent.child("x", ns::kData);
}

// <pubsub xmlns=pubsub#owner><name node=...>...</name></pubsub>
xml::Element owner_reply(std::string_view name, const std::string& node) {
  xml::Element p("pubsub", std::string(ns::kOwner));
  p.add_child(std::string(name), std::string(ns::kOwner)).set_attr("node", node);
  return p;
}

// §8.6 / §8.8.4 / §12.6: tells `to` its subscription's new state.
xml::Element subscription_event(const Jid& service, const std::string& node, const Jid& to,
                                std::string_view state, const std::string& subid) {
  xml::Element m("message", "jabber:client");
  m.set_attr("from", service.str());
  m.set_attr("to", to.str());
  auto& s = m.add_child("event", std::string(ns::kEvent))
                .add_child("subscription", std::string(ns::kEvent));
  s.set_attr("node", node);
  s.set_attr("jid", to.str());
  s.set_attr("subscription", std::string(state));
  if (!subid.empty()) {
    s.set_attr("subid", subid);
  }
  return m;
}

}  // namespace

asio::awaitable<std::variant<std::string, StanzaError>> NodeService::add_node(std::string name,
                                                                              Jid creator,
                                                                              NodeConfig config) {
  if (auto refused = host_.may_create(creator)) {
    co_return *refused;
  }
  if (!name.empty() && nodes_.contains(name)) {
    co_return StanzaError::conflict();  // §8.1.1
  }
  if (nodes_.size() >= options_.limits.max_nodes) {
    co_return node_limit();
  }
  if (name.empty()) {  // §8.1.1 instant node: a NodeID unique within the service
    do {
      name = random_id(32);  // §8.1.2 instant node names
    } while (nodes_.contains(name));
  }
  Node n;
  n.name = name;
  n.config = std::move(config);
  n.created = host_.now();
  n.creator = creator.bare_str();
  n.affiliations[creator.bare_str()] = Affiliation::kOwner;  // the creator is the owner
  Node stored = n;
  nodes_.emplace(name, std::move(n));
  auto op = host_.store_node(std::move(stored));
  bool ok = co_await std::move(op);
  if (!ok) {
    nodes_.erase(name);
    co_return StanzaError::internal_server_error();
  }
  co_return name;
}

asio::awaitable<IqResult> NodeService::create(xml::Element pubsub, Jid from) {
  const xml::Element* create = pubsub.child("create", ns::kPubsub);
  if (create == nullptr) {
    co_return StanzaError::bad_request();
  }
  // XEP-0163 §4.3 / §5: only the account creates nodes on its own JID.
  if (options_.pep && from.bare_str() != options_.jid.bare_str()) {
    co_return StanzaError::forbidden();
  }
  std::string name(create->attr_or("node"));
  if (name.empty() && options_.pep) {
    // §8.1.1: no instant nodes for PEP (XEP-0163 nodes are named by their payload namespace).
    StanzaError e = not_acceptable({});
    e.app_condition = "nodeid-required";
    e.app_ns = std::string(ns::kErrors);
    co_return e;
  }
  NodeConfig config = options_.defaults;
  // §8.1.3: <configure/> follows <create/> and has no 'node'; it may hold a node_config form.
  bool seen_create = false;
  for (const xml::Element* c : pubsub.elements()) {
    if (c->name() == "create" && c->xmlns() == ns::kPubsub) {
      seen_create = true;
    } else if (c->name() == "configure" && c->xmlns() == ns::kPubsub) {
      if (!seen_create || c->attr("node") != nullptr) {
        co_return StanzaError::bad_request("<configure/> must follow <create/> and have no node");
      }
      if (const xml::Element* x = data_form(*c)) {
        auto applied = apply_config_form(config, *x, options_.limits);
        if (auto* e = std::get_if<StanzaError>(&applied)) {
          co_return *e;
        }
        config = std::get<NodeConfig>(std::move(applied));
      }
    }
  }
  auto op = add_node(name, from, std::move(config));
  auto added = co_await std::move(op);
  if (auto* e = std::get_if<StanzaError>(&added)) {
    co_return *e;
  }
  xml::Element reply("pubsub", std::string(ns::kPubsub));
  reply.add_child("create", std::string(ns::kPubsub)).set_attr("node", std::get<std::string>(added));
  co_return reply;
}

asio::awaitable<IqResult> NodeService::owner(xml::Element pubsub, bool set, Jid from) {
  auto children = pubsub.elements();
  if (children.size() != 1 || children.front()->xmlns() != ns::kOwner) {
    co_return StanzaError::bad_request("expected one pubsub#owner request");
  }
  const xml::Element req = *children.front();
  const std::string& op = req.name();

  if (op == "default") {  // §8.3
    if (set) {
      co_return StanzaError::bad_request("<default/> is requested with a get");
    }
    std::string_view type = req.attr_or("type", "leaf");
    if (type == "collection") {
      co_return unsupported("collections");
    }
    if (type != "leaf") {
      co_return StanzaError::bad_request("unknown node type");
    }
    xml::Element reply("pubsub", std::string(ns::kOwner));
    reply.add_child("default", std::string(ns::kOwner))
        .add_child(config_form(options_.defaults, options_.limits));
    co_return reply;
  }
  if (op != "configure" && op != "delete" && op != "purge" && op != "subscriptions" &&
      op != "affiliations") {
    co_return StanzaError::feature_not_implemented();
  }
  if (!set && (op == "delete" || op == "purge")) {
    co_return StanzaError::bad_request("<" + op + "/> is requested with a set");
  }
  const std::string name(req.attr_or("node"));
  if (name.empty()) {
    co_return nodeid_required();
  }
  Node* node = find_mut(name);
  if (node == nullptr) {
    co_return StanzaError::item_not_found();
  }
  if (affiliation(*node, from) != Affiliation::kOwner) {
    co_return StanzaError::forbidden();
  }

  // ---- §8.2 configure ----
  if (op == "configure") {
    if (!set) {
      xml::Element reply = owner_reply("configure", name);
      reply.child("configure", ns::kOwner)->add_child(config_form(node->config, options_.limits));
      co_return reply;
    }
    const xml::Element* x = data_form(req);
    if (x == nullptr) {
      co_return StanzaError::bad_request("the configure request holds no form");
    }
    auto applied = apply_config_form(node->config, *x, options_.limits);
    if (auto* e = std::get_if<StanzaError>(&applied)) {
      co_return *e;
    }
    NodeConfig config = std::get<NodeConfig>(std::move(applied));
    if (config == node->config) {
      co_return module::Empty{};  // a cancel, or nothing changed (§8.2.4)
    }
    NodeConfig old = node->config;
    node->config = config;
    // A lower pubsub#max_items drops the oldest items.
    std::size_t keep =
        config.max_items == kMaxItemsMax ? options_.limits.max_items : config.max_items;
    std::vector<std::string> dropped;
    while (node->items.size() > keep) {
      dropped.push_back(node->items.front().id);
      node->items.erase(node->items.begin());
    }
    auto store = host_.store_node(metadata_of(*node));
    bool ok = co_await std::move(store);
    if (!ok) {
      if (Node* n = find_mut(name)) {
        n->config = old;
      }
      co_return StanzaError::internal_server_error();
    }
    if (!dropped.empty()) {
      auto rm = host_.remove_items(name, std::move(dropped));
      co_await std::move(rm);
    }
    node = find_mut(name);
    if (node != nullptr && node->config.notify_config) {
      // §8.2.5.3: <configuration node/>, with the configuration when payloads are delivered.
      xml::Element event("configuration", std::string(ns::kEvent));
      event.set_attr("node", name);
      if (node->config.deliver_payloads) {
        xml::Element form = config_form(node->config, options_.limits);
        form.set_attr("type", "result");
        event.add_child(std::move(form));
      }
      auto n = notify(name, std::move(event));
      co_await std::move(n);
    }
    co_return module::Empty{};
  }

  // ---- §8.4 delete ----
  if (op == "delete") {
    xml::Element event("delete", std::string(ns::kEvent));
    event.set_attr("node", name);
    if (const xml::Element* r = req.child("redirect", ns::kOwner)) {
      event.add_child("redirect", std::string(ns::kEvent)).set_attr("uri", std::string(r->attr_or("uri")));
    }
    auto rm = host_.remove_node(name);
    bool ok = co_await std::move(rm);
    if (!ok) {
      co_return StanzaError::internal_server_error();
    }
    node = find_mut(name);
    // §8.4.1: the service MUST notify all subscribers of the deletion, whatever
    // pubsub#notify_delete says (pending subscribers, a SHOULD, are not told).
    if (node != nullptr) {
      auto n = notify(name, std::move(event));
      co_await std::move(n);
    }
    nodes_.erase(name);  // with its subscriptions and items
    co_return module::Empty{};
  }

  // ---- §8.5 purge ----
  if (op == "purge") {
    if (!node->config.persist_items) {
      co_return unsupported("persistent-items");  // §8.5.3.3
    }
    std::vector<std::string> ids;
    for (const Item& i : node->items) {
      ids.push_back(i.id);
    }
    auto rm = host_.remove_items(name, ids);
    bool ok = co_await std::move(rm);
    if (!ok) {
      co_return StanzaError::internal_server_error();
    }
    node = find_mut(name);
    if (node == nullptr) {
      co_return module::Empty{};  // deleted meanwhile: nothing left to purge
    }
    // Items published while waiting stay.
    std::erase_if(node->items, [&](const Item& i) {
      return std::find(ids.begin(), ids.end(), i.id) != ids.end();
    });
    if (node->config.deliver_notifications && node->config.notify_retract) {
      // §8.5.2: "configured to notify subscribers on deletion of items" is pubsub#notify_retract
      // (§16.4: "notify subscribers when items are removed from the node"; the form has no
      // purge option): one <purge/> notification instead of a retraction per item. No event
      // goes out when the node delivers no notifications at all (as for a retraction, §7.2.2).
      xml::Element event("purge", std::string(ns::kEvent));
      event.set_attr("node", name);
      auto n = notify(name, std::move(event));
      co_await std::move(n);
    }
    co_return module::Empty{};
  }

  // ---- §8.8 subscriptions ----
  if (op == "subscriptions") {
    if (!set) {
      // §8.8.1.2: subscribed and unconfigured subscriptions ("MUST return"); pending ones are
      // left out ("SHOULD NOT return"; the owner sees them in §8.6 authorization requests).
      xml::Element reply = owner_reply("subscriptions", name);
      xml::Element* list = reply.child("subscriptions", ns::kOwner);
      for (const Subscription& s : node->subscriptions) {
        if (s.state == SubState::kPending) {
          continue;
        }
        auto& e = list->add_child("subscription", std::string(ns::kOwner));
        e.set_attr("jid", s.jid.str());
        e.set_attr("subscription", std::string(to_string(s.state)));
        if (!s.subid.empty()) {
          e.set_attr("subid", s.subid);
        }
      }
      co_return reply;
    }
    // §8.8.2: a delta. §8.8.2.4: the valid entries take effect; the invalid ones come back in
    // a not-acceptable error, each with the entity's existing, unaltered subscription (an
    // entry not returned counts as a successful modification).
    struct Change {
      Jid jid;
      std::string subid;
      bool subscribe;
    };
    std::vector<Change> changes;
    struct Failed {
      std::string jid;  // as the request wrote it
      std::optional<Jid> parsed;
      std::string subid;
    };
    std::vector<Failed> failed;
    std::string why;  // the error's text: the first failure's reason
    auto fail = [&](const xml::Element& e, const std::optional<Jid>& jid, std::string reason) {
      failed.push_back({std::string(e.attr_or("jid")), jid, std::string(e.attr_or("subid"))});
      if (why.empty()) {
        why = std::move(reason);
      }
    };
    for (const xml::Element* e : req.elements()) {
      if (e->name() != "subscription" || e->xmlns() != ns::kOwner) {
        continue;
      }
      auto jid = Jid::parse(e->attr_or("jid"));
      if (!jid) {
        fail(*e, jid, "invalid JID '" + std::string(e->attr_or("jid")) + "'");
        continue;
      }
      const std::string* state = e->attr("subscription");
      if (state == nullptr) {
        continue;  // §8.8.2.1: no 'subscription': unchanged
      }
      std::string subid(e->attr_or("subid"));
      if (*state != "none" && *state != "subscribed") {
        fail(*e, jid, "subscription '" + *state + "' cannot be set for " + jid->str());
        continue;
      }
      bool subscribe = *state == "subscribed";
      if (subscribe && node->affiliation_of(*jid) == Affiliation::kOutcast) {
        fail(*e, jid, jid->bare_str() + " is an outcast");
        continue;
      }
      if (!subid.empty() &&
          std::none_of(node->subscriptions.begin(), node->subscriptions.end(),
                       [&](const Subscription& s) { return s.jid == *jid && s.subid == subid; })) {
        fail(*e, jid, "no subscription " + subid + " of " + jid->str());
        continue;
      }
      // §8.8.2.4: several entries for one entity each name a distinct subid.
      if (std::any_of(changes.begin(), changes.end(),
                      [&](const Change& c) { return c.jid == *jid && c.subid == subid; })) {
        fail(*e, jid, "two entries for " + jid->str() + " without distinct subids");
        continue;
      }
      changes.push_back({std::move(*jid), std::move(subid), subscribe});
    }
    std::vector<xml::Element> events;
    for (const Change& c : changes) {
      auto matches = [&](const Subscription& s) {
        return s.jid == c.jid && (c.subid.empty() || s.subid == c.subid);
      };
      if (!c.subscribe) {  // §8.8.3: 'none' removes the subscription
        for (const Subscription& s : node->subscriptions) {
          if (matches(s)) {
            events.push_back(subscription_event(options_.jid, name, s.jid, "none", s.subid));
          }
        }
        std::erase_if(node->subscriptions, matches);
        continue;
      }
      bool found = false;
      for (Subscription& s : node->subscriptions) {
        if (matches(s)) {
          found = true;
          if (s.state != SubState::kSubscribed) {  // approves a pending subscription
            s.state = SubState::kSubscribed;
            events.push_back(subscription_event(options_.jid, name, s.jid, "subscribed", s.subid));
          }
        }
      }
      if (!found) {
        Subscription s;
        s.jid = c.jid;
        s.subid = random_id(16);
        s.state = SubState::kSubscribed;
        events.push_back(subscription_event(options_.jid, name, s.jid, "subscribed", s.subid));
        node->subscriptions.push_back(std::move(s));
      }
    }
    if (!changes.empty()) {
      auto store = host_.store_node(metadata_of(*node));
      bool ok = co_await std::move(store);
      if (!ok) {
        co_return StanzaError::internal_server_error();
      }
      for (xml::Element& m : events) {  // §8.8.4
        host_.send(std::move(m));
      }
    }
    if (!failed.empty()) {
      // Each failed entry with the entity's subscription as it now stands (the valid entries
      // applied): 'none' when it has none.
      xml::Element payload = owner_reply("subscriptions", name);
      xml::Element* list = payload.child("subscriptions", ns::kOwner);
      node = find_mut(name);
      static const std::vector<Subscription> kNone;
      const std::vector<Subscription>& now = node != nullptr ? node->subscriptions : kNone;
      for (const Failed& f : failed) {
        xml::Element& e = list->add_child("subscription", std::string(ns::kOwner));
        e.set_attr("jid", f.jid);
        std::string_view state = "none";
        std::string subid = f.subid;
        for (const Subscription& s : now) {
          if (f.parsed && s.jid == *f.parsed && (f.subid.empty() || s.subid == f.subid)) {
            state = to_string(s.state);
            subid = s.subid;
            break;
          }
        }
        e.set_attr("subscription", std::string(state));
        if (!subid.empty()) {
          e.set_attr("subid", subid);
        }
      }
      StanzaError err = not_acceptable(std::move(why));
      err.payload = std::move(payload);
      co_return err;
    }
    co_return module::Empty{};
  }

  // ---- §8.9 affiliations ----
  if (!set) {
    xml::Element reply = owner_reply("affiliations", name);
    xml::Element* list = reply.child("affiliations", ns::kOwner);
    for (const auto& [jid, a] : node->affiliations) {
      auto& e = list->add_child("affiliation", std::string(ns::kOwner));
      e.set_attr("jid", jid);
      e.set_attr("affiliation", std::string(to_string(a)));
    }
    co_return reply;
  }
  // §8.9.2: a delta. §8.9.2.4: one entry per entity (else bad-request, nothing changes); the
  // valid entries take effect, the invalid ones come back in a not-acceptable error with the
  // entity's existing affiliation. An owner must remain (§8.9.2.4 example).
  struct Entry {
    std::string jid;  // as the request wrote it
    std::string bare;
    std::optional<Affiliation> to;  // nullopt: invalid
    std::string reason;
  };
  std::vector<Entry> entries;
  for (const xml::Element* e : req.elements()) {
    if (e->name() != "affiliation" || e->xmlns() != ns::kOwner) {
      continue;
    }
    Entry entry;
    entry.jid = std::string(e->attr_or("jid"));
    auto jid = Jid::parse(entry.jid);
    if (!jid) {
      entry.reason = "invalid JID '" + entry.jid + "'";
      entries.push_back(std::move(entry));
      continue;
    }
    entry.bare = jid->bare_str();
    if (std::any_of(entries.begin(), entries.end(),
                    [&](const Entry& x) { return !x.bare.empty() && x.bare == entry.bare; })) {
      co_return StanzaError::bad_request("two <affiliation/> entries for " + entry.bare);
    }
    const std::string* value = e->attr("affiliation");
    if (value == nullptr) {
      continue;  // unchanged
    }
    entry.to = parse_affiliation(*value);
    if (!entry.to) {
      entry.reason = "unknown affiliation '" + *value + "'";
    }
    entries.push_back(std::move(entry));
  }
  std::map<std::string, Affiliation> affiliations = node->affiliations;
  for (const Entry& e : entries) {
    if (!e.to) {
      continue;
    }
    if (*e.to == Affiliation::kNone) {
      affiliations.erase(e.bare);
    } else {
      affiliations[e.bare] = *e.to;
    }
  }
  if (std::none_of(affiliations.begin(), affiliations.end(),
                   [](const auto& p) { return p.second == Affiliation::kOwner; })) {
    // The entries that took away an owner fail; the owners keep their affiliation.
    for (Entry& e : entries) {
      auto was = node->affiliations.find(e.bare);
      if (e.to && was != node->affiliations.end() && was->second == Affiliation::kOwner) {
        affiliations[e.bare] = Affiliation::kOwner;
        e.to.reset();
        e.reason = "a node keeps at least one owner";
      }
    }
  }
  std::vector<xml::Element> failed;
  std::string why;
  std::vector<std::string> outcasts;
  for (const Entry& e : entries) {
    if (e.to) {
      if (*e.to == Affiliation::kOutcast) {
        outcasts.push_back(e.bare);
      }
      continue;
    }
    xml::Element f("affiliation", std::string(ns::kOwner));
    f.set_attr("jid", e.jid);
    Affiliation existing = Affiliation::kNone;
    if (!e.bare.empty()) {
      auto it = node->affiliations.find(e.bare);
      existing = it == node->affiliations.end() ? Affiliation::kNone : it->second;
    }
    f.set_attr("affiliation", std::string(to_string(existing)));
    failed.push_back(std::move(f));
    if (why.empty()) {
      why = e.reason;
    }
  }
  const bool changed = affiliations != node->affiliations;
  if (changed) {
    node->affiliations = std::move(affiliations);
    std::vector<xml::Element> events;
    // An outcast loses its subscriptions (§4.1).
    std::erase_if(node->subscriptions, [&](const Subscription& s) {
      if (std::find(outcasts.begin(), outcasts.end(), s.jid.bare_str()) == outcasts.end()) {
        return false;
      }
      events.push_back(subscription_event(options_.jid, name, s.jid, "none", s.subid));
      return true;
    });
    auto store = host_.store_node(metadata_of(*node));
    bool ok = co_await std::move(store);
    if (!ok) {
      co_return StanzaError::internal_server_error();
    }
    for (xml::Element& m : events) {
      host_.send(std::move(m));
    }
  }
  if (!failed.empty()) {
    xml::Element payload = owner_reply("affiliations", name);
    for (xml::Element& f : failed) {
      payload.child("affiliations", ns::kOwner)->add_child(std::move(f));
    }
    StanzaError err = not_acceptable(std::move(why));
    err.payload = std::move(payload);
    co_return err;
  }
  co_return module::Empty{};
}

asio::awaitable<void> NodeService::authorization(xml::Element message, Jid from) {
  namespace df = xmpp::dataform;
  const xml::Element* x = data_form(message);
  if (x == nullptr) {
    co_return;
  }
  auto answer_error = [&](StanzaError err) {
    if (message.attr_or("type") == "error") {
      return;
    }
    xml::Element original = message;
    original.set_attr("from", from.str());
    if (original.attr("to") == nullptr) {
      original.set_attr("to", options_.jid.str());
    }
    host_.send(xmpp::make_error_reply(original, err));
  };
  auto parsed = df::parse(*x);
  if (auto* e = std::get_if<StanzaError>(&parsed)) {
    answer_error(*e);
    co_return;
  }
  const df::Form form = std::get<df::Form>(std::move(parsed));
  if (form.form_type() != ns::kSubscribeAuthorization) {
    co_return;  // not an authorization answer: ignored
  }
  if (form.type == df::FormType::kCancel) {
    co_return;  // §8.6: the subscription stays pending
  }
  const df::Field* node_f = form.field("pubsub#node");
  const df::Field* jid_f = form.field("pubsub#subscriber_jid");
  const df::Field* allow_f = form.field("pubsub#allow");
  const df::Field* subid_f = form.field("pubsub#subid");
  std::optional<bool> allow = allow_f ? df::parse_bool(allow_f->value()) : std::nullopt;
  auto subscriber = jid_f ? Jid::parse(jid_f->value()) : std::nullopt;
  if (form.type != df::FormType::kSubmit || node_f == nullptr || !allow || !subscriber) {
    answer_error(StanzaError::bad_request(
        "an authorization answer names pubsub#node, pubsub#subscriber_jid and pubsub#allow"));
    co_return;
  }
  const std::string name = node_f->value();
  const std::string subid = subid_f ? subid_f->value() : std::string();
  Node* node = find_mut(name);
  if (node == nullptr) {
    answer_error(StanzaError::item_not_found());
    co_return;
  }
  if (affiliation(*node, from) != Affiliation::kOwner) {
    answer_error(StanzaError::forbidden());
    co_return;
  }
  auto pending = [&](const Subscription& s) {
    return s.state == SubState::kPending && s.jid == *subscriber &&
           (subid.empty() || s.subid == subid);
  };
  auto it = std::find_if(node->subscriptions.begin(), node->subscriptions.end(), pending);
  if (it == node->subscriptions.end()) {
    answer_error(StanzaError::item_not_found());  // answered already, or never asked
    co_return;
  }
  xml::Element event = subscription_event(options_.jid, name, it->jid,
                                          *allow ? "subscribed" : "none", it->subid);
  const xmpp::Jid approved = it->jid;
  if (*allow) {
    it->state = SubState::kSubscribed;
  } else {
    node->subscriptions.erase(it);
  }
  auto store = host_.store_node(metadata_of(*node));
  bool ok = co_await std::move(store);
  if (!ok) {
    answer_error(StanzaError::internal_server_error());
    co_return;
  }
  host_.send(std::move(event));  // §8.6: the subscriber learns the outcome
  // §6.1.7: a subscription that became active gets the last item, as on subscribing.
  if (const Node* n = find(name);
      *allow && n != nullptr && n->config.send_last_published_item != SendLast::kNever &&
      !n->items.empty()) {
    send_last_item(*n, approved);
  }
}

}  // namespace starling::pubsub
