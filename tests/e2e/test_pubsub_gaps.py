"""XEP-0060 details of the pubsub service on pubsub.localhost, driven by slixmpp (xep_0060 and
hand-written stanzas where the wire form matters): the order of the subscribe result and the
last item (§6.1.7), which option governs the purge notification (§8.5.2), pending
subscriptions in the owner's list (§8.8.1.2), presence-based delivery (§12.8,
pubsub#presence_based_delivery) and the error of a batch modification of subscriptions or
affiliations (§8.8.2.4, §8.9.2.4)."""

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_PUBSUB, NS_OWNER, SERVICE, run, close_all, barrier, is_event,
                         has_item, starling_only)


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def record_in_order(c):
    """Every iq and message `c` receives, in arrival order (the message list `seen` of
    MucClient has no iq)."""
    log = []
    for kind in ("iq", "message"):
        c.register_handler(Callback("gaps-order " + kind, MatchXPath("{jabber:client}%s" % kind),
                                    log.append))
    return log


def error_payload(e, what):
    """The <pubsub xmlns=owner><`what`/></pubsub> of an error reply: {jid: state}."""
    el = pu.xml(e.iq).find("{%s}pubsub/{%s}%s" % (NS_OWNER, NS_OWNER, what))
    assert el is not None, "no %s in the error %s" % (what, e.iq)
    attr = "affiliation" if what == "affiliations" else "subscription"
    return {i.get("jid"): i.get(attr) for i in el}


# ---- §6.1.7: the result, then the last item ----------------------------------------------

def test_last_item_comes_after_the_subscribe_result(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "news", {"pubsub#send_last_published_item": "on_sub"})
            await pu.publish(alice, "news", "the latest", "n1")
            log = record_in_order(bob)
            since = bob.mark()
            r = await bob["xep_0060"].subscribe(SERVICE, "news")
            assert r["pubsub"]["subscription"]["subscription"] == "subscribed", r
            await bob.expect(is_event(SERVICE, "news", pred=has_item("n1", "the latest")),
                             since=since, what="last published item")
            result = [i for i, s in enumerate(log)
                      if s.name == "iq" and s["id"] == r["id"] and s["type"] == "result"]
            item = [i for i, s in enumerate(log)
                    if is_event(SERVICE, "news", pred=has_item("n1"))(s)]
            assert result and item, log
            # §6.1.7 examples: the iq result, then the notification with the last item.
            assert result[0] < item[0], [str(s) for s in log]
            # Subscribed already: the result again, no second copy of the item (§6.1.6).
            since = bob.mark()
            await bob["xep_0060"].subscribe(SERVICE, "news")
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "news"), since=since), bob.seen[since:]
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_pep_last_item_comes_after_the_subscribe_result(srv):
    """The same order on a PEP node (XEP-0163 nodes send the last item on subscription): a
    stranger subscribes to an open OMEMO-style device list."""
    NODE = "eu.siacs.conversations.axolotl.devicelist"

    async def body():
        alice, carol = await pu.logins(srv, "alice", "carol")
        try:
            await pu.publish(alice, NODE, "devices", "current", to=None,
                             options={"pubsub#access_model": "open"})
            log = record_in_order(carol)
            since = carol.mark()
            r = await carol["xep_0060"].subscribe(alice.bare, NODE)
            assert r["pubsub"]["subscription"]["subscription"] == "subscribed", r
            await carol.expect(is_event(alice.bare, NODE, pred=has_item("current")),
                               since=since, what="last published item")
            result = [i for i, s in enumerate(log)
                      if s.name == "iq" and s["id"] == r["id"] and s["type"] == "result"]
            item = [i for i, s in enumerate(log)
                    if is_event(alice.bare, NODE, pred=has_item("current"))(s)]
            assert result and item, log
            assert result[0] < item[0], [str(s) for s in log]
        finally:
            await close_all(alice, carol)
    run(body(), 60)


# ---- §8.5.2: pubsub#notify_retract governs the purge notification ------------------------

def test_purge_notification_follows_notify_retract(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            # §8.5.2 "configured to notify subscribers on deletion of items": the node_config
            # field for that is pubsub#notify_retract (§16.4); there is no purge option.
            await pu.create(alice, "quiet", {"pubsub#notify_retract": False,
                                             "pubsub#send_last_published_item": "never"})
            await pu.subscribe(bob, "quiet")
            await pu.publish(alice, "quiet", "x", "q1")
            await bob.expect(is_event(SERVICE, "quiet", pred=has_item("q1")), what="item")
            since = bob.mark()
            await alice["xep_0060"].purge(SERVICE, "quiet")
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "quiet", kind="purge"), since=since), \
                bob.seen[since:]
            assert pu.items_of(await pu.get_items(bob, "quiet")) == []
            # Turned on: one <purge/> event (not a retraction per item).
            await pu.set_config(alice, "quiet", {"pubsub#notify_retract": True})
            await pu.publish(alice, "quiet", "y", "q2")
            await pu.publish(alice, "quiet", "z", "q3")
            await bob.expect(is_event(SERVICE, "quiet", pred=has_item("q3")), what="item")
            since = bob.mark()
            await alice["xep_0060"].purge(SERVICE, "quiet")
            await bob.expect(is_event(SERVICE, "quiet", kind="purge"), since=since,
                             what="purge notification")
            await barrier(bob, SERVICE)
            assert len(bob.found(is_event(SERVICE, "quiet", kind="purge"), since=since)) == 1
            retracted = lambda k, _s: k.find("{%s}retract" % pu.NS_EVENT) is not None  # noqa
            assert not bob.found(is_event(SERVICE, "quiet", pred=retracted), since=since)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- §8.8.1.2: pending subscriptions stay out of the owner's list -------------------------

