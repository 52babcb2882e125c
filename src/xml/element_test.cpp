#include "xml/element.hpp"

#include <gtest/gtest.h>

namespace starling::xml {
namespace {

TEST(Element, AttributesSetReplaceRemove) {
  Element e("message", "jabber:client");
  EXPECT_EQ(e.attr("to"), nullptr);
  EXPECT_EQ(e.attr_or("to", "fallback"), "fallback");
  EXPECT_EQ(e.attr_or("to"), "");

  e.set_attr("to", "a@example.com").set_attr("type", "chat");
  ASSERT_NE(e.attr("to"), nullptr);
  EXPECT_EQ(*e.attr("to"), "a@example.com");
  e.set_attr("to", "b@example.com");  // replaces, keeps position
  ASSERT_EQ(e.attrs().size(), 2u);
  EXPECT_EQ(e.attrs()[0].first, "to");
  EXPECT_EQ(e.attrs()[0].second, "b@example.com");
  EXPECT_EQ(e.attr_or("type"), "chat");

  EXPECT_TRUE(e.remove_attr("to"));
  EXPECT_FALSE(e.remove_attr("to"));
  ASSERT_EQ(e.attrs().size(), 1u);
  EXPECT_EQ(e.attrs()[0].first, "type");

  e.append_attr("xml:lang", "en");
  EXPECT_EQ(e.attr_or("xml:lang"), "en");
}

TEST(Element, TextNodesMerge) {
  Element e("body", "jabber:client");
  e.add_text("hello");
  e.add_text(", ");
  e.append_text("world");
  e.add_text("");  // no empty text nodes
  ASSERT_EQ(e.nodes().size(), 1u);
  EXPECT_TRUE(e.nodes()[0].is_text());
  EXPECT_EQ(e.nodes()[0].text_content(), "hello, world");
  EXPECT_EQ(e.text(), "hello, world");

  e.add_child("b", "jabber:client");
  e.add_text("!");
  ASSERT_EQ(e.nodes().size(), 3u);
  EXPECT_EQ(e.text(), "hello, world!");  // direct text children only, concatenated
  EXPECT_TRUE(e.elements().size() == 1);
}

TEST(Element, ChildLookup) {
  Element iq("iq", "jabber:client");
  iq.add_text("  ");
  Element& q = iq.add_child("query", "jabber:iq:roster");
  q.add_child("item", "jabber:iq:roster").set_attr("jid", "a@b");
  iq.add_child(Element("query", "jabber:iq:version"))
      .add_child("name", "jabber:iq:version")
      .add_text("Starling");

  ASSERT_NE(iq.child("query"), nullptr);
  EXPECT_EQ(iq.child("query")->xmlns(), "jabber:iq:roster");  // any namespace: the first
  ASSERT_NE(iq.child("query", "jabber:iq:version"), nullptr);
  EXPECT_EQ(iq.child("query", "urn:nothing"), nullptr);
  EXPECT_EQ(iq.child("item"), nullptr);  // direct children only
  ASSERT_NE(iq.child_ns("jabber:iq:version"), nullptr);
  EXPECT_EQ(iq.child_ns("jabber:iq:version")->name(), "query");
  EXPECT_EQ(iq.child_ns("urn:nothing"), nullptr);
  EXPECT_EQ(iq.child("query", "jabber:iq:version")->child_text("name"), "Starling");
  EXPECT_EQ(iq.child_text("missing"), "");

  // Mutable lookup.
  Element* mq = iq.child("query", "jabber:iq:roster");
  ASSERT_NE(mq, nullptr);
  mq->set_attr("ver", "1");
  EXPECT_EQ(iq.child("query")->attr_or("ver"), "1");

  auto els = iq.elements();
  ASSERT_EQ(els.size(), 2u);
  EXPECT_EQ(els[0]->xmlns(), "jabber:iq:roster");
  EXPECT_EQ(els[1]->xmlns(), "jabber:iq:version");
}

TEST(Element, TextNodeFactoryAndEquality) {
  Element t = Element::text_node("x");
  EXPECT_TRUE(t.is_text());
  EXPECT_EQ(t.text_content(), "x");
  EXPECT_TRUE(t.name().empty());

  Element a("a", "urn:a");
  a.set_attr("k", "v");
  a.add_text("t");
  Element b = a;
  EXPECT_EQ(a, b);
  b.set_attr("k", "w");
  EXPECT_NE(a, b);
  b = a;
  b.set_xmlns("urn:b");
  EXPECT_NE(a, b);
  b = a;
  b.set_name("b");
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace starling::xml
