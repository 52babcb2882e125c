#include "modules/xep0115_caps/caps_hash.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::caps {
namespace {

xml::Element parse(std::string_view s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

// XEP-0115 §5.2 (simple generation example).
TEST(CapsHash, SimpleExample) {
  auto q = parse(
      "<query xmlns='http://jabber.org/protocol/disco#info'>"
      "<identity category='client' type='pc' name='Exodus 0.9.1'/>"
      "<feature var='http://jabber.org/protocol/disco#info'/>"
      "<feature var='http://jabber.org/protocol/disco#items'/>"
      "<feature var='http://jabber.org/protocol/muc'/>"
      "<feature var='http://jabber.org/protocol/caps'/>"
      "</query>");
  auto s = verification_string(q);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s,
            "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
            "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
            "http://jabber.org/protocol/muc<");
  EXPECT_EQ(hash_ver("sha-1", *s), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

// XEP-0115 §5.3 (complex generation example): xml:lang, non-ASCII names, an XEP-0128 form.
TEST(CapsHash, ComplexExample) {
  auto q = parse(
      "<query xmlns='http://jabber.org/protocol/disco#info' "
      "node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>"
      "<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>"
      "<identity xml:lang='el' category='client' name='\xce\xa8 0.11' type='pc'/>"
      "<feature var='http://jabber.org/protocol/caps'/>"
      "<feature var='http://jabber.org/protocol/disco#info'/>"
      "<feature var='http://jabber.org/protocol/disco#items'/>"
      "<feature var='http://jabber.org/protocol/muc'/>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>"
      "<field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>"
      "<field var='os'><value>Mac</value></field>"
      "<field var='os_version'><value>10.5.1</value></field>"
      "<field var='software'><value>Psi</value></field>"
      "<field var='software_version'><value>0.11</value></field>"
      "</x></query>");
  auto s = verification_string(q);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s,
            "client/pc/el/\xce\xa8 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
            "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
            "http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<"
            "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<");
  EXPECT_EQ(hash_ver("sha-1", *s), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

// §5.4 3.3-3.5: ill-formed results are rejected as a whole.
TEST(CapsHash, IllFormedResultsAreRejected) {
  std::string why;
  EXPECT_FALSE(verification_string(
      parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
            "<identity category='client' type='pc'/><identity category='client' type='pc'/>"
            "</query>"),
      &why));
  EXPECT_EQ(why, "duplicate identity");
  EXPECT_FALSE(verification_string(
      parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
            "<identity category='client' type='pc'/><feature var='a'/><feature var='a'/>"
            "</query>"),
      &why));
  EXPECT_EQ(why, "duplicate feature");
  const char* form =
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:x</value></field></x>";
  EXPECT_FALSE(verification_string(
      parse(std::string("<query xmlns='http://jabber.org/protocol/disco#info'>") + form + form +
            "</query>"),
      &why));
  EXPECT_EQ(why, "two forms with the same FORM_TYPE");
  EXPECT_FALSE(verification_string(
      parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
            "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>"
            "<value>urn:a</value><value>urn:b</value></field></x></query>"),
      &why));
  EXPECT_EQ(why, "a FORM_TYPE field has differing values");
}

// §5.4 3.6: a form whose FORM_TYPE is not hidden, or that has none, is ignored.
TEST(CapsHash, FormsWithoutHiddenFormTypeAreIgnored) {
  auto q = parse(
      "<query xmlns='http://jabber.org/protocol/disco#info'>"
      "<identity category='client' type='pc'/>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE'><value>urn:a</value></field><field var='f'><value>1</value></field>"
      "</x><x xmlns='jabber:x:data' type='result'><field var='g'><value>2</value></field></x>"
      "</query>");
  EXPECT_EQ(verification_string(q), "client/pc//<");
}

TEST(CapsHash, HashNames) {
  EXPECT_TRUE(hash_ver("sha-256", "x"));
  EXPECT_FALSE(hash_ver("md5", "x"));
  EXPECT_FALSE(hash_ver("SHA1", "x"));
}

TEST(CapsHash, CapsOfSortsFeatures) {
  auto c = caps_of(parse(
      "<query xmlns='http://jabber.org/protocol/disco#info'>"
      "<identity category='client' type='pc' name='x'/><feature var='urn:b'/>"
      "<feature var='http://jabber.org/protocol/tune+notify'/><feature var='urn:a'/></query>"));
  ASSERT_EQ(c.features.size(), 3u);
  EXPECT_TRUE(c.has_feature("urn:a"));
  EXPECT_TRUE(c.wants_notify("http://jabber.org/protocol/tune"));
  ASSERT_EQ(c.identities.size(), 1u);
  EXPECT_EQ(c.identities[0].category, "client");
}

}  // namespace
}  // namespace starling::modules::caps
