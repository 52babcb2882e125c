#pragma once
// XEP-0060 forms (jabber:x:data, XEP-0004): pubsub#node_config (§16.4.4) for configure, create
// and default; publish-options preconditions (§7.1.5); subscribe_options (§16.4.2); the
// meta-data form of disco#info (§5.4, §16.4.3); subscribe_authorization (§8.6, §16.4.1).
#include <optional>
#include <string>
#include <variant>

#include "modules/xep0060_pubsub/engine.hpp"
#include "modules/xep0060_pubsub/node.hpp"
#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

namespace starling::pubsub {

// The node_config form (type 'form', FORM_TYPE pubsub#node_config) showing `config`: every
// field NodeConfig has, with options for list-single fields. "max" max_items shows as "max".
xml::Element config_form(const NodeConfig& config, const Limits& limits);
// Applies a submitted node_config form (type 'submit'; a 'cancel' form changes nothing) on top
// of `base`. Unknown fields, bad values, max_items above the limit: bad-request / not-acceptable
// with text naming the field.
std::variant<NodeConfig, xmpp::StanzaError> apply_config_form(NodeConfig base,
                                                              const xml::Element& form,
                                                              const Limits& limits);
// §7.1.5: whether the node's configuration satisfies every field of a publish-options form
// (FORM_TYPE pubsub#publish-options): nullopt when it does, else conflict +
// <precondition-not-met/>. A field the service does not know is not met.
std::optional<xmpp::StanzaError> check_preconditions(const NodeConfig& config,
                                                     const xml::Element& form,
                                                     const Limits& limits);
// The subscribe_options form (§6.3) of a subscription, and applying a submitted one.
xml::Element subscribe_options_form(const SubOptions& options);
std::variant<SubOptions, xmpp::StanzaError> apply_subscribe_options(SubOptions base,
                                                                    const xml::Element& form);
// The §5.4 meta-data form (type 'result', FORM_TYPE pubsub#meta_data) of a node.
xml::Element meta_data_form(const Node& node);
// The §8.6 authorization request form sent to owners.
xml::Element authorization_form(const Node& node, const Subscription& sub);

}  // namespace starling::pubsub
