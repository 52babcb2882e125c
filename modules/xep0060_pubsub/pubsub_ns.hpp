#pragma once
// XEP-0060 namespaces and the error conditions of its §7-§8 (module-local).
#include <string_view>

namespace starling::pubsub::ns {

inline constexpr std::string_view kPubsub = "http://jabber.org/protocol/pubsub";
inline constexpr std::string_view kEvent = "http://jabber.org/protocol/pubsub#event";
inline constexpr std::string_view kOwner = "http://jabber.org/protocol/pubsub#owner";
inline constexpr std::string_view kErrors = "http://jabber.org/protocol/pubsub#errors";
inline constexpr std::string_view kNodeConfig = "http://jabber.org/protocol/pubsub#node_config";
inline constexpr std::string_view kPublishOptions =
    "http://jabber.org/protocol/pubsub#publish-options";
inline constexpr std::string_view kSubscribeOptions =
    "http://jabber.org/protocol/pubsub#subscribe_options";
inline constexpr std::string_view kSubscribeAuthorization =
    "http://jabber.org/protocol/pubsub#subscribe_authorization";
inline constexpr std::string_view kMetaData = "http://jabber.org/protocol/pubsub#meta-data";
inline constexpr std::string_view kRsm = "http://jabber.org/protocol/rsm";
inline constexpr std::string_view kShim = "http://jabber.org/protocol/shim";
inline constexpr std::string_view kDelay = "urn:xmpp:delay";
inline constexpr std::string_view kData = "jabber:x:data";
// Feature prefix: "http://jabber.org/protocol/pubsub#" + name (§10 pubsub#features).
inline constexpr std::string_view kFeaturePrefix = "http://jabber.org/protocol/pubsub#";
// XEP-0163 / XEP-0402 / XEP-0411.
inline constexpr std::string_view kBookmarks = "urn:xmpp:bookmarks:1";
inline constexpr std::string_view kBookmarksCompat = "urn:xmpp:bookmarks:1#compat";
inline constexpr std::string_view kBookmarksConversion = "urn:xmpp:bookmarks-conversion:0";
inline constexpr std::string_view kLegacyBookmarks = "storage:bookmarks";

}  // namespace starling::pubsub::ns
