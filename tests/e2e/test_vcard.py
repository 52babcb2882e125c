"""XEP-0054 vcard-temp and XEP-0153 vCard-based avatars (with the server's part from XEP-0398 §4),
end to end.

Raw sockets check the exact stanzas; slixmpp (xep_0054, xep_0153) and aioxmpp (aioxmpp.vcard),
independent clients, check that the flows work for the clients people use."""
import asyncio
import base64
import hashlib
import xml.etree.ElementTree as ET

import clients
from clients import login, close_all, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer, subscribe_mutually, PRESENCE, three  # noqa: F401 (fixture)

NS_VCARD = "vcard-temp"
NS_UPDATE = "vcard-temp:x:update"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

# Two small "images" (the server hashes bytes; it does not decode images).
PHOTO1 = b"\x89PNG\r\n\x1a\n first avatar " + bytes(range(256))
PHOTO2 = b"\x89PNG\r\n\x1a\n second avatar " + bytes(range(255, -1, -1))
HASH1 = hashlib.sha1(PHOTO1).hexdigest()
HASH2 = hashlib.sha1(PHOTO2).hexdigest()


def vcard_xml(fn, photo=None, wrap=True):
    """A vcard-temp vCard; the BINVAL is wrapped at 76 characters as RFC 2045 recommends
    (XEP-0153 §4.6 #5: the server must ignore the line breaks)."""
    inner = "<FN>%s</FN><N><FAMILY>Capulet</FAMILY><GIVEN>%s</GIVEN></N>" % (fn, fn)
    if photo is not None:
        data = base64.b64encode(photo).decode()
        if wrap:
            data = "\n".join(data[i:i + 76] for i in range(0, len(data), 76))
        inner += "<PHOTO><TYPE>image/png</TYPE><BINVAL>%s</BINVAL></PHOTO>" % data
    return "<vCard xmlns='%s'>%s</vCard>" % (NS_VCARD, inner)


def iq(peer, iq_type, payload, to=None, iq_id=None):
    peer.n += 1
    iq_id = iq_id or "v%d" % peer.n
    to_attr = " to='%s'" % to if to else ""
    peer.send("<iq type='%s' id='%s'%s>%s</iq>" % (iq_type, iq_id, to_attr, payload))
    return x.wait_id(peer.c, iq_id)


def get_vcard(peer, to=None):
    return iq(peer, "get", "<vCard xmlns='%s'/>" % NS_VCARD, to)


def set_vcard(peer, vcard, to=None):
    return iq(peer, "set", vcard, to)


def photo_of(reply):
    """(FN, decoded BINVAL or None) of a vCard result."""
    assert reply.get("type") == "result", ET.tostring(reply)
    v = reply.find(q(NS_VCARD, "vCard"))
    assert v is not None, ET.tostring(reply)
    binval = v.find("%s/%s" % (q(NS_VCARD, "PHOTO"), q(NS_VCARD, "BINVAL")))
    data = None
    if binval is not None:
        data = base64.b64decode("".join((binval.text or "").split()))
    return v.findtext(q(NS_VCARD, "FN")), data


def update_of(presence):
    """The <photo/> text of a presence's vcard-temp:x:update ('' for an empty photo), None when
    the <x/> has no photo, or 'no-x' when there is no update element at all."""
    xs = presence.findall(q(NS_UPDATE, "x"))
    if not xs:
        return "no-x"
    assert len(xs) == 1, ET.tostring(presence)
    photo = xs[0].find(q(NS_UPDATE, "photo"))
    if photo is None:
        return None
    return photo.text or ""


def wait_presence_with(peer, frm, pred, timeout=5, what="presence"):
    return x.wait_element(peer.c, lambda e: e.tag == PRESENCE and e.get("from") == frm
                          and not e.get("type") and pred(e), timeout, what=what)


