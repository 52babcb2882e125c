"""RFC 6121 §3 (subscriptions, Appendix A, pre-approval) and §4 (presence broadcast, probes,
directed presence), end to end.

Raw sockets check the exact stanzas of the RFC's examples; slixmpp and aioxmpp, independent
clients, check that the flows work for the clients people use."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import login, close_all, run
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_ROSTER = "jabber:iq:roster"
NS_CLIENT = "jabber:client"
NS_DELAY = "urn:xmpp:delay"
PRESENCE = q(NS_CLIENT, "presence")


class Peer:
    """A raw client session: STARTTLS, PLAIN, bind; optionally the roster and initial presence."""

    def __init__(self, server, user, resource="r", roster=True, available=True, priority=None):
        self.c = Raw(server.port)
        self.jid = x.login(self.c, user, "secret", resource)
        self.bare = self.jid.split("/")[0]
        self.n = 0
        if roster:
            self.c.send("<iq type='get' id='roster0'><query xmlns='%s'/></iq>" % NS_ROSTER)
            self.roster0 = x.wait_id(self.c, "roster0")
        if available:
            self.available(priority=priority)

    def send(self, data):
        self.c.send(data)

    def sync(self):
        """Round trip: everything sent before has been processed by the server."""
        self.n += 1
        iq_id = "sync%d" % self.n
        self.c.send("<iq type='get' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
                    % iq_id)
        x.wait_id(self.c, iq_id)

    def available(self, show=None, status=None, priority=None, pid=None):
        inner = ""
        if show:
            inner += "<show>%s</show>" % show
        if status:
            inner += "<status>%s</status>" % status
        if priority is not None:
            inner += "<priority>%d</priority>" % priority
        id_attr = " id='%s'" % pid if pid else ""
        self.c.send("<presence%s>%s</presence>" % (id_attr, inner))
        self.sync()

    def presence_to(self, to, ptype, pid=None):
        id_attr = " id='%s'" % pid if pid else ""
        self.c.send("<presence to='%s' type='%s'%s/>" % (to, ptype, id_attr))

    def wait_presence(self, frm=None, ptype="", timeout=5):
        def pred(e):
            return (e.tag == PRESENCE and (frm is None or e.get("from") == frm)
                    and (e.get("type") or "") == ptype)
        return x.wait_element(self.c, pred, timeout, what="presence %r from %s" % (ptype, frm))

    def no_presence(self, frm=None, ptype=None, timeout=0.5):
        x.no_element(self.c, lambda e: e.tag == PRESENCE
                     and (frm is None or (e.get("from") or "").startswith(frm))
                     and (ptype is None or (e.get("type") or "") == ptype), timeout)

    def wait_push(self, jid, timeout=5):
        def pred(e):
            if e.tag != q(NS_CLIENT, "iq") or e.get("type") != "set":
                return False
            item = e.find("%s/%s" % (q(NS_ROSTER, "query"), q(NS_ROSTER, "item")))
            return item is not None and item.get("jid") == jid
        push = x.wait_element(self.c, pred, timeout, what="roster push for %s" % jid)
        # RFC 6120 §8.2.3: a push is an iq set, which the client answers.
        self.c.send("<iq type='result' id='%s'/>" % push.get("id"))
        return push.find("%s/%s" % (q(NS_ROSTER, "query"), q(NS_ROSTER, "item")))

    def no_push(self, timeout=0.5):
        x.no_element(self.c, lambda e: e.tag == q(NS_CLIENT, "iq") and e.get("type") == "set",
                     timeout)

    def roster(self):
        self.n += 1
        iq_id = "roster%d" % self.n
        self.c.send("<iq type='get' id='%s'><query xmlns='%s'/></iq>" % (iq_id, NS_ROSTER))
        r = x.wait_id(self.c, iq_id)
        return {i.get("jid"): i for i in r.find(q(NS_ROSTER, "query")).findall(q(NS_ROSTER, "item"))}

    def drain(self):
        """Forgets everything received so far (e.g. the pushes of a setup)."""
        self.sync()
        self.c.taken = set(range(len(x.parse(self.c.buf).elements)))

    def close(self):
        self.c.close()

    def end(self):
        """A graceful end of the stream."""
        try:
            self.c.send("</stream:stream>")
        except OSError:
            pass
        self.c.close()


def subscribe_mutually(a, b):
    """a and b end in state Both (RFC 6121 §3.1 twice)."""
    a.presence_to(b.bare, "subscribe")
    b.wait_presence(a.bare, "subscribe")
    b.presence_to(a.bare, "subscribed")
    a.wait_presence(b.bare, "subscribed")
    b.presence_to(a.bare, "subscribe")
    a.wait_presence(b.bare, "subscribe")
    a.presence_to(b.bare, "subscribed")
    b.wait_presence(a.bare, "subscribed")
    a.sync()
    b.sync()
    assert a.roster()[b.bare].get("subscription") == "both"
    assert b.roster()[a.bare].get("subscription") == "both"
    a.drain()
    b.drain()


@pytest.fixture
def three(server):
    server.adduser("carol@localhost", "secret")
    return server


def test_pre_approval_stream_feature(server):
    # §3.4: a server that supports pre-approval announces it.
    c = Raw(server.port)
    try:
        x.starttls(c)
        x.plain(c, "alice", "secret")
        f = x.restart(c)
        assert f.find(q("urn:xmpp:features:pre-approval", "sub")) is not None, ET.tostring(f)
    finally:
        c.close()


def test_subscription_request_and_approval_as_in_the_rfc(server):
    """§3.1.2 to §3.1.6: the stanzas and roster pushes of the RFC's examples."""
    romeo = Peer(server, "alice", "foo")
    juliet = Peer(server, "bob", "balcony")
    try:
        romeo.presence_to("bob@localhost/balcony", "subscribe", pid="xk3h1v69")
        # §3.1.2: the user's server pushes the item with ask='subscribe', state None.
        item = romeo.wait_push("bob@localhost")
        assert item.get("subscription") == "none" and item.get("ask") == "subscribe"
        # §3.1.3: delivered to the contact stamped with the user's bare JID, to the bare JID.
        req = juliet.wait_presence("alice@localhost", "subscribe")
        assert req.get("to") == "bob@localhost" and req.get("id") == "xk3h1v69"
        # §3.1.3 security warning: no roster item for the user before approval.
        juliet.no_push()
        assert "alice@localhost" not in juliet.roster()

        juliet.presence_to("alice@localhost", "subscribed", pid="h4v1c4kj")
        # §3.1.5: the contact's roster now says "from".
        item = juliet.wait_push("alice@localhost")
        assert item.get("subscription") == "from" and item.get("ask") is None
        # §3.1.6: the approval, then the push with "to", then the contact's presence.
        ok = romeo.wait_presence("bob@localhost", "subscribed")
        assert ok.get("id") == "h4v1c4kj"
        item = romeo.wait_push("bob@localhost")
        assert item.get("subscription") == "to" and item.get("ask") is None
        romeo.wait_presence("bob@localhost/balcony", "")
        # The contact does not see the user: its subscription is only "from".
        juliet.no_presence("alice@localhost/", "")
    finally:
        romeo.close()
        juliet.close()


