// XEP-0045 §8-§10 and §7.10 through Room::handle, as a client would drive them, with a fake
// host that records what the room sends.
#include <gtest/gtest.h>

#include <set>

#include "modules/xep0045_muc/room.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::muc {
namespace {

using xml::Element;
using xmpp::Jid;

constexpr std::string_view kUser = "http://jabber.org/protocol/muc#user";
constexpr std::string_view kAdmin = "http://jabber.org/protocol/muc#admin";

Jid J(std::string_view s) {
  auto j = Jid::parse(s);
  EXPECT_TRUE(j) << s;
  return j.value_or(Jid());
}

Element el(const std::string& text) {
  Element e;
  EXPECT_TRUE(xml::parse_element(text, e)) << text;
  return e;
}

class FakeHost : public RoomHost {
 public:
  std::vector<Element> sent;
  int saves = 0;
  int removes = 0;
  std::set<std::string> admins;
  void send(Element stanza) override { sent.push_back(std::move(stanza)); }
  void save(const Room&) override { ++saves; }
  void remove(const Room&) override { ++removes; }
  bool is_service_admin(const Jid& bare) const override { return admins.count(bare.str()) > 0; }
  std::int64_t now() const override { return 1700000000; }
  std::size_t max_history() const override { return 50; }
  std::size_t max_occupants() const override { return 1000; }
};

// Status codes of a presence or message's muc#user <x/>.
std::vector<int> codes(const Element& s) {
  std::vector<int> out;
  if (const Element* x = s.child("x", kUser)) {
    for (const Element* c : x->elements()) {
      if (c->name() == "status") {
        out.push_back(std::stoi(std::string(c->attr_or("code"))));
      }
    }
  }
  return out;
}

bool has_code(const Element& s, int code) {
  auto c = codes(s);
  return std::find(c.begin(), c.end(), code) != c.end();
}

const Element* item_of(const Element& s) {
  const Element* x = s.child("x", kUser);
  return x ? x->child("item", kUser) : nullptr;
}

constexpr std::string_view kRoom = "coven@chat.shakespeare.lit";
constexpr std::string_view kOwner = "crone1@shakespeare.lit/desktop";
constexpr std::string_view kAdminJid = "wiccarocks@shakespeare.lit/laptop";
constexpr std::string_view kMember = "hag66@shakespeare.lit/pda";
constexpr std::string_view kGuest = "hecate@shakespeare.lit/broom";

class MucAdmin : public ::testing::Test {
 protected:
  FakeHost host;
  std::unique_ptr<Room> room;
  int next_id = 0;