def test_own_vcard_round_trip_and_others_read_it(server):
    """§3.1 (own vCard, empty when none), §3.2 (set), §3.3 (another user's, service-unavailable
    when none or no such account), §4 (disco)."""
    a = Peer(server, "alice", "a", available=False)
    b = Peer(server, "bob", "b", available=False)
    try:
        r = get_vcard(a)
        assert r.get("type") == "result", ET.tostring(r)
        v = r.find(q(NS_VCARD, "vCard"))
        assert v is not None and len(list(v)) == 0, ET.tostring(r)
        # §3.3 (1.3.0): no vCard, and no account, both get service-unavailable.
        assert x.stanza_error(get_vcard(b, "alice@localhost")) == ("cancel", "service-unavailable")
        assert x.stanza_error(get_vcard(b, "nobody@localhost")) == ("cancel",
                                                                   "service-unavailable")
        r = set_vcard(a, vcard_xml("Juliet", PHOTO1))
        assert r.get("type") == "result" and len(list(r)) == 0, ET.tostring(r)
        assert photo_of(get_vcard(a)) == ("Juliet", PHOTO1)
        r = get_vcard(b, "alice@localhost")
        assert r.get("from") == "alice@localhost", ET.tostring(r)
        assert photo_of(r) == ("Juliet", PHOTO1)
        # The own bare JID as 'to' is the same as no 'to'.
        r = set_vcard(a, vcard_xml("Jules"), to="alice@localhost")
        assert r.get("type") == "result", ET.tostring(r)
        assert photo_of(get_vcard(a, "alice@localhost")) == ("Jules", None)
        # A vCard without fields is no vCard.
        assert set_vcard(a, "<vCard xmlns='vcard-temp'/>").get("type") == "result"
        assert x.stanza_error(get_vcard(b, "alice@localhost")) == ("cancel",
                                                                  "service-unavailable")
        # The server has no vCard of its own.
        r = get_vcard(a, "localhost")
        assert r.get("type") == "result" and len(list(r.find(q(NS_VCARD, "vCard")))) == 0
        r = iq(a, "get", "<query xmlns='%s'/>" % NS_DISCO_INFO, "localhost")
        assert NS_VCARD in {f.get("var") for f in r.iter(q(NS_DISCO_INFO, "feature"))}
    finally:
        a.close()
        b.close()


def test_bad_vcard_requests(server_factory):
    s = server_factory(extra="[vcard]\nmax_size = 2048\n")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()
    a = Peer(s, "alice", "a", available=False)
    b = Peer(s, "bob", "b", available=False)
    try:
        assert set_vcard(b, vcard_xml("Bob")).get("type") == "result"
        # §3.2: setting another entity's vCard is forbidden (the user's or the server's).
        r = set_vcard(a, vcard_xml("Mallory"), to="bob@localhost")
        assert x.stanza_error(r) == ("auth", "forbidden"), ET.tostring(r)
        r = set_vcard(a, vcard_xml("Mallory"), to="localhost")
        assert x.stanza_error(r) == ("auth", "forbidden"), ET.tostring(r)
        assert photo_of(get_vcard(a, "bob@localhost")) == ("Bob", None)
        # vcard.max_size: not-acceptable, and the stored vCard stays.
        assert set_vcard(a, vcard_xml("Alice")).get("type") == "result"
        r = set_vcard(a, vcard_xml("Alice", b"\0" * 4000))
        assert x.stanza_error(r) == ("modify", "not-acceptable"), ET.tostring(r)
        assert "2048" in (r.findtext("%s/%s" % (q(x.NS_CLIENT, "error"),
                                                q(x.NS_STANZAS, "text"))) or "")
        assert photo_of(get_vcard(a)) == ("Alice", None)
        # XEP-0153 §4.6 #5: the image data must be base64.
        r = set_vcard(a, "<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>"
                         "<BINVAL>not*base64!</BINVAL></PHOTO></vCard>")
        assert x.stanza_error(r) == ("modify", "bad-request"), ET.tostring(r)
        assert photo_of(get_vcard(a)) == ("Alice", None)
        # RFC 6120 §8.2.3: exactly one payload.
        r = iq(a, "set", vcard_xml("A") + vcard_xml("B"))
        assert x.stanza_error(r) == ("modify", "bad-request"), ET.tostring(r)
        # Not the vcard-temp element: no such service.
        r = iq(a, "get", "<vcard xmlns='vcard-temp'/>")
        assert x.stanza_error(r) == ("cancel", "service-unavailable"), ET.tostring(r)
        # The session is still fine.
        assert photo_of(get_vcard(a)) == ("Alice", None)
    finally:
        a.close()
        b.close()


def test_vcard_survives_restart_and_goes_with_the_account(server):
    a = Peer(server, "alice", "a", available=False)
    assert set_vcard(a, vcard_xml("Juliet", PHOTO1)).get("type") == "result"
    a.close()
    assert server.stop() == 0
    server.start()
    b = Peer(server, "bob", "b", available=False)
    try:
        assert photo_of(get_vcard(b, "alice@localhost")) == ("Juliet", PHOTO1)
        r = server.ctl("deluser", "alice@localhost")
        assert r.returncode == 0, r.stderr
        server.adduser("alice@localhost", "secret")
        assert x.stanza_error(get_vcard(b, "alice@localhost")) == ("cancel",
                                                                  "service-unavailable")
        a = Peer(server, "alice", "a2", available=False)
        v = get_vcard(a).find(q(NS_VCARD, "vCard"))
        assert v is not None and len(list(v)) == 0
        a.close()
    finally:
        b.close()


