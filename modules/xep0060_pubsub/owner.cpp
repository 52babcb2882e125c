// XEP-0060 §8 owner use cases. (Stub: pubsub-owner replaces it.)
#include "modules/xep0060_pubsub/engine.hpp"

namespace starling::pubsub {

boost::asio::awaitable<module::IqResult> NodeService::create(xml::Element, xmpp::Jid) {
  co_return unsupported("create-nodes");
}
boost::asio::awaitable<module::IqResult> NodeService::owner(xml::Element, bool, xmpp::Jid) {
  co_return xmpp::StanzaError::feature_not_implemented();
}
boost::asio::awaitable<void> NodeService::authorization(xml::Element, xmpp::Jid) { co_return; }

}  // namespace starling::pubsub

namespace starling::pubsub {

boost::asio::awaitable<std::variant<std::string, xmpp::StanzaError>> NodeService::add_node(
    std::string name, xmpp::Jid creator, NodeConfig config) {
  // Skeleton (pubsub-owner replaces it): no limits, no storage.
  if (name.empty() || nodes_.contains(name)) {
    co_return xmpp::StanzaError::conflict();
  }
  Node n;
  n.name = name;
  n.config = std::move(config);
  n.created = host_.now();
  n.creator = creator.bare_str();
  n.affiliations[creator.bare_str()] = Affiliation::kOwner;
  nodes_.emplace(name, std::move(n));
  co_return name;
}

}  // namespace starling::pubsub