  void SetUp() override {
    room = std::make_unique<Room>(host, J(kRoom), RoomConfig{});
    room->set_creator(J(kOwner));
    join(kOwner, "firstwitch");
    // §10.1.2 instant room.
    EXPECT_EQ(iq(kOwner, "set",
                 "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                 "<x xmlns='jabber:x:data' type='submit'/></query>")
                  .attr_or("type"),
              "result");
    EXPECT_FALSE(room->locked());
  }

  void deliver(const Element& stanza) {
    Jid to = J(stanza.attr_or("to"));
    Jid from = J(stanza.attr_or("from"));
    room->handle(stanza, to, from);
  }

  void join(std::string_view full, std::string_view nick, const std::string& extra = "") {
    deliver(el("<presence xmlns='jabber:client' from='" + std::string(full) + "' to='" +
               std::string(kRoom) + "/" + std::string(nick) +
               "'><x xmlns='http://jabber.org/protocol/muc'>" + extra + "</x></presence>"));
  }

  // Sends an iq to the room and returns its answer.
  Element iq(std::string_view from, std::string_view type, const std::string& payload) {
    std::string id = "q" + std::to_string(++next_id);
    deliver(el("<iq xmlns='jabber:client' from='" + std::string(from) + "' to='" +
               std::string(kRoom) + "' type='" + std::string(type) + "' id='" + id + "'>" +
               payload + "</iq>"));
    for (const Element& s : host.sent) {
      if (s.name() == "iq" && s.attr_or("id") == id && s.attr_or("to") == from) {
        return s;
      }
    }
    ADD_FAILURE() << "no answer to " << id;
    return Element();
  }

  std::string admin_set(std::string_view from, const std::string& items) {
    Element r = iq(from, "set", "<query xmlns='http://jabber.org/protocol/muc#admin'>" + items +
                                    "</query>");
    return error_or_result(r);
  }

  static std::string error_or_result(const Element& r) {
    if (r.attr_or("type") == "result") {
      return "result";
    }
    const Element* e = r.child("error");
    if (e == nullptr || e->elements().empty()) {
      return "?";
    }
    return e->elements().front()->name();
  }

  Element admin_get(std::string_view from, const std::string& item) {
    return iq(from, "get", "<query xmlns='http://jabber.org/protocol/muc#admin'>" + item +
                               "</query>");
  }

  // What the room sent to one session since the last clear().
  std::vector<Element> to(std::string_view full) const {
    std::vector<Element> out;
    for (const Element& s : host.sent) {
      if (s.attr_or("to") == full) {
        out.push_back(s);
      }
    }
    return out;
  }

  // The last presence a session got about `nick`.
  const Element* presence_about(std::string_view session, std::string_view nick) const {
    const Element* found = nullptr;
    std::string from = std::string(kRoom) + "/" + std::string(nick);
    for (const Element& s : host.sent) {
      if (s.name() == "presence" && s.attr_or("to") == session && s.attr_or("from") == from) {
        found = &s;
      }
    }
    return found;
  }

  Role role_of(std::string_view nick) const {
    auto it = room->occupants().find(std::string(nick));
    return it == room->occupants().end() ? Role::kNone : it->second.role;
  }

  // An owner, an admin, a member and an unaffiliated guest in the room.
  void populate() {
    EXPECT_EQ(admin_set(kOwner, "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>"
                                "<item affiliation='member' jid='hag66@shakespeare.lit'/>"),
              "result");
    join(kAdminJid, "secondwitch");
    join(kMember, "thirdwitch");
    join(kGuest, "hecate");
    ASSERT_EQ(room->occupant_count(), 4u);
    host.sent.clear();
  }

  std::string configure(const std::string& fields) {
    return error_or_result(
        iq(kOwner, "set",
           "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
           "type='submit'><field var='FORM_TYPE'><value>"
           "http://jabber.org/protocol/muc#roomconfig</value></field>" +
               fields + "</x></query>"));
  }
};

std::string f(std::string_view var, std::string_view value) {
  return "<field var='" + std::string(var) + "'><value>" + std::string(value) +
         "</value></field>";
}

// ---- §8 moderator use cases ----

TEST_F(MucAdmin, KickExample) {
  // §8.2 Examples 109-112.
  populate();
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='hecate' role='none'>"
                                 "<reason>Avaunt, you cullion!</reason></item>"),
            "result");
  EXPECT_EQ(room->occupant_count(), 3u);
  const Element* kicked = presence_about(kGuest, "hecate");
  ASSERT_NE(kicked, nullptr);
  EXPECT_EQ(kicked->attr_or("type"), "unavailable");
  EXPECT_TRUE(has_code(*kicked, 307));
  EXPECT_TRUE(has_code(*kicked, 110));
  const Element* item = item_of(*kicked);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->attr_or("role"), "none");
  EXPECT_EQ(item->attr_or("affiliation"), "none");
  ASSERT_NE(item->child("actor", kUser), nullptr);
  EXPECT_EQ(item->child("actor", kUser)->attr_or("nick"), "secondwitch");
  EXPECT_EQ(item->child_text("reason", kUser), "Avaunt, you cullion!");
  const Element* others = presence_about(kMember, "hecate");
  ASSERT_NE(others, nullptr);
  EXPECT_EQ(others->attr_or("type"), "unavailable");
  EXPECT_TRUE(has_code(*others, 307));
  EXPECT_FALSE(has_code(*others, 110));
  // The result reaches the moderator before the other occupants learn it (§8.2).
  std::size_t result_at = 0, others_at = 0;
  for (std::size_t i = 0; i < host.sent.size(); ++i) {
    if (host.sent[i].name() == "iq") {
      result_at = i;
    }
    if (&host.sent[i] == others) {
      others_at = i;
    }
  }
  EXPECT_LT(result_at, others_at);
}

