#include "modules/xep0079_amp/amp_rules.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::amp {
namespace {

using Kind = module::MessageDelivery::Kind;

RuleSet parse_xml(std::string_view s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return parse(e);
}

std::string amp(std::string_view rules, std::string_view attrs = "") {
  return "<amp xmlns='http://jabber.org/protocol/amp'" + std::string(attrs) + ">" +
         std::string(rules) + "</amp>";
}

// XEP-0079 example 3 (§2.2): a valid expire-at rule.
TEST(AmpRules, ParsesExample3) {
  auto set =
      parse_xml(amp("<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>"));
  ASSERT_TRUE(set.ok()) << set.problem;
  ASSERT_EQ(set.rules.size(), 1u);
  EXPECT_EQ(set.rules[0].action, Action::kDrop);
  EXPECT_EQ(set.rules[0].condition, Condition::kExpireAt);
  EXPECT_EQ(set.rules[0].expire_at, 1072915200);
  EXPECT_FALSE(set.per_hop);
}

// §6: unsupported actions and conditions, and malformed rules, are all collected.
TEST(AmpRules, CollectsEveryRuleAtIssue) {
  auto set =
      parse_xml(amp("<rule condition='deliver' action='explode' value='direct'/>"
                    "<rule condition='sunny' action='drop' value='yes'/>"
                    "<rule condition='deliver' action='drop' value='somewhere'/>"
                    "<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00+01:00'/>"
                    "<rule condition='deliver' action='drop'/>"
                    "<rule condition='match-resource' action='drop' value='exact'/>"));
  EXPECT_FALSE(set.ok());
  ASSERT_EQ(set.unsupported_actions.size(), 1u);
  EXPECT_EQ(set.unsupported_actions[0].attr_or("action"), "explode");
  ASSERT_EQ(set.unsupported_conditions.size(), 1u);
  EXPECT_EQ(set.unsupported_conditions[0].attr_or("condition"), "sunny");
  EXPECT_EQ(set.invalid.size(), 3u);  // bad deliver value, non-UTC time, missing value
  EXPECT_EQ(set.rules.size(), 1u);
}

TEST(AmpRules, WholeElementProblems) {
  EXPECT_FALSE(parse_xml(amp("")).problem.empty());  // §4.1: one or more rules
  EXPECT_FALSE(parse_xml(amp("<rule condition='deliver' action='drop' value='none'/>",
                             " status='alert'"))
                   .problem.empty());  // §4.1: no status from a client
  EXPECT_FALSE(
      parse_xml(amp("<rule condition='deliver' action='drop' value='none'/>", " per-hop='maybe'"))
          .problem.empty());
}

TEST(AmpRules, UtcDateTimes) {
  EXPECT_EQ(parse_utc_datetime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc_datetime("2004-09-10T08:33:14.123Z"), 1094805194);
  EXPECT_FALSE(parse_utc_datetime("2004-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_utc_datetime("2004-09-10T08:33:14"));
  EXPECT_FALSE(parse_utc_datetime("2004-09-10 08:33:14Z"));
  EXPECT_FALSE(parse_utc_datetime("2004-09-10T08:33:14.Z"));
  EXPECT_FALSE(parse_utc_datetime("2004-09-10T10:33:14+02:00"));  // §3.4.2: must be UTC
  EXPECT_FALSE(parse_utc_datetime(""));
}

// §2.2.3: rules in order; the first met acts.
TEST(AmpRules, FirstMetRuleInOrder) {
  auto set =
      parse_xml(amp("<rule condition='deliver' action='alert' value='stored'/>"
                    "<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>"
                    "<rule condition='deliver' action='error' value='direct'/>"));
  module::MessageDelivery direct{Kind::kDirect, {"laptop"}};
  module::MessageDelivery stored{Kind::kStored, {}};
  EXPECT_EQ(first_met(set, stored, "", 2000000000)->action, Action::kAlert);
  EXPECT_EQ(first_met(set, direct, "", 2000000000)->action, Action::kDrop);   // expired
  EXPECT_EQ(first_met(set, direct, "", 1000000000)->action, Action::kError);  // not yet
  module::MessageDelivery none{Kind::kNone, {}};
  EXPECT_EQ(first_met(set, none, "", 1000000000), nullptr);
}

// §3.4.3 match-resource, including the rules for a 'to' without a resource.
TEST(AmpRules, MatchResource) {
  auto exact = parse_xml(amp("<rule condition='match-resource' action='drop' value='exact'/>"));
  auto other = parse_xml(amp("<rule condition='match-resource' action='drop' value='other'/>"));
  auto any = parse_xml(amp("<rule condition='match-resource' action='drop' value='any'/>"));
  module::MessageDelivery to_pda{Kind::kDirect, {"pda"}};
  module::MessageDelivery to_laptop{Kind::kDirect, {"laptop"}};
  module::MessageDelivery stored{Kind::kStored, {}};
  module::MessageDelivery none{Kind::kNone, {}};
  EXPECT_NE(first_met(exact, to_pda, "pda", 0), nullptr);
  EXPECT_EQ(first_met(exact, to_laptop, "pda", 0), nullptr);
  EXPECT_EQ(first_met(other, to_pda, "pda", 0), nullptr);
  EXPECT_NE(first_met(other, to_laptop, "pda", 0), nullptr);  // chat fell back to another
  EXPECT_NE(first_met(any, to_laptop, "pda", 0), nullptr);
  EXPECT_EQ(first_met(any, none, "pda", 0), nullptr);
  // Bare 'to': "exact" only for a destination without a resource (offline storage).
  EXPECT_EQ(first_met(exact, to_laptop, "", 0), nullptr);
  EXPECT_NE(first_met(exact, stored, "", 0), nullptr);
  EXPECT_NE(first_met(other, to_laptop, "", 0), nullptr);
  EXPECT_EQ(first_met(other, stored, "", 0), nullptr);
  // Full 'to' stored offline: the destination has no resource, so it is "other".
  EXPECT_NE(first_met(other, stored, "pda", 0), nullptr);
  // Per-hop rulesets ignore match-resource.
  auto hop = parse_xml(
      amp("<rule condition='match-resource' action='drop' value='any'/>", " per-hop='true'"));
  EXPECT_EQ(first_met(hop, to_pda, "pda", 0), nullptr);
}

}  // namespace
}  // namespace starling::modules::amp