def test_denial_clears_the_pending_request(server):
    romeo = Peer(server, "alice")
    juliet = Peer(server, "bob")
    try:
        romeo.presence_to("bob@localhost", "subscribe")
        romeo.wait_push("bob@localhost")
        juliet.wait_presence("alice@localhost", "subscribe")
        juliet.presence_to("alice@localhost", "unsubscribed")  # §3.1.4: denial
        romeo.wait_presence("bob@localhost", "unsubscribed")
        item = romeo.wait_push("bob@localhost")
        assert item.get("subscription") == "none" and item.get("ask") is None
        juliet.sync()
        juliet.no_push()
    finally:
        romeo.close()
        juliet.close()


def test_pending_request_is_redelivered_at_every_login_until_answered(server):
    """§3.1.3 #4: stored while the contact is offline, delivered whenever the contact becomes
    available, only once per request, until approved or denied."""
    romeo = Peer(server, "alice")
    try:
        romeo.presence_to("bob@localhost", "subscribe", pid="first")
        romeo.wait_push("bob@localhost")
        romeo.presence_to("bob@localhost", "subscribe", pid="second")
        romeo.sync()
        for attempt in range(2):
            juliet = Peer(server, "bob", "r%d" % attempt, available=False)
            juliet.no_presence("alice@localhost", "subscribe", timeout=0.5)  # not before presence
            juliet.available()
            req = juliet.wait_presence("alice@localhost", "subscribe")
            assert req.get("id") == "first"
            juliet.no_presence("alice@localhost", "subscribe", timeout=0.5)  # only one request
            juliet.close()
        juliet = Peer(server, "bob", "answer")
        juliet.wait_presence("alice@localhost", "subscribe")
        juliet.presence_to("alice@localhost", "subscribed")
        juliet.wait_push("alice@localhost")
        romeo.wait_presence("bob@localhost", "subscribed")
        juliet.close()
        juliet = Peer(server, "bob", "after")
        juliet.no_presence("alice@localhost", "subscribe", timeout=1.0)
        juliet.close()
    finally:
        romeo.close()


