#pragma once
// XEP-0045 namespaces and small helpers shared by the files of the MUC module.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::muc {

inline constexpr std::string_view kMucNs = "http://jabber.org/protocol/muc";
inline constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view kMucAdminNs = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view kMucOwnerNs = "http://jabber.org/protocol/muc#owner";
inline constexpr std::string_view kMucRequestNs = "http://jabber.org/protocol/muc#request";
inline constexpr std::string_view kMucRoomInfoNs = "http://jabber.org/protocol/muc#roominfo";
inline constexpr std::string_view kMucRoomConfigNs = "http://jabber.org/protocol/muc#roomconfig";
inline constexpr std::string_view kMucSelfPingOptimization =
    "http://jabber.org/protocol/muc#self-ping-optimization";  // XEP-0410 §3.2
inline constexpr std::string_view kRegisterNs = "jabber:iq:register";
inline constexpr std::string_view kDelayNs = "urn:xmpp:delay";

// A nickname enforced by the RFC 8266 nickname profile; nullopt when nothing is left or it is
// not a valid resourcepart (-> jid-malformed).
std::optional<std::string> prepare_nick(std::string_view raw);
// The form in which two nicks are compared (RFC 8266 §2.3).
std::string nick_key(std::string_view nick);

}  // namespace starling::muc
