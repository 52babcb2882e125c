"""Bookmarks: XEP-0402 (PEP node urn:xmpp:bookmarks:1, one item per room) and XEP-0411, which
keeps the old XEP-0048 bookmarks in XEP-0049 private XML storage and the XEP-0402 node in step,
both directions. slixmpp 1.8.3 has no xep_0402 plugin: XEP-0402 items are published with
xep_0060 and a raw payload; the legacy side uses slixmpp's xep_0048 over xep_0049.

Set STARLING_E2E_AGAINST=prosody to run these against Prosody 0.12 (see pubsub_util)."""
import pytest

import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_PUBSUB, NS_BOOKMARKS2, run, close_all, barrier, is_event, items_of)

ROOM = "coven@chat.shakespeare.lit"
ROOM2 = "council@chat.shakespeare.lit"
# XEP-0402 §5 publish-options.
OPTIONS = {"pubsub#persist_items": "true", "pubsub#max_items": "max",
           "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist"}


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def conference2(el):
    """(name, autojoin, nick) of an XEP-0402 <conference/>."""
    assert el is not None and el.tag == "{%s}conference" % NS_BOOKMARKS2, el
    nick = el.find("{%s}nick" % NS_BOOKMARKS2)
    return (el.get("name"), el.get("autojoin") in ("true", "1"),
            None if nick is None else nick.text)


async def publish2(c, jid, name, autojoin, nick):
    return await c.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='%s'>"
                      "<conference xmlns='%s' name='%s' autojoin='%s'><nick>%s</nick></conference>"
                      "</item></publish><publish-options>%s</publish-options></pubsub>"
                      % (NS_PUBSUB, NS_BOOKMARKS2, jid, NS_BOOKMARKS2, name,
                         "true" if autojoin else "false", nick,
                         pu.form_xml(OPTIONS, NS_PUBSUB + "#publish-options")), "set")


async def legacy_conferences(c):
    """{jid: (name, autojoin, nick)} from private storage (XEP-0049 / XEP-0048)."""
    r = await c["xep_0048"].get_bookmarks(method="xep_0049", timeout=pu.WAIT)
    out = {}
    for conf in r["private"]["bookmarks"]["conferences"]:
        out[str(conf["jid"])] = (conf["name"], conf["autojoin"] in (True, "true", "1"),
                                 conf["nick"])
    return out


def test_private_storage_appears_in_pep(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            from slixmpp.plugins.xep_0048 import Bookmarks
            b = Bookmarks()
            b.add_conference(ROOM, "Hecate", name="The Coven", autojoin=True)
            b.add_conference(ROOM2, "Hecate", name="Council", autojoin=False)
            await alice["xep_0048"].set_bookmarks(b, method="xep_0049", timeout=pu.WAIT)
            # XEP-0411 §3: the same rooms in urn:xmpp:bookmarks:1, one item per room JID.
            r = await pu.get_items(alice, NS_BOOKMARKS2, to=alice.bare)
            got = {i: conference2(p) for i, p in items_of(r)}
            assert got == {ROOM: ("The Coven", True, "Hecate"),
                           ROOM2: ("Council", False, "Hecate")}, got
            # Removing one from private storage removes the item.
            b = Bookmarks()
            b.add_conference(ROOM, "Hecate", name="The Coven", autojoin=True)
            await alice["xep_0048"].set_bookmarks(b, method="xep_0049", timeout=pu.WAIT)
            r = await pu.get_items(alice, NS_BOOKMARKS2, to=alice.bare)
            assert [i for i, _ in items_of(r)] == [ROOM], r
        finally:
            await close_all(alice)
    run(body(), 60)


def test_pep_bookmarks_appear_in_private_storage(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await publish2(alice, ROOM, "The Coven", True, "Hecate")
            await publish2(alice, ROOM2, "Council", False, "Witch")
            assert await legacy_conferences(alice) == {
                ROOM: ("The Coven", True, "Hecate"), ROOM2: ("Council", False, "Witch")}
            # XEP-0402 §3.5 retract: gone from private storage too.
            await alice.iq(None, "<pubsub xmlns='%s'><retract node='%s' notify='true'>"
                           "<item id='%s'/></retract></pubsub>" % (NS_PUBSUB, NS_BOOKMARKS2,
                                                                   ROOM2), "set")
            assert await legacy_conferences(alice) == {ROOM: ("The Coven", True, "Hecate")}
        finally:
            await close_all(alice)
    run(body(), 60)


def test_bookmarks2_node_config_and_privacy(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        alice2 = await pu.login(srv, "alice", resource="other")
        try:
            await pu.befriend(alice, bob)
            alice2["xep_0163"].add_interest(NS_BOOKMARKS2)
            await alice2["xep_0115"].update_caps(broadcast=False)
            await alice2.presence()
            since = alice2.mark()
            await publish2(alice, ROOM, "The Coven", True, "Hecate")
            # XEP-0402 §3.3: the owner's other (interested) resource is told.
            _, m = await alice2.expect(is_event(alice.bare, NS_BOOKMARKS2), since=since,
                                       what="bookmark notification")
            [(iid, conf)] = pu.event_items(m)
            assert iid == ROOM and conference2(conf) == ("The Coven", True, "Hecate")
            got, _ = await pu.get_config(alice, NS_BOOKMARKS2, to=alice.bare)
            assert got["pubsub#access_model"] == ["whitelist"], got
            assert got["pubsub#persist_items"] in (["1"], ["true"]), got
            # A contact may not read them.
            e = await bob.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                % (NS_PUBSUB, NS_BOOKMARKS2), "get")
            e.check("not-allowed", "closed-node", etype="cancel", prosody="forbidden")
            await barrier(bob, alice.bare)
            assert not bob.found(is_event(alice.bare, NS_BOOKMARKS2)), bob.seen
        finally:
            await close_all(alice, alice2, bob)
    run(body(), 60)
