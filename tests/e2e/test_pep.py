"""XEP-0163 Personal Eventing Protocol on local accounts, driven by slixmpp (xep_0060, xep_0163,
xep_0115 caps, xep_0084 avatars, xep_0172 nick, xep_0223 private data): nodes created on first
publish, the default presence access model (a contact reads, a stranger is refused), +notify
interests announced through entity capabilities deliver notifications to interested contacts
only, the last item sent when a contact comes online, and an OMEMO device list published with
access_model=open read by a stranger.

Set STARLING_E2E_AGAINST=prosody to run these against Prosody 0.12 (see pubsub_util)."""
import asyncio
import hashlib

import pytest

import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_PUBSUB, NS_OWNER, NS_TUNE, NS_NICK, NS_AVATAR_META, NS_OMEMO_DEVICELIST,
                         NS_OMEMO_LEGACY, run, close_all, barrier, is_event, items_of,
                         entry_text, BARE_PLUGINS)

NOTES = "urn:example:e2e:notes"


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def tune(text):
    return pu.payload("<tune xmlns='%s'><title>%s</title></tune>" % (NS_TUNE, text))


def tune_title(el):
    t = None if el is None else el.find("{%s}title" % NS_TUNE)
    return None if t is None else t.text


async def publish_tune(c, title):
    return await c.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                      "<tune xmlns='%s'><title>%s</title></tune></item></publish></pubsub>"
                      % (NS_PUBSUB, NS_TUNE, NS_TUNE, title), "set")


async def pep_items(c, owner, node, **kw):
    return await pu.get_items(c, node, to=owner, **kw)


def test_publish_autocreates_node(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            # XEP-0163 §3: publishing to a node that does not exist creates it (to = own bare
            # JID; slixmpp's xep_0163.publish leaves 'to' out, which means the same).
            await pu.publish(alice, NOTES, "first note", "n1", to=None)
            r = await pep_items(alice, alice.bare, NOTES)
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("n1", "first note")], r
            # §7: the account advertises PEP (pubsub identity pep) and lists the node.
            ids, _, _ = await pu.disco_info(alice, alice.bare)
            assert ("pubsub", "pep") in ids, ids
            nodes = [i.get("node") for i in await pu.disco_items(alice, alice.bare)]
            assert NOTES in nodes, nodes
            # The owner's configuration form has the PEP default (presence).
            got, _ = await pu.get_config(alice, NOTES, to=alice.bare)
            assert got["pubsub#access_model"] == ["presence"], got
        finally:
            await close_all(alice)
    run(body(), 60)


