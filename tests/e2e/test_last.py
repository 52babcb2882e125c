"""XEP-0012 Last Activity, end to end: raw sockets for the exact replies, slixmpp's xep_0012
plugin as an independent client."""
import time
import xml.etree.ElementTree as ET

import clients
from clients import login, close_all, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer, subscribe_mutually

NS_LAST = "jabber:iq:last"


def last(peer, to, iq_id):
    peer.send("<iq type='get' id='%s' to='%s'><query xmlns='%s'/></iq>" % (iq_id, to, NS_LAST))
    return x.wait_id(peer.c, iq_id)


def test_server_uptime_and_disco(server):
    a = Peer(server, "alice")
    try:
        r = last(a, "localhost", "up")
        assert r.get("type") == "result", ET.tostring(r)
        query = r.find(q(NS_LAST, "query"))
        assert int(query.get("seconds")) >= 0
        assert not (query.text or "").strip()  # §5: no character data for a server
        a.send("<iq type='get' id='d' to='localhost'>"
               "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = x.wait_id(a.c, "d")
        features = {f.get("var") for f in info.iter(q("http://jabber.org/protocol/disco#info",
                                                       "feature"))}
        assert NS_LAST in features
    finally:
        a.close()


def test_last_logout_and_status_for_subscribers_only(server):
    server.adduser("carol@localhost", "secret")
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    carol = Peer(server, "carol", "c")
    try:
        subscribe_mutually(a, b)
        # Online: seconds='0' (§3).
        r = last(a, "bob@localhost", "l0")
        assert r.find(q(NS_LAST, "query")).get("seconds") == "0", ET.tostring(r)
        b.send("<presence type='unavailable'><status>Heading Home</status></presence>")
        a.wait_presence("bob@localhost/b", "unavailable")
        b.end()
        time.sleep(2.1)
        r = last(a, "bob@localhost", "l1")
        assert r.get("type") == "result", ET.tostring(r)
        query = r.find(q(NS_LAST, "query"))
        assert 2 <= int(query.get("seconds")) < 60
        assert query.text == "Heading Home"
        # Not subscribed: forbidden (§3, a presence leak otherwise).
        r = last(carol, "bob@localhost", "l2")
        assert r.get("type") == "error" and x.stanza_error(r) == ("auth", "forbidden")
        # No such account: RFC 6121 §8.5.1.
        r = last(carol, "nobody@localhost", "l3")
        assert x.stanza_error(r)[1] == "service-unavailable"
    finally:
        a.close()
        carol.close()


def test_slixmpp_last_activity(server):
    b = Peer(server, "bob", "b")
    a = Peer(server, "alice", "a")
    subscribe_mutually(a, b)
    b.send("<presence type='unavailable'><status>bye</status></presence>")
    a.wait_presence("bob@localhost/b", "unavailable")
    b.end()
    a.close()

    async def body():
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0012", "xep_0199"))
        try:
            r = await alice["xep_0012"].get_last_activity("bob@localhost", timeout=10)
            assert int(r["last_activity"]["seconds"]) >= 0
            assert r["last_activity"]["status"] == "bye"
            up = await alice["xep_0012"].get_last_activity("localhost", timeout=10)
            assert int(up["last_activity"]["seconds"]) >= 0
        finally:
            await close_all(alice)
    run(body(), timeout=60)