def test_server_keeps_the_avatar_hash_in_presence(three):
    """XEP-0153 §3.1 with the server's part of XEP-0398 §4: the hash in every available presence,
    an empty <photo/> left alone, an empty <x/> and a stale hash overwritten, directed presence
    too, and a new vCard broadcast at once."""
    server = three
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    carol = Peer(server, "carol", "c")
    try:
        subscribe_mutually(a, b)
        # The user publishes an avatar; its client adds nothing to presence. The server
        # broadcasts the presence again with the hash, to the contact and to the user.
        assert set_vcard(a, vcard_xml("Juliet", PHOTO1)).get("type") == "result"
        p = wait_presence_with(b, a.jid, lambda e: update_of(e) == HASH1, what="hash 1")
        wait_presence_with(a, a.jid, lambda e: update_of(e) == HASH1, what="own hash 1")
        # A later presence without <x/> gets the hash added; its content is kept.
        a.send("<presence><show>away</show><status>reading</status></presence>")
        p = wait_presence_with(b, a.jid, lambda e: e.findtext(q(x.NS_CLIENT, "show")) == "away")
        assert update_of(p) == HASH1 and p.findtext(q(x.NS_CLIENT, "status")) == "reading"
        # XEP-0398 §4: an empty photo element is not touched.
        a.send("<presence><show>dnd</show><x xmlns='%s'><photo/></x></presence>" % NS_UPDATE)
        p = wait_presence_with(b, a.jid, lambda e: e.findtext(q(x.NS_CLIENT, "show")) == "dnd")
        assert update_of(p) == ""
        # An empty <x/> (XEP-0153 §4.1 #2, "not ready") is overwritten.
        a.send("<presence><show>xa</show><x xmlns='%s'/></presence>" % NS_UPDATE)
        p = wait_presence_with(b, a.jid, lambda e: e.findtext(q(x.NS_CLIENT, "show")) == "xa")
        assert update_of(p) == HASH1
        # A hash the vCard does not have is replaced by the vCard's.
        a.send("<presence><show>chat</show><x xmlns='%s'><photo>%s</photo></x></presence>"
               % (NS_UPDATE, "ab" * 20))
        p = wait_presence_with(b, a.jid, lambda e: e.findtext(q(x.NS_CLIENT, "show")) == "chat")
        assert update_of(p) == HASH1
        # The same hash in upper case is the client's own right answer: left as sent.
        a.send("<presence><x xmlns='%s'><photo>%s</photo></x></presence>"
               % (NS_UPDATE, HASH1.upper()))
        p = wait_presence_with(b, a.jid, lambda e: update_of(e) == HASH1.upper())
        # Directed presence carries the hash too (XEP-0398 §4), e.g. to a non-contact.
        a.send("<presence to='carol@localhost'/>")
        p = carol.wait_presence(a.jid, "")
        assert update_of(p) == HASH1, ET.tostring(p)
        # A new avatar: the contact sees the new hash without the client sending presence.
        a.drain()
        b.drain()
        assert set_vcard(a, vcard_xml("Juliet", PHOTO2)).get("type") == "result"
        wait_presence_with(b, a.jid, lambda e: update_of(e) == HASH2, what="hash 2")
        # No avatar any more: the server says so with an empty photo.
        assert set_vcard(a, vcard_xml("Juliet")).get("type") == "result"
        p = wait_presence_with(b, a.jid, lambda e: update_of(e) != HASH2, what="no avatar")
        assert update_of(p) == "", ET.tostring(p)
        # Setting the same vCard again changes nothing: no new presence.
        b.drain()
        assert set_vcard(a, vcard_xml("Juliet")).get("type") == "result"
        b.no_presence(a.jid, "", timeout=0.5)
    finally:
        a.close()
        b.close()
        carol.close()


def test_hash_at_login_and_in_probe_answers(server):
    """The hash is known from the first presence of a new session (loaded at bind) and is in
    the presence the server gives out for probes (RFC 6121 §4.3.2)."""
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    subscribe_mutually(a, b)
    assert set_vcard(a, vcard_xml("Juliet", PHOTO1)).get("type") == "result"
    a.end()
    b.wait_presence(a.jid, "unavailable")
    try:
        a = Peer(server, "alice", "again")
        wait_presence_with(b, "alice@localhost/again", lambda e: update_of(e) == HASH1)
        b.end()
        # bob's initial presence probes alice; the answer carries the hash.
        b = Peer(server, "bob", "b2")
        wait_presence_with(b, "alice@localhost/again", lambda e: update_of(e) == HASH1)
    finally:
        a.close()
        b.close()


