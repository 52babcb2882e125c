// XEP-0060 engine: dispatch and §5-§7. (Stub: pubsub-engine replaces it.)
#include "modules/xep0060_pubsub/engine.hpp"

#include "modules/xep0060_pubsub/pubsub_ns.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
using module::IqResult;
using xmpp::StanzaError;

StanzaError pubsub_error(std::string condition, std::string app_condition, std::string text) {
  StanzaError e{xmpp::ErrorType::kCancel, std::move(condition), std::move(text)};
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

NodeService::NodeService(Host& host, Options options) : host_(host), options_(std::move(options)) {}

void NodeService::restore(Node node) {
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
  for (const auto& [_, n] : nodes_) {
    out.push_back(&n);
  }
  return out;
}

asio::awaitable<IqResult> NodeService::handle(xml::Element, xmpp::Jid) {
  co_return StanzaError::feature_not_implemented();
}
asio::awaitable<void> NodeService::handle_message(xml::Element, xmpp::Jid) { co_return; }
asio::awaitable<module::DiscoInfoResult> NodeService::disco_info(std::string, xmpp::Jid) {
  co_return StanzaError::item_not_found();
}
asio::awaitable<module::DiscoItemsResult> NodeService::disco_items(std::string, xmpp::Jid) {
  co_return std::vector<module::DiscoItem>{};
}
asio::awaitable<void> NodeService::send_last_items(xmpp::Jid,
                                                   std::function<bool(std::string_view)>) {
  co_return;
}
std::vector<std::string> NodeService::features(bool) { return {std::string(ns::kPubsub)}; }

}  // namespace starling::pubsub

namespace starling::pubsub {

// Skeleton versions of the shared helpers (pubsub-engine replaces them).
Affiliation NodeService::affiliation(const Node& node, const xmpp::Jid& who) const {
  if ((options_.pep && who.bare_str() == options_.jid.bare_str()) ||
      host_.is_admin(xmpp::Jid::parse(who.bare_str()).value_or(who))) {
    return Affiliation::kOwner;
  }
  return node.affiliation_of(who);
}

asio::awaitable<std::optional<StanzaError>> NodeService::check_access(std::string, xmpp::Jid) {
  co_return std::nullopt;
}

asio::awaitable<void> NodeService::notify(std::string node, xml::Element event) {
  const Node* n = find(node);
  if (n == nullptr) {
    co_return;
  }
  for (const Subscription& s : n->subscriptions) {
    if (s.state != SubState::kSubscribed || !s.options.deliver) {
      continue;
    }
    xml::Element m("message", "jabber:client");
    m.set_attr("from", options_.jid.str());
    m.set_attr("to", s.jid.str());
    m.add_child("event", std::string(ns::kEvent)).add_child(event);
    host_.send(std::move(m));
  }
}

}  // namespace starling::pubsub
