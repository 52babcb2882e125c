"""XEP-0060 Publish-Subscribe: the service on pubsub.localhost driven by slixmpp (xep_0060,
xep_0004, xep_0059) and by hand-written stanzas where the exact wire form matters (error
conditions, publish-options, RSM). Every error case asserts the stanza error condition and the
pubsub#errors condition the section of XEP-0060 cited beside it names.

Set STARLING_E2E_AGAINST=prosody to run these against Prosody 0.12 (see pubsub_util)."""

import pytest

import pubsub_util as pu
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import (NS_PUBSUB, NS_OWNER, NS_DATA, NS_RSM, SERVICE, run,
                         close_all, barrier, is_event, has_item, has_retract, items_of,
                         entry_text, starling_only, prosody_differs)


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


def ids_of(iq):
    return [i for i, _ in items_of(iq)]


# ---- discovery -------------------------------------------------------------------------------

def test_service_is_discovered(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            items = await pu.disco_items(alice, pu.DOMAIN)
            assert SERVICE in [i.get("jid") for i in items], items
            ids, feats, _ = await pu.disco_info(alice, SERVICE)
            assert ("pubsub", "service") in ids, ids
            assert NS_PUBSUB in feats, feats
            wanted = ["create-nodes", "publish", "subscribe", "retrieve-items", "retract-items",
                      "purge-nodes", "delete-nodes", "config-node", "instant-nodes",
                      "publish-options", "modify-affiliations"]
            if not pu.PROSODY:      # Prosody 0.12 does not advertise it (but supports it)
                wanted.append("manage-subscriptions")
            for f in wanted:
                assert NS_PUBSUB + "#" + f in feats, (f, sorted(feats))
        finally:
            await close_all(alice)
    run(body(), 60)


# ---- node creation and configuration ----------------------------------------------------------

def test_create_named_and_instant_nodes(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            # §8.1.1: a named node; the result may be empty.
            await pu.create(alice, "princely_musings")
            # §8.1.3: the same name again: conflict.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><create node='princely_musings'/>"
                                  "</pubsub>" % NS_PUBSUB)
            e.check("conflict", etype="cancel")
            # §8.1.2: an instant node: the service names it in the result.
            r = await alice.iq(SERVICE, "<pubsub xmlns='%s'><create/></pubsub>" % NS_PUBSUB, "set")
            c = r.xml.find("{%s}pubsub/{%s}create" % (NS_PUBSUB, NS_PUBSUB))
            assert c is not None and c.get("node"), r
            instant = c.get("node")
            assert instant != "princely_musings"
            # Both are listed to another user (§5.2) and are leaf nodes (§5.3).
            nodes = [i.get("node") for i in await pu.disco_items(bob, SERVICE)]
            assert "princely_musings" in nodes and instant in nodes, nodes
            ids, feats, forms = await pu.disco_info(bob, SERVICE, "princely_musings")
            assert ("pubsub", "leaf") in ids, ids
            meta = forms.get(NS_PUBSUB + "#meta-data")
            assert meta is not None, forms
            if not pu.PROSODY:      # Prosody 0.12 leaves pubsub#owner empty
                assert alice.bare in meta.get("pubsub#owner", []), meta
            # The slixmpp API too, with a configuration at creation (§8.1.3).
            cfg = pu.slix_form(alice, {"pubsub#title": "Created by slixmpp",
                                       "pubsub#max_items": "7"}, NS_PUBSUB + "#node_config")
            await alice["xep_0060"].create_node(SERVICE, "with_config", config=cfg)
            got, _ = await pu.get_config(alice, "with_config")
            assert got["pubsub#title"] == ["Created by slixmpp"], got
            assert got["pubsub#max_items"] == ["7"], got
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_configure_form_get_set_and_default(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "cfg")
            # §8.2.1: the form has FORM_TYPE node_config and the standard fields.
            got, x = await pu.get_config(alice, "cfg")
            assert got["FORM_TYPE"] == [NS_PUBSUB + "#node_config"], got
            assert x.get("type") == "form"
            for var in ("pubsub#access_model", "pubsub#max_items", "pubsub#persist_items",
                        "pubsub#deliver_payloads", "pubsub#publish_model", "pubsub#title"):
                assert var in got, (var, sorted(got))
            assert got["pubsub#access_model"] == ["open"], got
            types = pu.form_types(x)
            assert types["pubsub#access_model"] == "list-single", types
            # §8.2.5: submit; the next get shows the new values.
            await pu.set_config(alice, "cfg", {"pubsub#title": "Musings", "pubsub#max_items": "5",
                                               "pubsub#access_model": "whitelist"})
            got, _ = await pu.get_config(alice, "cfg")
            assert got["pubsub#title"] == ["Musings"], got
            assert got["pubsub#max_items"] == ["5"], got
            assert got["pubsub#access_model"] == ["whitelist"], got
            # §8.2.5 with slixmpp's API.
            cfg = pu.slix_form(alice, {"pubsub#title": "Via slixmpp"}, NS_PUBSUB + "#node_config")
            await alice["xep_0060"].set_node_config(SERVICE, "cfg", cfg)
            got, _ = await pu.get_config(alice, "cfg")
            assert got["pubsub#title"] == ["Via slixmpp"], got
            # §8.3: the default configuration.
            r = await alice.iq(SERVICE, "<pubsub xmlns='%s'><default/></pubsub>" % NS_OWNER)
            dx = r.xml.find("{%s}pubsub/{%s}default/{%s}x" % (NS_OWNER, NS_OWNER, NS_DATA))
            d = pu.read_form(dx)
            assert d["FORM_TYPE"] == [NS_PUBSUB + "#node_config"], d
            assert "pubsub#access_model" in d, d
            # §8.2.3.2: not the owner.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><configure node='cfg'/></pubsub>"
                                % NS_OWNER, "get")
            e.check("forbidden", etype="auth")
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><configure node='cfg'>%s"
                                "</configure></pubsub>" % (NS_OWNER, pu.form_xml(
                                    {"pubsub#title": "hijack"}, NS_PUBSUB + "#node_config")))
            e.check("forbidden", etype="auth")
            got, _ = await pu.get_config(alice, "cfg")
            assert got["pubsub#title"] == ["Via slixmpp"], got
            # §8.2.3.4: no such node.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><configure node='nope'/></pubsub>"
                                  % NS_OWNER, "get")
            e.check("item-not-found", etype="cancel")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_configure_invalid_value_is_refused(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.create(alice, "strict")
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><configure node='strict'>%s"
                                  "</configure></pubsub>" % (NS_OWNER, pu.form_xml(
                                      {"pubsub#access_model": "everyone-please"},
                                      NS_PUBSUB + "#node_config")))
            assert e.condition in ("not-acceptable", "bad-request"), e
            got, _ = await pu.get_config(alice, "strict")
            assert got["pubsub#access_model"] == ["open"], got
        finally:
            await close_all(alice)
    run(body(), 60)


