// XEP-0016 privacy list parsing and matching, and the XEP-0191 blocklist mapping.
#include "modules/xep0016_privacy/privacy_list.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::privacy {
namespace {

PrivacyList list_of(const std::string& xml) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(xml, e)) << xml;
  auto r = parse_list(e);
  EXPECT_TRUE(std::holds_alternative<PrivacyList>(r)) << xml;
  return std::holds_alternative<PrivacyList>(r) ? std::get<PrivacyList>(r) : PrivacyList{};
}

std::string error_of(const std::string& xml) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(xml, e)) << xml;
  auto r = parse_list(e);
  return std::holds_alternative<xmpp::StanzaError>(r) ? std::get<xmpp::StanzaError>(r).condition
                                                      : "ok";
}

xmpp::Jid J(const char* s) { return *xmpp::Jid::parse(s); }

constexpr const char* kNs = "xmlns='jabber:iq:privacy'";

TEST(PrivacyList, JidMatchingOrderOfSection21) {
  EXPECT_TRUE(jid_matches("user@domain/resource", J("user@domain/resource")));
  EXPECT_FALSE(jid_matches("user@domain/resource", J("user@domain/other")));
  EXPECT_FALSE(jid_matches("user@domain/resource", J("user@domain")));
  EXPECT_TRUE(jid_matches("user@domain", J("user@domain/any")));
  EXPECT_TRUE(jid_matches("user@domain", J("user@domain")));
  EXPECT_FALSE(jid_matches("user@domain", J("other@domain")));
  EXPECT_TRUE(jid_matches("domain/resource", J("domain/resource")));
  EXPECT_FALSE(jid_matches("domain/resource", J("user@domain/resource")));
  EXPECT_TRUE(jid_matches("domain", J("domain")));
  EXPECT_TRUE(jid_matches("domain", J("user@domain/r")));
  EXPECT_TRUE(jid_matches("domain", J("domain/r")));
  EXPECT_FALSE(jid_matches("domain", J("user@other")));
}

TEST(PrivacyList, ParsesExample10AndRoundTrips) {
  // XEP-0016 Example 10 ("public" list), trimmed.
  auto l = list_of(std::string("<list ") + kNs + " name='public'>"
                   "<item type='jid' value='tybalt@example.com' action='deny' order='1'/>"
                   "<item action='allow' order='2'/></list>");
  ASSERT_EQ(l.items.size(), 2u);
  EXPECT_EQ(l.items[0].type, PrivacyItem::Type::kJid);
  EXPECT_FALSE(l.items[0].allow);
  EXPECT_EQ(l.items[1].type, PrivacyItem::Type::kAll);
  auto again = parse_list(to_element(l));
  ASSERT_TRUE(std::holds_alternative<PrivacyList>(again));
  EXPECT_EQ(std::get<PrivacyList>(again), l);
}

TEST(PrivacyList, RejectsWhatSection21Forbids) {
  std::string open = std::string("<list ") + kNs + " name='x'>";
  EXPECT_EQ(error_of(open + "<item action='deny' order='1'/><item action='allow' order='1'/>"
                            "</list>"),
            "bad-request");  // duplicate order
  EXPECT_EQ(error_of(open + "<item order='1'/></list>"), "bad-request");           // no action
  EXPECT_EQ(error_of(open + "<item action='deny'/></list>"), "bad-request");       // no order
  EXPECT_EQ(error_of(open + "<item action='deny' order='-1'/></list>"), "bad-request");
  EXPECT_EQ(error_of(open + "<item type='color' value='x' action='deny' order='1'/></list>"),
            "bad-request");
  EXPECT_EQ(error_of(open + "<item type='subscription' value='half' action='deny' order='1'/>"
                            "</list>"),
            "bad-request");
  EXPECT_EQ(error_of(open + "<item type='jid' value='a@b@c' action='deny' order='1'/></list>"),
            "bad-request");
  EXPECT_EQ(error_of(std::string("<list ") + kNs + "><item action='deny' order='1'/></list>"),
            "bad-request");  // no name
}

