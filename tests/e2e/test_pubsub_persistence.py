"""Pubsub and PEP state survives a server restart on the same data directory: service nodes
with their configuration, items, subscriptions and affiliations; PEP nodes with their items and
access models (an open OMEMO device list, whitelisted XEP-0402 bookmarks); a deleted node stays
deleted.

Set STARLING_E2E_AGAINST=prosody to run these against Prosody 0.12 (see pubsub_util)."""
import pytest

import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_PUBSUB, NS_OWNER, NS_OMEMO_DEVICELIST, NS_OMEMO_LEGACY, NS_BOOKMARKS2,
                         SERVICE, run, close_all, is_event, has_item, items_of, entry_text)


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def test_pubsub_and_pep_survive_restart(srv):
    async def setup():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "kept", {"pubsub#title": "Kept node", "pubsub#max_items": "4",
                                            "pubsub#access_model": "whitelist"})
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><affiliations node='kept'>"
                           "<affiliation jid='%s' affiliation='publisher'/>"
                           "<affiliation jid='%s' affiliation='member'/></affiliations></pubsub>"
                           % (NS_OWNER, bob.bare, carol.bare), "set")
            for n in range(6):
                await pu.publish(alice, "kept", "item %d" % n, "k%d" % n)
            assert (await pu.subscribe(carol, "kept"))["subscription"] == "subscribed"
            await pu.create(alice, "gone")
            await alice["xep_0060"].delete_node(SERVICE, "gone")
            # PEP: an open device list and whitelisted bookmarks.
            await alice.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                           "<list xmlns='%s'><device id='777'/></list></item></publish>"
                           "<publish-options>%s</publish-options></pubsub>"
                           % (NS_PUBSUB, NS_OMEMO_DEVICELIST, NS_OMEMO_LEGACY,
                              pu.form_xml({"pubsub#access_model": "open"},
                                          NS_PUBSUB + "#publish-options")), "set")
            await alice.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='%s'>"
                           "<conference xmlns='%s' name='Kept room' autojoin='true'/></item>"
                           "</publish><publish-options>%s</publish-options></pubsub>"
                           % (NS_PUBSUB, NS_BOOKMARKS2, "room@conf.example", NS_BOOKMARKS2,
                              pu.form_xml({"pubsub#access_model": "whitelist",
                                           "pubsub#persist_items": "true",
                                           "pubsub#max_items": "max"},
                                          NS_PUBSUB + "#publish-options")), "set")
        finally:
            await close_all(alice, bob, carol)
    run(setup(), 60)

    pu.restart(srv)

    async def check():
        alice, bob, carol, dave = await pu.logins(srv, "alice", "bob", "carol", "dave")
        try:
            got, _ = await pu.get_config(alice, "kept")
            assert got["pubsub#title"] == ["Kept node"], got
            assert got["pubsub#max_items"] == ["4"], got
            assert got["pubsub#access_model"] == ["whitelist"], got
            affs = await pu.owner_list(alice, "kept", "affiliations")
            assert affs == {alice.bare: "owner", bob.bare: "publisher",
                            carol.bare: "member"}, affs
            subs = await pu.owner_list(alice, "kept", "subscriptions")
            assert subs == {carol.bare: "subscribed"}, subs
            r = await pu.get_items(carol, "kept")
            got = {i: entry_text(p) for i, p in items_of(r)}
            assert got == {"k%d" % n: "item %d" % n for n in range(2, 6)}, got
            # dave is still kept out.
            e = await dave.error(SERVICE, "<pubsub xmlns='%s'><items node='kept'/></pubsub>"
                                 % NS_PUBSUB, "get")
            e.check("not-allowed", "closed-node", etype="cancel", prosody="forbidden")
            # bob still publishes, carol is still notified.
            since = carol.mark()
            await pu.publish(bob, "kept", "after restart", "b1")
            await carol.expect(is_event(SERVICE, "kept", pred=has_item("b1", "after restart")),
                               since=since)
            nodes = [i.get("node") for i in await pu.disco_items(alice, SERVICE)]
            assert "kept" in nodes and "gone" not in nodes, nodes
            # PEP: the device list is still open to a stranger.
            r = await pu.get_items(dave, NS_OMEMO_DEVICELIST, to=alice.bare)
            [(iid, lst)] = items_of(r)
            assert iid == "current"
            assert [d.get("id") for d in lst.findall("{%s}device" % NS_OMEMO_LEGACY)] == ["777"]
            # The bookmarks are still alice's alone.
            r = await pu.get_items(alice, NS_BOOKMARKS2, to=alice.bare)
            assert [(i, p.get("name")) for i, p in items_of(r)] == [("room@conf.example",
                                                                     "Kept room")], r
            got, _ = await pu.get_config(alice, NS_BOOKMARKS2, to=alice.bare)
            assert got["pubsub#access_model"] == ["whitelist"], got
            e = await dave.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                 % (NS_PUBSUB, NS_BOOKMARKS2), "get")
            assert e.condition in ("not-allowed", "forbidden", "not-authorized"), e
        finally:
            await close_all(alice, bob, carol, dave)
    run(check(), 60)