# ---- publishing and retrieving ----------------------------------------------------------------

def test_publish_with_and_without_id_notifies_subscribers(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "news")
            sub = await pu.subscribe(bob, "news")
            assert sub["subscription"] == "subscribed", sub
            assert sub["jid"] == bob.bare and sub["node"] == "news", sub
            since = bob.mark()
            # §7.1.2 with an item id, through slixmpp's API.
            r = await alice["xep_0060"].publish(SERVICE, "news", id="first",
                                                payload=pu.entry("Hello, subscribers"))
            item = r.xml.find(".//{%s}publish/{%s}item" % (NS_PUBSUB, NS_PUBSUB))
            assert item is None or item.get("id") == "first", r
            _, m = await bob.expect(is_event(SERVICE, "news", pred=has_item("first",
                                                                            "Hello, subscribers")),
                                    since=since, what="notification of 'first'")
            [(iid, pl)] = pu.event_items(m)
            assert pl.tag == "{urn:example:e2e}entry", pl.tag
            # §7.1.2 without an id: the service makes one and returns it.
            since = bob.mark()
            gen = await pu.publish(alice, "news", "No id given")
            assert gen and gen != "first"
            await bob.expect(is_event(SERVICE, "news", pred=has_item(gen, "No id given")),
                             since=since, what="notification of the generated id")
            # carol did not subscribe: nothing for her.
            await barrier(carol, SERVICE)
            assert not carol.found(is_event(SERVICE, "news")), carol.seen
            r = await pu.get_items(carol, "news")
            got = dict((i, entry_text(p)) for i, p in items_of(r))
            assert got == {"first": "Hello, subscribers", gen: "No id given"}, got
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_publish_same_id_replaces_item(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "status")
            await pu.subscribe(bob, "status")
            await pu.publish(alice, "status", "one", "current")
            since = bob.mark()
            await pu.publish(alice, "status", "two", "current")
            await bob.expect(is_event(SERVICE, "status", pred=has_item("current", "two")),
                             since=since)
            r = await pu.get_items(bob, "status")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("current", "two")], r
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_max_items_evicts_oldest_and_items_queries(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "ring", {"pubsub#max_items": "3"})
            for n in range(1, 6):
                await pu.publish(alice, "ring", "item %d" % n, "i%d" % n)
            # §7.1: the node keeps pubsub#max_items items: the oldest went.
            r = await pu.get_items(bob, "ring")
            got = dict((i, entry_text(p)) for i, p in items_of(r))
            assert got == {"i3": "item 3", "i4": "item 4", "i5": "item 5"}, got
            # §6.5.7: max_items='2' is the two most recent.
            r = await pu.get_items(bob, "ring", max_items=2)
            assert set(ids_of(r)) == {"i4", "i5"}, ids_of(r)
            # §6.5.8: particular items by id.
            r = await pu.get_items(bob, "ring", ids=["i4"])
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("i4", "item 4")], r
            # ...through slixmpp's get_item too.
            r = await bob["xep_0060"].get_item(SERVICE, "ring", "i3")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("i3", "item 3")], r
            # An evicted item is not there any more.
            r = await pu.get_items(bob, "ring", ids=["i1"])
            assert ids_of(r) == [], r
        finally:
            await close_all(alice, bob)
    run(body(), 60)