def test_pending_request_survives_restart(server):
    romeo = Peer(server, "alice")
    romeo.presence_to("bob@localhost", "subscribe")
    romeo.wait_push("bob@localhost")
    romeo.close()
    assert server.stop() == 0
    server.start()
    juliet = Peer(server, "bob")
    try:
        juliet.wait_presence("alice@localhost", "subscribe")
    finally:
        juliet.close()


def test_pre_approval(server):
    """§3.4.2: a "subscribed" sent before any request is not routed; it sets approved='true',
    and the later request is answered by the server."""
    romeo = Peer(server, "alice")
    juliet = Peer(server, "bob")
    try:
        juliet.presence_to("alice@localhost", "subscribed")
        item = juliet.wait_push("alice@localhost")
        assert item.get("approved") == "true" and item.get("subscription") == "none"
        romeo.no_presence("bob@localhost", "subscribed", timeout=0.5)  # MUST NOT be routed

        romeo.presence_to("bob@localhost", "subscribe")
        romeo.wait_push("bob@localhost")
        romeo.wait_presence("bob@localhost", "subscribed")  # the server's auto-reply
        item = romeo.wait_push("bob@localhost")
        assert item.get("subscription") == "to"
        item = juliet.wait_push("alice@localhost")
        assert item.get("subscription") == "from"
        juliet.no_presence("alice@localhost", "subscribe", timeout=0.5)  # never asked
    finally:
        romeo.close()
        juliet.close()


def test_cancel_pre_approval_with_unsubscribed(server):
    juliet = Peer(server, "bob")
    try:
        juliet.presence_to("alice@localhost", "subscribed")
        assert juliet.wait_push("alice@localhost").get("approved") == "true"
        juliet.presence_to("alice@localhost", "unsubscribed")
        assert juliet.wait_push("alice@localhost").get("approved") is None
    finally:
        juliet.close()


def test_initial_presence_broadcast_and_probes(server):
    """§4.2: initial presence goes to subscribers and the user's resources; probes bring back the
    contacts' presence; subsequent presence (§4.4) and unavailable presence (§4.5) follow."""
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    try:
        subscribe_mutually(a, b)
        a.end()
        b.wait_presence("alice@localhost/a", "unavailable")
        # alice comes back: bob sees her initial presence; her probe returns bob's presence with
        # the id his client gave it (§4.3.2.1).
        b.available(show="away", status="at lunch", pid="pres-b")
        a = Peer(server, "alice", "a2", available=False)
        a.available(status="back", pid="pres-a")
        got = b.wait_presence("alice@localhost/a2", "")
        assert got.get("id") == "pres-a" and got.findtext(q(NS_CLIENT, "status")) == "back"
        assert got.get("to") == "bob@localhost"
        probe_answer = a.wait_presence("bob@localhost/b", "")
        assert probe_answer.get("id") == "pres-b"
        assert probe_answer.findtext(q(NS_CLIENT, "show")) == "away"
        # The sender itself gets its broadcast (an entity is subscribed to its own presence).
        a.wait_presence("alice@localhost/a2", "")
        # Subsequent presence.
        a.available(show="dnd")
        got = b.wait_presence("alice@localhost/a2", "")
        assert got.findtext(q(NS_CLIENT, "show")) == "dnd"
        # Graceful unavailable with a status: the full XML is broadcast.
        a.send("<presence type='unavailable'><status>gone fishing</status></presence>")
        got = b.wait_presence("alice@localhost/a2", "unavailable")
        assert got.findtext(q(NS_CLIENT, "status")) == "gone fishing"
        a.wait_presence("alice@localhost/a2", "unavailable")
    finally:
        a.close()
        b.close()


def test_stream_loss_generates_unavailable(server):
    # §4.5.2: the server MUST NOT depend on unavailable presence from the client.
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    try:
        subscribe_mutually(a, b)
        a.c.sock.close()  # no closing tag, no unavailable presence
        b.wait_presence("alice@localhost/a", "unavailable")
    finally:
        b.close()