TEST_F(MucAdmin, KickErrors) {
  populate();
  // A participant is no moderator (§8: forbidden).
  EXPECT_EQ(admin_set(kMember, "<item nick='hecate' role='none'/>"), "forbidden");
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='nobody' role='none'/>"), "item-not-found");
  // §8.2: not someone of a higher affiliation.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='firstwitch' role='none'/>"), "not-allowed");
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='secondwitch' role='none'/>"), "conflict");
  // §17.4: role and affiliation in one item; unknown values; no nick.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='hecate' role='none' affiliation='none'/>"),
            "bad-request");
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='hecate' role='king'/>"), "bad-request");
  EXPECT_EQ(admin_set(kAdminJid, "<item role='none'/>"), "bad-request");
  EXPECT_EQ(admin_set(kAdminJid, "<item/>"), "bad-request");
  EXPECT_EQ(admin_set(kAdminJid, ""), "bad-request");
  EXPECT_EQ(room->occupant_count(), 4u);
  // A temporary moderator (unaffiliated) cannot kick a moderator (§5.1.3).
  EXPECT_EQ(admin_set(kOwner, "<item nick='hecate' role='moderator'/>"), "result");
  EXPECT_EQ(admin_set(kGuest, "<item nick='secondwitch' role='none'/>"), "not-allowed");
  // The owner kicks the admin (§8.2: a higher affiliation may).
  EXPECT_EQ(admin_set(kOwner, "<item nick='secondwitch' role='none'/>"), "result");
  EXPECT_EQ(room->occupant_count(), 3u);
}

TEST_F(MucAdmin, GrantAndRevokeVoice) {
  ASSERT_EQ(configure(f("muc#roomconfig_moderatedroom", "1")), "result");
  populate();
  EXPECT_EQ(role_of("hecate"), Role::kVisitor);
  EXPECT_EQ(role_of("thirdwitch"), Role::kParticipant);
  // §8.3 Example 115.
  EXPECT_EQ(admin_set(kOwner, "<item nick='hecate' role='participant'>"
                              "<reason>A worthy witch indeed!</reason></item>"),
            "result");
  EXPECT_EQ(role_of("hecate"), Role::kParticipant);
  const Element* p = presence_about(kMember, "hecate");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->attr_or("type"), "");
  EXPECT_EQ(item_of(*p)->attr_or("role"), "participant");
  EXPECT_EQ(item_of(*p)->child_text("reason", kUser), "A worthy witch indeed!");
  // §8.4.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='hecate' role='visitor'/>"), "result");
  EXPECT_EQ(role_of("hecate"), Role::kVisitor);
  // §8.4: never from an admin or owner.
  EXPECT_EQ(admin_set(kOwner, "<item nick='secondwitch' role='visitor'/>"), "not-allowed");
  // §8.5 the voice list.
  Element list = admin_get(kAdminJid, "<item role='participant'/>");
  ASSERT_EQ(list.attr_or("type"), "result");
  const Element* q = list.child("query", kAdmin);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->elements().size(), 1u);
  const Element& only = *q->elements().front();
  EXPECT_EQ(only.attr_or("nick"), "thirdwitch");
  EXPECT_EQ(only.attr_or("role"), "participant");
  EXPECT_EQ(only.attr_or("affiliation"), "member");
  EXPECT_EQ(only.attr_or("jid"), kMember);
  EXPECT_EQ(error_or_result(admin_get(kMember, "<item role='participant'/>")), "forbidden");
  // §8.5 modifying the voice list: a batch.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='thirdwitch' role='visitor'/>"
                                 "<item nick='hecate' role='participant'/>"),
            "result");
  EXPECT_EQ(role_of("thirdwitch"), Role::kVisitor);
  EXPECT_EQ(role_of("hecate"), Role::kParticipant);
}

TEST_F(MucAdmin, BatchIsAllOrNothing) {
  populate();
  // §9.2: one prohibited change and none is applied.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='hecate' role='none'/>"
                                 "<item nick='firstwitch' role='none'/>"),
            "not-allowed");
  EXPECT_EQ(room->occupant_count(), 4u);
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='outcast' jid='bad@shakespeare.lit'/>"
                                 "<item affiliation='outcast' jid='crone1@shakespeare.lit'/>"),
            "not-allowed");
  EXPECT_EQ(room->affiliations().count("bad@shakespeare.lit"), 0u);
  for (const Element& s : host.sent) {
    EXPECT_NE(s.name(), "presence") << xml::to_string(s);
  }
}

// ---- §9 admin use cases ----