@prosody_differs("no XEP-0059 result set management on pubsub items (0.12)")
def test_items_rsm_paging(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "many", {"pubsub#max_items": "50"})
            published = ["m%02d" % n for n in range(30)]
            for i in published:
                await pu.publish(alice, "many", "payload " + i, i)
            # §6.5.4 + XEP-0059: pages of 10, each with <first/>, <last/>, <count/>.
            seen, after, pages = [], None, 0
            while True:
                a = "<after>%s</after>" % after if after else ""
                r = await pu.get_items(bob, "many",
                                       rsm="<set xmlns='%s'><max>10</max>%s</set>" % (NS_RSM, a))
                page = items_of(r)
                for i, p in page:
                    assert entry_text(p) == "payload " + i, (i, entry_text(p))
                seen += [i for i, _ in page]
                s = r.xml.find("{%s}pubsub/{%s}set" % (NS_PUBSUB, NS_RSM))
                assert s is not None, "no RSM <set/> in %s" % r
                cnt = s.find("{%s}count" % NS_RSM)
                assert cnt is not None and cnt.text == "30", r
                pages += 1
                if not page:
                    break
                assert len(page) <= 10, len(page)
                last = s.find("{%s}last" % NS_RSM)
                assert last is not None and last.text, r
                after = last.text
                if len(seen) >= 30:
                    break
                assert pages < 10, "paging does not end: %s" % seen
            assert sorted(seen) == published, seen
            assert len(seen) == len(set(seen)), seen
            assert pages == 3, pages
        finally:
            await close_all(alice, bob)
    run(body(), 90)


def test_notification_without_payload(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "bare", {"pubsub#deliver_payloads": False})
            await pu.subscribe(bob, "bare")
            since = bob.mark()
            await pu.publish(alice, "bare", "not in the notification", "n1")
            # §7.1.2.2: the event names the item but carries no payload.
            _, m = await bob.expect(is_event(SERVICE, "bare", pred=has_item("n1")), since=since)
            assert pu.event_items(m) == [("n1", None)], pu.xml(m)
            r = await pu.get_items(bob, "bare")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("n1",
                                                                    "not in the notification")]
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_publish_model_open_and_subscribers(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "wall", {"pubsub#publish_model": "open"})
            await pu.subscribe(bob, "wall")
            since = bob.mark()
            # carol has no affiliation; the open publish model lets her publish (§4.5).
            await pu.publish(carol, "wall", "graffiti", "g1")
            await bob.expect(is_event(SERVICE, "wall", pred=has_item("g1", "graffiti")),
                             since=since)
            await pu.create(alice, "club2", {"pubsub#publish_model": "subscribers"})
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><publish node='club2'><item id='c'>"
                                  "<entry xmlns='urn:example:e2e'>x</entry></item></publish>"
                                  "</pubsub>" % NS_PUBSUB)
            e.check("forbidden", etype="auth")
            await pu.subscribe(carol, "club2")
            if not pu.PROSODY:   # Prosody 0.12 still refuses her (forbidden)
                await pu.publish(carol, "club2", "now a subscriber", "c")
                r = await pu.get_items(alice, "club2")
                assert ids_of(r) == ["c"], r
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- retract, purge, delete -------------------------------------------------------------------

