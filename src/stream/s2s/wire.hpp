#pragma once
// What s2s streams write outside the element tree: stream headers with the dialback namespace
// declared, and dialback elements with the conventional "db" prefix (XEP-0220 §2.4.1: some
// deployments accept only that prefix).
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace starling::stream::s2s {

inline constexpr std::string_view kDialbackNs = "jabber:server:dialback";
inline constexpr std::string_view kDialbackFeatureNs = "urn:xmpp:features:dialback";

// <?xml?><stream:stream xmlns='jabber:server' xmlns:db=... [id] from to version='1.0'>
std::string stream_header(std::string_view from, std::string_view to, std::string_view id);

// <dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback> (XEP-0220 §2.4.1).
xml::Element dialback_feature();

// <db:NAME from to [type] [id]>text</db:NAME>; with `error_condition`, an <error/> child with
// that stanza error condition (XEP-0220 §2.4).
std::string dialback_element(std::string_view name, std::string_view from, std::string_view to,
                             std::string_view type = {}, std::string_view id = {},
                             std::string_view text = {}, std::string_view error_condition = {},
                             std::string_view error_type = "cancel");

}  // namespace starling::stream::s2s