def test_probe_of_offline_contact_gets_unavailable_with_delay(server):
    """§4.3.2 #3: no available resource: unavailable from the bare JID, with the time of (and
    the status given in) the last unavailable presence."""
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    subscribe_mutually(a, b)
    b.send("<presence type='unavailable'><status>on holiday</status></presence>")
    a.wait_presence("bob@localhost/b", "unavailable")
    b.end()
    a.end()
    a = Peer(server, "alice", "again")
    try:
        got = a.wait_presence("bob@localhost", "unavailable")
        delay = got.find(q(NS_DELAY, "delay"))
        assert delay is not None and delay.get("stamp", "").endswith("Z"), ET.tostring(got)
        assert got.findtext(q(NS_CLIENT, "status")) == "on holiday"
    finally:
        a.close()


def test_no_presence_leak_to_non_subscribers(three):
    """Presence goes only to subscribers; a probe from someone else gets no presence (§4.3.2 #1:
    it is answered with "unsubscribed")."""
    server = three
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    carol = Peer(server, "carol", "c")
    try:
        subscribe_mutually(a, b)
        a.available(status="only for bob")
        b.wait_presence("alice@localhost/a", "")
        carol.no_presence("alice@localhost")
        # The probe's answer is "unsubscribed" to carol's bare JID, which her own server then
        # drops by Table 9 (she has no subscription to cancel): she learns nothing.
        carol.presence_to("alice@localhost", "probe", pid="p1")
        carol.no_presence("alice@localhost", timeout=1.0)
    finally:
        a.close()
        b.close()
        carol.close()


def test_directed_presence_is_ended_on_logout(three):
    """§4.6.3 #2: the entity that got directed presence gets unavailable when the resource goes
    offline; §4.6.1: not after directed unavailable."""
    server = three
    a = Peer(server, "alice", "a")
    carol = Peer(server, "carol", "c")
    bob = Peer(server, "bob", "b")
    try:
        a.send("<presence to='carol@localhost/c'><status>hi</status></presence>")
        carol.wait_presence("alice@localhost/a", "")
        a.send("<presence to='bob@localhost'/>")
        bob.wait_presence("alice@localhost/a", "")
        a.send("<presence to='bob@localhost' type='unavailable'/>")
        bob.wait_presence("alice@localhost/a", "unavailable")
        a.sync()
        a.c.sock.close()
        got = carol.wait_presence("alice@localhost/a", "unavailable")
        assert got.get("to") == "carol@localhost/c"
        bob.no_presence("alice@localhost/a", "unavailable", timeout=1.0)
    finally:
        carol.close()
        bob.close()


def test_own_resources_see_each_other(server):
    one = Peer(server, "alice", "one")
    try:
        two = Peer(server, "alice", "two")
        one.wait_presence("alice@localhost/two", "")
        two.wait_presence("alice@localhost/one", "")
        two.end()
        one.wait_presence("alice@localhost/two", "unavailable")
    finally:
        one.close()


def test_unsubscribe_as_in_the_rfc(server):
    """§3.3: the user unsubscribes; the contact gets the unsubscribe and a push, and the user
    gets unavailable presence from the contact's resources."""
    romeo = Peer(server, "alice", "foo")
    juliet = Peer(server, "bob", "balcony")
    try:
        subscribe_mutually(romeo, juliet)
        romeo.presence_to("bob@localhost", "unsubscribe", pid="ul4bs71n")
        assert romeo.wait_push("bob@localhost").get("subscription") == "from"
        got = juliet.wait_presence("alice@localhost", "unsubscribe")
        assert got.get("id") == "ul4bs71n"
        assert juliet.wait_push("alice@localhost").get("subscription") == "to"
        romeo.wait_presence("bob@localhost/balcony", "unavailable")
        # No longer subscribed: bob's presence no longer reaches alice.
        juliet.available(show="chat")
        romeo.no_presence("bob@localhost/balcony", "")
    finally:
        romeo.close()
        juliet.close()