def test_retract_with_notify(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "r")
            await pu.subscribe(bob, "r")
            await pu.publish(alice, "r", "keep", "keep")
            await pu.publish(alice, "r", "drop", "drop")
            since = bob.mark()
            # §7.2.1 with notify='true' (slixmpp's retract(notify=True)).
            await alice["xep_0060"].retract(SERVICE, "r", "drop", notify=True)
            await bob.expect(is_event(SERVICE, "r", pred=has_retract("drop")), since=since,
                             what="retract notification")
            r = await pu.get_items(bob, "r")
            assert ids_of(r) == ["keep"], ids_of(r)
            # §7.2.3.5: no such item.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><retract node='r'><item id='drop'/>"
                                  "</retract></pubsub>" % NS_PUBSUB)
            e.check("item-not-found", etype="cancel")
            # §7.2.3.1: bob is not a publisher.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><retract node='r'><item id='keep'/>"
                                "</retract></pubsub>" % NS_PUBSUB)
            e.check("forbidden", etype="auth")
            # §7.2.3.4: no item id.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><retract node='r'><item/>"
                                  "</retract></pubsub>" % NS_PUBSUB)
            e.check("bad-request", "item-required", etype="modify", prosody="item-not-found")
            # §7.2.3.3: no node.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><retract><item id='keep'/>"
                                  "</retract></pubsub>" % NS_PUBSUB)
            e.check("bad-request", "nodeid-required", etype="modify")
            r = await pu.get_items(bob, "r")
            assert ids_of(r) == ["keep"], ids_of(r)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_purge_notifies_and_empties(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "p")
            await pu.subscribe(bob, "p")
            for n in range(3):
                await pu.publish(alice, "p", "x", "p%d" % n)
            # §8.5.3.2: only the owner.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><purge node='p'/></pubsub>" % NS_OWNER)
            e.check("forbidden", etype="auth")
            since = bob.mark()
            await alice["xep_0060"].purge(SERVICE, "p")
            await bob.expect(is_event(SERVICE, "p", kind="purge"), since=since,
                             what="purge notification")
            r = await pu.get_items(bob, "p")
            assert ids_of(r) == [], r
            # §8.5.3.3: no such node.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><purge node='nope'/></pubsub>"
                                  % NS_OWNER)
            e.check("item-not-found", etype="cancel")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_delete_notifies_and_removes(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "doomed")
            await pu.subscribe(bob, "doomed")
            await pu.publish(alice, "doomed", "x", "x")
            # §8.4.3.1: only the owner.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><delete node='doomed'/></pubsub>"
                                % NS_OWNER)
            e.check("forbidden", etype="auth")
            since = bob.mark()
            await alice["xep_0060"].delete_node(SERVICE, "doomed")
            await bob.expect(is_event(SERVICE, "doomed", kind="delete"), since=since,
                             what="delete notification")
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><items node='doomed'/></pubsub>"
                                % NS_PUBSUB, "get")
            e.check("item-not-found", etype="cancel")
            nodes = [i.get("node") for i in await pu.disco_items(bob, SERVICE)]
            assert "doomed" not in nodes, nodes
            # §8.4.3.2: no such node.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><delete node='doomed'/></pubsub>"
                                  % NS_OWNER)
            e.check("item-not-found", etype="cancel")
            # The name is free again.
            await pu.create(alice, "doomed")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- subscriptions ---------------------------------------------------------------------------

def test_subscribe_unsubscribe(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "s")
            r = await bob["xep_0060"].subscribe(SERVICE, "s")
            assert r["pubsub"]["subscription"]["subscription"] == "subscribed", r
            # §5.6: bob's own subscriptions name the node.
            r = await bob.iq(SERVICE, "<pubsub xmlns='%s'><subscriptions/></pubsub>" % NS_PUBSUB)
            subs = [(s.get("node"), s.get("subscription"))
                    for s in r.xml.iter("{%s}subscription" % NS_PUBSUB)]
            assert ("s", "subscribed") in subs, subs
            # §6.2: unsubscribe; no more notifications.
            await bob["xep_0060"].unsubscribe(SERVICE, "s")
            await pu.publish(alice, "s", "after unsubscribe", "late")
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "s")), bob.seen
            # §6.2.3.2: not subscribed any more.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><unsubscribe node='s' jid='%s'/>"
                                "</pubsub>" % (NS_PUBSUB, bob.bare))
            e.check("unexpected-request", "not-subscribed", etype="cancel",
                    prosody="unexpected-request")    # Prosody: type 'modify', no app condition
            # §6.1.3.1: bob may not subscribe carol.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='s' "
                                "jid='carol@localhost'/></pubsub>" % NS_PUBSUB)
            e.check("bad-request", "invalid-jid", etype="modify", prosody="forbidden")
            # §6.1.3.12: no such node.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='nope' jid='%s'/>"
                                "</pubsub>" % (NS_PUBSUB, bob.bare))
            e.check("item-not-found", etype="cancel")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