def test_presence_access_contact_reads_stranger_refused(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.befriend(alice, bob)
            await publish_tune(alice, "Yesterday")
            r = await pep_items(bob, alice.bare, NS_TUNE)
            assert [(i, tune_title(p)) for i, p in items_of(r)] == [("current", "Yesterday")]
            # XEP-0060 §6.5.9.3: no presence subscription.
            e = await carol.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                  % (NS_PUBSUB, NS_TUNE), "get")
            e.check("not-authorized", "presence-subscription-required", etype="auth",
                    prosody="forbidden")
            # Nor can she subscribe (§6.1.3.2).
            e = await carol.error(alice.bare, "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/>"
                                  "</pubsub>" % (NS_PUBSUB, NS_TUNE, carol.bare))
            e.check("not-authorized", "presence-subscription-required", etype="auth",
                    prosody="forbidden")
            # Nor reconfigure alice's node.
            e = await bob.error(alice.bare, "<pubsub xmlns='%s'><configure node='%s'/></pubsub>"
                                % (NS_OWNER, NS_TUNE), "get")
            e.check("forbidden", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_notify_via_caps_reaches_interested_contacts_only(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        bob, = await pu.logins(srv, "bob")                         # +notify nick (xep_0172)
        carol, = await pu.logins(srv, "carol", plugins=BARE_PLUGINS)  # no +notify at all
        dave, = await pu.logins(srv, "dave")                       # interested, not a contact
        try:
            await pu.befriend(alice, bob)
            await pu.befriend(alice, carol)
            since = {c: c.mark() for c in (alice, bob, carol, dave)}
            await alice["xep_0172"].publish_nick("Ally")
            # XEP-0163 §4.2: the contact with +notify gets it, from alice's bare JID.
            _, m = await bob.expect(is_event(alice.bare, NS_NICK), since=since[bob],
                                    what="nick notification")
            assert str(m["from"]) == alice.bare, m["from"]
            [(_, nick)] = pu.event_items(m)
            assert nick.tag == "{%s}nick" % NS_NICK and nick.text == "Ally", pu.xml(m)
            # alice's own resource is interested too (§4.2.1: the owner's resources).
            await alice.expect(is_event(alice.bare, NS_NICK), since=since[alice])
            # carol has no interest; dave is not a contact.
            await barrier(carol, alice.bare)
            await barrier(dave, alice.bare)
            assert not carol.found(is_event(alice.bare), since[carol]), carol.seen
            assert not dave.found(is_event(alice.bare), since[dave]), dave.seen
            # carol now announces +notify for tune through new caps (slixmpp add_interest) and
            # a new presence; then a tune reaches her.
            carol["xep_0163"].add_interest(NS_TUNE)
            await carol["xep_0115"].update_caps(broadcast=False)
            await carol.presence()
            since_c = carol.mark()
            await publish_tune(alice, "Help!")
            _, m = await carol.expect(is_event(alice.bare, NS_TUNE), since=since_c,
                                      what="tune notification after +notify")
            assert [tune_title(p) for _, p in pu.event_items(m)] == ["Help!"], pu.xml(m)
            # bob never asked for tunes.
            await barrier(bob, alice.bare)
            assert not bob.found(is_event(alice.bare, NS_TUNE)), bob.seen
        finally:
            await close_all(alice, bob, carol, dave)
    run(body(), 90)


def test_last_item_sent_when_contact_comes_online(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.befriend(alice, bob)
            await close_all(bob)
            await alice["xep_0172"].publish_nick("Offline Ally")
            # XEP-0163 §4.3.1 (send_last_published_item on_sub_and_presence): bob's new session
            # with +notify nick in its caps gets the last item.
            bob2, = await pu.logins(srv, "bob")
            try:
                _, m = await bob2.expect(is_event(alice.bare, NS_NICK,
                                                  pred=lambda k, _s: any(
                                                      (list(it) or [None])[0] is not None and
                                                      list(it)[0].text == "Offline Ally"
                                                      for it in k)),
                                         what="last nick on presence")
                assert m["from"].bare == alice.bare
            finally:
                await close_all(bob2)
        finally:
            await close_all(alice, bob)
    run(body(), 90)


def test_avatar_metadata_notification_and_data(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.befriend(alice, bob)
            image = bytes(range(256)) * 40          # 10 KiB of "PNG"
            aid = hashlib.sha1(image).hexdigest()
            got = asyncio.get_running_loop().create_future()
            bob.add_event_handler("avatar_metadata_publish",
                                  lambda m: got.done() or got.set_result(m))
            # XEP-0084 §4.1 data, then §4.2 metadata (slixmpp's xep_0084).
            await alice["xep_0084"].publish_avatar(image, timeout=pu.WAIT)
            await alice["xep_0084"].publish_avatar_metadata(
                [{"id": aid, "type": "image/png", "bytes": len(image), "width": "64",
                  "height": "64"}], timeout=pu.WAIT)
            await bob.expect(is_event(alice.bare, NS_AVATAR_META), what="avatar metadata event")
            m = await asyncio.wait_for(got, pu.WAIT)      # slixmpp's own event fired too
            assert m["from"].bare == alice.bare
            info = m["pubsub_event"]["items"]["item"]["avatar_metadata"]["info"]
            assert info["id"] == aid and int(info["bytes"]) == len(image), m
            assert m["pubsub_event"]["items"]["item"]["id"] == aid, m
            # bob fetches the data by id (§4.3).
            r = await bob["xep_0084"].retrieve_avatar(alice.bare, aid)
            data = r["pubsub"]["items"]["item"]["avatar_data"]["value"]
            assert data == image
        finally:
            await close_all(alice, bob)
    run(body(), 90)


def test_omemo_devicelist_open_to_strangers(srv):
    async def body():
        alice, carol = await pu.logins(srv, "alice", "carol")
        try:
            # XEP-0384 (0.3, "siacs" namespace) device list with access_model=open.
            r = await alice.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                               "<list xmlns='%s'><device id='12345'/><device id='4223'/></list>"
                               "</item></publish><publish-options>%s</publish-options></pubsub>"
                               % (NS_PUBSUB, NS_OMEMO_DEVICELIST, NS_OMEMO_LEGACY,
                                  pu.form_xml({"pubsub#access_model": "open"},
                                              NS_PUBSUB + "#publish-options")), "set")
            assert r["type"] == "result"
            # carol has no relation to alice and reads it.
            r = await pep_items(carol, alice.bare, NS_OMEMO_DEVICELIST)
            [(iid, lst)] = items_of(r)
            assert iid == "current"
            devices = sorted(d.get("id") for d in lst.findall("{%s}device" % NS_OMEMO_LEGACY))
            assert devices == ["12345", "4223"], devices
            got, _ = await pu.get_config(alice, NS_OMEMO_DEVICELIST, to=alice.bare)
            assert got["pubsub#access_model"] == ["open"], got
            # And may subscribe to it.
            sub = await pu.subscribe(carol, NS_OMEMO_DEVICELIST, to=alice.bare)
            assert sub["subscription"] == "subscribed", sub
            since = carol.mark()
            await alice.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                           "<list xmlns='%s'><device id='12345'/></list></item></publish>"
                           "</pubsub>" % (NS_PUBSUB, NS_OMEMO_DEVICELIST, NS_OMEMO_LEGACY), "set")
            # The last item (§6.1.7, the two-device list) may come after the subscription's
            # result: wait for the new list.
            def one_device(k, _s):
                return any([d.get("id") for d in (list(it) or [[]])[0]] == ["12345"]
                           for it in k.findall("{%s}item" % pu.NS_EVENT))
            _, m = await carol.expect(is_event(alice.bare, NS_OMEMO_DEVICELIST, pred=one_device),
                                      since=since, what="the one-device list")
            [(_, lst)] = pu.event_items(m)
            assert [d.get("id") for d in lst] == ["12345"], pu.xml(m)
        finally:
            await close_all(alice, carol)
    run(body(), 60)


def test_private_data_whitelist_xep0223(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.befriend(alice, bob)
            # XEP-0223 §3: publish-options persist_items=true, access_model=whitelist.
            from slixmpp.xmlstream import ElementBase

            class Secret(ElementBase):
                namespace = "urn:example:e2e"
                name = "entry"
                plugin_attrib = "e2e_entry"
            s = Secret()
            s.xml.text = "my secret"
            await alice["xep_0223"].store(s, node="urn:example:e2e:private", id="current")
            r = await alice["xep_0223"].retrieve("urn:example:e2e:private")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("current", "my secret")]
            got, _ = await pu.get_config(alice, "urn:example:e2e:private", to=alice.bare)
            assert got["pubsub#access_model"] == ["whitelist"], got
            # bob is a contact but not on the whitelist (XEP-0060 §6.5.9.5).
            e = await bob.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                % (NS_PUBSUB, "urn:example:e2e:private"), "get")
            e.check("not-allowed", "closed-node", etype="cancel", prosody="forbidden")
            await barrier(bob, alice.bare)
            assert not bob.found(is_event(alice.bare, "urn:example:e2e:private")), bob.seen
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_pep_publish_options_precondition(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.publish(alice, NOTES, "open note", "n1", to=None,
                             options={"pubsub#access_model": "open"})
            # XEP-0060 §7.1.5 / XEP-0223 §4: an existing node's configuration differs.
            try:
                await pu.publish(alice, NOTES, "hidden", "n2", to=None,
                                 options={"pubsub#access_model": "whitelist"})
            except pu.IqError as ex:
                e = pu.PubsubError(ex.iq)
            else:
                raise AssertionError("publish with an unmet precondition succeeded")
            e.check("conflict", "precondition-not-met", etype="cancel")
            r = await pep_items(alice, alice.bare, NOTES)
            assert [i for i, _ in items_of(r)] == ["n1"], r
        finally:
            await close_all(alice)
    run(body(), 60)


def test_pep_errors(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            # Not alice's account: bob may not publish to her PEP.
            e = await bob.error(alice.bare, "<pubsub xmlns='%s'><publish node='%s'><item id='x'>"
                                "<entry xmlns='urn:example:e2e'/></item></publish></pubsub>"
                                % (NS_PUBSUB, NOTES))
            assert e.condition in ("forbidden", "not-allowed"), e
            # A node alice never made.
            e = await alice.error(alice.bare, "<pubsub xmlns='%s'><items node='nope'/></pubsub>"
                                  % NS_PUBSUB, "get")
            e.check("item-not-found", etype="cancel")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


@pu.starling_only
def test_pep_payload_limit(pubsub_factory):
    srv = pubsub_factory(extra="[pep]\nmax_payload_size = 2048\n")

    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            e = await alice.error(None, "<pubsub xmlns='%s'><publish node='%s'><item id='big'>"
                                  "<entry xmlns='urn:example:e2e'>%s</entry></item></publish>"
                                  "</pubsub>" % (NS_PUBSUB, NOTES, "x" * 5000))
            e.check("not-acceptable", "payload-too-big", etype="modify")
        finally:
            await close_all(alice)
    run(body(), 60)


def test_vcard4_over_pep(srv):
    """XEP-0292 §3: the vCard4 lives in the PEP node urn:xmpp:vcard4 (item 'current'): a contact
    reads it, a stranger is kept out by the default presence access model."""
    NS_VCARD4_NODE = "urn:xmpp:vcard4"
    NS_VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0"

    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.befriend(alice, bob)
            await alice.iq(alice.bare,
                           "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                           "<vcard xmlns='%s'><fn><text>Alice Liddell</text></fn>"
                           "<nickname><text>al</text></nickname></vcard></item></publish></pubsub>"
                           % (NS_PUBSUB, NS_VCARD4_NODE, NS_VCARD4), "set")
            r = await pu.get_items(bob, NS_VCARD4_NODE, to=alice.bare)
            [(item_id, vcard)] = items_of(r)
            assert item_id == "current"
            fn = vcard.find("{%s}fn/{%s}text" % (NS_VCARD4, NS_VCARD4))
            assert fn is not None and fn.text == "Alice Liddell", vcard
            e = await carol.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                  % (NS_PUBSUB, NS_VCARD4_NODE), "get")
            e.check("not-authorized", "presence-subscription-required", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_blocked_contact_gets_no_notifications(srv):
    """Notifications are the account's own messages (from its bare JID): a contact the account
    has blocked (XEP-0191) gets none while blocked; another contact still does; after unblocking
    the next one arrives."""
    NS_BLOCKING = "urn:xmpp:blocking"

    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.befriend(alice, bob)
            await pu.befriend(alice, carol)
            await alice.iq(None, "<block xmlns='%s'><item jid='%s'/></block>"
                           % (NS_BLOCKING, bob.bare), "set")
            since = {c: c.mark() for c in (bob, carol)}
            await alice["xep_0172"].publish_nick("Hidden")
            await carol.expect(is_event(alice.bare, NS_NICK), since=since[carol],
                               what="nick at the contact who is not blocked")
            await barrier(bob, pu.DOMAIN)
            await barrier(alice, alice.bare)
            await barrier(bob, pu.DOMAIN)
            assert not bob.found(is_event(alice.bare), since[bob]), bob.seen
            await alice.iq(None, "<unblock xmlns='%s'><item jid='%s'/></unblock>"
                           % (NS_BLOCKING, bob.bare), "set")
            mb = bob.mark()
            await alice["xep_0172"].publish_nick("Visible")
            _, m = await bob.expect(is_event(alice.bare, NS_NICK), since=mb,
                                    what="nick after unblocking")
            assert [n.text for _, n in pu.event_items(m)] == ["Visible"], pu.xml(m)
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)