TEST_F(MucAdmin, BanExample) {
  populate();
  // §9.1 Example 120 (with a reason).
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='outcast' jid='hecate@shakespeare.lit'>"
                                 "<reason>Treason</reason></item>"),
            "result");
  EXPECT_EQ(room->occupant_count(), 3u);
  const Element* banned = presence_about(kGuest, "hecate");
  ASSERT_NE(banned, nullptr);
  EXPECT_EQ(banned->attr_or("type"), "unavailable");
  EXPECT_TRUE(has_code(*banned, 301));
  EXPECT_EQ(item_of(*banned)->attr_or("affiliation"), "outcast");
  EXPECT_EQ(item_of(*banned)->attr_or("role"), "none");
  EXPECT_EQ(item_of(*banned)->child_text("reason", kUser), "Treason");
  ASSERT_NE(item_of(*banned)->child("actor", kUser), nullptr);
  const Element* others = presence_about(kOwner, "hecate");
  ASSERT_NE(others, nullptr);
  EXPECT_TRUE(has_code(*others, 301));
  // §9.2 the ban list.
  Element list = admin_get(kAdminJid, "<item affiliation='outcast'/>");
  ASSERT_EQ(list.attr_or("type"), "result");
  ASSERT_EQ(list.child("query", kAdmin)->elements().size(), 1u);
  EXPECT_EQ(list.child("query", kAdmin)->elements().front()->attr_or("jid"),
            "hecate@shakespeare.lit");
  EXPECT_EQ(list.child("query", kAdmin)->elements().front()->attr("role"), nullptr);
  // The banned user cannot come back (§7.2.8).
  host.sent.clear();
  join(kGuest, "hecate");
  EXPECT_EQ(room->occupant_count(), 3u);
  // §9.1: no banning oneself; an admin cannot ban an owner; a member cannot ban.
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='outcast' jid='wiccarocks@shakespeare.lit'/>"),
            "conflict");
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='outcast' jid='crone1@shakespeare.lit'/>"),
            "not-allowed");
  EXPECT_EQ(admin_set(kMember, "<item affiliation='outcast' jid='x@shakespeare.lit'/>"),
            "forbidden");
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='outcast' jid='@@'/>"), "jid-malformed");
  EXPECT_EQ(error_or_result(admin_get(kMember, "<item affiliation='outcast'/>")), "forbidden");
  // Lifting the ban.
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='none' jid='hecate@shakespeare.lit'/>"),
            "result");
  EXPECT_EQ(room->affiliations().count("hecate@shakespeare.lit"), 0u);
}

TEST_F(MucAdmin, BanOfAServerAndByNick) {
  populate();
  // §9.2: a domain matches its users.
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='outcast' jid='shakespeare.lit'/>"), "result");
  // Occupants with their own affiliation stay; the unaffiliated guest goes.
  EXPECT_EQ(room->occupant_count(), 3u);
  EXPECT_EQ(role_of("hecate"), Role::kNone);
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='none' jid='shakespeare.lit'/>"), "result");
  join(kGuest, "hecate");
  EXPECT_EQ(room->occupant_count(), 4u);
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='outcast' nick='hecate'/>"), "result");
  EXPECT_EQ(room->affiliations().at("hecate@shakespeare.lit"), Affiliation::kOutcast);
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='outcast' nick='nobody'/>"), "item-not-found");
}

TEST_F(MucAdmin, MembershipInMembersOnlyRoom) {
  populate();
  ASSERT_EQ(configure(f("muc#roomconfig_membersonly", "1")), "result");
  // §10.2: the unaffiliated guest is removed with 322.
  EXPECT_EQ(room->occupant_count(), 3u);
  const Element* removed = presence_about(kGuest, "hecate");
  ASSERT_NE(removed, nullptr);
  EXPECT_TRUE(has_code(*removed, 322));
  EXPECT_EQ(removed->attr_or("type"), "unavailable");
  host.sent.clear();
  // §9.5 member list.
  Element list = admin_get(kAdminJid, "<item affiliation='member'/>");
  ASSERT_EQ(list.attr_or("type"), "result");
  ASSERT_EQ(list.child("query", kAdmin)->elements().size(), 1u);
  EXPECT_EQ(list.child("query", kAdmin)->elements().front()->attr_or("jid"),
            "hag66@shakespeare.lit");
  // §9.3 granting membership (with a reserved nick): the new member is invited (§9.5 SHOULD).
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='member' jid='hecate@shakespeare.lit' "
                                 "nick='Hecate'/>"),
            "result");
  bool invited = false;
  for (const Element& s : host.sent) {
    if (s.name() == "message" && s.attr_or("to") == "hecate@shakespeare.lit") {
      invited = s.child("x", kUser) && s.child("x", kUser)->child("invite", kUser);
    }
  }
  EXPECT_TRUE(invited);
  EXPECT_EQ(room->affiliations().at("hecate@shakespeare.lit"), Affiliation::kMember);
  list = admin_get(kAdminJid, "<item affiliation='member'/>");
  ASSERT_EQ(list.child("query", kAdmin)->elements().size(), 2u);
  // The reserved nick shows in the list.
  bool nick_listed = false;
  for (const Element* i : list.child("query", kAdmin)->elements()) {
    nick_listed = nick_listed || i->attr_or("nick") == "Hecate";
  }
  EXPECT_TRUE(nick_listed);
  join(kGuest, "Hecate");
  EXPECT_EQ(room->occupant_count(), 4u);
  host.sent.clear();
  // §9.4 revoking membership: removed with 321 only (no affiliation update before).
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='none' jid='hag66@shakespeare.lit'/>"),
            "result");
  EXPECT_EQ(room->occupant_count(), 3u);
  std::vector<Element> got = to(kMember);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].attr_or("type"), "unavailable");
  EXPECT_TRUE(has_code(got[0], 321));
  EXPECT_EQ(item_of(got[0])->attr_or("affiliation"), "none");
}

