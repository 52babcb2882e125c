// Every row of RFC 6121 Appendix A, tables 2 to 9, plus the pre-approval rules of §3.4.2.
#include "modules/rfc6121_roster/subscription.hpp"

#include <gtest/gtest.h>

namespace starling::modules::roster {
namespace {

using S = Subscription;

// The nine states of Appendix A.1, by their names in the RFC.
SubState st(std::string_view name) {
  if (name == "None") return {S::kNone, false, false, false};
  if (name == "None + Pending Out") return {S::kNone, true, false, false};
  if (name == "None + Pending In") return {S::kNone, false, true, false};
  if (name == "None + Pending Out+In") return {S::kNone, true, true, false};
  if (name == "To") return {S::kTo, false, false, false};
  if (name == "To + Pending In") return {S::kTo, false, true, false};
  if (name == "From") return {S::kFrom, false, false, false};
  if (name == "From + Pending Out") return {S::kFrom, true, false, false};
  if (name == "Both") return {S::kBoth, false, false, false};
  ADD_FAILURE() << "unknown state " << name;
  return {};
}

struct Row {
  const char* existing;
  bool forward;
  const char* next;  // nullptr: no state change
};

void check_table(SubOutcome (*fn)(SubType, SubState), SubType t, const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    SubOutcome o = fn(t, st(r.existing));
    EXPECT_EQ(o.forward, r.forward) << to_string(t) << " in " << r.existing;
    SubState want = r.next ? st(r.next) : st(r.existing);
    EXPECT_EQ(o.next, want) << to_string(t) << " in " << r.existing << " -> "
                            << (r.next ? r.next : "no change");
  }
}

TEST(Subscription, Table2OutboundSubscribe) {
  check_table(outbound, SubType::kSubscribe,
              {{"None", true, "None + Pending Out"},
               {"None + Pending Out", true, nullptr},
               {"None + Pending In", true, "None + Pending Out+In"},
               {"None + Pending Out+In", true, nullptr},
               {"To", true, nullptr},
               {"To + Pending In", true, nullptr},
               {"From", true, "From + Pending Out"},
               {"From + Pending Out", true, nullptr},
               {"Both", true, nullptr}});
}

TEST(Subscription, Table3OutboundUnsubscribe) {
  check_table(outbound, SubType::kUnsubscribe,
              {{"None", true, nullptr},
               {"None + Pending Out", true, "None"},
               {"None + Pending In", true, nullptr},
               {"None + Pending Out+In", true, "None + Pending In"},
               {"To", true, "None"},
               {"To + Pending In", true, "None + Pending In"},
               {"From", true, nullptr},
               {"From + Pending Out", true, "From"},
               {"Both", true, "From"}});
}

TEST(Subscription, Table4OutboundSubscribed) {
  // Rows marked "pre-approval" are checked separately below.
  check_table(outbound, SubType::kSubscribed,
              {{"None + Pending In", true, "From"},
               {"None + Pending Out+In", true, "From + Pending Out"},
               {"To + Pending In", true, "Both"},
               {"From", false, nullptr},
               {"From + Pending Out", false, nullptr},
               {"Both", false, nullptr}});
}

TEST(Subscription, PreApprovalSection342) {
  for (const char* name : {"None", "None + Pending Out", "To"}) {
    SubOutcome o = outbound(SubType::kSubscribed, st(name));
    EXPECT_FALSE(o.forward) << name;  // §3.4.2 #3, #4: MUST NOT route
    SubState want = st(name);
    want.approved = true;
    EXPECT_EQ(o.next, want) << name;
  }
  // A pre-approved contact's request is answered by the server (§3.4.2, Table 6 [1]).
  SubState approved = st("None");
  approved.approved = true;
  SubOutcome o = inbound(SubType::kSubscribe, approved);
  EXPECT_FALSE(o.forward);
  EXPECT_EQ(o.auto_reply, SubType::kSubscribed);
  EXPECT_EQ(o.next, st("From"));
  approved = st("To");
  approved.approved = true;
  EXPECT_EQ(inbound(SubType::kSubscribe, approved).next, st("Both"));
  // "unsubscribed" cancels a pre-approval without being routed (Table 5 [1], §3.2.2 #2).
  approved = st("None + Pending Out");
  approved.approved = true;
  o = outbound(SubType::kUnsubscribed, approved);
  EXPECT_FALSE(o.forward);
  EXPECT_EQ(o.next, st("None + Pending Out"));
}

TEST(Subscription, Table5OutboundUnsubscribed) {
  check_table(outbound, SubType::kUnsubscribed,
              {{"None", false, nullptr},
               {"None + Pending Out", false, nullptr},
               {"None + Pending In", true, "None"},
               {"None + Pending Out+In", true, "None + Pending Out"},
               {"To", false, nullptr},
               {"To + Pending In", true, "To"},
               {"From", true, "None"},
               {"From + Pending Out", true, "None + Pending Out"},
               {"Both", true, "To"}});
}

TEST(Subscription, Table6InboundSubscribe) {
  check_table(inbound, SubType::kSubscribe,
              {{"None", true, "None + Pending In"},
               {"None + Pending Out", true, "None + Pending Out+In"},
               {"None + Pending In", false, nullptr},
               {"None + Pending Out+In", false, nullptr},
               {"To", true, "To + Pending In"},
               {"To + Pending In", false, nullptr},
               {"From", false, nullptr},
               {"From + Pending Out", false, nullptr},
               {"Both", false, nullptr}});
  // [2]: the server answers "subscribed" for a contact that is already subscribed.
  for (const char* name : {"From", "From + Pending Out", "Both"}) {
    EXPECT_EQ(inbound(SubType::kSubscribe, st(name)).auto_reply, SubType::kSubscribed) << name;
  }
  EXPECT_FALSE(inbound(SubType::kSubscribe, st("None")).auto_reply);
}

TEST(Subscription, Table7InboundUnsubscribe) {
  check_table(inbound, SubType::kUnsubscribe,
              {{"None", false, nullptr},
               {"None + Pending Out", false, nullptr},
               {"None + Pending In", true, "None"},
               {"None + Pending Out+In", true, "None + Pending Out"},
               {"To", false, nullptr},
               {"To + Pending In", true, "To"},
               {"From", true, "None"},
               {"From + Pending Out", true, "None + Pending Out"},
               {"Both", true, "To"}});
  EXPECT_EQ(inbound(SubType::kUnsubscribe, st("Both")).auto_reply, SubType::kUnsubscribed);
}

TEST(Subscription, Table8InboundSubscribed) {
  check_table(inbound, SubType::kSubscribed,
              {{"None", false, nullptr},
               {"None + Pending Out", true, "To"},
               {"None + Pending In", false, nullptr},
               {"None + Pending Out+In", true, "To + Pending In"},
               {"To", false, nullptr},
               {"To + Pending In", false, nullptr},
               {"From", false, nullptr},
               {"From + Pending Out", true, "Both"},
               {"Both", false, nullptr}});
}

TEST(Subscription, Table9InboundUnsubscribed) {
  check_table(inbound, SubType::kUnsubscribed,
              {{"None", false, nullptr},
               {"None + Pending Out", true, "None"},
               {"None + Pending In", false, nullptr},
               {"None + Pending Out+In", true, "None + Pending In"},
               {"To", true, "None"},
               {"To + Pending In", true, "None + Pending In"},
               {"From", false, nullptr},
               {"From + Pending Out", true, "From"},
               {"Both", true, "From"}});
}

TEST(Subscription, ParsesTypes) {
  EXPECT_EQ(parse_sub_type("subscribe"), SubType::kSubscribe);
  EXPECT_EQ(parse_sub_type("unsubscribed"), SubType::kUnsubscribed);
  EXPECT_FALSE(parse_sub_type("probe"));
  EXPECT_FALSE(parse_sub_type(""));
}

}  // namespace
}  // namespace starling::modules::roster
