// Room logic with a fake host: what the room sends for each XEP-0045 use case.
#include "modules/xep0045_muc/room.hpp"

#include <gtest/gtest.h>

#include "modules/xep0045_muc/muc_ns.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::muc {

class RoomTestAccess {
 public:
  static RoomConfig& config(Room& r) { return r.config_; }
  static std::map<std::string, Affiliation>& affiliations(Room& r) { return r.affiliations_; }
  static std::map<std::string, std::string>& registered(Room& r) { return r.registered_nicks_; }
};

namespace {

using xml::Element;
using xmpp::Jid;

class FakeHost : public RoomHost {
 public:
  void send(Element stanza) override { sent.push_back(std::move(stanza)); }
  void save(const Room&) override { ++saves; }
  void remove(const Room&) override { ++removals; }
  bool is_service_admin(const Jid& bare) const override {
    return bare.bare_str() == "admin@example.org";
  }
  std::int64_t now() const override { return clock; }
  std::size_t max_history() const override { return 50; }
  std::size_t max_occupants() const override { return 100; }

  std::vector<Element> sent;
  int saves = 0, removals = 0;
  std::int64_t clock = 1000000;
};

Element parse(std::string_view s) {
  Element e;
  EXPECT_TRUE(xml::parse_element(s, e)) << s;
  return e;
}

Jid J(std::string_view s) { return *Jid::parse(s); }

std::vector<int> codes(const Element& p) {
  std::vector<int> out;
  if (const Element* x = p.child("x", kMucUserNs)) {
    for (const Element* c : x->elements()) {
      if (c->name() == "status") {
        out.push_back(std::stoi(std::string(c->attr_or("code"))));
      }
    }
  }
  return out;
}

std::string error_of(const Element& s) {
  const Element* e = s.child("error");
  if (e == nullptr) {
    return {};
  }
  for (const Element* c : e->elements()) {
    if (c->xmlns() == "urn:ietf:params:xml:ns:xmpp-stanzas") {
      return c->name();
    }
  }
  return {};
}

class RoomTest : public ::testing::Test {
 protected:
  RoomTest() : room(host, J("room@muc.example.org"), RoomConfig{}) {}

  void join(std::string_view from, std::string_view nick, std::string_view inner = "") {
    std::string xml = "<presence xmlns='jabber:client' from='" + std::string(from) +
                      "' to='room@muc.example.org/" + std::string(nick) +
                      "'><x xmlns='http://jabber.org/protocol/muc'>" + std::string(inner) +
                      "</x></presence>";
    Element p = parse(xml);
    room.handle(p, J(std::string("room@muc.example.org/") + std::string(nick)), J(from));
  }
  void send(std::string_view xml) {
    Element s = parse(xml);
    room.handle(s, J(s.attr_or("to")), J(s.attr_or("from")));
  }
  std::vector<Element> take() { return std::exchange(host.sent, {}); }

  FakeHost host;
  Room room;
};

TEST_F(RoomTest, CreatorGets201AndRoomIsLockedUntilConfigured) {
  room.set_creator(J("owner@example.org/a"));
  join("owner@example.org/a", "Own");
  auto out = take();
  ASSERT_EQ(out.size(), 2u);  // self-presence, subject
  EXPECT_EQ(codes(out[0]), (std::vector<int>{201, 110}));
  EXPECT_EQ(out[0].child("x", kMucUserNs)->child("item")->attr_or("affiliation"), "owner");
  EXPECT_NE(out[1].child("subject"), nullptr);
  EXPECT_TRUE(room.locked());
  join("other@example.org/b", "Other");
  out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(error_of(out[0]), "item-not-found");  // §10.1.1
  room.unlock();
  join("other@example.org/b", "Other");
  out = take();
  // Existing occupant first, then self with 110, then the subject; the owner sees the newcomer.
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].attr_or("from"), "room@muc.example.org/Own");
  EXPECT_EQ(out[0].attr_or("to"), "other@example.org/b");
  EXPECT_EQ(out[1].attr_or("to"), "owner@example.org/a");
  EXPECT_EQ(out[2].attr_or("to"), "other@example.org/b");
  EXPECT_EQ(codes(out[2]), (std::vector<int>{110}));
  EXPECT_EQ(out[3].name(), "message");
}

