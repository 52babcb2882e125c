// XEP-0048 <-> XEP-0402 bookmark conversion.
#include "modules/xep0049_private/bookmarks.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules::bookmarks {
namespace {

xml::Element parse(const std::string& s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

// XEP-0048 Example 3 (a conference and a URL), in the XEP-0402 form of its Example 2.
TEST(Bookmarks, LegacyStorageBecomesOneItemPerRoom) {
  auto storage = parse(
      "<storage xmlns='storage:bookmarks'>"
      "<conference name='Council of Oberon' autojoin='1' jid='council@conference.underhill.org'>"
      "<nick>Puck</nick><password>secret</password></conference>"
      "<url name='Complete Works' url='http://the-tech.mit.edu/Shakespeare/'/>"
      "<conference jid='not a jid@@'/>"
      "<conference jid='orchard@conference.shakespeare.lit' autojoin='false'/>"
      "<conference jid='council@conference.underhill.org' name='again'/>"
      "</storage>");
  auto items = to_pep(storage);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].first, "orchard@conference.shakespeare.lit");
  EXPECT_EQ(xml::to_string(items[0].second),
            "<conference xmlns='urn:xmpp:bookmarks:1'/>");
  // A later duplicate wins.
  EXPECT_EQ(items[1].first, "council@conference.underhill.org");
  EXPECT_EQ(items[1].second.attr_or("name"), "again");
  auto first = to_pep(parse(
      "<storage xmlns='storage:bookmarks'><conference name='C' autojoin='1' jid='c@m.example'>"
      "<nick>Puck</nick><password>secret</password></conference></storage>"));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(xml::to_string(first[0].second),
            "<conference xmlns='urn:xmpp:bookmarks:1' name='C' autojoin='true'><nick>Puck</nick>"
            "<password>secret</password></conference>");
}

TEST(Bookmarks, ItemsBecomeLegacyStorageKeepingUrls) {
  auto base = parse(
      "<storage xmlns='storage:bookmarks'><conference jid='old@m.example'/>"
      "<url name='W' url='http://example.org/'/></storage>");
  auto conf = parse(
      "<conference xmlns='urn:xmpp:bookmarks:1' name='The Play' autojoin='true'>"
      "<nick>JC</nick><extensions><x xmlns='urn:example'/></extensions></conference>");
  auto out = to_legacy(base, {{"theplay@conference.shakespeare.lit", &conf}});
  EXPECT_EQ(xml::to_string(out),
            "<storage xmlns='storage:bookmarks'><url name='W' url='http://example.org/'/>"
            "<conference jid='theplay@conference.shakespeare.lit' name='The Play' "
            "autojoin='true'><nick>JC</nick></conference></storage>");
}

TEST(Bookmarks, PublishCarriesTheRequiredPublishOptions) {
  auto p = publish_request(kNode, "r@m.example", xml::Element("conference", std::string(kNode)));
  std::string s = xml::to_string(p);
  for (const char* field : {"pubsub#persist_items", "pubsub#max_items", "pubsub#access_model",
                            "pubsub#send_last_published_item", "whitelist", "never", "max",
                            "pubsub#publish-options", "id='r@m.example'"}) {
    EXPECT_NE(s.find(field), std::string::npos) << field << " in " << s;
  }
  auto r = retract_request(kNode, "r@m.example");
  EXPECT_EQ(xml::to_string(r),
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract "
            "node='urn:xmpp:bookmarks:1' notify='true'><item id='r@m.example'/></retract>"
            "</pubsub>");
}

}  // namespace
}  // namespace starling::modules::bookmarks
