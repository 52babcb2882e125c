#include "modules/xep0160_offline/flexible.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::offline {
namespace {

xml::Element parse(std::string_view s) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

xmpp::Jid jid(std::string_view s) { return *xmpp::Jid::parse(s); }

FlexRequest ok(std::string_view payload, bool is_set) {
  auto r = parse_request(parse(payload), is_set);
  EXPECT_TRUE(std::holds_alternative<FlexRequest>(r)) << payload;
  return std::holds_alternative<FlexRequest>(r) ? std::get<FlexRequest>(r) : FlexRequest{};
}

std::string error(std::string_view payload, bool is_set) {
  auto r = parse_request(parse(payload), is_set);
  EXPECT_TRUE(std::holds_alternative<xmpp::StanzaError>(r)) << payload;
  return std::holds_alternative<xmpp::StanzaError>(r) ? std::get<xmpp::StanzaError>(r).condition
                                                      : "";
}

// XEP-0013 example 6 (view one message).
TEST(FlexRequest, Example6View) {
  auto r =
      ok("<offline xmlns='http://jabber.org/protocol/offline'>"
         "<item action='view' node='2003-02-27T22:52:37.225Z'/></offline>",
         false);
  EXPECT_EQ(r.kind, FlexRequest::Kind::kView);
  EXPECT_EQ(r.nodes, std::vector<std::string>{"2003-02-27T22:52:37.225Z"});
}

// XEP-0013 example 8 (remove two messages); a node named twice counts once.
TEST(FlexRequest, Example8Remove) {
  auto r =
      ok("<offline xmlns='http://jabber.org/protocol/offline'>"
         "<item action='remove' node='2003-02-27T22:49:17.008Z'/>"
         "<item action='remove' node='2003-02-27T22:52:37.225Z'/>"
         "<item action='remove' node='2003-02-27T22:49:17.008Z'/></offline>",
         true);
  EXPECT_EQ(r.kind, FlexRequest::Kind::kRemove);
  EXPECT_EQ(r.nodes,
            (std::vector<std::string>{"2003-02-27T22:49:17.008Z", "2003-02-27T22:52:37.225Z"}));
}

// XEP-0013 examples 10 and 12 (fetch, purge).
TEST(FlexRequest, Examples10And12FetchAndPurge) {
  EXPECT_EQ(
      ok("<offline xmlns='http://jabber.org/protocol/offline'><fetch/></offline>", false).kind,
      FlexRequest::Kind::kFetch);
  EXPECT_EQ(ok("<offline xmlns='http://jabber.org/protocol/offline'><purge/></offline>", true).kind,
            FlexRequest::Kind::kPurge);
}

// COMPAT: slixmpp 1.8.3 sends <fetch/> in an iq set.
TEST(FlexRequest, FetchInASetIsAccepted) {
  EXPECT_EQ(ok("<offline xmlns='http://jabber.org/protocol/offline'><fetch/></offline>", true).kind,
            FlexRequest::Kind::kFetch);
}

TEST(FlexRequest, ForeignChildrenAreIgnored) {
  auto r =
      ok("<offline xmlns='http://jabber.org/protocol/offline'><x xmlns='urn:other'/>"
         "<fetch/></offline>",
         false);
  EXPECT_EQ(r.kind, FlexRequest::Kind::kFetch);
}

TEST(FlexRequest, MalformedRequestsAreBadRequest) {
  const char* ns = "<offline xmlns='http://jabber.org/protocol/offline'>";
  auto req = [ns](std::string inner) { return std::string(ns) + inner + "</offline>"; };
  EXPECT_EQ(error(req(""), false), "bad-request");
  EXPECT_EQ(error(req(""), true), "bad-request");
  EXPECT_EQ(error(req("<purge/>"), false), "bad-request");  // purge is a set
  EXPECT_EQ(error(req("<fetch/><fetch/>"), false), "bad-request");
  EXPECT_EQ(error(req("<fetch/><purge/>"), true), "bad-request");
  EXPECT_EQ(error(req("<purge/><item action='remove' node='1'/>"), true), "bad-request");
  EXPECT_EQ(error(req("<fetch/><item action='view' node='1'/>"), false), "bad-request");
  EXPECT_EQ(error(req("<item action='remove' node='1'/>"), false), "bad-request");
  EXPECT_EQ(error(req("<item action='view' node='1'/>"), true), "bad-request");
  EXPECT_EQ(error(req("<item node='1'/>"), false), "bad-request");
  EXPECT_EQ(error(req("<item action='view'/>"), false), "bad-request");
  EXPECT_EQ(error(req("<item action='view' node=''/>"), false), "bad-request");
  EXPECT_EQ(error(req("<bogus/>"), false), "bad-request");
  EXPECT_EQ(error(req("<x xmlns='urn:other'/>"), false), "bad-request");  // nothing asked
}

// XEP-0013 example 3: FORM_TYPE hidden, number_of_messages.
TEST(FlexPayloads, Example3CountForm) {
  auto x = count_form(66);
  EXPECT_EQ(x.xmlns(), "jabber:x:data");
  EXPECT_EQ(x.attr_or("type"), "result");
  auto fields = x.elements();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0]->attr_or("var"), "FORM_TYPE");
  EXPECT_EQ(fields[0]->attr_or("type"), "hidden");
  EXPECT_EQ(fields[0]->child_text("value", "jabber:x:data"), "http://jabber.org/protocol/offline");
  EXPECT_EQ(fields[1]->attr_or("var"), "number_of_messages");
  EXPECT_EQ(fields[1]->child_text("value", "jabber:x:data"), "66");
}

