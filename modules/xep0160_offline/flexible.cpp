#include "modules/xep0160_offline/flexible.hpp"

#include <algorithm>

namespace starling::modules::offline {

namespace {
constexpr std::string_view kDataNs = "jabber:x:data";

xml::Element field(std::string var, std::string type, std::string value) {
  xml::Element f("field", std::string(kDataNs));
  f.set_attr("var", std::move(var));
  if (!type.empty()) {
    f.set_attr("type", std::move(type));
  }
  f.add_child("value", std::string(kDataNs)).add_text(std::move(value));
  return f;
}
}  // namespace

std::variant<FlexRequest, xmpp::StanzaError> parse_request(const xml::Element& offline,
                                                           bool is_set) {
  using xmpp::StanzaError;
  FlexRequest req;
  req.kind = is_set ? FlexRequest::Kind::kRemove : FlexRequest::Kind::kView;
  bool command = false;  // <fetch/> or <purge/>
  bool items = false;
  const std::string_view action = is_set ? "remove" : "view";
  for (const xml::Element* c : offline.elements()) {
    if (c->xmlns() != kFlexNs) {
      continue;
    }
    // §2.6 <fetch/> in a get, §2.7 <purge/> in a set.
    // COMPAT: slixmpp (1.8.3, XEP_0013.fetch) sends <fetch/> in an iq set; accepted.
    bool fetch = c->name() == "fetch";
    if (fetch || (is_set && c->name() == "purge")) {
      if (command) {
        return StanzaError::bad_request("more than one command");
      }
      command = true;
      req.kind = fetch ? FlexRequest::Kind::kFetch : FlexRequest::Kind::kPurge;
      continue;
    }
    if (c->name() != "item") {
      // <purge/> in a get (XEP-0013 §2.7) or an unknown element.
      return StanzaError::bad_request("unexpected <" + c->name() + "/> in an iq of type " +
                                      (is_set ? "set" : "get"));
    }
    // §2.4, §2.5: view in an iq get, remove in an iq set; 'node' is required (§7 schema).
    if (c->attr_or("action") != action) {
      return StanzaError::bad_request("an item in an iq of type " +
                                      std::string(is_set ? "set" : "get") + " needs action='" +
                                      std::string(action) + "'");
    }
    std::string node(c->attr_or("node"));
    if (node.empty()) {
      return StanzaError::bad_request("an item needs a node");
    }
    items = true;
    if (std::find(req.nodes.begin(), req.nodes.end(), node) == req.nodes.end()) {
      req.nodes.push_back(std::move(node));
    }
  }
  if (command && items) {
    return StanzaError::bad_request("items and a command in one request");
  }
  if (!command && !items) {
    return StanzaError::bad_request(is_set ? "expected <purge/> or items to remove"
                                           : "expected <fetch/> or items to view");
  }
  return req;
}

xml::Element count_form(std::size_t number_of_messages) {
  xml::Element x("x", std::string(kDataNs));
  x.set_attr("type", "result");
  x.add_child(field("FORM_TYPE", "hidden", std::string(kFlexNs)));
  x.add_child(field("number_of_messages", "text-single", std::to_string(number_of_messages)));
  return x;
}

module::DiscoItem header_item(const xmpp::Jid& account, const std::string& key,
                              const xml::Element& stored) {
  return {account.bare_str(), key, std::string(stored.attr_or("from"))};
}

xml::Element retrieved_message(xml::Element stored, const std::string& key,
                               const xmpp::Jid& requester) {
  stored.set_attr("to", requester.str());
  auto& off = stored.add_child("offline", std::string(kFlexNs));
  off.add_child("item", std::string(kFlexNs)).set_attr("node", key);
  return stored;
}

void FlexSessions::bound(const xmpp::Jid& full) {
  std::lock_guard lock(mu_);
  Entry& e = accounts_[full.bare_str()][full.resource()];
  ++e.live;
  e.flexible = false;  // a new session; the one it replaces is going away
}

void FlexSessions::closed(const xmpp::Jid& full) {
  std::lock_guard lock(mu_);
  auto a = accounts_.find(full.bare_str());
  if (a == accounts_.end()) {
    return;
  }
  auto r = a->second.find(full.resource());
  if (r == a->second.end()) {
    return;
  }
  if (--r->second.live <= 0) {
    a->second.erase(r);
    if (a->second.empty()) {
      accounts_.erase(a);
    }
  }
}

void FlexSessions::mark(const xmpp::Jid& full) {
  std::lock_guard lock(mu_);
  auto a = accounts_.find(full.bare_str());
  if (a == accounts_.end()) {
    return;
  }
  auto r = a->second.find(full.resource());
  if (r != a->second.end()) {
    r->second.flexible = true;
  }
}

bool FlexSessions::suppress_flood(const xmpp::Jid& full) const {
  std::lock_guard lock(mu_);
  auto a = accounts_.find(full.bare_str());
  if (a == accounts_.end()) {
    return false;
  }
  return std::any_of(a->second.begin(), a->second.end(),
                     [](const auto& r) { return r.second.flexible; });
}

std::size_t FlexSessions::size() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [_, rs] : accounts_) {
    n += rs.size();
  }
  return n;
}

}  // namespace starling::modules::offline
