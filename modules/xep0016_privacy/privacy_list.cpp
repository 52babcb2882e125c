#include "modules/xep0016_privacy/privacy_list.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace starling::modules::privacy {

using xmpp::StanzaError;

namespace {

std::optional<roster::Subscription> subscription_value(std::string_view v) {
  if (v == "none") return roster::Subscription::kNone;
  if (v == "to") return roster::Subscription::kTo;
  if (v == "from") return roster::Subscription::kFrom;
  if (v == "both") return roster::Subscription::kBoth;
  return std::nullopt;
}

bool matches(const PrivacyItem& item, const RosterView& roster, const xmpp::Jid& other) {
  switch (item.type) {
    case PrivacyItem::Type::kAll:
      return true;
    case PrivacyItem::Type::kJid:
      return jid_matches(item.value, other);
    case PrivacyItem::Type::kGroup: {
      auto it = roster.find(other.bare_str());
      return it != roster.end() && std::find(it->second.groups.begin(), it->second.groups.end(),
                                             item.value) != it->second.groups.end();
    }
    case PrivacyItem::Type::kSubscription: {
      // "none" includes entities that are not in the roster at all (§2.1).
      auto it = roster.find(other.bare_str());
      roster::Subscription s = it == roster.end() ? roster::Subscription::kNone
                                                  : it->second.subscription;
      return subscription_value(item.value) == s;
    }
  }
  return false;
}

}  // namespace

