#include "modules/xep0054_vcard/avatar.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules::vcard {
namespace {

xml::Element parse(const std::string& s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

std::string photo_text(const xml::Element& presence) {
  const xml::Element* x = presence.child("x", kUpdateNs);
  EXPECT_NE(x, nullptr);
  const xml::Element* p = x ? x->child("photo", kUpdateNs) : nullptr;
  EXPECT_NE(p, nullptr);
  return p ? p->text() : "";
}

const char* kHash = "01b87fcd030b72895ff8e88db57ec525450f000d";

TEST(Sha1, KnownVectors) {
  // RFC 3174 §7.3 test 1.
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(PhotoOf, HashOfTheDecodedBinvalIgnoringWhitespace) {
  // "abc" is YWJj in base64; XEP-0153 §4.6 #5: line breaks in BINVAL are ignored.
  auto v = parse(
      "<vCard xmlns='vcard-temp'><FN>J</FN><PHOTO><TYPE>image/png</TYPE>"
      "<BINVAL>\n  YW\r\nJj \n</BINVAL></PHOTO></vCard>");
  Photo p = photo_of(v);
  EXPECT_EQ(p.kind, Photo::Kind::kHash);
  EXPECT_EQ(p.hash, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(PhotoOf, NoPhotoEmptyBinvalExternalAndInvalid) {
  EXPECT_EQ(photo_of(parse("<vCard xmlns='vcard-temp'><FN>J</FN></vCard>")).kind,
            Photo::Kind::kNone);
  EXPECT_EQ(photo_of(parse("<vCard xmlns='vcard-temp'><PHOTO><BINVAL> </BINVAL></PHOTO>"
                           "</vCard>")).kind,
            Photo::Kind::kNone);
  EXPECT_EQ(photo_of(parse("<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>http://x/a.png</EXTVAL>"
                           "</PHOTO></vCard>")).kind,
            Photo::Kind::kExternal);
  EXPECT_EQ(photo_of(parse("<vCard xmlns='vcard-temp'><PHOTO><BINVAL>not base64!</BINVAL>"
                           "</PHOTO></vCard>")).kind,
            Photo::Kind::kInvalid);
}

TEST(Decorate, AddsTheHashToAPresenceWithoutUpdate) {
  // XEP-0398 §4 Examples 4 and 5.
  auto out = decorate(parse("<presence xmlns='jabber:client'><show>away</show></presence>"), kHash);
  ASSERT_TRUE(out);
  EXPECT_EQ(photo_text(*out), kHash);
  EXPECT_EQ(out->child_text("show"), "away");
}

TEST(Decorate, NoImageAndNoUpdateElementStaysAsItIs) {
  EXPECT_FALSE(decorate(parse("<presence xmlns='jabber:client'/>"), ""));
}

TEST(Decorate, EmptyPhotoIsNotTouched) {
  // XEP-0398 §4 Examples 6 and 7.
  auto p = parse("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo/></x>"
                 "</presence>");
  EXPECT_FALSE(decorate(p, kHash));
  EXPECT_FALSE(decorate(p, ""));
}

TEST(Decorate, EmptyUpdateIsOverwritten) {
  auto p = parse("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'/></presence>");
  auto out = decorate(p, kHash);
  ASSERT_TRUE(out);
  EXPECT_EQ(photo_text(*out), kHash);
  out = decorate(p, "");
  ASSERT_TRUE(out);
  EXPECT_EQ(photo_text(*out), "");  // the server knows there is no image (XEP-0153 §4.1 #3)
}

TEST(Decorate, TheSameHashInAnyCaseStays) {
  auto p = parse(std::string("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'>"
                             "<photo>01B87FCD030B72895FF8E88DB57EC525450F000D</photo></x>"
                             "</presence>"));
  EXPECT_FALSE(decorate(p, kHash));
}

TEST(Decorate, AStaleHashIsReplacedOnce) {
  auto p = parse(
      "<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo>aaaa</photo></x>"
      "<x xmlns='vcard-temp:x:update'/><status>hi</status></presence>");
  auto out = decorate(p, kHash);
  ASSERT_TRUE(out);
  int updates = 0;
  for (const auto* c : out->elements()) {
    updates += c->name() == "x" && c->xmlns() == kUpdateNs;
  }
  EXPECT_EQ(updates, 1);
  EXPECT_EQ(photo_text(*out), kHash);
  EXPECT_EQ(out->child_text("status"), "hi");
}

TEST(Decorate, OnlyAvailablePresence) {
  EXPECT_FALSE(decorate(parse("<presence xmlns='jabber:client' type='unavailable'/>"), kHash));
  EXPECT_FALSE(decorate(parse("<message xmlns='jabber:client'/>"), kHash));
}

}  // namespace
}  // namespace starling::modules::vcard
