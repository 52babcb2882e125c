"""XEP-0191 Blocking Command and XEP-0016 Privacy Lists (one mechanism beneath both), end to end:
raw sockets for the exact stanzas, slixmpp's xep_0191 and aioxmpp's BlockingClient as
independent clients."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import login, close_all, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer, subscribe_mutually

NS_BLOCK = "urn:xmpp:blocking"
NS_BLOCK_ERR = "urn:xmpp:blocking:errors"
NS_PRIV = "jabber:iq:privacy"
NS_CLIENT = "jabber:client"
MESSAGE = q(NS_CLIENT, "message")


def iq(peer, iq_id, body, itype="set", to=None):
    to_attr = " to='%s'" % to if to else ""
    peer.send("<iq type='%s' id='%s'%s>%s</iq>" % (itype, iq_id, to_attr, body))
    return x.wait_id(peer.c, iq_id)


def blocklist(peer, iq_id="bl"):
    r = iq(peer, iq_id, "<blocklist xmlns='%s'/>" % NS_BLOCK, "get")
    assert r.get("type") == "result", ET.tostring(r)
    return [i.get("jid") for i in r.find(q(NS_BLOCK, "blocklist")).findall(q(NS_BLOCK, "item"))]


def block(peer, jids, iq_id="b", verb="block"):
    items = "".join("<item jid='%s'/>" % j for j in jids)
    return iq(peer, iq_id, "<%s xmlns='%s'>%s</%s>" % (verb, NS_BLOCK, items, verb))


def say(peer, to, body, mid):
    peer.send("<message to='%s' type='chat' id='%s'><body>%s</body></message>" % (to, mid, body))


def wait_body(peer, body, timeout=5):
    return x.wait_element(peer.c, lambda e: e.tag == MESSAGE and e.findtext(q(NS_CLIENT, "body"))
                          == body, timeout, what="message %r" % body)


def no_body(peer, body, timeout=0.7):
    x.no_element(peer.c, lambda e: e.tag == MESSAGE
                 and e.findtext(q(NS_CLIENT, "body")) == body, timeout)


def test_disco_advertises_blocking_and_privacy(server):
    a = Peer(server, "alice")
    try:
        r = iq(a, "d", "<query xmlns='http://jabber.org/protocol/disco#info'/>", "get",
               to="localhost")
        features = {f.get("var") for f in r.iter(q("http://jabber.org/protocol/disco#info",
                                                    "feature"))}
        assert NS_BLOCK in features and NS_PRIV in features
    finally:
        a.close()


def test_block_and_unblock_as_in_xep_0191(server):
    alice = Peer(server, "alice", "a")
    other = Peer(server, "alice", "other")
    bob = Peer(server, "bob", "b")
    try:
        subscribe_mutually(alice, bob)
        assert blocklist(alice) == []
        assert blocklist(other, "bl-other") == []
        r = block(alice, ["bob@localhost"])
        assert r.get("type") == "result", ET.tostring(r)
        # §3.3: a push to every resource that requested the blocklist.
        push = x.wait_element(other.c, lambda e: e.find(q(NS_BLOCK, "block")) is not None)
        assert push.get("type") == "set"
        assert [i.get("jid") for i in push.find(q(NS_BLOCK, "block"))] == ["bob@localhost"]
        # §3.3: the blocked contact sees the user go offline, and the user's clients stop showing
        # the contact as online (XEP-0016: blocked inbound presence).
        bob.wait_presence("alice@localhost/a", "unavailable")
        bob.wait_presence("alice@localhost/other", "unavailable")
        alice.wait_presence("bob@localhost", "unavailable")
        assert blocklist(alice, "bl2") == ["bob@localhost"]

        # Inbound: messages bounce with service-unavailable, presence vanishes, iq errors.
        say(bob, "alice@localhost", "let me in", "m1")
        err = x.wait_id(bob.c, "m1")
        assert err.get("type") == "error" and x.stanza_error(err)[1] == "service-unavailable"
        no_body(alice, "let me in")
        bob.available(status="knock knock")
        alice.no_presence("bob@localhost/b", "")
        r = iq(bob, "v", "<query xmlns='jabber:iq:version'/>", "get", to="alice@localhost/a")
        assert x.stanza_error(r)[1] == "service-unavailable"
        # Outbound: not-acceptable with <blocked/>, not routed.
        say(alice, "bob@localhost", "psst", "m2")
        err = x.wait_id(alice.c, "m2")
        assert x.stanza_error(err)[1] == "not-acceptable"
        assert err.find("%s/%s" % (q(NS_CLIENT, "error"), q(NS_BLOCK_ERR, "blocked"))) is not None
        no_body(bob, "psst")
        # Never between the user's own resources.
        say(other, "alice@localhost/a", "note to self", "m3")
        wait_body(alice, "note to self")

        # §3.4: unblock: the current presence goes to the contact, and messages flow again.
        r = block(alice, ["bob@localhost"], "u", verb="unblock")
        assert r.get("type") == "result"
        push = x.wait_element(other.c, lambda e: e.find(q(NS_BLOCK, "unblock")) is not None)
        bob.wait_presence("alice@localhost/a", "")
        say(bob, "alice@localhost/a", "hello again", "m4")
        wait_body(alice, "hello again")
        assert blocklist(alice, "bl3") == []
    finally:
        alice.close()
        other.close()
        bob.close()


def test_block_applies_while_offline_and_after_restart(server):
    """The block is stored: after a restart a blocked sender's message to the offline user is
    refused, not stored for later."""
    alice = Peer(server, "alice")
    assert block(alice, ["bob@localhost"]).get("type") == "result"
    alice.end()
    assert server.stop() == 0
    server.start()
    bob = Peer(server, "bob")
    try:
        say(bob, "alice@localhost", "while you were out", "m1")
        err = x.wait_id(bob.c, "m1")
        assert x.stanza_error(err)[1] == "service-unavailable"
        alice = Peer(server, "alice", "back")
        no_body(alice, "while you were out", timeout=1.0)
        assert blocklist(alice) == ["bob@localhost"]
        alice.close()
    finally:
        bob.close()


def test_unblock_all_and_domain_block(three):
    server = three
    alice = Peer(server, "alice")
    bob = Peer(server, "bob")
    carol = Peer(server, "carol")
    try:
        # A domain item blocks every JID at that domain (XEP-0191 §5 matching order).
        assert block(alice, ["localhost"]).get("type") == "result"
        say(bob, "alice@localhost", "from bob", "m1")
        assert x.stanza_error(x.wait_id(bob.c, "m1"))[1] == "service-unavailable"
        say(carol, "alice@localhost", "from carol", "m2")
        assert x.stanza_error(x.wait_id(carol.c, "m2"))[1] == "service-unavailable"
        assert block(alice, ["bob@localhost", "carol@localhost"], "b2").get("type") == "result"
        # §3.5: an empty unblock removes every block.
        assert iq(alice, "ua", "<unblock xmlns='%s'/>" % NS_BLOCK).get("type") == "result"
        assert blocklist(alice) == []
        say(carol, "alice@localhost", "free", "m3")
        wait_body(alice, "free")
    finally:
        alice.close()
        bob.close()
        carol.close()


@pytest.fixture
def three(server):
    server.adduser("carol@localhost", "secret")
    return server


@pytest.mark.parametrize("body,condition", [
    ("<block xmlns='urn:xmpp:blocking'/>", "bad-request"),
    ("<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>", "jid-malformed"),
    ("<block xmlns='urn:xmpp:blocking'><thing/></block>", "bad-request"),
])
def test_bad_block_requests(server, body, condition):
    alice = Peer(server, "alice")
    try:
        r = iq(alice, "x1", body)
        assert r.get("type") == "error" and x.stanza_error(r)[1] == condition
    finally:
        alice.close()


def test_someone_elses_blocklist_is_forbidden(server):
    alice = Peer(server, "alice")
    try:
        r = iq(alice, "x1", "<blocklist xmlns='%s'/>" % NS_BLOCK, "get", to="bob@localhost")
        assert x.stanza_error(r) == ("auth", "forbidden")
    finally:
        alice.close()


def privacy(peer, iq_id, inner, itype="set"):
    return iq(peer, iq_id, "<query xmlns='%s'>%s</query>" % (NS_PRIV, inner), itype)


def test_privacy_active_list_applies_to_its_session_only(three):
    """XEP-0016 §2.4: an active list affects only its session; §2.2: no layering."""
    server = three
    a1 = Peer(server, "alice", "a1")
    a2 = Peer(server, "alice", "a2")
    carol = Peer(server, "carol")
    try:
        r = privacy(a1, "p1", "<list name='quiet'><item type='jid' value='carol@localhost' "
                              "action='deny' order='1'><message/></item></list>")
        assert r.get("type") == "result", ET.tostring(r)
        # §2.6: a privacy list push with the name to every connected resource.
        push = x.wait_element(a2.c, lambda e: e.find(q(NS_PRIV, "query")) is not None
                              and e.get("type") == "set")
        assert push.find("%s/%s" % (q(NS_PRIV, "query"), q(NS_PRIV, "list"))).get("name") == \
            "quiet"
        assert privacy(a1, "p2", "<active name='quiet'/>").get("type") == "result"
        say(carol, "alice@localhost/a1", "to a1", "m1")
        assert x.stanza_error(x.wait_id(carol.c, "m1"))[1] == "service-unavailable"
        say(carol, "alice@localhost/a2", "to a2", "m2")
        wait_body(a2, "to a2")
        # Only messages are denied: presence still reaches a1.
        carol.send("<presence to='alice@localhost/a1'/>")
        a1.wait_presence("carol@localhost/r", "")
        # The names: active for this session, no default, one list.
        r = privacy(a1, "p3", "", "get")
        query = r.find(q(NS_PRIV, "query"))
        assert query.find(q(NS_PRIV, "active")).get("name") == "quiet"
        assert query.find(q(NS_PRIV, "default")).get("name") is None
        assert [l.get("name") for l in query.findall(q(NS_PRIV, "list"))] == ["quiet"]
        # §2.7: a list active for another resource cannot be removed.
        r = privacy(a2, "p4", "<list name='quiet'/>")
        assert x.stanza_error(r)[1] == "conflict"
        # Declining the active list restores delivery.
        assert privacy(a1, "p5", "<active/>").get("type") == "result"
        say(carol, "alice@localhost/a1", "again", "m3")
        wait_body(a1, "again")
    finally:
        a1.close()
        a2.close()
        carol.close()


def test_privacy_default_list_presence_out_and_blocklist_view(server):
    alice = Peer(server, "alice", "a")
    bob = Peer(server, "bob", "b")
    try:
        subscribe_mutually(alice, bob)
        r = privacy(alice, "p1", "<list name='hide'>"
                                 "<item type='jid' value='bob@localhost' action='deny' order='1'>"
                                 "<presence-out/></item>"
                                 "<item type='jid' value='spam@localhost' action='deny' order='2'/>"
                                 "</list>")
        assert r.get("type") == "result"
        assert privacy(alice, "p2", "<default name='hide'/>").get("type") == "result"
        alice.available(status="invisible to bob")
        bob.no_presence("alice@localhost/a", "", timeout=1.0)
        # bob can still talk to alice (only presence-out is denied) ...
        say(bob, "alice@localhost", "hi", "m1")
        wait_body(alice, "hi")
        # ... and the blocklist shows the default list's block-everything items only.
        assert blocklist(alice) == ["spam@localhost"]
        r = privacy(alice, "p3", "<list name='hide'/>", "get")
        items = r.find("%s/%s" % (q(NS_PRIV, "query"), q(NS_PRIV, "list"))).findall(
            q(NS_PRIV, "item"))
        assert [i.get("value") for i in items] == ["bob@localhost", "spam@localhost"]
    finally:
        alice.close()
        bob.close()


@pytest.mark.parametrize("inner,condition", [
    ("<list name='x'><item action='deny' order='1'/><item action='allow' order='1'/></list>",
     "bad-request"),
    ("<list name='x'><item type='group' value='Nobody' action='deny' order='1'/></list>",
     "item-not-found"),
    ("<active name='missing'/>", "item-not-found"),
    ("<default name='missing'/>", "item-not-found"),
    ("<list name='missing'/>", "item-not-found"),
    ("<active/><default/>", "bad-request"),
])
def test_privacy_errors(server, inner, condition):
    alice = Peer(server, "alice")
    try:
        r = privacy(alice, "e1", inner)
        assert r.get("type") == "error" and x.stanza_error(r)[1] == condition, ET.tostring(r)
    finally:
        alice.close()


def test_privacy_default_conflict(server):
    """§2.5: the default list cannot change while another connected resource uses it."""
    a1 = Peer(server, "alice", "a1")
    a2 = Peer(server, "alice", "a2")
    try:
        assert privacy(a1, "p1", "<list name='d'><item action='allow' order='1'/></list>").get(
            "type") == "result"
        assert privacy(a1, "p2", "<default name='d'/>").get("type") == "result"
        r = privacy(a1, "p3", "<default/>")
        assert x.stanza_error(r)[1] == "conflict"
        a2.close()
        a1.sync()
        import time
        time.sleep(0.3)
        assert privacy(a1, "p4", "<default/>").get("type") == "result"
    finally:
        a1.close()


def test_slixmpp_blocking_plugin(server):
    bob = Peer(server, "bob")

    async def body():
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0191", "xep_0199"))
        try:
            await alice["xep_0191"].block("bob@localhost", timeout=10)
            got = await alice["xep_0191"].get_blocked(timeout=10)
            assert {str(j) for j in got["blocklist"]["items"]} == {"bob@localhost"}
            await alice["xep_0191"].unblock("bob@localhost", timeout=10)
            got = await alice["xep_0191"].get_blocked(timeout=10)
            assert not got["blocklist"]["items"]
        finally:
            await close_all(alice)
    try:
        run(body(), timeout=60)
    finally:
        bob.close()


def test_aioxmpp_blocking_client(server):
    import aioxmpp
    import aioxmpp.blocking

    bob = Peer(server, "bob")
    try:
        async def body():
            client = clients.aioxmpp_client("alice@localhost/aio", server.port)
            blocking = client.summon(aioxmpp.BlockingClient)
            async with client.connected():
                await blocking.block_jids([aioxmpp.JID.fromstr("bob@localhost")])
                for _ in range(50):
                    if aioxmpp.JID.fromstr("bob@localhost") in blocking.blocklist:
                        break
                    await asyncio.sleep(0.1)
                assert aioxmpp.JID.fromstr("bob@localhost") in blocking.blocklist
        run(body(), timeout=60)
        say(bob, "alice@localhost", "blocked?", "m1")
        assert x.stanza_error(x.wait_id(bob.c, "m1"))[1] == "service-unavailable"
    finally:
        bob.close()
