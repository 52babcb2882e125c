#pragma once
// XEP-0045 room configuration as data forms: the muc#roomconfig form (§10.1.3, §10.2, §15.5.3)
// built from a RoomConfig and a submission applied to one, and the status codes a change
// announces (§10.2.1). Pure functions, used by room_admin.cpp (owner use cases).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "modules/xep0045_muc/room.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/stanza.hpp"

namespace starling::muc {

inline constexpr std::string_view kRoomConfigFormType = "http://jabber.org/protocol/muc#roomconfig";

// The service's bounds on what an owner may choose.
struct ConfigLimits {
  std::size_t max_occupants = 1000;  // upper bound of muc#roomconfig_maxusers
  std::size_t max_history = 50;      // upper bound of muc#maxhistoryfetch
};

// The room's affiliation lists as the form shows them (bare JIDs).
struct AdminLists {
  std::vector<std::string> admins;
  std::vector<std::string> owners;
};

// The configuration form (type "form") with the current values as defaults. `room` names the
// room in the title.
xmpp::dataform::Form config_form(const RoomConfig& config, const AdminLists& lists,
                                 std::string_view room, const ConfigLimits& limits);

// A submitted configuration, applied to the current one. The admin and owner lists are set only
// when the submission has the field (each is the full list, §15.5.3; bare JIDs, no duplicates, a
// JID in both lists is an owner).
struct ConfigChange {
  RoomConfig config;
  std::optional<std::vector<std::string>> admins;
  std::optional<std::vector<std::string>> owners;
};

// Applies a submission (type "submit") to `current`. Errors: bad-request when it is not a
// submission or its FORM_TYPE is another; not-acceptable for a value the form does not allow
// (XEP-0004 §3.3, XEP-0122) or that breaks a service policy (§10.1.3: a password-protected room
// without a password, more users than the service allows); conflict when the owner list would be
// empty (§10.2: a room MUST keep an owner). Fields the form does not have are ignored.
std::variant<ConfigChange, xmpp::StanzaError> apply_config_form(
    const xmpp::dataform::Form& submitted, const RoomConfig& current, const ConfigLimits& limits);

// §10.2.1: the status codes that announce a change from `before` to `after`: 170/171 (logging
// enabled/disabled), 172/173 (now non-anonymous/semi-anonymous), and 104 for any other change.
// (174, fully anonymous, is never produced: whois "none" is deprecated and not offered.)
std::vector<int> config_change_codes(const RoomConfig& before, const RoomConfig& after);

}  // namespace starling::muc