def test_cancel_subscription_as_in_the_rfc(server):
    """§3.2: the contact cancels the user's subscription: unavailable from each of the contact's
    resources first, then "unsubscribed", and pushes on both sides."""
    romeo = Peer(server, "alice", "foo")
    juliet = Peer(server, "bob", "balcony")
    try:
        subscribe_mutually(romeo, juliet)
        juliet.presence_to("alice@localhost", "unsubscribed", pid="ij5b1v7g")
        assert juliet.wait_push("alice@localhost").get("subscription") == "to"
        romeo.wait_presence("bob@localhost/balcony", "unavailable")
        got = romeo.wait_presence("bob@localhost", "unsubscribed")
        assert got.get("id") == "ij5b1v7g"
        assert romeo.wait_push("bob@localhost").get("subscription") == "from"
    finally:
        romeo.close()
        juliet.close()


def test_roster_remove_cancels_both_subscriptions(server):
    # §2.5.2: removing a contact with a mutual subscription sends unsubscribe and unsubscribed.
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    try:
        subscribe_mutually(a, b)
        a.send("<iq type='set' id='rm'><query xmlns='%s'><item jid='bob@localhost' "
               "subscription='remove'/></query></iq>" % NS_ROSTER)
        assert x.wait_id(a.c, "rm").get("type") == "result"
        b.wait_presence("alice@localhost", "unsubscribe")
        b.wait_presence("alice@localhost", "unsubscribed")
        b.sync()
        assert b.roster()["alice@localhost"].get("subscription") == "none"
        assert "bob@localhost" not in a.roster()
    finally:
        a.close()
        b.close()


def test_subscription_to_nonexistent_user_is_ignored(server):
    # §8.5.1: subscription presence to no such user is silently ignored (the roster keeps ask).
    a = Peer(server, "alice")
    try:
        a.presence_to("nobody@localhost", "subscribe")
        assert a.wait_push("nobody@localhost").get("ask") == "subscribe"
        a.no_presence("nobody@localhost", None, timeout=0.5)
    finally:
        a.close()


@pytest.mark.parametrize("stanza,ptype,condition", [
    ("<presence type='subscribe' id='e1'/>", "error", "bad-request"),
    ("<presence type='bogus' id='e1'/>", "error", "bad-request"),
    ("<presence to='bob@localhost' type='bogus' id='e1'/>", "error", "bad-request"),
    ("<presence to='a@b@c' type='subscribe' id='e1'/>", "error", "jid-malformed"),
    ("<presence to='alice@localhost' type='subscribe' id='e1'/>", "error", "bad-request"),
    ("<presence to='localhost' type='subscribe' id='e1'/>", "error", "bad-request"),
    ("<presence id='e1'><priority>200</priority></presence>", "error", "bad-request"),
    ("<presence to='someone@remote.example' type='subscribe' id='e1'/>", "error",
     "remote-server-not-found"),
])
def test_bad_presence_gets_a_stanza_error(server, stanza, ptype, condition):
    a = Peer(server, "alice")
    try:
        a.send(stanza)
        got = x.wait_id(a.c, "e1")
        assert got.tag == PRESENCE and got.get("type") == ptype, ET.tostring(got)
        assert x.stanza_error(got)[1] == condition
        a.sync()  # the stream survives
    finally:
        a.close()


def test_slixmpp_users_add_each_other(server):
    """Two slixmpp clients (which approve and reciprocate requests by default) end up with a
    mutual subscription and see each other's presence, also after one goes and comes back."""
    async def body():
        alice = await login("alice@localhost/sx", server.port)
        bob = await login("bob@localhost/sx", server.port)
        try:
            await asyncio.gather(alice.get_roster(), bob.get_roster())
            alice.send_presence()
            bob.send_presence()
            seen = asyncio.get_running_loop().create_future()

            def on_available(p):
                if str(p["from"]) == "bob@localhost/sx" and not seen.done():
                    seen.set_result(True)
            alice.add_event_handler("got_online", on_available)
            alice.send_presence(pto="bob@localhost", ptype="subscribe")
            for _ in range(100):
                if (alice.client_roster["bob@localhost"]["subscription"] == "both"
                        and bob.client_roster["alice@localhost"]["subscription"] == "both"):
                    break
                await asyncio.sleep(0.1)
            assert alice.client_roster["bob@localhost"]["subscription"] == "both"
            assert bob.client_roster["alice@localhost"]["subscription"] == "both"
            await asyncio.wait_for(seen, 10)
            # bob leaves and comes back: alice is told both times.
            gone = asyncio.get_running_loop().create_future()
            alice.add_event_handler("got_offline",
                                    lambda p: gone.done() or gone.set_result(str(p["from"])))
            await bob.close()
            assert await asyncio.wait_for(gone, 10) == "bob@localhost/sx"
            bob = await login("bob@localhost/sx2", server.port)
            back = asyncio.get_running_loop().create_future()
            alice.add_event_handler(
                "presence_available",
                lambda p: str(p["from"]) == "bob@localhost/sx2" and not back.done()
                and back.set_result(True))
            bob.send_presence()
            await asyncio.wait_for(back, 10)
        finally:
            await close_all(alice, bob)
    run(body(), timeout=90)