TEST_F(RoomTest, EntryRefusals) {
  RoomTestAccess::config(room).password_protected = true;
  RoomTestAccess::config(room).password = "pw";
  join("a@example.org/1", "A");
  EXPECT_EQ(error_of(take().at(0)), "not-authorized");
  join("a@example.org/1", "A", "<password>pw</password>");
  EXPECT_EQ(take().size(), 2u);
  RoomTestAccess::affiliations(room)["banned@example.org"] = Affiliation::kOutcast;
  join("banned@example.org/1", "B", "<password>pw</password>");
  EXPECT_EQ(error_of(take().at(0)), "forbidden");
  RoomTestAccess::registered(room)["a@example.org"] = "Reserved";
  join("c@example.org/1", "reserved", "<password>pw</password>");
  EXPECT_EQ(error_of(take().at(0)), "conflict");  // §7.10 + RFC 8266 case folding
  RoomTestAccess::config(room).members_only = true;
  join("c@example.org/1", "C", "<password>pw</password>");
  EXPECT_EQ(error_of(take().at(0)), "registration-required");
  RoomTestAccess::config(room).members_only = false;
  RoomTestAccess::config(room).max_users = 1;
  join("c@example.org/1", "C", "<password>pw</password>");
  EXPECT_EQ(error_of(take().at(0)), "service-unavailable");
  // Service admins are owners and may still enter a full room.
  join("admin@example.org/1", "Boss", "<password>pw</password>");
  auto out = take();
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(error_of(out.back()), "");
}

TEST_F(RoomTest, NickIsNormalizedWith210) {
  join("a@example.org/1", "Spacy   Nick ");
  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].attr_or("from"), "room@muc.example.org/Spacy Nick");
  EXPECT_EQ(codes(out[0]), (std::vector<int>{210, 110}));
}

TEST_F(RoomTest, TwoSessionsOneNick) {
  join("a@example.org/1", "A");
  join("b@example.org/1", "B");
  take();
  join("a@example.org/2", "A");
  auto out = take();
  // Only the new session hears about it: B's presence, its own, the subject.
  ASSERT_EQ(out.size(), 3u);
  for (const Element& e : out) {
    EXPECT_EQ(e.attr_or("to"), "a@example.org/2");
  }
  send("<message xmlns='jabber:client' from='b@example.org/1' to='room@muc.example.org/A' "
       "type='chat'><body>x</body></message>");
  out = take();
  ASSERT_EQ(out.size(), 2u);  // to both sessions
  send("<presence xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org/A' "
       "type='unavailable'/>");
  out = take();
  ASSERT_EQ(out.size(), 1u);  // only that session leaves
  EXPECT_EQ(out[0].attr_or("to"), "a@example.org/1");
  EXPECT_EQ(room.occupant_count(), 2u);
}

TEST_F(RoomTest, ModeratedRoomVisitorsAndVoiceRequest) {
  RoomTestAccess::config(room).moderated = true;
  RoomTestAccess::affiliations(room)["mod@example.org"] = Affiliation::kAdmin;
  join("mod@example.org/1", "Mod");
  join("v@example.org/1", "V");
  take();
  send("<message xmlns='jabber:client' from='v@example.org/1' to='room@muc.example.org' "
       "type='groupchat'><body>x</body></message>");
  EXPECT_EQ(error_of(take().at(0)), "forbidden");
  send("<message xmlns='jabber:client' from='v@example.org/1' to='room@muc.example.org'>"
       "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
       "<value>http://jabber.org/protocol/muc#request</value></field>"
       "<field var='muc#role'><value>participant</value></field></x></message>");
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].attr_or("to"), "mod@example.org/1");
  send("<message xmlns='jabber:client' from='mod@example.org/1' to='room@muc.example.org'>"
       "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
       "<value>http://jabber.org/protocol/muc#request</value></field>"
       "<field var='muc#roomnick'><value>V</value></field>"
       "<field var='muc#request_allow'><value>true</value></field></x></message>");
  take();
  send("<message xmlns='jabber:client' from='v@example.org/1' to='room@muc.example.org' "
       "type='groupchat'><body>now</body></message>");
  EXPECT_EQ(take().size(), 2u);
}

TEST_F(RoomTest, HistoryIsBoundedAndFiltered) {
  RoomTestAccess::config(room).history_length = 3;
  join("a@example.org/1", "A");
  for (int i = 0; i < 5; ++i) {
    host.clock += 10;
    send("<message xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org' "
         "type='groupchat'><body>m" + std::to_string(i) + "</body></message>");
  }
  send("<message xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org' "
       "type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  take();
  join("b@example.org/1", "B", "<history seconds='15'/>");
  auto out = take();
  std::vector<std::string> bodies;
  for (const Element& e : out) {
    if (e.name() == "message" && e.child("body") != nullptr && e.attr_or("to") == "b@example.org/1") {
      bodies.push_back(e.child_text("body"));
      ASSERT_NE(e.child("delay", kDelayNs), nullptr);
      EXPECT_EQ(e.child("delay", kDelayNs)->attr_or("from"), "room@muc.example.org");
    }
  }
  // At most 3 kept; of those, the ones of the last 15 s.
  EXPECT_EQ(bodies, (std::vector<std::string>{"m3", "m4"}));
  join("c@example.org/1", "C", "<history maxstanzas='1'/>");
  bodies.clear();
  for (const Element& e : take()) {
    if (e.name() == "message" && e.child("body") != nullptr) {
      bodies.push_back(e.child_text("body"));
    }
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"m4"}));
}

