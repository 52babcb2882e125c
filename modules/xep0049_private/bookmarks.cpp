// XEP-0048 <-> XEP-0402 bookmark conversion (see bookmarks.hpp).
#include "modules/xep0049_private/bookmarks.hpp"

#include <algorithm>

#include "xmpp/jid.hpp"

namespace starling::modules::bookmarks {
namespace {

constexpr std::string_view kPubsub = "http://jabber.org/protocol/pubsub";
constexpr std::string_view kData = "jabber:x:data";

bool truthy(std::string_view v) { return v == "true" || v == "1"; }  // xs:boolean

void add_field(xml::Element& x, std::string var, std::string value, bool hidden = false) {
  auto& f = x.add_child("field", std::string(kData));
  f.set_attr("var", std::move(var));
  if (hidden) {
    f.set_attr("type", "hidden");
  }
  f.add_child("value", std::string(kData)).add_text(std::move(value));
}

// <nick/> and <password/> of a conference, in either namespace, into `to`.
void copy_details(const xml::Element& from, xml::Element& to) {
  for (const char* name : {"nick", "password"}) {
    if (const xml::Element* c = from.child(name, from.xmlns())) {
      to.add_child(name, to.xmlns()).add_text(c->text());
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, xml::Element>> to_pep(const xml::Element& storage) {
  std::vector<std::pair<std::string, xml::Element>> out;
  for (const xml::Element* c : storage.elements()) {
    if (c->name() != "conference" || c->xmlns() != kLegacyNs) {
      continue;
    }
    auto jid = xmpp::Jid::parse(c->attr_or("jid"));
    if (!jid) {
      continue;
    }
    std::string id = jid->str();
    xml::Element conf("conference", std::string(kNode));
    if (const std::string* name = c->attr("name")) {
      conf.set_attr("name", *name);
    }
    if (truthy(c->attr_or("autojoin"))) {
      conf.set_attr("autojoin", "true");
    }
    copy_details(*c, conf);
    std::erase_if(out, [&](const auto& p) { return p.first == id; });
    out.emplace_back(std::move(id), std::move(conf));
  }
  return out;
}

xml::Element to_legacy(const xml::Element& base,
                       const std::vector<std::pair<std::string, const xml::Element*>>& items) {
  xml::Element storage("storage", std::string(kLegacyNs));
  for (const xml::Element& n : base.nodes()) {
    if (!n.is_text() && !(n.name() == "conference" && n.xmlns() == kLegacyNs)) {
      storage.add_child(n);
    }
  }
  for (const auto& [id, payload] : items) {
    auto& c = storage.add_child("conference", std::string(kLegacyNs));
    c.set_attr("jid", id);
    if (payload != nullptr) {
      if (const std::string* name = payload->attr("name")) {
        c.set_attr("name", *name);
      }
      c.set_attr("autojoin", truthy(payload->attr_or("autojoin")) ? "true" : "false");
      copy_details(*payload, c);
    }
  }
  return storage;
}

xml::Element items_request(std::string_view node) {
  xml::Element p("pubsub", std::string(kPubsub));
  p.add_child("items", std::string(kPubsub)).set_attr("node", std::string(node));
  return p;
}

xml::Element publish_request(std::string_view node, const std::string& id, xml::Element payload) {
  xml::Element p("pubsub", std::string(kPubsub));
  auto& publish = p.add_child("publish", std::string(kPubsub));
  publish.set_attr("node", std::string(node));
  auto& item = publish.add_child("item", std::string(kPubsub));
  item.set_attr("id", id);
  item.add_child(std::move(payload));
  auto& x = p.add_child("publish-options", std::string(kPubsub)).add_child("x", std::string(kData));
  x.set_attr("type", "submit");
  add_field(x, "FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options", true);
  add_field(x, "pubsub#persist_items", "true");
  if (node == kNode) {
    add_field(x, "pubsub#max_items", "max");
    add_field(x, "pubsub#send_last_published_item", "never");
  }
  // XEP-0411 §4 / XEP-0402 §3.3: only the user may read its bookmarks.
  add_field(x, "pubsub#access_model", "whitelist");
  return p;
}

xml::Element retract_request(std::string_view node, const std::string& id) {
  xml::Element p("pubsub", std::string(kPubsub));
  auto& r = p.add_child("retract", std::string(kPubsub));
  r.set_attr("node", std::string(node));
  r.set_attr("notify", "true");  // XEP-0402 §3.5: tell the other clients
  r.add_child("item", std::string(kPubsub)).set_attr("id", id);
  return p;
}

}  // namespace starling::modules::bookmarks
