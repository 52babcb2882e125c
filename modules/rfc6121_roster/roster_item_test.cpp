#include "modules/rfc6121_roster/roster_item.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::roster {
namespace {

xml::Element query(const std::string& inner) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element("<query xmlns='jabber:iq:roster'>" + inner + "</query>", e));
  return e;
}

std::string condition(const std::variant<SetRequest, xmpp::StanzaError>& r) {
  auto* e = std::get_if<xmpp::StanzaError>(&r);
  return e ? e->condition : "";
}

TEST(RosterItem, StoredFormRoundTripsWithVersion) {
  RosterItem i;
  i.jid = "nurse@example.com";
  i.name = "Nurse <&>";
  i.subscription = Subscription::kFrom;
  i.ask = true;
  i.groups = {"Servants", "Family"};
  i.ver = 42;
  auto back = parse_stored(to_stored(i));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->jid, i.jid);
  EXPECT_EQ(back->name, i.name);
  EXPECT_EQ(back->subscription, Subscription::kFrom);
  EXPECT_TRUE(back->ask);
  EXPECT_EQ(back->groups, i.groups);
  EXPECT_EQ(back->ver, 42u);
  EXPECT_FALSE(parse_stored("<garbage").has_value());
}

TEST(RosterItem, WireFormHasNoVersion) {
  RosterItem i;
  i.jid = "a@b";
  i.ver = 7;
  xml::Element e = to_wire(i);
  EXPECT_EQ(e.attr("ver"), nullptr);
  EXPECT_EQ(e.attr_or("subscription"), "none");
}

// RFC 6121 §2.1.5 example: <item jid='nurse@example.com'/>
TEST(ParseSet, Rfc6121Example) {
  auto r = parse_set(query("<item jid='nurse@example.com'/>"), "juliet@example.com");
  ASSERT_TRUE(std::holds_alternative<SetRequest>(r));
  EXPECT_EQ(std::get<SetRequest>(r).jid, "nurse@example.com");
  EXPECT_FALSE(std::get<SetRequest>(r).remove);
}

// §2.3.3 error cases, in the order the RFC lists them.
TEST(ParseSet, ErrorCases) {
  const std::string me = "juliet@example.com";
  EXPECT_EQ(condition(parse_set(query("<item jid='a@b'/><item jid='c@d'/>"), me)), "bad-request");
  EXPECT_EQ(condition(parse_set(query(""), me)), "bad-request");
  EXPECT_EQ(
      condition(parse_set(query("<item jid='a@b' name='" + std::string(1024, 'n') + "'/>"), me)),
      "not-acceptable");
  EXPECT_EQ(
      condition(parse_set(query("<item jid='a@b'><group>x</group><group>x</group></item>"), me)),
      "bad-request");
  EXPECT_EQ(condition(parse_set(query("<item jid='a@b'><group></group></item>"), me)),
            "not-acceptable");
  EXPECT_EQ(condition(parse_set(
                query("<item jid='a@b'><group>" + std::string(1024, 'g') + "</group></item>"), me)),
            "not-acceptable");
  EXPECT_EQ(condition(parse_set(query("<item/>"), me)), "bad-request");
  EXPECT_EQ(condition(parse_set(query("<item jid='a@b@c'/>"), me)), "jid-malformed");
  EXPECT_EQ(condition(parse_set(query("<item jid='Juliet@Example.com'/>"), me)), "not-allowed");
}

TEST(ParseSet, OnlyRemoveMattersInSubscription) {
  auto r = parse_set(query("<item jid='a@b' subscription='both'/>"), "me@x");
  ASSERT_TRUE(std::holds_alternative<SetRequest>(r));
  EXPECT_FALSE(std::get<SetRequest>(r).remove);
  auto rm = parse_set(query("<item jid='A@B' subscription='remove'/>"), "me@x");
  ASSERT_TRUE(std::holds_alternative<SetRequest>(rm));
  EXPECT_TRUE(std::get<SetRequest>(rm).remove);
  EXPECT_EQ(std::get<SetRequest>(rm).jid, "a@b");  // prepared
}

}  // namespace
}  // namespace starling::modules::roster