def test_aioxmpp_subscribes_and_sees_presence(server):
    """aioxmpp's RosterClient and PresenceClient against a raw contact who approves."""
    import aioxmpp
    import aioxmpp.roster
    import aioxmpp.presence

    juliet = Peer(server, "bob", "balcony")
    try:
        async def body():
            client = clients.aioxmpp_client("alice@localhost/aio", server.port)
            roster = client.summon(aioxmpp.RosterClient)
            presence = client.summon(aioxmpp.PresenceClient)
            loop = asyncio.get_running_loop()
            available = loop.create_future()

            def on_available(full_jid, stanza):
                if str(full_jid) == "bob@localhost/balcony" and not available.done():
                    available.set_result(stanza)
            presence.on_available.connect(on_available)
            client.summon(aioxmpp.PresenceServer).set_presence(aioxmpp.PresenceState(True))
            async with client.connected():
                roster.subscribe(aioxmpp.JID.fromstr("bob@localhost"))
                await loop.run_in_executor(
                    None, lambda: juliet.wait_presence("alice@localhost", "subscribe"))
                juliet.presence_to("alice@localhost", "subscribed")
                await asyncio.wait_for(available, 10)
                for _ in range(50):
                    item = roster.items.get(aioxmpp.JID.fromstr("bob@localhost"))
                    if item is not None and item.subscription == "to":
                        break
                    await asyncio.sleep(0.1)
                assert item is not None and item.subscription == "to"
        run(body(), timeout=60)
    finally:
        juliet.close()


def test_iq_to_a_resource_needs_a_presence_relationship(three):
    """§8.5.3.1: an iq get/set to a full JID from someone who neither is subscribed to the
    user's presence nor got directed presence would leak that presence: service-unavailable
    (forbidden for XEP-0012 last activity, XEP-0012 §4)."""
    server = three
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    carol = Peer(server, "carol", "c")
    try:
        subscribe_mutually(a, b)
        carol.send("<iq type='get' id='v1' to='alice@localhost/a'>"
                   "<query xmlns='jabber:iq:version'/></iq>")
        assert x.stanza_error(x.wait_id(carol.c, "v1")) == ("cancel", "service-unavailable")
        carol.send("<iq type='get' id='l1' to='alice@localhost/a'>"
                   "<query xmlns='jabber:iq:last'/></iq>")
        assert x.stanza_error(x.wait_id(carol.c, "l1")) == ("auth", "forbidden")
        x.no_element(a.c, lambda e: e.get("id") in ("v1", "l1"), 0.5)
        # A subscriber's iq is delivered.
        b.send("<iq type='get' id='v2' to='alice@localhost/a'><query xmlns='jabber:iq:version'/>"
               "</iq>")
        got = x.wait_id(a.c, "v2")
        assert got.get("from") == "bob@localhost/b"
        # After directed presence to carol, hers is too.
        a.send("<presence to='carol@localhost'/>")
        carol.wait_presence("alice@localhost/a", "")
        carol.send("<iq type='get' id='v3' to='alice@localhost/a'>"
                   "<query xmlns='jabber:iq:version'/></iq>")
        got = x.wait_id(a.c, "v3")
        assert got.get("from") == "carol@localhost/c"
        # Once the subscription is cancelled, bob is refused like anyone else.
        a.presence_to("bob@localhost", "unsubscribed")
        a.wait_push("bob@localhost")
        # (The sessions learn of the change asynchronously; allow it a moment.)
        for attempt in range(20):
            b.send("<iq type='get' id='v4-%d' to='alice@localhost/a'>"
                   "<query xmlns='jabber:iq:version'/></iq>" % attempt)
            try:
                reply = x.wait_id(b.c, "v4-%d" % attempt, timeout=0.25)
            except AssertionError:
                continue  # delivered to alice: not refused yet
            assert x.stanza_error(reply)[1] == "service-unavailable"
            break
        else:
            raise AssertionError("bob's iq was still delivered after the cancellation")
    finally:
        a.close()
        b.close()
        carol.close()