def test_slixmpp_vcard_and_avatars(server):
    """slixmpp: alice (xep_0054 only: her client adds nothing to presence) publishes a photo;
    bob (xep_0054 + xep_0153) sees the hash in her presence, fetches the vCard and finds the
    same image; a new photo reaches bob as a new hash."""
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    subscribe_mutually(a, b)
    a.close()
    b.close()

    async def body():
        from slixmpp.plugins.xep_0054.stanza import VCardTemp
        bob = await login("bob@localhost/sx", server.port,
                          plugins=("xep_0030", "xep_0054", "xep_0153"))
        alice = await login("alice@localhost/sx", server.port, plugins=("xep_0030", "xep_0054"))
        try:
            hashes = asyncio.Queue()
            bob.add_event_handler(
                "vcard_avatar_update",
                lambda p: hashes.put_nowait(p["vcard_temp_update"]["photo"])
                if p["from"].bare == "alice@localhost" else None)
            await bob.presence()

            async def next_hash(want):
                while True:
                    h = await asyncio.wait_for(hashes.get(), 10)
                    if h == want:
                        return h

            own = await alice["xep_0054"].get_vcard("alice@localhost")
            assert own["type"] == "result"
            v = VCardTemp()
            v["FN"] = "Alice Example"
            v["PHOTO"]["TYPE"] = "image/png"
            v["PHOTO"]["BINVAL"] = PHOTO1
            await alice["xep_0054"].publish_vcard(v)
            await alice.presence()
            await next_hash(HASH1)
            got = await bob["xep_0054"].get_vcard("alice@localhost")
            assert got["vcard_temp"]["FN"] == "Alice Example"
            assert hashlib.sha1(got["vcard_temp"]["PHOTO"]["BINVAL"]).hexdigest() == HASH1
            v["PHOTO"]["BINVAL"] = PHOTO2
            await alice["xep_0054"].publish_vcard(v)
            await next_hash(HASH2)
        finally:
            await close_all(alice, bob)
    run(body(), timeout=90)


def test_slixmpp_set_avatar_of_xep_0153(server):
    """slixmpp's own XEP-0153 flow (get vCard, set PHOTO, publish, resend presence) against the
    server, seen by a raw contact."""
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    subscribe_mutually(a, b)
    a.close()

    async def body():
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0054", "xep_0153"))
        try:
            await alice.presence()
            await alice["xep_0153"].set_avatar(avatar=PHOTO2, mtype="image/png", timeout=10)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: wait_presence_with(
                b, "alice@localhost/sx", lambda e: update_of(e) == HASH2, timeout=10))
        finally:
            await close_all(alice)
    try:
        run(body(), timeout=90)
    finally:
        b.close()


def test_aioxmpp_vcard(server):
    """aioxmpp.vcard: set a vCard with a photo, read it back, read another user's; a user
    without a vCard answers service-unavailable (XEP-0054 1.3.0 §3.3)."""
    import aioxmpp
    import aioxmpp.vcard
    import aioxmpp.vcard.xso

    async def body():
        client = clients.aioxmpp_client("alice@localhost/aio", server.port)
        async with client.connected():
            svc = client.summon(aioxmpp.vcard.VCardService)
            own = await svc.get_vcard()
            assert own.get_photo_data() is None
            card = aioxmpp.vcard.xso.VCard()
            card.set_photo_data("image/png", PHOTO1)
            await svc.set_vcard(card)
            back = await svc.get_vcard()
            assert back.get_photo_data() == PHOTO1
            assert back.get_photo_mime_type() == "image/png"
            back = await svc.get_vcard(aioxmpp.JID.fromstr("alice@localhost"))
            assert back.get_photo_data() == PHOTO1
            try:
                await svc.get_vcard(aioxmpp.JID.fromstr("bob@localhost"))
                raise AssertionError("bob has no vCard")
            except aioxmpp.XMPPCancelError as e:
                assert e.condition == aioxmpp.ErrorCondition.SERVICE_UNAVAILABLE
            try:
                await svc.set_vcard(card, jid=aioxmpp.JID.fromstr("bob@localhost"))
                raise AssertionError("setting bob's vCard must fail")
            except aioxmpp.XMPPAuthError as e:
                assert e.condition == aioxmpp.ErrorCondition.FORBIDDEN
    run(body(), timeout=60)

    b = Peer(server, "bob", "b", available=False)
    try:
        assert photo_of(get_vcard(b, "alice@localhost"))[1] == PHOTO1
    finally:
        b.close()