// XEP-0013 example 5: jid = the user, node = the message id, name = the sender's full JID.
TEST(FlexPayloads, Example5Header) {
  auto m = parse(
      "<message xmlns='jabber:client' from='juliet@capulet.com/balcony' "
      "to='romeo@montague.net'><body>O Romeo</body></message>");
  auto item = header_item(jid("romeo@montague.net"), "00000000000000000007", m);
  EXPECT_EQ(item.jid, "romeo@montague.net");
  EXPECT_EQ(item.node, "00000000000000000007");
  EXPECT_EQ(item.name, "juliet@capulet.com/balcony");
}

// XEP-0013 example 7: the message carries <offline><item node='…'/></offline>.
TEST(FlexPayloads, Example7RetrievedMessage) {
  auto m = parse(
      "<message xmlns='jabber:client' from='juliet@capulet.com/balcony' "
      "to='romeo@montague.net'><body>O Romeo</body>"
      "<delay xmlns='urn:xmpp:delay' from='montague.net' stamp='2003-02-27T22:52:37.225Z'/>"
      "</message>");
  auto out = retrieved_message(m, "00000000000000000002", jid("romeo@montague.net/orchard"));
  EXPECT_EQ(out.attr_or("to"), "romeo@montague.net/orchard");
  EXPECT_EQ(out.attr_or("from"), "juliet@capulet.com/balcony");
  EXPECT_EQ(out.child_text("body"), "O Romeo");
  EXPECT_NE(out.child("delay", "urn:xmpp:delay"), nullptr);
  const xml::Element* off = out.child("offline", "http://jabber.org/protocol/offline");
  ASSERT_NE(off, nullptr);
  const xml::Element* item = off->child("item", "http://jabber.org/protocol/offline");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->attr_or("node"), "00000000000000000002");
}

// XEP-0013 §2.2: no flood for the session that used it, nor for other resources while it lives.
TEST(FlexSessions, FlagIsPerSessionAndCoversOtherResourcesWhileActive) {
  FlexSessions s;
  auto a = jid("romeo@montague.net/a"), b = jid("romeo@montague.net/b");
  auto other = jid("juliet@capulet.com/x");
  s.bound(a);
  s.bound(b);
  s.bound(other);
  EXPECT_FALSE(s.suppress_flood(a));
  EXPECT_FALSE(s.suppress_flood(b));
  s.mark(a);
  EXPECT_TRUE(s.suppress_flood(a));
  EXPECT_TRUE(s.suppress_flood(b));  // another resource while the flexible one is active
  EXPECT_FALSE(s.suppress_flood(other));
  s.closed(a);
  EXPECT_FALSE(s.suppress_flood(b));  // the flexible session ended
  s.bound(a);
  EXPECT_FALSE(s.suppress_flood(a));  // a new session of the same JID starts afresh
  s.closed(a);
  s.closed(b);
  s.closed(other);
  EXPECT_EQ(s.size(), 0u);
}

// A new session replacing one with the same full JID (RFC 6120 §7.7.2.2): the old one's close
// may come after the new one's bind; the new session's state must survive it.
TEST(FlexSessions, ReplacedSessionCloseDoesNotClearTheNewOne) {
  FlexSessions s;
  auto a = jid("romeo@montague.net/a");
  s.bound(a);
  s.mark(a);
  s.bound(a);  // the replacement: starts without the flag
  EXPECT_FALSE(s.suppress_flood(a));
  s.mark(a);
  s.closed(a);  // the replaced session goes away
  EXPECT_TRUE(s.suppress_flood(a));
  EXPECT_EQ(s.size(), 1u);
  s.closed(a);
  EXPECT_EQ(s.size(), 0u);
}

// A request processed after its session closed must not leave state behind.
TEST(FlexSessions, MarkAfterCloseIsIgnored) {
  FlexSessions s;
  auto a = jid("romeo@montague.net/a");
  s.mark(a);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.suppress_flood(a));
  s.closed(a);  // unknown: harmless
  EXPECT_EQ(s.size(), 0u);
}

}  // namespace
}  // namespace starling::modules::offline
