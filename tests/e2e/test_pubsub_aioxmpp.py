"""XEP-0060 and XEP-0163 driven by aioxmpp (aioxmpp.PubSubClient, aioxmpp.PEPClient with
EntityCapsService for +notify, aioxmpp.avatar, aioxmpp.bookmarks), mixed with slixmpp clients:
what an aioxmpp user sees of the pubsub service and of a contact's PEP nodes.

Set STARLING_E2E_AGAINST=prosody to run these against Prosody 0.12 (see pubsub_util)."""
import asyncio

import pytest

import clients
import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_NICK, NS_BOOKMARKS2, SERVICE, run, close_all, is_event, items_of,
                         entry_text)

NS_E2E = "urn:example:e2e"


def e2e_xso():
    """An XSO for <entry xmlns='urn:example:e2e'>text</entry>, registered as a pubsub payload."""
    import aioxmpp.pubsub.xso
    import aioxmpp.xso
    global Entry
    try:
        return Entry
    except NameError:
        pass

    @aioxmpp.pubsub.xso.as_payload_class
    class Entry(aioxmpp.xso.XSO):
        TAG = (NS_E2E, "entry")
        text = aioxmpp.xso.Text(default="")
    return Entry


def nick_xso():
    """aioxmpp has no XEP-0172 module: a <nick/> XSO registered as a pubsub payload (aioxmpp's
    PEPClient hands out only registered payloads whose namespace is the node's)."""
    import aioxmpp.pubsub.xso
    import aioxmpp.xso
    global Nick
    try:
        return Nick
    except NameError:
        pass

    @aioxmpp.pubsub.xso.as_payload_class
    class Nick(aioxmpp.xso.XSO):
        TAG = (NS_NICK, "nick")
        text = aioxmpp.xso.Text(default="")
    return Nick


class Ax:
    """An aioxmpp client with PubSubClient, PEPClient, AvatarService, BookmarkClient and caps;
    `async with Ax(...) as a:` connects and sends initial presence (with caps)."""

    def __init__(self, user, port):
        import aioxmpp
        import aioxmpp.avatar
        import aioxmpp.bookmarks
        import aioxmpp.entitycaps
        import aioxmpp.pep
        self.jid = aioxmpp.JID.fromstr("%s@localhost/ax" % user)
        self.client = clients.aioxmpp_client(str(self.jid), port)
        self.caps = self.client.summon(aioxmpp.entitycaps.EntityCapsService)
        self.pubsub = self.client.summon(aioxmpp.PubSubClient)
        self.pep = self.client.summon(aioxmpp.pep.PEPClient)
        self.avatar = self.client.summon(aioxmpp.avatar.AvatarService)
        self.bookmarks = self.client.summon(aioxmpp.bookmarks.BookmarkClient)
        self.presence = self.client.summon(aioxmpp.PresenceServer)
        self._cm = None

    async def __aenter__(self):
        import aioxmpp
        self._cm = self.client.connected()
        await asyncio.wait_for(self._cm.__aenter__(), 20)
        # Initial presence (with the caps of the claimed PEP nodes).
        self.presence.set_presence(aioxmpp.PresenceState(True))
        return self

    async def __aexit__(self, *exc):
        try:
            await asyncio.wait_for(self._cm.__aexit__(*exc), 5)
        except (asyncio.TimeoutError, Exception):
            pass


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def test_aioxmpp_pubsub_subscribe_and_receive(srv):
    async def body():
        import aioxmpp
        Entry = e2e_xso()
        alice, = await pu.logins(srv, "alice")
        try:
            async with Ax("bob", srv.port) as bob:
                svc = aioxmpp.JID.fromstr(SERVICE)
                await pu.create(alice, "feed")
                got = asyncio.Queue()
                bob.pubsub.on_item_published.connect(
                    lambda jid, node, item, **kw: got.put_nowait((jid, node, item)))
                sub = await asyncio.wait_for(bob.pubsub.subscribe(svc, "feed"), pu.WAIT)
                assert sub.payload.subscription == "subscribed", sub.payload
                await pu.publish(alice, "feed", "to aioxmpp", "a1")
                jid, node, item = await asyncio.wait_for(got.get(), pu.WAIT)
                assert jid == svc and node == "feed" and item.id_ == "a1"
                assert isinstance(item.registered_payload, Entry)
                assert item.registered_payload.text == "to aioxmpp"
                # aioxmpp lists and reads items.
                r = await asyncio.wait_for(bob.pubsub.get_items(svc, "feed"), pu.WAIT)
                assert [(i.id_, i.registered_payload.text) for i in r.payload.items] == \
                    [("a1", "to aioxmpp")]
                # aioxmpp creates and publishes; slixmpp reads.
                if not pu.PROSODY:   # Prosody: only admins create nodes on the component
                    await asyncio.wait_for(bob.pubsub.create(svc, "bobs_feed"), pu.WAIT)
                    p = Entry()
                    p.text = "from aioxmpp"
                    await asyncio.wait_for(bob.pubsub.publish(svc, "bobs_feed", p, id_="x1"),
                                           pu.WAIT)
                    r = await pu.get_items(alice, "bobs_feed")
                    assert [(i, entry_text(e)) for i, e in items_of(r)] == [("x1", "from aioxmpp")]
                await asyncio.wait_for(bob.pubsub.unsubscribe(svc, "feed"), pu.WAIT)
                await pu.publish(alice, "feed", "not any more", "a2")
                await asyncio.wait_for(bob.pubsub.get_items(svc, "feed"), pu.WAIT)  # barrier
                assert got.empty()
        finally:
            await close_all(alice)
    run(body(), 60)