TEST_F(MucAdmin, MembershipInOpenRoomUpdatesPresence) {
  populate();
  // §9.3: a present user becomes member: updated presence to all.
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='member' jid='hecate@shakespeare.lit'/>"),
            "result");
  const Element* p = presence_about(kOwner, "hecate");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->attr_or("type"), "");
  EXPECT_EQ(item_of(*p)->attr_or("affiliation"), "member");
  EXPECT_EQ(item_of(*p)->attr_or("role"), "participant");
  // §9.4 in an open room: presence with affiliation none, still present.
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='none' jid='hecate@shakespeare.lit'/>"),
            "result");
  EXPECT_EQ(room->occupant_count(), 4u);
  EXPECT_EQ(item_of(*presence_about(kOwner, "hecate"))->attr_or("affiliation"), "none");
  // The member list in a semi-anonymous room is not the participants'.
  EXPECT_EQ(error_or_result(admin_get(kMember, "<item affiliation='member'/>")), "forbidden");
  ASSERT_EQ(configure(f("muc#roomconfig_whois", "anyone")), "result");
  EXPECT_EQ(admin_get(kMember, "<item affiliation='member'/>").attr_or("type"), "result");
}

TEST_F(MucAdmin, ModeratorStatus) {
  populate();
  // §9.6.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='thirdwitch' role='moderator'/>"), "result");
  EXPECT_EQ(role_of("thirdwitch"), Role::kModerator);
  EXPECT_EQ(item_of(*presence_about(kGuest, "thirdwitch"))->attr_or("role"), "moderator");
  // §9.8 the moderator list.
  Element list = admin_get(kAdminJid, "<item role='moderator'/>");
  ASSERT_EQ(list.attr_or("type"), "result");
  EXPECT_EQ(list.child("query", kAdmin)->elements().size(), 3u);
  // A mere moderator can neither grant nor see the moderator list.
  EXPECT_EQ(admin_set(kMember, "<item nick='hecate' role='moderator'/>"), "forbidden");
  EXPECT_EQ(error_or_result(admin_get(kMember, "<item role='moderator'/>")), "forbidden");
  // §9.7 revoking; not from an admin or owner.
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='firstwitch' role='participant'/>"), "not-allowed");
  EXPECT_EQ(admin_set(kOwner, "<item nick='secondwitch' role='participant'/>"), "not-allowed");
  EXPECT_EQ(admin_set(kMember, "<item nick='thirdwitch' role='participant'/>"), "forbidden");
  EXPECT_EQ(admin_set(kAdminJid, "<item nick='thirdwitch' role='participant'/>"), "result");
  EXPECT_EQ(role_of("thirdwitch"), Role::kParticipant);
}

// ---- §10 owner use cases ----