std::variant<PrivacyList, StanzaError> parse_list(const xml::Element& e) {
  PrivacyList list;
  list.name = std::string(e.attr_or("name"));
  if (list.name.empty()) {
    return StanzaError::bad_request("A list needs a name");
  }
  std::set<std::uint32_t> orders;
  for (const xml::Element* i : e.elements()) {
    if (i->name() != "item" || i->xmlns() != kPrivacyNs) {
      return StanzaError::bad_request("Unexpected element in a list");
    }
    PrivacyItem item;
    std::string_view action = i->attr_or("action");
    if (action != "allow" && action != "deny") {
      return StanzaError::bad_request("An item's action is 'allow' or 'deny'");  // §2.1
    }
    item.allow = action == "allow";
    std::string_view order = i->attr_or("order");
    auto r = std::from_chars(order.data(), order.data() + order.size(), item.order);
    if (order.empty() || r.ec != std::errc() || r.ptr != order.data() + order.size()) {
      return StanzaError::bad_request("An item's order is a non-negative integer");
    }
    if (!orders.insert(item.order).second) {
      return StanzaError::bad_request("Order values must be unique");  // §2.1
    }
    std::string_view type = i->attr_or("type");
    item.value = std::string(i->attr_or("value"));
    if (type.empty()) {
      item.type = PrivacyItem::Type::kAll;
      item.value.clear();
    } else if (type == "jid") {
      item.type = PrivacyItem::Type::kJid;
      auto j = xmpp::Jid::parse(item.value);
      if (!j) {
        return StanzaError::bad_request("Not a JID: " + item.value);
      }
      item.value = j->str();
    } else if (type == "group") {
      item.type = PrivacyItem::Type::kGroup;
      if (item.value.empty()) {
        return StanzaError::bad_request("A group item needs a value");
      }
    } else if (type == "subscription") {
      item.type = PrivacyItem::Type::kSubscription;
      if (!subscription_value(item.value)) {
        return StanzaError::bad_request("A subscription is none, to, from or both");
      }
    } else {
      return StanzaError::bad_request("Unknown item type");
    }
    for (const xml::Element* k : i->elements()) {
      if (k->name() == "message") {
        item.kinds |= kMessage;
      } else if (k->name() == "iq") {
        item.kinds |= kIq;
      } else if (k->name() == "presence-in") {
        item.kinds |= kPresenceIn;
      } else if (k->name() == "presence-out") {
        item.kinds |= kPresenceOut;
      } else {
        return StanzaError::bad_request("Unknown stanza kind in an item");
      }
    }
    list.items.push_back(std::move(item));
  }
  std::sort(list.items.begin(), list.items.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  return list;
}

xml::Element to_element(const PrivacyList& list) {
  xml::Element e("list", std::string(kPrivacyNs));
  e.set_attr("name", list.name);
  for (const auto& item : list.items) {
    auto& i = e.add_child("item", std::string(kPrivacyNs));
    switch (item.type) {
      case PrivacyItem::Type::kAll:
        break;
      case PrivacyItem::Type::kJid:
        i.set_attr("type", "jid");
        break;
      case PrivacyItem::Type::kGroup:
        i.set_attr("type", "group");
        break;
      case PrivacyItem::Type::kSubscription:
        i.set_attr("type", "subscription");
        break;
    }
    if (item.type != PrivacyItem::Type::kAll) {
      i.set_attr("value", item.value);
    }
    i.set_attr("action", item.allow ? "allow" : "deny");
    i.set_attr("order", std::to_string(item.order));
    if (item.kinds & kMessage) i.add_child("message", std::string(kPrivacyNs));
    if (item.kinds & kIq) i.add_child("iq", std::string(kPrivacyNs));
    if (item.kinds & kPresenceIn) i.add_child("presence-in", std::string(kPrivacyNs));
    if (item.kinds & kPresenceOut) i.add_child("presence-out", std::string(kPrivacyNs));
  }
  return e;
}

bool jid_matches(const std::string& value, const xmpp::Jid& jid) {
  auto rule = xmpp::Jid::parse(value);
  if (!rule || rule->domain() != jid.domain()) {
    return false;
  }
  if (!rule->local().empty()) {
    if (rule->local() != jid.local()) {
      return false;
    }
    return rule->resource().empty() || rule->resource() == jid.resource();
  }
  if (!rule->resource().empty()) {
    return jid.local().empty() && rule->resource() == jid.resource();
  }
  return true;  // the domain: itself and every JID at it
}

bool denies(const PrivacyList& list, const RosterView& roster, std::uint8_t kind,
            const xmpp::Jid& other) {
  for (const auto& item : list.items) {
    if (item.kinds != 0 && (item.kinds & kind) == 0) {
      continue;
    }
    if (matches(item, roster, other)) {
      return !item.allow;  // §2.2: the first match decides
    }
  }
  return false;
}

bool denies_outbound_other(const PrivacyList& list, const RosterView& roster,
                           const xmpp::Jid& other) {
  for (const auto& item : list.items) {
    if (item.kinds == 0 && matches(item, roster, other)) {
      return !item.allow;
    }
  }
  return false;
}

bool is_block_item(const PrivacyItem& item) {
  return item.type == PrivacyItem::Type::kJid && !item.allow && item.kinds == 0;
}

std::vector<std::string> blocked_jids(const PrivacyList& list) {
  std::vector<std::string> out;
  for (const auto& item : list.items) {
    if (is_block_item(item)) {
      out.push_back(item.value);
    }
  }
  return out;
}

void block(PrivacyList& list, const std::vector<std::string>& jids) {
  std::vector<PrivacyItem> front;
  auto already = blocked_jids(list);
  for (const auto& j : jids) {
    if (std::find(already.begin(), already.end(), j) == already.end()) {
      already.push_back(j);
      front.push_back({PrivacyItem::Type::kJid, j, false, 0, 0});
    }
  }
  // XEP-0191 §5: blocked items come first.
  list.items.insert(list.items.begin(), front.begin(), front.end());
  std::uint32_t order = 0;
  for (auto& item : list.items) {
    item.order = order++;
  }
}

void unblock(PrivacyList& list, const std::vector<std::string>& jids) {
  std::erase_if(list.items, [&](const PrivacyItem& item) {
    return is_block_item(item) &&
           (jids.empty() || std::find(jids.begin(), jids.end(), item.value) != jids.end());
  });
}

}  // namespace starling::modules::privacy
