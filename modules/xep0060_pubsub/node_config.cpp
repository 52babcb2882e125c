// XEP-0060 forms. (Stub: pubsub-owner replaces it.)
#include "modules/xep0060_pubsub/node_config.hpp"

#include "modules/xep0060_pubsub/pubsub_ns.hpp"

namespace starling::pubsub {

xml::Element config_form(const NodeConfig&, const Limits&) {
  return xml::Element("x", std::string(ns::kData));
}
std::variant<NodeConfig, xmpp::StanzaError> apply_config_form(NodeConfig base, const xml::Element&,
                                                              const Limits&) {
  return base;
}
std::optional<xmpp::StanzaError> check_preconditions(const NodeConfig&, const xml::Element&,
                                                     const Limits&) {
  return std::nullopt;
}
xml::Element subscribe_options_form(const SubOptions&) {
  return xml::Element("x", std::string(ns::kData));
}
std::variant<SubOptions, xmpp::StanzaError> apply_subscribe_options(SubOptions base,
                                                                    const xml::Element&) {
  return base;
}
xml::Element meta_data_form(const Node&) { return xml::Element("x", std::string(ns::kData)); }
xml::Element authorization_form(const Node&, const Subscription&) {
  return xml::Element("x", std::string(ns::kData));
}

}  // namespace starling::pubsub
