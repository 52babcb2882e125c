// XEP-0060: node and item records for storage, in a private namespace. A node record holds the
// metadata (name, every configuration field, creation, affiliations, subscriptions with their
// options, the next sequence number); each item is its own record. Attributes a record lacks
// take their defaults (records written before a field existed still load); a value that does
// not parse makes the whole record invalid (nullopt).
#include <charconv>

#include "modules/xep0060_pubsub/node.hpp"

namespace starling::pubsub {
namespace {

constexpr std::string_view kNs = "urn:starling:pubsub:0";

template <class T>
std::optional<T> parse_num(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::string_view bool_str(bool b) { return b ? "1" : "0"; }

// Reads attribute `name` into `out` with `parse` when present; false when it does not parse.
template <class T, class P>
bool read(const xml::Element& e, std::string_view name, T& out, P parse) {
  const std::string* v = e.attr(name);
  if (v == nullptr) {
    return true;
  }
  auto parsed = parse(*v);
  if (!parsed) {
    return false;
  }
  out = static_cast<T>(*parsed);
  return true;
}

std::optional<bool> parse_bool01(std::string_view s) {
  if (s == "1") {
    return true;
  }
  if (s == "0") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::string> any_string(std::string_view s) { return std::string(s); }

std::optional<std::size_t> parse_max_items(std::string_view s) {
  if (s == "max") {
    return kMaxItemsMax;
  }
  return parse_num<std::size_t>(s);
}

xml::Element config_to_xml(const NodeConfig& c) {
  xml::Element e("config", std::string(kNs));
  e.set_attr("title", c.title);
  e.set_attr("description", c.description);
  e.set_attr("type", c.type);
  e.set_attr("language", c.language);
  e.set_attr("access_model", std::string(to_string(c.access_model)));
  e.set_attr("publish_model", std::string(to_string(c.publish_model)));
  e.set_attr("max_items", c.max_items == kMaxItemsMax ? "max" : std::to_string(c.max_items));
  e.set_attr("persist_items", std::string(bool_str(c.persist_items)));
  e.set_attr("deliver_notifications", std::string(bool_str(c.deliver_notifications)));
  e.set_attr("deliver_payloads", std::string(bool_str(c.deliver_payloads)));
  e.set_attr("notify_config", std::string(bool_str(c.notify_config)));
  e.set_attr("notify_delete", std::string(bool_str(c.notify_delete)));
  e.set_attr("notify_retract", std::string(bool_str(c.notify_retract)));
  e.set_attr("notify_sub", std::string(bool_str(c.notify_sub)));
  e.set_attr("presence_based_delivery", std::string(bool_str(c.presence_based_delivery)));
  e.set_attr("purge_offline", std::string(bool_str(c.purge_offline)));
  e.set_attr("subscribe", std::string(bool_str(c.subscribe)));
  e.set_attr("send_last_published_item", std::string(to_string(c.send_last_published_item)));
  e.set_attr("item_expire", std::to_string(c.item_expire));
  e.set_attr("max_payload_size", std::to_string(c.max_payload_size));
  e.set_attr("notification_type", std::string(to_string(c.notification_type)));
  e.set_attr("itemreply", std::string(to_string(c.itemreply)));
  for (const std::string& g : c.roster_groups_allowed) {
    e.add_child("group", std::string(kNs)).add_text(g);
  }
  return e;
}

std::optional<NodeConfig> config_from_xml(const xml::Element& e) {
  NodeConfig c;
  bool ok = read(e, "title", c.title, any_string) &&
            read(e, "description", c.description, any_string) &&
            read(e, "type", c.type, any_string) && read(e, "language", c.language, any_string) &&
            read(e, "access_model", c.access_model, parse_access_model) &&
            read(e, "publish_model", c.publish_model, parse_publish_model) &&
            read(e, "max_items", c.max_items, parse_max_items) &&
            read(e, "persist_items", c.persist_items, parse_bool01) &&
            read(e, "deliver_notifications", c.deliver_notifications, parse_bool01) &&
            read(e, "deliver_payloads", c.deliver_payloads, parse_bool01) &&
            read(e, "notify_config", c.notify_config, parse_bool01) &&
            read(e, "notify_delete", c.notify_delete, parse_bool01) &&
            read(e, "notify_retract", c.notify_retract, parse_bool01) &&
            read(e, "notify_sub", c.notify_sub, parse_bool01) &&
            read(e, "presence_based_delivery", c.presence_based_delivery, parse_bool01) &&
            read(e, "purge_offline", c.purge_offline, parse_bool01) &&
            read(e, "subscribe", c.subscribe, parse_bool01) &&
            read(e, "send_last_published_item", c.send_last_published_item, parse_send_last) &&
            read(e, "item_expire", c.item_expire, parse_num<std::int64_t>) &&
            read(e, "max_payload_size", c.max_payload_size, parse_num<std::size_t>) &&
            read(e, "notification_type", c.notification_type, parse_notification_type) &&
            read(e, "itemreply", c.itemreply, parse_itemreply);
  if (!ok || c.item_expire < 0) {
    return std::nullopt;
  }
  for (const xml::Element* g : e.elements()) {
    if (g->name() == "group" && g->xmlns() == kNs) {
      c.roster_groups_allowed.push_back(g->text());
    }
  }
  return c;
}

}  // namespace

xml::Element node_to_xml(const Node& node) {
  xml::Element e("node", std::string(kNs));
  e.set_attr("name", node.name);
  e.set_attr("created", std::to_string(node.created));
  e.set_attr("creator", node.creator);
  e.set_attr("next_seq", std::to_string(node.next_seq));
  e.add_child(config_to_xml(node.config));
  for (const auto& [jid, a] : node.affiliations) {
    if (a == Affiliation::kNone) {
      continue;
    }
    auto& x = e.add_child("affiliation", std::string(kNs));
    x.set_attr("jid", jid);
    x.set_attr("affiliation", std::string(to_string(a)));
  }
  for (const Subscription& s : node.subscriptions) {
    auto& x = e.add_child("subscription", std::string(kNs));
    x.set_attr("jid", s.jid.str());
    x.set_attr("subid", s.subid);
    x.set_attr("state", std::string(to_string(s.state)));
    x.set_attr("deliver", std::string(bool_str(s.options.deliver)));
    x.set_attr("include_body", std::string(bool_str(s.options.include_body)));
    x.set_attr("expire", std::to_string(s.options.expire));
    for (const std::string& show : s.options.show_values) {
      x.add_child("show", std::string(kNs)).add_text(show);
    }
  }
  return e;
}

std::optional<Node> node_from_xml(const xml::Element& e) {
  if (e.name() != "node" || e.xmlns() != kNs) {
    return std::nullopt;
  }
  Node n;
  const std::string* name = e.attr("name");
  if (name == nullptr || name->empty()) {
    return std::nullopt;
  }
  n.name = *name;
  if (!read(e, "created", n.created, parse_num<std::int64_t>) ||
      !read(e, "creator", n.creator, any_string) ||
      !read(e, "next_seq", n.next_seq, parse_num<std::uint64_t>) || n.next_seq == 0) {
    return std::nullopt;
  }
  bool have_config = false;
  for (const xml::Element* c : e.elements()) {
    if (c->xmlns() != kNs) {
      continue;
    }
    if (c->name() == "config") {
      auto config = config_from_xml(*c);
      if (!config || have_config) {
        return std::nullopt;
      }
      n.config = std::move(*config);
      have_config = true;
    } else if (c->name() == "affiliation") {
      auto jid = xmpp::Jid::parse(c->attr_or("jid"));
      auto a = parse_affiliation(c->attr_or("affiliation"));
      if (!jid || !a || *a == Affiliation::kNone) {
        return std::nullopt;
      }
      n.affiliations[jid->bare_str()] = *a;
    } else if (c->name() == "subscription") {
      Subscription s;
      auto jid = xmpp::Jid::parse(c->attr_or("jid"));
      auto state = parse_sub_state(c->attr_or("state", "subscribed"));
      if (!jid || !state) {
        return std::nullopt;
      }
      s.jid = std::move(*jid);
      s.state = *state;
      if (!read(*c, "subid", s.subid, any_string) ||
          !read(*c, "deliver", s.options.deliver, parse_bool01) ||
          !read(*c, "include_body", s.options.include_body, parse_bool01) ||
          !read(*c, "expire", s.options.expire, parse_num<std::int64_t>)) {
        return std::nullopt;
      }
      for (const xml::Element* show : c->elements()) {
        if (show->name() == "show") {
          s.options.show_values.push_back(show->text());
        }
      }
      n.subscriptions.push_back(std::move(s));
    }
  }
  if (!have_config) {
    return std::nullopt;
  }
  return n;
}

xml::Element item_to_xml(const Item& item) {
  xml::Element e("item", std::string(kNs));
  e.set_attr("id", item.id);
  e.set_attr("publisher", item.publisher);
  e.set_attr("published", std::to_string(item.published));
  e.set_attr("seq", std::to_string(item.seq));
  if (item.payload) {
    e.add_child(*item.payload);
  }
  return e;
}

std::optional<Item> item_from_xml(const xml::Element& e) {
  if (e.name() != "item" || e.xmlns() != kNs) {
    return std::nullopt;
  }
  Item item;
  const std::string* id = e.attr("id");
  if (id == nullptr || id->empty()) {
    return std::nullopt;
  }
  item.id = *id;
  if (!read(e, "publisher", item.publisher, any_string) ||
      !read(e, "published", item.published, parse_num<std::int64_t>) ||
      !read(e, "seq", item.seq, parse_num<std::uint64_t>)) {
    return std::nullopt;
  }
  auto children = e.elements();
  if (children.size() > 1) {
    return std::nullopt;
  }
  if (!children.empty()) {
    item.payload = *children.front();
  }
  return item;
}

}  // namespace starling::pubsub
