#include "modules/xep0049_private/private_query.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::private_xml {
namespace {

xml::Element parse(const std::string& s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

std::string condition(const std::variant<Fragments, xmpp::StanzaError>& r) {
  const auto* e = std::get_if<xmpp::StanzaError>(&r);
  return e ? e->condition : "";
}

TEST(PrivateQuery, Example1StoresOneFragment) {
  auto q = parse("<query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'>"
                 "<defaultnick>Hamlet</defaultnick></exodus></query>");
  auto r = check(q, false);
  ASSERT_TRUE(std::holds_alternative<Fragments>(r));
  ASSERT_EQ(std::get<Fragments>(r).size(), 1u);
  EXPECT_EQ(key_of(*std::get<Fragments>(r)[0]), "{exodus:prefs}exodus");
}

TEST(PrivateQuery, Example4EmptyQueryIsNotAcceptable) {
  EXPECT_EQ(condition(check(parse("<query xmlns='jabber:iq:private'/>"), true)), "not-acceptable");
  EXPECT_EQ(condition(check(parse("<query xmlns='jabber:iq:private'>text</query>"), false)),
            "not-acceptable");
}

TEST(PrivateQuery, Example5ReservedNamespaces) {
  EXPECT_EQ(condition(check(parse("<query xmlns='jabber:iq:private'><vCard xmlns='vcard-temp'>"
                                  "<FN>Hamlet</FN></vCard></query>"),
                            false)),
            "not-acceptable");
  EXPECT_EQ(condition(check(parse("<query xmlns='jabber:iq:private'><foo/></query>"), false)),
            "not-acceptable");  // inherits jabber:iq:private
  EXPECT_EQ(condition(check(parse("<query xmlns='jabber:iq:private'>"
                                  "<q xmlns='http://jabber.org/protocol/disco#info'/></query>"),
                            true)),
            "not-acceptable");
  EXPECT_TRUE(reserved("jabber:client"));
  EXPECT_FALSE(reserved("storage:bookmarks"));
  EXPECT_FALSE(reserved("urn:xmpp:jabber:x"));
}

TEST(PrivateQuery, GetOfTwoNamespacesIsABadRequestSetIsFine) {
  auto q = parse("<query xmlns='jabber:iq:private'><a xmlns='x:a'/><b xmlns='x:b'/></query>");
  EXPECT_EQ(condition(check(q, true)), "bad-request");
  EXPECT_TRUE(std::holds_alternative<Fragments>(check(q, false)));
  auto same = parse("<query xmlns='jabber:iq:private'><a xmlns='x:a'/><b xmlns='x:a'/></query>");
  EXPECT_TRUE(std::holds_alternative<Fragments>(check(same, true)));
}

}  // namespace
}  // namespace starling::modules::private_xml
