#include "modules/rfc6121_roster/roster_item.hpp"

#include <charconv>

#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/jid.hpp"

namespace starling::modules::roster {

std::string_view to_string(Subscription s) {
  switch (s) {
    case Subscription::kNone:
      return "none";
    case Subscription::kTo:
      return "to";
    case Subscription::kFrom:
      return "from";
    case Subscription::kBoth:
      return "both";
  }
  return "none";
}

namespace {
std::optional<Subscription> subscription_from(std::string_view s) {
  if (s.empty() || s == "none") {
    return Subscription::kNone;
  }
  if (s == "to") {
    return Subscription::kTo;
  }
  if (s == "from") {
    return Subscription::kFrom;
  }
  if (s == "both") {
    return Subscription::kBoth;
  }
  return std::nullopt;
}

xml::Element item_element(const RosterItem& item) {
  xml::Element e("item", std::string(kRosterNs));
  e.set_attr("jid", item.jid);
  if (!item.name.empty()) {
    e.set_attr("name", item.name);
  }
  e.set_attr("subscription", std::string(to_string(item.subscription)));
  if (item.ask) {
    e.set_attr("ask", "subscribe");
  }
  if (item.approved) {
    e.set_attr("approved", "true");
  }
  for (const auto& g : item.groups) {
    e.add_child("group", std::string(kRosterNs)).add_text(g);
  }
  return e;
}
}  // namespace

xml::Element to_wire(const RosterItem& item) { return item_element(item); }

std::string to_stored(const RosterItem& item) {
  xml::Element e = item_element(item);
  e.set_attr("ver", std::to_string(item.ver));
  return xml::to_string(e);
}

std::optional<RosterItem> parse_stored(const std::string& value) {
  xml::Element e;
  if (!xml::parse_element(value, e) || e.name() != "item") {
    return std::nullopt;
  }
  RosterItem item;
  item.jid = std::string(e.attr_or("jid"));
  item.name = std::string(e.attr_or("name"));
  auto sub = subscription_from(e.attr_or("subscription"));
  if (item.jid.empty() || !sub) {
    return std::nullopt;
  }
  item.subscription = *sub;
  item.ask = e.attr_or("ask") == "subscribe";
  item.approved = e.attr_or("approved") == "true";
  std::string_view ver = e.attr_or("ver");
  std::from_chars(ver.data(), ver.data() + ver.size(), item.ver);
  for (const auto* g : e.elements()) {
    if (g->name() == "group") {
      item.groups.push_back(g->text());
    }
  }
  return item;
}

std::variant<SetRequest, xmpp::StanzaError> parse_set(const xml::Element& query,
                                                      const std::string& own_bare) {
  auto children = query.elements();
  // §2.1.5 rule 1 and §2.3.3: one and only one <item/>.
  if (children.size() != 1 || children[0]->name() != "item" || children[0]->xmlns() != kRosterNs) {
    return xmpp::StanzaError::bad_request("A roster set contains exactly one <item/>");
  }
  const xml::Element& item = *children[0];
  const std::string* jid_attr = item.attr("jid");
  if (jid_attr == nullptr) {
    return xmpp::StanzaError::bad_request("The item needs a 'jid' attribute");  // §2.1.2.3
  }
  auto jid = xmpp::Jid::parse(*jid_attr);
  if (!jid) {
    return xmpp::StanzaError::jid_malformed();
  }
  SetRequest req;
  req.jid = jid->str();
  // §2.1.2.5: in a roster set only subscription='remove' means anything.
  if (item.attr_or("subscription") == "remove") {
    req.remove = true;
    return req;
  }
  if (req.jid == own_bare) {
    // §2.3.3 interoperability note: the account itself is not a contact.
    return xmpp::StanzaError{xmpp::ErrorType::kCancel, "not-allowed",
                             "The account cannot be in its own roster"};
  }
  req.name = std::string(item.attr_or("name"));
  if (req.name.size() > kMaxNameBytes) {
    return xmpp::StanzaError{xmpp::ErrorType::kModify, "not-acceptable", "The name is too long"};
  }
  std::vector<std::string> compare_keys;
  for (const auto* g : item.elements()) {
    if (g->name() != "group" || g->xmlns() != kRosterNs) {
      continue;
    }
    std::string text = g->text();
    if (text.empty()) {
      return xmpp::StanzaError{xmpp::ErrorType::kModify, "not-acceptable",
                               "A group name cannot be empty"};
    }
    if (text.size() > kMaxGroupBytes) {
      return xmpp::StanzaError{xmpp::ErrorType::kModify, "not-acceptable",
                               "A group name is too long"};
    }
    // §2.3.3: duplicates compared as resourceparts are (RFC 7622 OpaqueString).
    std::string key = xmpp::prep_resourcepart(text).value_or(text);
    for (const auto& k : compare_keys) {
      if (k == key) {
        return xmpp::StanzaError::bad_request("Duplicate group");
      }
    }
    compare_keys.push_back(std::move(key));
    req.groups.push_back(std::move(text));
  }
  return req;
}

}  // namespace starling::modules::roster
