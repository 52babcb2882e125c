#include "modules/rfc6121_roster/subscription.hpp"

namespace starling::modules::roster {
namespace {

Subscription with_from(Subscription s, bool on) {
  bool to = has_to(s);
  if (on) {
    return to ? Subscription::kBoth : Subscription::kFrom;
  }
  return to ? Subscription::kTo : Subscription::kNone;
}

Subscription with_to(Subscription s, bool on) {
  bool from = has_from(s);
  if (on) {
    return from ? Subscription::kBoth : Subscription::kTo;
  }
  return from ? Subscription::kFrom : Subscription::kNone;
}

}  // namespace

std::optional<SubType> parse_sub_type(std::string_view type) {
  if (type == "subscribe") {
    return SubType::kSubscribe;
  }
  if (type == "subscribed") {
    return SubType::kSubscribed;
  }
  if (type == "unsubscribe") {
    return SubType::kUnsubscribe;
  }
  if (type == "unsubscribed") {
    return SubType::kUnsubscribed;
  }
  return std::nullopt;
}

std::string_view to_string(SubType t) {
  switch (t) {
    case SubType::kSubscribe:
      return "subscribe";
    case SubType::kSubscribed:
      return "subscribed";
    case SubType::kUnsubscribe:
      return "unsubscribe";
    case SubType::kUnsubscribed:
      return "unsubscribed";
  }
  return "";
}

SubOutcome outbound(SubType t, SubState s) {
  SubOutcome o{false, s, std::nullopt};
  switch (t) {
    case SubType::kSubscribe:
      // Table 2: always routed; "pending out" unless already subscribed to the contact.
      o.forward = true;
      if (!has_to(s.sub)) {
        o.next.pending_out = true;
      }
      break;
    case SubType::kUnsubscribe:
      // Table 3: always routed; cancels "to" and "pending out".
      o.forward = true;
      o.next.pending_out = false;
      o.next.sub = with_to(s.sub, false);
      break;
    case SubType::kSubscribed:
      // Table 4 and §3.4.2.
      if (s.pending_in) {
        o.forward = true;  // an approval: "None + Pending In" -> "From" and so on
        o.next.pending_in = false;
        o.next.approved = false;
        o.next.sub = with_from(s.sub, true);
      } else if (!has_from(s.sub)) {
        o.next.approved = true;  // pre-approval; MUST NOT be routed
      }
      break;
    case SubType::kUnsubscribed:
      // Table 5 and §3.2.2: a denial, a cancellation, or the cancellation of a pre-approval.
      o.forward = s.pending_in || has_from(s.sub);
      o.next.pending_in = false;
      o.next.approved = false;
      o.next.sub = with_from(s.sub, false);
      break;
  }
  return o;
}

SubOutcome inbound(SubType t, SubState s) {
  SubOutcome o{false, s, std::nullopt};
  switch (t) {
    case SubType::kSubscribe:
      // Table 6 and §3.1.3.
      if (has_from(s.sub)) {
        o.auto_reply = SubType::kSubscribed;  // [2]: already subscribed
      } else if (s.approved) {
        // §3.4.2: pre-approved, so approved on the user's behalf ([1] of Table 6).
        o.auto_reply = SubType::kSubscribed;
        o.next.approved = false;
        o.next.pending_in = false;
        o.next.sub = with_from(s.sub, true);
      } else if (!s.pending_in) {
        o.forward = true;
        o.next.pending_in = true;
      }
      break;
    case SubType::kUnsubscribe:
      // Table 7: the contact no longer wants the user's presence.
      if (s.pending_in || has_from(s.sub)) {
        o.forward = true;
        o.auto_reply = SubType::kUnsubscribed;
        o.next.pending_in = false;
        o.next.sub = with_from(s.sub, false);
      }
      break;
    case SubType::kSubscribed:
      // Table 8: only an answer to the user's pending request changes anything.
      if (s.pending_out) {
        o.forward = true;
        o.next.pending_out = false;
        o.next.sub = with_to(s.sub, true);
      }
      break;
    case SubType::kUnsubscribed:
      // Table 9: a denial of the user's request or a cancellation of the user's subscription.
      if (s.pending_out || has_to(s.sub)) {
        o.forward = true;
        o.next.pending_out = false;
        o.next.sub = with_to(s.sub, false);
      }
      break;
  }
  return o;
}

}  // namespace starling::modules::roster