@prosody_differs("no pubsub#deliver subscription option (0.12 offers only include_body)")
def test_subscription_options(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "opts")
            await pu.subscribe(bob, "opts")
            # §6.3.2: the options form.
            r = await bob.iq(SERVICE, "<pubsub xmlns='%s'><options node='opts' jid='%s'/></pubsub>"
                             % (NS_PUBSUB, bob.bare))
            x = r.xml.find("{%s}pubsub/{%s}options/{%s}x" % (NS_PUBSUB, NS_PUBSUB, NS_DATA))
            f = pu.read_form(x)
            assert f["FORM_TYPE"] == [NS_PUBSUB + "#subscribe_options"], f
            assert "pubsub#deliver" in f, f
            # §6.3.5: deliver = false: bob stays subscribed but gets nothing.
            await bob.iq(SERVICE, "<pubsub xmlns='%s'><options node='opts' jid='%s'>%s</options>"
                         "</pubsub>" % (NS_PUBSUB, bob.bare, pu.form_xml(
                             {"pubsub#deliver": False}, NS_PUBSUB + "#subscribe_options")), "set")
            r = await bob.iq(SERVICE, "<pubsub xmlns='%s'><options node='opts' jid='%s'/></pubsub>"
                             % (NS_PUBSUB, bob.bare))
            f = pu.read_form(r.xml.find("{%s}pubsub/{%s}options/{%s}x"
                                        % (NS_PUBSUB, NS_PUBSUB, NS_DATA)))
            assert f["pubsub#deliver"] in (["0"], ["false"]), f
            await pu.publish(alice, "opts", "quiet", "q")
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "opts")), bob.seen
            # And back on.
            await bob.iq(SERVICE, "<pubsub xmlns='%s'><options node='opts' jid='%s'>%s</options>"
                         "</pubsub>" % (NS_PUBSUB, bob.bare, pu.form_xml(
                             {"pubsub#deliver": True}, NS_PUBSUB + "#subscribe_options")), "set")
            since = bob.mark()
            await pu.publish(alice, "opts", "loud", "l")
            await bob.expect(is_event(SERVICE, "opts", pred=has_item("l", "loud")), since=since)
            # §6.3.4.2: options of someone not subscribed.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><options node='opts' "
                                  "jid='carol@localhost'/></pubsub>" % NS_PUBSUB, "get")
            assert e.condition in ("unexpected-request", "forbidden"), e
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- access models ---------------------------------------------------------------------------

@prosody_differs("no subscription approval flow for the authorize access model (0.12)")
def test_authorize_model_owner_approves(srv):
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "gated", {"pubsub#access_model": "authorize"})
            await pu.publish(alice, "gated", "secret stuff", "s1")
            since_a = alice.mark()
            # §6.1.2 / §6.1.3.x: pending.
            sub = await pu.subscribe(bob, "gated")
            assert sub["subscription"] == "pending", sub
            # §6.5.9.x: items while pending count as not subscribed: not-authorized +
            # not-subscribed ("which includes having a pending subscription").
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><items node='gated'/></pubsub>"
                                % NS_PUBSUB, "get")
            e.check("not-authorized", "not-subscribed", etype="auth")
            # §8.6: the owner gets the subscribe_authorization form.
            _, m = await alice.expect(
                lambda s: s.name == "message" and pu.xml(s).find("{%s}x" % NS_DATA) is not None,
                since=since_a, what="authorization request")
            x = pu.xml(m).find("{%s}x" % NS_DATA)
            f = pu.read_form(x)
            assert f["FORM_TYPE"] == [NS_PUBSUB + "#subscribe_authorization"], f
            assert f["pubsub#node"] == ["gated"], f
            assert f["pubsub#subscriber_jid"] == [bob.bare], f
            # §8.6.2: approve, returning the form with allow = true.
            back = dict(f)
            back["pubsub#allow"] = ["true"]
            back.pop("FORM_TYPE")
            since_b = bob.mark()
            reply = "<message xmlns='jabber:client' to='%s'%s>%s</message>" % (
                SERVICE, " id='%s'" % m["id"] if m["id"] else "",
                pu.form_xml(back, NS_PUBSUB + "#subscribe_authorization"))
            alice.send_raw(reply)
            # §8.6.3: bob is told.
            await bob.expect(is_event(SERVICE, "gated", kind="subscription",
                                      pred=lambda k, _s: k.get("subscription") == "subscribed"),
                             since=since_b, what="subscription approval")
            r = await pu.get_items(bob, "gated")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("s1", "secret stuff")]
            since_b = bob.mark()
            await pu.publish(alice, "gated", "more", "s2")
            await bob.expect(is_event(SERVICE, "gated", pred=has_item("s2", "more")), since=since_b)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_whitelist_keeps_non_members_out(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "club", {"pubsub#access_model": "whitelist"})
            await pu.publish(alice, "club", "members only", "m1")
            # §6.1.3.5 / §6.5.9.5-ish: closed node.
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='club' jid='%s'/>"
                                  "</pubsub>" % (NS_PUBSUB, carol.bare))
            e.check("not-allowed", "closed-node", etype="cancel", prosody="forbidden")
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><items node='club'/></pubsub>"
                                  % NS_PUBSUB, "get")
            e.check("not-allowed", "closed-node", etype="cancel", prosody="forbidden")
            # §8.9.2: the owner whitelists bob (affiliation member).
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><affiliations node='club'>"
                           "<affiliation jid='%s' affiliation='member'/></affiliations></pubsub>"
                           % (NS_OWNER, bob.bare), "set")
            r = await pu.get_items(bob, "club")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("m1", "members only")]
            sub = await pu.subscribe(bob, "club")
            assert sub["subscription"] == "subscribed", sub
            since = bob.mark()
            await pu.publish(alice, "club", "news for members", "m2")
            await bob.expect(is_event(SERVICE, "club", pred=has_item("m2")), since=since)
            await barrier(carol, SERVICE)
            assert not carol.found(is_event(SERVICE, "club")), carol.seen
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