// §7.2.15: 'since' is a XEP-0082 DateTime (any TZD); the delay stamps are UTC DateTimes.
TEST_F(RoomTest, HistorySinceAndStamps) {
  join("a@example.org/1", "A");
  for (int i = 0; i < 3; ++i) {
    host.clock += 10;  // 1000010, 1000020, 1000030
    send("<message xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org' "
         "type='groupchat'><body>m" + std::to_string(i) + "</body></message>");
  }
  take();
  auto history = [&](std::string jid, std::string nick, std::string since) {
    join(jid, nick, "<history since='" + since + "'/>");
    std::vector<std::string> got;
    for (const Element& e : take()) {
      if (e.name() == "message" && e.child("body") != nullptr && e.attr_or("to") == jid) {
        const Element* d = e.child("delay", kDelayNs);
        got.push_back(e.child_text("body") + "@" + (d ? std::string(d->attr_or("stamp")) : ""));
      }
    }
    return got;
  };
  // 1000020 s is 1970-01-12T13:47:00Z, written here an hour east of UTC.
  EXPECT_EQ(history("b@example.org/1", "B", "1970-01-12T14:47:00.5+01:00"),
            (std::vector<std::string>{"m1@1970-01-12T13:47:00Z", "m2@1970-01-12T13:47:10Z"}));
  // Not a DateTime: no 'since' limit.
  EXPECT_EQ(history("c@example.org/1", "C", "1970-01-12 13:47:00").size(), 3u);
}

TEST_F(RoomTest, SelfPingAndGhostRemoval) {
  join("a@example.org/1", "A");
  join("b@example.org/1", "B");
  take();
  send("<iq xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org/A' "
       "type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].attr_or("type"), "result");  // XEP-0410 §3.2
  send("<iq xmlns='jabber:client' from='z@example.org/1' to='room@muc.example.org/A' "
       "type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(error_of(take().at(0)), "not-acceptable");
  send("<message xmlns='jabber:client' from='b@example.org/1' to='room@muc.example.org/A' "
       "type='error'><error type='cancel'><remote-server-not-found "
       "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
  out = take();
  // §18.1 example: the removed session is told too (110), and the others.
  ASSERT_EQ(out.size(), 2u);
  for (const Element& e : out) {
    EXPECT_EQ(e.attr_or("type"), "unavailable");
    std::vector<int> want{333};
    if (e.attr_or("to") == "b@example.org/1") {
      want.push_back(110);
    }
    EXPECT_EQ(codes(e), want);
  }
  EXPECT_EQ(room.occupant_count(), 1u);
}

TEST_F(RoomTest, LastOccupantLeavingRemovesTemporaryRoom) {
  join("a@example.org/1", "A");
  send("<presence xmlns='jabber:client' from='a@example.org/1' to='room@muc.example.org/A' "
       "type='unavailable'/>");
  EXPECT_EQ(host.removals, 1);
}

TEST_F(RoomTest, SerializeRoundTrip) {
  RoomTestAccess::config(room).name = "Tea & <Cake>";
  RoomTestAccess::config(room).persistent = true;
  RoomTestAccess::config(room).whois = WhoIs::kAnyone;
  RoomTestAccess::config(room).allow_pm = PmPolicy::kModerators;
  RoomTestAccess::config(room).presence_broadcast = {Role::kModerator};
  RoomTestAccess::config(room).get_member_list = {Role::kModerator};  // muc-admin
  RoomTestAccess::affiliations(room)["o@example.org"] = Affiliation::kOwner;
  RoomTestAccess::affiliations(room)["evil.example"] = Affiliation::kOutcast;
  RoomTestAccess::registered(room)["o@example.org"] = "Oh";
  std::string text = xml::to_string(room.serialize());
  Element back;
  ASSERT_TRUE(xml::parse_element(text, back));
  auto copy = Room::deserialize(host, room.jid(), back);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->config(), room.config());
  EXPECT_EQ(copy->affiliations(), room.affiliations());
  EXPECT_EQ(copy->registered_nicks(), room.registered_nicks());
  EXPECT_EQ(copy->affiliation_of(J("x@evil.example")), Affiliation::kOutcast);
  EXPECT_EQ(Room::deserialize(host, room.jid(), parse("<other xmlns='x'/>")), nullptr);
}

TEST(MucHelpers, Nick) {
  EXPECT_EQ(prepare_nick("  a  b "), "a b");
  EXPECT_EQ(prepare_nick("   "), std::nullopt);
  EXPECT_EQ(nick_key("AbC"), "abc");
}

}  // namespace
}  // namespace starling::muc