TEST_F(MucAdmin, OwnerAndAdminLists) {
  populate();
  // §10.5 the owner list is the owners'.
  EXPECT_EQ(error_or_result(admin_get(kAdminJid, "<item affiliation='owner'/>")), "forbidden");
  Element owners = admin_get(kOwner, "<item affiliation='owner'/>");
  ASSERT_EQ(owners.attr_or("type"), "result");
  ASSERT_EQ(owners.child("query", kAdmin)->elements().size(), 1u);
  EXPECT_EQ(owners.child("query", kAdmin)->elements().front()->attr_or("jid"),
            "crone1@shakespeare.lit");
  Element admins = admin_get(kOwner, "<item affiliation='admin'/>");
  ASSERT_EQ(admins.child("query", kAdmin)->elements().size(), 1u);
  // §10.3-§10.8: admins cannot edit those lists.
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='owner' jid='hag66@shakespeare.lit'/>"),
            "forbidden");
  EXPECT_EQ(admin_set(kAdminJid, "<item affiliation='admin' jid='hag66@shakespeare.lit'/>"),
            "forbidden");
  // §10.6: the last owner cannot leave the list.
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='admin' jid='crone1@shakespeare.lit'/>"),
            "conflict");
  // §10.3 granting ownership to a present admin: presence with owner/moderator.
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='owner' jid='wiccarocks@shakespeare.lit'/>"),
            "result");
  EXPECT_EQ(item_of(*presence_about(kMember, "secondwitch"))->attr_or("affiliation"), "owner");
  // Now there is another owner: stepping down is fine.
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='member' jid='crone1@shakespeare.lit'/>"),
            "result");
  const Element* p = presence_about(kMember, "firstwitch");
  EXPECT_EQ(item_of(*p)->attr_or("affiliation"), "member");
  EXPECT_EQ(item_of(*p)->attr_or("role"), "participant");  // §10.2: loss of admin rights
  EXPECT_EQ(error_or_result(iq(kOwner, "get",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'/>")),
            "forbidden");
}

TEST_F(MucAdmin, ServiceAdminHasOwnerRights) {
  populate();
  host.admins.insert("root@shakespeare.lit");
  EXPECT_EQ(iq("root@shakespeare.lit/x", "get",
               "<query xmlns='http://jabber.org/protocol/muc#owner'/>")
                .attr_or("type"),
            "result");
  EXPECT_EQ(admin_set("root@shakespeare.lit/x", "<item nick='secondwitch' role='none'/>"),
            "result");
}

TEST_F(MucAdmin, ConfigurationFormAndChange) {
  populate();
  Element form = iq(kOwner, "get", "<query xmlns='http://jabber.org/protocol/muc#owner'/>");
  ASSERT_EQ(form.attr_or("type"), "result");
  const Element* x = form.child("query", "http://jabber.org/protocol/muc#owner")
                         ->child("x", "jabber:x:data");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->attr_or("type"), "form");
  // §10.2: forbidden to non-owners.
  EXPECT_EQ(error_or_result(iq(kAdminJid, "get",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'/>")),
            "forbidden");
  host.sent.clear();
  int saves = host.saves;
  ASSERT_EQ(configure(f("muc#roomconfig_roomname", "A Dark Cave") +
                      f("muc#roomconfig_persistentroom", "1") +
                      f("muc#roomconfig_enablelogging", "1")),
            "result");
  EXPECT_EQ(room->config().name, "A Dark Cave");
  EXPECT_TRUE(room->config().persistent);
  EXPECT_GT(host.saves, saves);
  // §10.2.1: one message to each occupant with 170 and 104.
  std::vector<Element> got = to(kMember);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name(), "message");
  EXPECT_EQ(got[0].attr_or("type"), "groupchat");
  EXPECT_EQ(got[0].attr_or("from"), kRoom);
  EXPECT_EQ(codes(got[0]), (std::vector<int>{170, 104}));
  host.sent.clear();
  ASSERT_EQ(configure(f("muc#roomconfig_whois", "anyone")), "result");
  EXPECT_EQ(codes(to(kGuest).at(0)), std::vector<int>{172});
  // Errors: not-acceptable values, a form that is not a submission, non-owners.
  EXPECT_EQ(configure(f("muc#roomconfig_passwordprotectedroom", "1")), "not-acceptable");
  EXPECT_EQ(configure(f("muc#roomconfig_maxusers", "lots")), "not-acceptable");
  EXPECT_EQ(error_or_result(iq(kOwner, "set",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                               "<x xmlns='jabber:x:data' type='form'/></query>")),
            "bad-request");
  EXPECT_EQ(error_or_result(iq(kOwner, "set",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'/>")),
            "bad-request");
  EXPECT_EQ(error_or_result(iq(kAdminJid, "set",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                               "<x xmlns='jabber:x:data' type='submit'/></query>")),
            "forbidden");
  // Cancelling a later configuration changes nothing (§10.2).
  EXPECT_EQ(error_or_result(iq(kOwner, "set",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                               "<x xmlns='jabber:x:data' type='cancel'/></query>")),
            "result");
  EXPECT_EQ(room->config().name, "A Dark Cave");
  EXPECT_EQ(host.removes, 0);
}

TEST_F(MucAdmin, ConfigurationAdminAndOwnerLists) {
  populate();
  // §10.2: the form's lists are full lists; a new admin gets moderator, a dropped one loses it.
  ASSERT_EQ(configure("<field var='muc#roomconfig_roomadmins'>"
                      "<value>hag66@shakespeare.lit</value></field>"),
            "result");
  EXPECT_EQ(room->affiliations().at("hag66@shakespeare.lit"), Affiliation::kAdmin);
  EXPECT_EQ(room->affiliations().count("wiccarocks@shakespeare.lit"), 0u);
  EXPECT_EQ(role_of("thirdwitch"), Role::kModerator);
  EXPECT_EQ(role_of("secondwitch"), Role::kParticipant);
  EXPECT_EQ(configure("<field var='muc#roomconfig_roomowners'/>"), "conflict");
}

TEST_F(MucAdmin, UnmoderatingGivesVisitorsVoice) {
  ASSERT_EQ(configure(f("muc#roomconfig_moderatedroom", "1")), "result");
  populate();
  EXPECT_EQ(role_of("hecate"), Role::kVisitor);
  ASSERT_EQ(configure(f("muc#roomconfig_moderatedroom", "0")), "result");
  EXPECT_EQ(role_of("hecate"), Role::kParticipant);
}

TEST_F(MucAdmin, Destroy) {
  populate();
  EXPECT_EQ(error_or_result(iq(kAdminJid, "set",
                               "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                               "<destroy/></query>")),
            "forbidden");
  // §10.9 Example 201.
  Element r = iq(kOwner, "set",
                 "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                 "<destroy jid='heath@chat.shakespeare.lit'><reason>Macbeth doth come."
                 "</reason><password>cauldronburn</password></destroy></query>");
  EXPECT_EQ(r.attr_or("type"), "result");
  EXPECT_EQ(host.removes, 1);
  EXPECT_TRUE(room->empty());
  for (std::string_view s : {kOwner, kAdminJid, kMember, kGuest}) {
    std::vector<Element> got = to(s);
    std::vector<Element> presences;
    for (const Element& e : got) {
      if (e.name() == "presence") {
        presences.push_back(e);
      }
    }
    ASSERT_EQ(presences.size(), 1u) << s;  // one presence each, not a broadcast (§10.9)
    EXPECT_EQ(presences[0].attr_or("type"), "unavailable");
    const Element* d = presences[0].child("x", kUser)->child("destroy", kUser);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->attr_or("jid"), "heath@chat.shakespeare.lit");
    EXPECT_EQ(d->child_text("reason", kUser), "Macbeth doth come.");
    EXPECT_EQ(d->child_text("password", kUser), "cauldronburn");
  }
}

TEST(MucOwnerLocked, ReservedRoomCancelDestroys) {
  // §10.1.3: the form while locked; cancelling destroys the new room.
  FakeHost host;
  Room room(host, J(kRoom), RoomConfig{});
  room.set_creator(J(kOwner));
  room.handle(el("<presence xmlns='jabber:client' from='crone1@shakespeare.lit/desktop' "
                 "to='coven@chat.shakespeare.lit/firstwitch'>"
                 "<x xmlns='http://jabber.org/protocol/muc'/></presence>"),
              J("coven@chat.shakespeare.lit/firstwitch"), J(kOwner));
  ASSERT_TRUE(room.locked());
  host.sent.clear();
  room.handle(el("<iq xmlns='jabber:client' type='get' id='c1'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"),
              J(kRoom), J(kOwner));
  ASSERT_EQ(host.sent.size(), 1u);
  EXPECT_EQ(host.sent[0].attr_or("type"), "result");
  host.sent.clear();
  room.handle(el("<iq xmlns='jabber:client' type='set' id='c2'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                 "<x xmlns='jabber:x:data' type='cancel'/></query></iq>"),
              J(kRoom), J(kOwner));
  ASSERT_EQ(host.sent.size(), 2u);
  EXPECT_EQ(host.sent[0].name(), "presence");
  EXPECT_EQ(host.sent[0].attr_or("type"), "unavailable");
  EXPECT_NE(host.sent[0].child("x", kUser)->child("destroy", kUser), nullptr);
  EXPECT_EQ(host.sent[1].attr_or("type"), "result");
  EXPECT_EQ(host.removes, 1);
}

TEST(MucOwnerLocked, ReservedRoomSubmitUnlocks) {
  FakeHost host;
  Room room(host, J(kRoom), RoomConfig{});
  room.set_creator(J(kOwner));
  room.handle(el("<presence xmlns='jabber:client' from='crone1@shakespeare.lit/desktop' "
                 "to='coven@chat.shakespeare.lit/firstwitch'>"
                 "<x xmlns='http://jabber.org/protocol/muc'/></presence>"),
              J("coven@chat.shakespeare.lit/firstwitch"), J(kOwner));
  host.sent.clear();
  room.handle(el("<iq xmlns='jabber:client' type='set' id='c2'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                 "<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_roomname'>"
                 "<value>Cave</value></field></x></query></iq>"),
              J(kRoom), J(kOwner));
  ASSERT_EQ(host.sent.size(), 1u);  // the result; no 104 for the initial configuration
  EXPECT_EQ(host.sent[0].attr_or("type"), "result");
  EXPECT_FALSE(room.locked());
  EXPECT_EQ(room.config().name, "Cave");
}

// ---- §7.10 registration ----

TEST_F(MucAdmin, Registration) {
  populate();
  // Example 45-50.
  Element form = iq(kGuest, "get", "<query xmlns='jabber:iq:register'/>");
  ASSERT_EQ(form.attr_or("type"), "result");
  const Element* x = form.child("query", "jabber:iq:register")->child("x", "jabber:x:data");
  ASSERT_NE(x, nullptr);
  const std::string submit =
      "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
      "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>"
      "<field var='muc#register_roomnick'><value>NICK</value></field></x></query>";
  auto submit_nick = [&](std::string_view from, const std::string& nick) {
    std::string s = submit;
    s.replace(s.find("NICK"), 4, nick);
    return error_or_result(iq(from, "set", s));
  };
  EXPECT_EQ(submit_nick(kGuest, "hecate"), "result");
  EXPECT_EQ(room->affiliations().at("hecate@shakespeare.lit"), Affiliation::kMember);
  EXPECT_EQ(item_of(*presence_about(kOwner, "hecate"))->attr_or("affiliation"), "member");
  // Already registered: <registered/> and the nick.
  Element again = iq(kGuest, "get", "<query xmlns='jabber:iq:register'/>");
  const Element* q = again.child("query", "jabber:iq:register");
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q->child("registered"), nullptr);
  EXPECT_EQ(q->child_text("username"), "hecate");
  // Someone else's nick: conflict (also case-insensitively).
  EXPECT_EQ(submit_nick("newbie@shakespeare.lit/x", "Hecate"), "conflict");
  EXPECT_EQ(submit_nick("newbie@shakespeare.lit/x", "thirdwitch"), "conflict");
  // Bad forms.
  EXPECT_EQ(error_or_result(iq("newbie@shakespeare.lit/x", "set",
                               "<query xmlns='jabber:iq:register'/>")),
            "bad-request");
  EXPECT_EQ(submit_nick("newbie@shakespeare.lit/x", ""), "bad-request");
  EXPECT_EQ(error_or_result(iq("newbie@shakespeare.lit/x", "set",
                               "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' "
                               "type='submit'><field var='FORM_TYPE'><value>urn:x</value>"
                               "</field></x></query>")),
            "bad-request");
  // Banned users and, in a members-only room, non-members may not register.
  EXPECT_EQ(admin_set(kOwner, "<item affiliation='outcast' jid='evil@shakespeare.lit'/>"),
            "result");
  EXPECT_EQ(error_or_result(iq("evil@shakespeare.lit/x", "get",
                               "<query xmlns='jabber:iq:register'/>")),
            "not-allowed");
  ASSERT_EQ(configure(f("muc#roomconfig_membersonly", "1")), "result");
  EXPECT_EQ(submit_nick("newbie@shakespeare.lit/x", "newbie"), "not-allowed");
  // The reservation shows in x-roomuser-item (§7.10.2, room.cpp).
  Element nick = iq(kGuest, "get",
                    "<query xmlns='http://jabber.org/protocol/disco#info' "
                    "node='x-roomuser-item'/>");
  const Element* id = nick.child("query")->child("identity");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->attr_or("name"), "hecate");
  // Cancelling the registration (XEP-0077 <remove/>): no longer a member, so out (321).
  EXPECT_EQ(error_or_result(iq(kGuest, "set",
                               "<query xmlns='jabber:iq:register'><remove/></query>")),
            "result");
  EXPECT_EQ(room->affiliations().count("hecate@shakespeare.lit"), 0u);
  EXPECT_EQ(role_of("hecate"), Role::kNone);
}

}  // namespace
}  // namespace starling::muc