@prosody_differs("its pubsub component refuses the presence access model (PEP only)")
def test_presence_access_model(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.befriend(alice, bob)
            await pu.create(alice, "status", {"pubsub#access_model": "presence"})
            await pu.publish(alice, "status", "at home", "now")
            r = await pu.get_items(bob, "status")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("now", "at home")]
            assert (await pu.subscribe(bob, "status"))["subscription"] == "subscribed"
            # §6.1.3.2 / §6.5.9.3: carol has no presence subscription to alice.
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><items node='status'/></pubsub>"
                                  % NS_PUBSUB, "get")
            e.check("not-authorized", "presence-subscription-required", etype="auth")
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='status' "
                                  "jid='%s'/></pubsub>" % (NS_PUBSUB, carol.bare))
            e.check("not-authorized", "presence-subscription-required", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


@prosody_differs("its pubsub component refuses the roster access model (PEP only)")
def test_roster_access_model(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.befriend(alice, bob)
            await pu.befriend(alice, carol)
            # alice puts bob in "friends", carol in "work".
            for who, group in ((bob, "friends"), (carol, "work")):
                await alice.iq(None, "<query xmlns='jabber:iq:roster'><item jid='%s'><group>%s"
                               "</group></item></query>" % (who.bare, group), "set")
            await pu.create(alice, "diary", {"pubsub#access_model": "roster",
                                             "pubsub#roster_groups_allowed": ["friends"]})
            await pu.publish(alice, "diary", "dear diary", "d1")
            r = await pu.get_items(bob, "diary")
            assert [(i, entry_text(p)) for i, p in items_of(r)] == [("d1", "dear diary")]
            # §6.1.3.3 / §6.5.9.4: carol is in alice's roster, not in an allowed group.
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><items node='diary'/></pubsub>"
                                  % NS_PUBSUB, "get")
            e.check("not-authorized", "not-in-roster-group", etype="auth")
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='diary' "
                                  "jid='%s'/></pubsub>" % (NS_PUBSUB, carol.bare))
            e.check("not-authorized", "not-in-roster-group", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- owner management ------------------------------------------------------------------------

def test_owner_manages_affiliations(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "team")
            affs = await pu.owner_list(alice, "team", "affiliations")
            assert affs.get(alice.bare) == "owner", affs
            # §7.1.3.1: carol may not publish.
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><publish node='team'><item id='c'>"
                                  "<entry xmlns='urn:example:e2e'>x</entry></item></publish>"
                                  "</pubsub>" % NS_PUBSUB)
            e.check("forbidden", etype="auth")
            # §8.9.2: bob becomes a publisher, carol an outcast.
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><affiliations node='team'>"
                           "<affiliation jid='%s' affiliation='publisher'/>"
                           "<affiliation jid='%s' affiliation='outcast'/></affiliations></pubsub>"
                           % (NS_OWNER, bob.bare, carol.bare), "set")
            affs = await pu.owner_list(alice, "team", "affiliations")
            assert affs.get(bob.bare) == "publisher" and affs.get(carol.bare) == "outcast", affs
            await pu.publish(bob, "team", "by bob", "b1")
            # §6.1.3.8: an outcast may not subscribe.
            e = await carol.error(SERVICE, "<pubsub xmlns='%s'><subscribe node='team' jid='%s'/>"
                                  "</pubsub>" % (NS_PUBSUB, carol.bare))
            e.check("forbidden", etype="auth")
            # §8.9.1.2: only the owner sees the list.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><affiliations node='team'/></pubsub>"
                                % NS_OWNER, "get")
            e.check("forbidden", etype="auth")
            # §5.7: bob's own affiliations (Prosody 0.12: service-unavailable).
            if not pu.PROSODY:
                r = await bob.iq(SERVICE, "<pubsub xmlns='%s'><affiliations/></pubsub>"
                                 % NS_PUBSUB)
                mine = [(a.get("node"), a.get("affiliation"))
                        for a in r.xml.iter("{%s}affiliation" % NS_PUBSUB)]
                assert ("team", "publisher") in mine, mine
            # Back to none: bob can no longer publish.
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><affiliations node='team'>"
                           "<affiliation jid='%s' affiliation='none'/></affiliations></pubsub>"
                           % (NS_OWNER, bob.bare), "set")
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><publish node='team'><item id='b2'>"
                                "<entry xmlns='urn:example:e2e'>x</entry></item></publish>"
                                "</pubsub>" % NS_PUBSUB)
            e.check("forbidden", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_owner_manages_subscriptions(srv):
    async def body():
        alice, bob, carol = await pu.logins(srv, "alice", "bob", "carol")
        try:
            await pu.create(alice, "list")
            await pu.subscribe(bob, "list")
            subs = await pu.owner_list(alice, "list", "subscriptions")
            assert subs == {bob.bare: "subscribed"}, subs
            # §8.8.2: the owner subscribes carol and removes bob.
            await alice.iq(SERVICE, "<pubsub xmlns='%s'><subscriptions node='list'>"
                           "<subscription jid='%s' subscription='subscribed'/>"
                           "<subscription jid='%s' subscription='none'/></subscriptions></pubsub>"
                           % (NS_OWNER, carol.bare, bob.bare), "set")
            subs = await pu.owner_list(alice, "list", "subscriptions")
            assert subs == {carol.bare: "subscribed"}, subs
            since = carol.mark()
            await pu.publish(alice, "list", "to carol", "c1")
            await carol.expect(is_event(SERVICE, "list", pred=has_item("c1", "to carol")),
                               since=since)
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "list", pred=has_item("c1"))), bob.seen
            # §8.8.1.2: not for bob to see.
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><subscriptions node='list'/>"
                                "</pubsub>" % NS_OWNER, "get")
            e.check("forbidden", etype="auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- publish-options ---------------------------------------------------------------------------

def test_publish_options_preconditions(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.create(alice, "pre")     # access_model open
            # §7.1.5: a met precondition publishes.
            await pu.publish(alice, "pre", "ok", "o1", options={"pubsub#access_model": "open"})
            # Not met: conflict + precondition-not-met; nothing published.
            try:
                await pu.publish(alice, "pre", "no", "o2",
                                 options={"pubsub#access_model": "whitelist"})
            except pu.IqError as ex:
                e = pu.PubsubError(ex.iq)
            else:
                raise AssertionError("publish with an unmet precondition succeeded")
            e.check("conflict", "precondition-not-met", etype="cancel")
            r = await pu.get_items(alice, "pre")
            assert ids_of(r) == ["o1"], ids_of(r)
            got, _ = await pu.get_config(alice, "pre")
            assert got["pubsub#access_model"] == ["open"], got
        finally:
            await close_all(alice)
    run(body(), 60)


# ---- publish errors (§7.1.3) -------------------------------------------------------------------

def test_publish_errors(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.create(alice, "e")
            # §7.1.3.3: no such node (the service does not create on publish).
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><publish node='ghost'><item id='x'>"
                                  "<entry xmlns='urn:example:e2e'/></item></publish></pubsub>"
                                  % NS_PUBSUB)
            e.check("item-not-found", etype="cancel")
            # §7.1.3.5: more than one payload element.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><publish node='e'><item id='x'>"
                                  "<a xmlns='urn:example:e2e'/><b xmlns='urn:example:e2e'/></item>"
                                  "</publish></pubsub>" % NS_PUBSUB)
            e.check("bad-request", "invalid-payload", etype="modify",
                    prosody="bad-request")           # Prosody: no app condition
            # §7.1.3.6: a persistent node and no item.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><publish node='e'/></pubsub>"
                                  % NS_PUBSUB)
            e.check("bad-request", "item-required", etype="modify",
                    prosody="bad-request")           # Prosody: no app condition
            # No node attribute (§7.1.3.x, nodeid-required).
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><publish><item id='x'>"
                                  "<entry xmlns='urn:example:e2e'/></item></publish></pubsub>"
                                  % NS_PUBSUB)
            assert e.condition == "bad-request", e
            r = await pu.get_items(alice, "e")
            assert ids_of(r) == [], r
        finally:
            await close_all(alice)
    run(body(), 60)


