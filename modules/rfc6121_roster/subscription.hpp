#pragma once
// The presence subscription state machine of RFC 6121 Appendix A, as a pure function of the
// current state and the stanza: what the server does with the stanza and the new state.
#include <optional>
#include <string_view>

#include "modules/rfc6121_roster/roster_item.hpp"

namespace starling::modules::roster {

enum class SubType { kSubscribe, kSubscribed, kUnsubscribe, kUnsubscribed };
std::optional<SubType> parse_sub_type(std::string_view type);
std::string_view to_string(SubType t);

// One of the nine states of Appendix A.1 plus the pre-approval flag (§3.4), from the user's
// point of view. A contact that is not in the roster is "None" (A.1 implementation note).
struct SubState {
  Subscription sub = Subscription::kNone;
  bool pending_out = false;  // ask='subscribe'
  bool pending_in = false;   // the contact asked for a subscription, the user has not answered
  bool approved = false;     // the user pre-approved the contact's subscription (§3.4)
  bool operator==(const SubState&) const = default;
};

struct SubOutcome {
  // Outbound: route the stanza to the contact. Inbound: deliver it to the user's resources.
  bool forward = false;
  SubState next;
  // Inbound only: what the server sends back to the contact on the user's behalf.
  std::optional<SubType> auto_reply;
};

// The user sent `t` to the contact (Appendix A.2, §3.4.2).
SubOutcome outbound(SubType t, SubState s);
// The contact sent `t` to the user (Appendix A.3, §3.1.3, §3.4.2).
SubOutcome inbound(SubType t, SubState s);

inline bool has_from(Subscription s) { return s == Subscription::kFrom || s == Subscription::kBoth; }
inline bool has_to(Subscription s) { return s == Subscription::kTo || s == Subscription::kBoth; }

}  // namespace starling::modules::roster
