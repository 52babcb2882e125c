"""XEP-0045 Multi-User Chat, the service and the room core (§6 discovery, §7 occupant use cases,
§10.1 creation), XEP-0410 self-ping and XEP-0249 direct invitations, end to end.

Raw sockets check the exact stanzas and errors the XEP names; slixmpp's xep_0045 plugin and
aioxmpp.muc, independent clients, check that joining and talking work for real clients."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import login, close_all, run
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_CLIENT = "jabber:client"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DELAY = "urn:xmpp:delay"
NS_PING = "urn:xmpp:ping"
SERVICE = "conference.localhost"
PRESENCE = q(NS_CLIENT, "presence")
MESSAGE = q(NS_CLIENT, "message")
IQ = q(NS_CLIENT, "iq")


def codes(el):
    xe = el.find(q(NS_MUC_USER, "x"))
    if xe is None:
        return []
    return [int(s.get("code")) for s in xe.findall(q(NS_MUC_USER, "status"))]


def item(el):
    return el.find(q(NS_MUC_USER, "x")).find(q(NS_MUC_USER, "item"))


class Peer:
    """A raw client session with initial presence."""

    def __init__(self, server, user, resource="r"):
        self.c = Raw(server.port)
        self.jid = x.login(self.c, user, "secret", resource)
        self.bare = self.jid.split("/")[0]
        self.n = 0
        self.c.send("<presence/>")

    def send(self, data):
        self.c.send(data)

    def next_id(self):
        self.n += 1
        return "i%d" % self.n

    def wait(self, pred, what="stanza", timeout=10):
        return x.wait_element(self.c, pred, timeout, what=what)

    def presence_from(self, frm, timeout=10):
        return self.wait(lambda e: e.tag == PRESENCE and e.get("from") == frm,
                         "presence from %s" % frm, timeout)

    def message_from(self, frm, timeout=10):
        return self.wait(lambda e: e.tag == MESSAGE and e.get("from") == frm,
                         "message from %s" % frm, timeout)

    def iq(self, to, payload, itype="get"):
        i = self.next_id()
        self.send("<iq type='%s' id='%s' to='%s'>%s</iq>" % (itype, i, to, payload))
        return x.wait_id(self.c, i)

    def join(self, room, nick, extra="", history=""):
        self.send("<presence to='%s/%s'><x xmlns='%s'>%s%s</x></presence>"
                  % (room, nick, NS_MUC, history, extra))

    def nothing(self, pred, timeout=0.5):
        x.no_element(self.c, pred, timeout)


def create_instant(owner, room, nick):
    """§10.1.2: create a room and accept the default configuration."""
    owner.join(room, nick)
    self_p = owner.presence_from("%s/%s" % (room, nick))
    assert 201 in codes(self_p) and codes(self_p)[-1] == 110, ET.tostring(self_p)
    subject = owner.wait(lambda e: e.tag == MESSAGE and e.find(q(NS_CLIENT, "subject")) is not None)
    r = owner.iq(room, "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'/></query>"
                 % NS_MUC_OWNER, "set")
    assert r.get("type") == "result", ET.tostring(r)
    return self_p, subject


@pytest.fixture
def muc_server(server_factory):
    s = server_factory()
    for u in ("alice", "bob", "carol"):
        s.adduser("%s@localhost" % u, "secret")
    return s.start()


def test_service_discovery(muc_server):
    a = Peer(muc_server, "alice")
    # §6.1: the server lists the service; the service says it is a MUC service.
    items = a.iq("localhost", "<query xmlns='%s'/>" % NS_DISCO_ITEMS)
    jids = [i.get("jid") for i in items.find(q(NS_DISCO_ITEMS, "query"))]
    assert SERVICE in jids
    info = a.iq(SERVICE, "<query xmlns='%s'/>" % NS_DISCO_INFO)
    qel = info.find(q(NS_DISCO_INFO, "query"))
    ident = qel.find(q(NS_DISCO_INFO, "identity"))
    assert (ident.get("category"), ident.get("type")) == ("conference", "text")
    feats = {f.get("var") for f in qel.findall(q(NS_DISCO_INFO, "feature"))}
    assert NS_MUC in feats
    # XEP-0199 ping of the service.
    assert a.iq(SERVICE, "<ping xmlns='%s'/>" % NS_PING).get("type") == "result"
    # Anything else: service-unavailable; a node nobody has: item-not-found.
    r = a.iq(SERVICE, "<query xmlns='jabber:iq:last'/>")
    assert x.stanza_error(r) == ("cancel", "service-unavailable")
    r = a.iq(SERVICE, "<query xmlns='%s' node='nope'/>" % NS_DISCO_INFO)
    assert x.stanza_error(r) == ("cancel", "item-not-found")
    a.send("<message to='%s' id='m1'><body>hi</body></message>" % SERVICE)
    err = a.wait(lambda e: e.get("id") == "m1")
    assert x.stanza_error(err) == ("cancel", "service-unavailable")
    # A room that does not exist: item-not-found.
    r = a.iq("nosuch@" + SERVICE, "<query xmlns='%s'/>" % NS_DISCO_INFO)
    assert x.stanza_error(r) == ("cancel", "item-not-found")


def test_create_locked_enter_talk_history_subject(muc_server):
    room = "lounge@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    a.join(room, "Alice")
    self_p = a.presence_from(room + "/Alice")
    assert codes(self_p) == [201, 110]
    assert (item(self_p).get("affiliation"), item(self_p).get("role")) == ("owner", "moderator")
    # §10.1.1: locked until configured: others get item-not-found.
    b.join(room, "Bob")
    err = b.wait(lambda e: e.tag == PRESENCE and e.get("type") == "error")
    assert x.stanza_error(err) == ("cancel", "item-not-found")
    r = a.iq(room, "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'/></query>"
             % NS_MUC_OWNER, "set")
    assert r.get("type") == "result"
    # Alice talks before Bob arrives: history.
    a.send("<message to='%s' type='groupchat' id='g1'><body>first</body></message>" % room)
    echo = a.wait(lambda e: e.tag == MESSAGE and e.get("id") == "g1")
    assert echo.get("from") == room + "/Alice"
    # §8.1 the subject.
    a.send("<message to='%s' type='groupchat'><subject>Tea</subject></message>" % room)
    a.wait(lambda e: e.tag == MESSAGE and e.findtext(q(NS_CLIENT, "subject")) == "Tea")
    # §7.2.3 order: occupants' presence, own presence (110 last), history, subject.
    b.join(room, "Bob")
    got = [b.wait(lambda e: e.tag in (PRESENCE, MESSAGE) and (e.get("from") or "").startswith(room))
           for _ in range(4)]
    assert got[0].tag == PRESENCE and got[0].get("from") == room + "/Alice"
    assert item(got[0]).get("jid") is None  # semi-anonymous: Bob is no moderator
    assert got[1].tag == PRESENCE and got[1].get("from") == room + "/Bob"
    assert codes(got[1])[-1] == 110
    assert got[2].findtext(q(NS_CLIENT, "body")) == "first"
    delay = got[2].find(q(NS_DELAY, "delay"))
    assert delay is not None and delay.get("from") == room
    assert got[3].findtext(q(NS_CLIENT, "subject")) == "Tea"
    assert got[3].find(q(NS_CLIENT, "body")) is None
    # Alice (a moderator) sees Bob's real JID.
    bp = a.presence_from(room + "/Bob")
    assert item(bp).get("jid") == b.jid and codes(bp) == []
    # Reflection to everyone, sender included.
    b.send("<message to='%s' type='groupchat' id='g2'><body>hello</body></message>" % room)
    for p in (a, b):
        m = p.wait(lambda e: e.tag == MESSAGE and e.get("id") == "g2")
        assert m.get("from") == room + "/Bob" and m.get("type") == "groupchat"
    # Leaving (§7.14): 110 to self, unavailable to the others.
    b.send("<presence to='%s/Bob' type='unavailable'><status>bye</status></presence>" % room)
    left = b.wait(lambda e: e.tag == PRESENCE and e.get("type") == "unavailable")
    assert codes(left) == [110] and left.findtext(q(NS_CLIENT, "status")) == "bye"
    seen = a.wait(lambda e: e.tag == PRESENCE and e.get("type") == "unavailable")
    assert seen.get("from") == room + "/Bob" and item(seen).get("role") == "none"


def test_history_limits(muc_server):
    room = "hist@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    create_instant(a, room, "A")
    for i in range(5):
        a.send("<message to='%s' type='groupchat' id='h%d'><body>m%d</body></message>"
               % (room, i, i))
        a.wait(lambda e, i=i: e.get("id") == "h%d" % i)
    b.join(room, "B", history="<history maxstanzas='2'/>")
    subject = b.wait(lambda e: e.tag == MESSAGE and e.find(q(NS_CLIENT, "subject")) is not None)
    assert subject is not None
    bodies = []
    for el in x.parse(b.c.buf).elements:
        if el.tag == MESSAGE and el.find(q(NS_CLIENT, "body")) is not None:
            bodies.append(el.findtext(q(NS_CLIENT, "body")))
    assert bodies == ["m3", "m4"]
    c = Peer(muc_server, "carol")
    c.join(room, "C", history="<history maxchars='0'/>")
    c.wait(lambda e: e.tag == MESSAGE and e.find(q(NS_CLIENT, "subject")) is not None)
    assert not [el for el in x.parse(c.c.buf).elements
                if el.tag == MESSAGE and el.find(q(NS_CLIENT, "body")) is not None]


def test_enter_errors(muc_server):
    room = "errs@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    create_instant(a, room, "Alice")
    # §7.2.9 nick conflict (also in another case: RFC 8266 comparison).
    for nick in ("Alice", "alice"):
        b.send("<presence to='%s/%s' id='c-%s'><x xmlns='%s'/></presence>" % (room, nick, nick, NS_MUC))
        err = b.wait(lambda e, n=nick: e.get("id") == "c-" + n)
        assert x.stanza_error(err) == ("cancel", "conflict")
    # RFC 8266: NFKC and case folding make the fullwidth "ＡＬＩＣＥ" the same nick as "Alice".
    b.send("<presence to='%s/\uff21\uff2c\uff29\uff23\uff25' id='c-fw'><x xmlns='%s'/></presence>"
           % (room, NS_MUC))
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "c-fw")) == ("cancel", "conflict")
    # §7.2.1 no nickname.
    b.send("<presence to='%s' id='nonick'><x xmlns='%s'/></presence>" % (room, NS_MUC))
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "nonick")) == ("modify", "jid-malformed")
    # Groupchat from a non-occupant: not-acceptable.
    b.send("<message to='%s' type='groupchat' id='ng'><body>x</body></message>" % room)
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "ng")) == ("modify", "not-acceptable")
    # Presence without <x/> from a non-occupant (§7.2.1 groupchat 1.0): an explicit kick.
    b.send("<presence to='%s/Bob'/>" % room)
    kick = b.wait(lambda e: e.tag == PRESENCE and e.get("type") == "unavailable")
    assert codes(kick) == [110, 307, 333]
    a.nothing(lambda e: e.tag == PRESENCE and e.get("from") == room + "/Bob")
    # Now Bob enters properly; groupchat to an occupant is bad-request; PM to nobody.
    b.join(room, "Bob")
    b.presence_from(room + "/Bob")
    b.send("<message to='%s/Alice' type='groupchat' id='gcpm'><body>x</body></message>" % room)
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "gcpm")) == ("modify", "bad-request")
    b.send("<message to='%s/Nobody' type='chat' id='pm0'><body>x</body></message>" % room)
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "pm0")) == ("cancel", "item-not-found")


def test_nick_change_private_message_and_iq(muc_server):
    room = "nicks@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    create_instant(a, room, "Alice")
    b.join(room, "Bob")
    b.presence_from(room + "/Bob")
    a.presence_from(room + "/Bob")
    # §7.6: 303 unavailable with the new nick, then available under the new nick.
    b.send("<presence to='%s/Robert'/>" % room)
    gone = a.wait(lambda e: e.tag == PRESENCE and e.get("from") == room + "/Bob"
                  and e.get("type") == "unavailable")
    assert codes(gone) == [303] and item(gone).get("nick") == "Robert"
    a.presence_from(room + "/Robert")
    mine = b.wait(lambda e: e.tag == PRESENCE and e.get("from") == room + "/Bob"
                  and e.get("type") == "unavailable")
    assert codes(mine) == [303, 110]
    assert codes(b.presence_from(room + "/Robert")) == [110]
    b.send("<presence to='%s/Alice' id='nc'/>" % room)
    assert x.stanza_error(b.wait(lambda e: e.get("id") == "nc")) == ("cancel", "conflict")
    # §7.5 private message, from the occupant JID, marked with muc#user <x/>.
    a.send("<message to='%s/Robert' type='chat' id='pm1'><body>psst</body></message>" % room)
    pm = b.wait(lambda e: e.get("id") == "pm1")
    assert pm.get("from") == room + "/Alice" and pm.get("to") == b.jid
    assert pm.find(q(NS_MUC_USER, "x")) is not None
    # Private iq: forwarded to the occupant, the reply comes back from its occupant JID.
    a.send("<iq type='get' id='piq' to='%s/Robert'><query xmlns='jabber:iq:version'/></iq>" % room)
    fwd = b.wait(lambda e: e.tag == IQ and e.get("type") == "get")
    assert fwd.get("from") == room + "/Alice" and fwd.get("id") != "piq"
    b.send("<iq type='result' id='%s' to='%s/Alice'><query xmlns='jabber:iq:version'>"
           "<name>raw</name><version>1</version></query></iq>" % (fwd.get("id"), room))
    back = a.wait(lambda e: e.get("id") == "piq")
    assert back.get("type") == "result" and back.get("from") == room + "/Robert"
    assert back.find(q("jabber:iq:version", "query")).findtext(q("jabber:iq:version", "name")) == "raw"


def test_self_ping_and_ghost_removal(muc_server):
    room = "ping@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    create_instant(a, room, "Alice")
    # XEP-0410: joined -> result (answered by the service); not joined -> not-acceptable.
    assert a.iq(room + "/Alice", "<ping xmlns='%s'/>" % NS_PING).get("type") == "result"
    r = b.iq(room + "/Bob", "<ping xmlns='%s'/>" % NS_PING)
    assert x.stanza_error(r) == ("cancel", "not-acceptable")
    info = a.iq(room, "<query xmlns='%s'/>" % NS_DISCO_INFO)
    feats = {f.get("var") for f in info.find(q(NS_DISCO_INFO, "query")).findall(q(NS_DISCO_INFO, "feature"))}
    assert "http://jabber.org/protocol/muc#self-ping-optimization" in feats
    assert {"muc_temporary", "muc_public", "muc_open", "muc_semianonymous"} <= feats
    # An occupant whose session answers a room stanza with an error is gone (§18.1): 333.
    b.join(room, "Bob")
    b.presence_from(room + "/Bob")
    a.presence_from(room + "/Bob")
    b.send("<message to='%s' type='error'><error type='cancel'>"
           "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
           % room)
    gone = a.wait(lambda e: e.tag == PRESENCE and e.get("from") == room + "/Bob"
                  and e.get("type") == "unavailable")
    assert codes(gone) == [333]


def test_invitations(muc_server):
    room = "inv@" + SERVICE
    a, b = Peer(muc_server, "alice"), Peer(muc_server, "bob")
    create_instant(a, room, "Alice")
    # §7.8.2 mediated invitation, from the room, naming the inviter.
    a.send("<message to='%s' id='inv1'><x xmlns='%s'><invite to='bob@localhost'>"
           "<reason>join us</reason></invite></x></message>" % (room, NS_MUC_USER))
    inv = b.wait(lambda e: e.tag == MESSAGE and e.get("from") == room)
    i = inv.find(q(NS_MUC_USER, "x")).find(q(NS_MUC_USER, "invite"))
    assert i.get("from") == a.jid and i.findtext(q(NS_MUC_USER, "reason")) == "join us"
    # §7.8.3 decline, forwarded to the inviter.
    b.send("<message to='%s'><x xmlns='%s'><decline to='%s'><reason>busy</reason></decline>"
           "</x></message>" % (room, NS_MUC_USER, a.jid))
    d = a.wait(lambda e: e.tag == MESSAGE and e.get("from") == room)
    dec = d.find(q(NS_MUC_USER, "x")).find(q(NS_MUC_USER, "decline"))
    assert dec.get("from") == "bob@localhost" and dec.findtext(q(NS_MUC_USER, "reason")) == "busy"
    # XEP-0249 direct invitation: user to user.
    a.send("<message to='bob@localhost/r' id='dinv'><x xmlns='jabber:x:conference' jid='%s'/>"
           "</message>" % room)
    di = b.wait(lambda e: e.get("id") == "dinv")
    assert di.find(q("jabber:x:conference", "x")).get("jid") == room


def test_slixmpp_and_aioxmpp_join_and_talk(muc_server):
    async def body():
        import aioxmpp
        import aioxmpp.muc
        alice = await login("alice@localhost/sli", muc_server.port,
                            plugins=("xep_0030", "xep_0045", "xep_0199"))
        room = "mixed@" + SERVICE
        joined = asyncio.get_running_loop().create_future()
        alice.add_event_handler("muc::%s::got_online" % room,
                                lambda p: joined.done() or joined.set_result(p))
        await alice.plugin["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
        # §10.1.2 instant room: an empty submitted form.
        await alice.plugin["xep_0045"].set_room_config(
            room, alice.plugin["xep_0004"].make_form(ftype="submit"))
        # aioxmpp joins the same room.
        bob = clients.aioxmpp_client("bob@localhost", muc_server.port)
        async with bob.connected():
            muc = bob.summon(aioxmpp.muc.MUCClient)
            aroom, fut = muc.join(aioxmpp.JID.fromstr(room), "Bob")
            await asyncio.wait_for(fut, 10)
            got = asyncio.get_running_loop().create_future()
            aroom.on_message.connect(
                lambda msg, member, source, **kw: got.done() or
                (msg.body and got.set_result((member.nick, msg.body.any()))))
            alice.send_message(mto=room, mbody="hello bob", mtype="groupchat")
            nick, text = await asyncio.wait_for(got, 10)
            assert (nick, text) == ("Alice", "hello bob")
            roster = alice.plugin["xep_0045"].get_roster(room)
            for _ in range(50):
                if "Bob" in roster:
                    break
                await asyncio.sleep(0.1)
            assert "Bob" in alice.plugin["xep_0045"].get_roster(room)
        await close_all(alice)
    run(body())


def test_persistent_room_survives_restart(server_factory):
    s = server_factory(extra="[muc.defaults]\npersistent = true\n")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()
    room = "keep@" + SERVICE
    a = Peer(s, "alice")
    create_instant(a, room, "Alice")
    a.send("<message to='%s' type='groupchat'><subject>Kept</subject></message>" % room)
    a.wait(lambda e: e.tag == MESSAGE and e.findtext(q(NS_CLIENT, "subject")) == "Kept")
    a.c.close()
    assert s.stop() == 0
    s.start()
    b = Peer(s, "bob")
    items = b.iq(SERVICE, "<query xmlns='%s'/>" % NS_DISCO_ITEMS)
    assert room in [i.get("jid") for i in items.find(q(NS_DISCO_ITEMS, "query"))]
    b.join(room, "Bob")
    bp = b.presence_from(room + "/Bob")
    assert item(bp).get("affiliation") == "none"
    subj = b.wait(lambda e: e.tag == MESSAGE and e.find(q(NS_CLIENT, "subject")) is not None)
    assert subj.findtext(q(NS_CLIENT, "subject")) == "Kept"
    # Alice is still its owner.
    a2 = Peer(s, "alice", "again")
    a2.join(room, "Alice")
    ap = a2.presence_from(room + "/Alice")
    assert item(ap).get("affiliation") == "owner" and 201 not in codes(ap)