@starling_only
def test_payload_too_big(pubsub_factory):
    srv = pubsub_factory(extra="[pubsub]\nmax_payload_size = 1024\n")

    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.create(alice, "small")
            await pu.publish(alice, "small", "a" * 200, "fits")
            # §7.1.3.4.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><publish node='small'>"
                                  "<item id='big'><entry xmlns='urn:example:e2e'>%s</entry></item>"
                                  "</publish></pubsub>" % (NS_PUBSUB, "a" * 4000))
            e.check("not-acceptable", "payload-too-big", etype="modify")
            r = await pu.get_items(alice, "small")
            assert ids_of(r) == ["fits"], r
        finally:
            await close_all(alice)
    run(body(), 60)


def test_items_errors(srv):
    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            # §6.5.9.11: no such node.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><items node='ghost'/></pubsub>"
                                  % NS_PUBSUB, "get")
            e.check("item-not-found", etype="cancel")
            # No node attribute.
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><items/></pubsub>" % NS_PUBSUB, "get")
            e.check("bad-request", "nodeid-required", etype="modify")
        finally:
            await close_all(alice)
    run(body(), 60)


# ---- create_nodes policy (Starling's [pubsub] configuration) ------------------------------------

@starling_only
def test_create_nodes_admins_only(pubsub_factory):
    srv = pubsub_factory(extra='[pubsub]\ncreate_nodes = "admins"\nadmins = ["alice@localhost"]\n')

    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            e = await bob.error(SERVICE, "<pubsub xmlns='%s'><create node='mine'/></pubsub>"
                                % NS_PUBSUB)
            e.check("forbidden", etype="auth")
            await pu.create(alice, "mine")
            nodes = [i.get("node") for i in await pu.disco_items(bob, SERVICE)]
            assert nodes == ["mine"], nodes
        finally:
            await close_all(alice, bob)
    run(body(), 60)