def test_aioxmpp_pep_claim_notify(srv):
    async def body():
        # A roster subscription bob -> alice first (slixmpp sessions).
        alice, bob0 = await pu.logins(srv, "alice", "bob")
        try:
            await pu.befriend(alice, bob0)
            await close_all(bob0)
            await alice["xep_0172"].publish_nick("Ally", timeout=pu.WAIT)
            import aioxmpp
            Nick = nick_xso()
            bob = Ax("bob", srv.port)
            got = asyncio.Queue()
            # Claimed before connecting: the initial presence's caps carry nick+notify.
            claim = bob.pep.claim_pep_node(NS_NICK, notify=True)
            claim.on_item_publish.connect(
                lambda jid, node, item, **kw: got.put_nowait((jid, item)))
            async with bob:
                # The last item arrives (XEP-0163 §4.3.1), then every new one.
                jid, item = await asyncio.wait_for(got.get(), pu.WAIT)
                assert jid.bare() == aioxmpp.JID.fromstr(alice.bare)
                assert isinstance(item.registered_payload, Nick)
                assert item.registered_payload.text == "Ally"
                since = alice.mark()
                await alice["xep_0172"].publish_nick("Ally the Second", timeout=pu.WAIT)
                await alice.expect(is_event(alice.bare, NS_NICK), since=since)
                # (The last item may have come more than once: on presence and when the
                # server learnt bob's caps.)
                while True:
                    jid, item = await asyncio.wait_for(got.get(), pu.WAIT)
                    if item.registered_payload.text != "Ally":
                        break
                assert item.registered_payload.text == "Ally the Second"
        finally:
            await close_all(alice)
    run(body(), 60)


def test_aioxmpp_avatar_seen_by_slixmpp_contact(srv):
    async def body():
        alice0, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.befriend(alice0, bob)
            await close_all(alice0)
            async with Ax("alice", srv.port) as alice:
                import aioxmpp.avatar
                image = bytes(range(256)) * 8
                aset = aioxmpp.avatar.AvatarSet()
                aset.add_avatar_image("image/png", image_bytes=image, width=16, height=16)
                since = bob.mark()
                await asyncio.wait_for(alice.avatar.publish_avatar_set(aset), pu.WAIT)
                _, m = await bob.expect(is_event("alice@localhost", pu.NS_AVATAR_META),
                                        since=since, what="avatar metadata from aioxmpp")
                [(iid, meta)] = pu.event_items(m)
                assert iid == aset.png_id, (iid, aset.png_id)
                info = meta.find("{%s}info" % pu.NS_AVATAR_META)
                assert info.get("id") == aset.png_id and int(info.get("bytes")) == len(image)
                r = await bob["xep_0084"].retrieve_avatar("alice@localhost", aset.png_id,
                                                          timeout=pu.WAIT)
                assert r["pubsub"]["items"]["item"]["avatar_data"]["value"] == image
        finally:
            await close_all(bob)
    run(body(), 60)


def test_aioxmpp_bookmarks_bridge_to_pep(srv):
    async def body():
        async with Ax("alice", srv.port) as alice:
            import aioxmpp
            import aioxmpp.bookmarks
            room = aioxmpp.JID.fromstr("coven@chat.shakespeare.lit")
            bm = aioxmpp.bookmarks.Conference("The Coven", room, autojoin=True, nick="Hecate")
            # aioxmpp.bookmarks keeps XEP-0048 bookmarks in private storage (XEP-0049).
            await asyncio.wait_for(alice.bookmarks.set_bookmarks([bm]), pu.WAIT)
            got = await asyncio.wait_for(alice.bookmarks.get_bookmarks(), pu.WAIT)
            assert [(b.jid, b.name, b.nick) for b in got] == [(room, "The Coven", "Hecate")]
            # XEP-0411: a slixmpp session of alice sees them in urn:xmpp:bookmarks:1.
            s, = await pu.logins(srv, "alice")
            try:
                r = await pu.get_items(s, NS_BOOKMARKS2, to=s.bare)
                [(iid, conf)] = items_of(r)
                assert iid == str(room)
                assert conf.get("name") == "The Coven" and conf.get("autojoin") in ("true", "1")
                assert conf.find("{%s}nick" % NS_BOOKMARKS2).text == "Hecate"
            finally:
                await close_all(s)
    run(body(), 60)