TEST(PrivacyList, FirstMatchByOrderDecides) {
  // Items are applied in ascending order whatever their document order (§2.2).
  auto l = list_of(std::string("<list ") + kNs + " name='x'>"
                   "<item action='deny' order='20'/>"
                   "<item type='jid' value='friend@example.com' action='allow' order='10'/>"
                   "</list>");
  RosterView none;
  EXPECT_FALSE(denies(l, none, kMessage, J("friend@example.com/phone")));
  EXPECT_TRUE(denies(l, none, kMessage, J("stranger@example.com")));
}

TEST(PrivacyList, StanzaKindsOfSection21) {
  auto l = list_of(std::string("<list ") + kNs + " name='x'>"
                   "<item type='jid' value='a@x' action='deny' order='1'><message/></item>"
                   "<item type='jid' value='b@x' action='deny' order='2'><presence-out/></item>"
                   "<item type='jid' value='c@x' action='deny' order='3'/></list>");
  RosterView none;
  EXPECT_TRUE(denies(l, none, kMessage, J("a@x")));
  EXPECT_FALSE(denies(l, none, kIq, J("a@x")));
  EXPECT_FALSE(denies(l, none, kPresenceIn, J("a@x")));
  EXPECT_FALSE(denies_outbound_other(l, none, J("a@x")));  // only inbound messages
  EXPECT_TRUE(denies(l, none, kPresenceOut, J("b@x")));
  EXPECT_FALSE(denies(l, none, kPresenceIn, J("b@x")));
  // No child: everything, both ways.
  EXPECT_TRUE(denies(l, none, kIq, J("c@x/r")));
  EXPECT_TRUE(denies(l, none, kPresenceOut, J("c@x")));
  EXPECT_TRUE(denies_outbound_other(l, none, J("c@x")));
}

TEST(PrivacyList, GroupAndSubscriptionUseTheRoster) {
  auto l = list_of(std::string("<list ") + kNs + " name='x'>"
                   "<item type='group' value='Enemies' action='deny' order='1'/>"
                   "<item type='subscription' value='none' action='deny' order='2'/>"
                   "</list>");
  RosterView roster;
  roster["foe@x"] = {roster::Subscription::kBoth, {"Enemies"}};
  roster["pal@x"] = {roster::Subscription::kBoth, {"Friends"}};
  roster["asked@x"] = {roster::Subscription::kNone, {}};
  EXPECT_TRUE(denies(l, roster, kMessage, J("foe@x/r")));
  EXPECT_FALSE(denies(l, roster, kMessage, J("pal@x")));
  EXPECT_TRUE(denies(l, roster, kMessage, J("asked@x")));
  // "none" includes entities that are not in the roster at all.
  EXPECT_TRUE(denies(l, roster, kMessage, J("unknown@x")));
}

TEST(Blocklist, BlockPutsDenyItemsFirstAndUnblockRemovesThem) {
  auto l = list_of(std::string("<list ") + kNs + " name='default'>"
                   "<item type='group' value='G' action='allow' order='5'/></list>");
  block(l, {"romeo@montague.net", "iago@shakespeare.lit"});
  ASSERT_EQ(l.items.size(), 3u);
  EXPECT_TRUE(is_block_item(l.items[0]));
  EXPECT_TRUE(is_block_item(l.items[1]));
  EXPECT_EQ(l.items[2].type, PrivacyItem::Type::kGroup);
  EXPECT_EQ(l.items[2].order, 2u);
  EXPECT_EQ(blocked_jids(l),
            (std::vector<std::string>{"romeo@montague.net", "iago@shakespeare.lit"}));
  block(l, {"romeo@montague.net"});  // already blocked: no duplicate
  EXPECT_EQ(l.items.size(), 3u);
  unblock(l, {"romeo@montague.net"});
  EXPECT_EQ(blocked_jids(l), (std::vector<std::string>{"iago@shakespeare.lit"}));
  unblock(l, {});  // XEP-0191 §3.5: unblock all
  EXPECT_TRUE(blocked_jids(l).empty());
  EXPECT_EQ(l.items.size(), 1u);  // the group item stays
}

}  // namespace
}  // namespace starling::modules::privacy