@starling_only
def test_create_nodes_local_default_any_local_user(srv):
    async def body():
        bob, = await pu.logins(srv, "bob")
        try:
            await pu.create(bob, "bobs")
            affs = await pu.owner_list(bob, "bobs", "affiliations")
            assert affs == {bob.bare: "owner"}, affs
        finally:
            await close_all(bob)
    run(body(), 60)


@starling_only
def test_max_nodes_limit(pubsub_factory):
    srv = pubsub_factory(extra="[pubsub]\nmax_nodes = 2\n")

    async def body():
        alice, = await pu.logins(srv, "alice")
        try:
            await pu.create(alice, "one")
            await pu.create(alice, "two")
            e = await alice.error(SERVICE, "<pubsub xmlns='%s'><create node='three'/></pubsub>"
                                  % NS_PUBSUB)
            assert e.condition in ("resource-constraint", "policy-violation", "not-allowed"), e
            nodes = sorted(i.get("node") for i in await pu.disco_items(alice, SERVICE))
            assert nodes == ["one", "two"], nodes
        finally:
            await close_all(alice)
    run(body(), 60)


# ---- malformed input on a raw stream -----------------------------------------------------------

def test_malformed_requests_get_errors_not_silence(srv):
    import re
    import clients
    r, jid = clients.raw_session(srv.port, "alice")
    try:
        def ask(i, body, itype="set"):
            r.buf = b""
            r.send("<iq type='%s' id='%s' to='%s'>%s</iq>" % (itype, i, SERVICE, body))
            return r.recv_until(r"<iq[^>]*id=.%s.[^>]*>.*?</iq>|<iq[^>]*id=.%s.[^>]*/>" % (i, i))
        # A pubsub element with nothing in it.
        t = ask("m1", "<pubsub xmlns='%s'/>" % NS_PUBSUB)
        assert "type='error'" in t or 'type="error"' in t, t
        assert "bad-request" in t or "feature-not-implemented" in t, t
        # An unknown pubsub action.
        t = ask("m2", "<pubsub xmlns='%s'><frobnicate node='x'/></pubsub>" % NS_PUBSUB)
        assert "type='error'" in t or 'type="error"' in t, t
        assert re.search("bad-request|feature-not-implemented|service-unavailable", t), t
        # publish in a get: not a query.
        t = ask("m3", "<pubsub xmlns='%s'><publish node='x'><item/></publish></pubsub>"
                % NS_PUBSUB, "get")
        assert "type='error'" in t or 'type="error"' in t, t
        # A create with a huge node name.
        t = ask("m4", "<pubsub xmlns='%s'><create node='%s'/></pubsub>" % (NS_PUBSUB, "n" * 5000))
        assert "id='m4'" in t or 'id="m4"' in t, t
        # The session is still fine.
        t = ask("m5", "<query xmlns='http://jabber.org/protocol/disco#info'/>", "get")
        assert "type='result'" in t or 'type="result"' in t, t
    finally:
        r.close()