def test_owner_list_leaves_out_pending_subscriptions(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "gated", {"pubsub#access_model": "authorize"})
            assert (await pu.subscribe(bob, "gated"))["subscription"] == "pending"
            # The owner, as an affiliated entity, subscribes directly (§6.1.4).
            await pu.subscribe(alice, "gated")
            # "MUST return ... subscribed or unconfigured ... SHOULD NOT return ... pending".
            subs = await pu.owner_list(alice, "gated", "subscriptions")
            assert subs == {alice.bare: "subscribed"}, subs
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §12.8: pubsub#presence_based_delivery ------------------------------------------------

@starling_only
def test_presence_based_delivery(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            _, feats, _ = await pu.disco_info(alice, SERVICE)
            assert NS_PUBSUB + "#presence-notifications" in feats, sorted(feats)
            await pu.create(alice, "online", {"pubsub#presence_based_delivery": True,
                                              "pubsub#send_last_published_item": "never"})
            await pu.create(alice, "always", {"pubsub#send_last_published_item": "never"})
            got, _ = await pu.get_config(alice, "online")
            assert got["pubsub#presence_based_delivery"] in (["1"], ["true"]), got
            # carol subscribes with her full JID, then goes unavailable (still connected).
            for node in ("online", "always"):
                await pu.subscribe(bob, node)
                await pu.subscribe(carol, node, jid=str(carol.boundjid))
            carol.send_presence(ptype="unavailable")
            await barrier(carol, pu.DOMAIN)
            since_b, since_c = bob.mark(), carol.mark()
            await pu.publish(alice, "online", "while away", "o1")
            await pu.publish(alice, "always", "while away", "a1")
            await bob.expect(is_event(SERVICE, "online", pred=has_item("o1")), since=since_b)
            # Without the option, the unavailable resource still gets it (the control) ...
            await carol.expect(is_event(SERVICE, "always", pred=has_item("a1")), since=since_c)
            # ... with it, nothing.
            await barrier(carol, SERVICE)
            assert not carol.found(is_event(SERVICE, "online"), since=since_c), \
                carol.seen[since_c:]
            # Available again: delivered.
            await carol.presence()
            await barrier(carol, pu.DOMAIN)
            since_c = carol.mark()
            await pu.publish(alice, "online", "back", "o2")
            await carol.expect(is_event(SERVICE, "online", pred=has_item("o2", "back")),
                               since=since_c, what="notification once available")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §8.8.2.4 / §8.9.2.4: batch modifications --------------------------------------------

@starling_only
def test_batch_subscription_changes_return_the_failed_entries(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "batch", {"pubsub#send_last_published_item": "never"})
            await pu.subscribe(bob, "batch")
            # carol: valid; bob to 'pending': not something an owner sets.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><subscriptions node='batch'>"
                                  "<subscription jid='%s' subscription='subscribed'/>"
                                  "<subscription jid='%s' subscription='pending'/>"
                                  "</subscriptions></pubsub>" % (NS_OWNER, carol.bare, bob.bare))
            e.check("not-acceptable", etype="modify")
            # The error carries only the entry that failed, with the existing subscription.
            assert error_payload(e, "subscriptions") == {bob.bare: "subscribed"}, e.iq
            # Entries not returned took effect.
            subs = await pu.owner_list(alice, "batch", "subscriptions")
            assert subs == {bob.bare: "subscribed", carol.bare: "subscribed"}, subs
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


@starling_only
def test_batch_affiliation_changes_return_the_failed_entries(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "crew")
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><affiliations node='crew'>"
                           "<affiliation jid='%s' affiliation='member'/></affiliations></pubsub>"
                           % (NS_OWNER, carol.bare), "set")
            # §8.9.2.4's example: the only owner steps down in a batch.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><affiliations node='crew'>"
                                  "<affiliation jid='%s' affiliation='none'/>"
                                  "<affiliation jid='%s' affiliation='none'/>"
                                  "<affiliation jid='%s' affiliation='publisher'/>"
                                  "</affiliations></pubsub>"
                                  % (NS_OWNER, alice.bare, carol.bare, bob.bare))
            e.check("not-acceptable", etype="modify")
            assert error_payload(e, "affiliations") == {alice.bare: "owner"}, e.iq
            affs = await pu.owner_list(alice, "crew", "affiliations")
            assert affs == {alice.bare: "owner", bob.bare: "publisher"}, affs
            # Two entries for one entity: bad-request, nothing changes.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><affiliations node='crew'>"
                                  "<affiliation jid='%s' affiliation='member'/>"
                                  "<affiliation jid='%s' affiliation='outcast'/>"
                                  "</affiliations></pubsub>"
                                  % (NS_OWNER, carol.bare, carol.bare))
            e.check("bad-request", etype="modify")
            affs = await pu.owner_list(alice, "crew", "affiliations")
            assert affs == {alice.bare: "owner", bob.bare: "publisher"}, affs
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)
