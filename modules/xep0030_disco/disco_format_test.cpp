#include "modules/xep0030_disco/disco_format.hpp"

#include <gtest/gtest.h>

#include "xmpp/namespaces.hpp"

namespace starling::modules::disco {
namespace {

// XEP-0030 example 3 shape: identities then features.
TEST(DiscoFormat, InfoQuery) {
  auto q = info_query({{"server", "im", "Starling"}}, {"urn:a", "urn:b"});
  EXPECT_EQ(q.xmlns(), ns::kDiscoInfo);
  EXPECT_EQ(q.attr("node"), nullptr);
  auto children = q.elements();
  ASSERT_EQ(children.size(), 3u);
  EXPECT_EQ(children[0]->name(), "identity");
  EXPECT_EQ(children[0]->attr_or("category"), "server");
  EXPECT_EQ(children[0]->attr_or("name"), "Starling");
  EXPECT_EQ(children[1]->attr_or("var"), "urn:a");
  EXPECT_EQ(children[2]->attr_or("var"), "urn:b");
}

// XEP-0030 example 11 (JID+node result): the node is mirrored, disco#info is always a feature;
// XEP-0128: the form follows the features.
TEST(DiscoFormat, NodeInfoMirrorsNodeAndAddsDiscoInfoAndForms) {
  module::DiscoInfo info;
  info.identities = {{"automation", "message-list", ""}, {"automation", "message-list", ""}};
  info.features = {"http://jabber.org/protocol/offline"};
  info.forms.emplace_back("x", "jabber:x:data");
  auto q = node_info_query("http://jabber.org/protocol/offline", info);
  EXPECT_EQ(q.attr_or("node"), "http://jabber.org/protocol/offline");
  auto children = q.elements();
  ASSERT_EQ(children.size(), 4u);
  EXPECT_EQ(children[0]->name(), "identity");
  EXPECT_EQ(children[0]->attr("name"), nullptr);  // empty name left out
  EXPECT_EQ(children[1]->attr_or("var"), ns::kDiscoInfo);
  EXPECT_EQ(children[2]->attr_or("var"), "http://jabber.org/protocol/offline");
  EXPECT_EQ(children[3]->name(), "x");
  EXPECT_EQ(children[3]->xmlns(), "jabber:x:data");
}

// XEP-0013 example 5 shape: jid, node and name per item, in the given order; §4.2 node mirrored.
TEST(DiscoFormat, ItemsQuery) {
  auto q = items_query("n", {{"romeo@montague.net", "2", "juliet@capulet.com/balcony"},
                             {"romeo@montague.net", "1", ""}});
  EXPECT_EQ(q.xmlns(), ns::kDiscoItems);
  EXPECT_EQ(q.attr_or("node"), "n");
  auto children = q.elements();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0]->attr_or("jid"), "romeo@montague.net");
  EXPECT_EQ(children[0]->attr_or("node"), "2");
  EXPECT_EQ(children[0]->attr_or("name"), "juliet@capulet.com/balcony");
  EXPECT_EQ(children[1]->attr_or("node"), "1");
  EXPECT_EQ(children[1]->attr("name"), nullptr);
}

// An empty node result is an empty query, not an error (XEP-0030 §7 last paragraph).
TEST(DiscoFormat, EmptyItems) {
  auto q = items_query("n", {});
  EXPECT_TRUE(q.elements().empty());
}

}  // namespace
}  // namespace starling::modules::disco
