#pragma once
// XEP-0048 bookmarks in private storage <-> XEP-0402 PEP bookmarks (XEP-0402 §5.3
// "Compatibility", XEP-0411): converting one form into the other.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xml/element.hpp"

namespace starling::modules::bookmarks {

inline constexpr std::string_view kLegacyNs = "storage:bookmarks";        // XEP-0048
inline constexpr std::string_view kNode = "urn:xmpp:bookmarks:1";          // XEP-0402
inline constexpr std::string_view kCompat = "urn:xmpp:bookmarks:1#compat";  // XEP-0402 §5.3
inline constexpr std::string_view kConversion = "urn:xmpp:bookmarks-conversion:0";  // XEP-0411

// The XEP-0402 items of a legacy <storage xmlns='storage:bookmarks'/>: (room JID = item id,
// <conference xmlns='urn:xmpp:bookmarks:1'/>), one per room (a later duplicate wins), in order.
// Conferences without a valid JID are left out.
std::vector<std::pair<std::string, xml::Element>> to_pep(const xml::Element& storage);

// The legacy <storage/> for XEP-0402 items (id, <conference/> payload): `base` (the stored
// legacy fragment, e.g. with <url/> bookmarks) without its conferences, then one <conference
// jid=id/> per item.
xml::Element to_legacy(const xml::Element& base,
                       const std::vector<std::pair<std::string, const xml::Element*>>& items);

// <pubsub xmlns='http://jabber.org/protocol/pubsub'> requests on the XEP-0402 node.
xml::Element items_request(std::string_view node);
// Publish `payload` as item `id` with the publish-options XEP-0402 §3.3 (or XEP-0048 §3.3 for
// the legacy node) requires: persist_items, access_model whitelist, and for XEP-0402 max_items
// max and send_last_published_item never.
xml::Element publish_request(std::string_view node, const std::string& id, xml::Element payload);
xml::Element retract_request(std::string_view node, const std::string& id);

}  // namespace starling::modules::bookmarks
