"""XEP-0163 PEP on every account and XEP-0402/XEP-0411 bookmark unification, end to end with
slixmpp (xep_0163, xep_0172 and xep_0084 register their +notify interests in XEP-0115 caps, which
the server verifies by querying the client).

What a user sees: a contact whose caps ask for <node>+notify gets the owner's notifications from
the owner's bare JID, and the last item when it comes online (§4.3.2), after the server learned its
caps; a stranger gets nothing and cannot read a presence-access node; legacy private-XML bookmarks
and XEP-0402 bookmarks are one list."""
import asyncio

from pubsub_util import (NS_PUBSUB, NS_NICK, NS_BOOKMARKS2, NS_BOOKMARKS_LEGACY, NS_PRIVATE,
                         NS_DISCO_INFO, NS_DISCO_ITEMS, DOMAIN, barrier, befriend, close_all,
                         is_event, has_item, items_of, login, logins, make_target, pubsub_factory,
                         form_xml, get_items, run, xml)  # noqa: F401

NICK = "<nick xmlns='%s'>%s</nick>"


async def publish_nick(c, text):
    return await c.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>%s</item>"
                      "</publish></pubsub>" % (NS_PUBSUB, NS_NICK, NICK % (NS_NICK, text)), "set")


def nick_event(frm, text):
    def pred(k, _s):
        return any(list(it) and list(it)[0].text == text
                   for it in k.findall("{%s#event}item" % NS_PUBSUB))
    return is_event(frm=frm, node=NS_NICK, pred=pred)


def test_contacts_get_notifications_and_last_item_strangers_do_not(pubsub_factory):
    target = pubsub_factory()

    async def body():
        alice, bob, carol = await logins(target, "alice", "bob", "carol")
        late = None
        try:
            await befriend(alice, bob)
            await publish_nick(alice, "Ali")
            # §4.3: bob shares presence and asked for nick+notify; from the bare JID (§4.3.1 #1).
            _, m = await bob.expect(nick_event(alice.bare, "Ali"), what="nick notification")
            assert str(m["from"]) == alice.bare
            # The account's own resource gets it too (§4.3 #3).
            await alice.expect(nick_event(alice.bare, "Ali"), what="own notification")
            # §4.3.2: a newly available resource of the contact gets the last item.
            late = await login(target, "bob", resource="late")
            _, m = await late.expect(nick_event(alice.bare, "Ali"), what="last item")
            assert xml(m).find("{urn:xmpp:delay}delay") is not None
            # A client whose caps the server has never seen: its 'ver' is verified only after
            # its presence (the server queries it, XEP-0115 §6.2); the last item follows then.
            fresh = await login(target, "bob", resource="fresh",
                                plugins=("xep_0030", "xep_0004", "xep_0060", "xep_0115",
                                         "xep_0163", "xep_0172", "xep_0199"))
            try:
                _, m = await fresh.expect(nick_event(alice.bare, "Ali"), what="last item (fresh)")
            finally:
                await close_all(fresh)
            # Strangers: no notification, and the presence access model refuses them.
            since = carol.mark()
            await publish_nick(alice, "Alice")
            await bob.expect(nick_event(alice.bare, "Alice"), what="second notification")
            err = await carol.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                    % (NS_PUBSUB, NS_NICK), "get")
            assert err.condition in ("not-authorized", "forbidden", "item-not-found"), err
            await barrier(carol, DOMAIN)
            assert not any(nick_event(alice.bare, "Alice")(s) for s in carol.seen[since:])
            # The contact reads the items; disco#items of the account lists the node.
            r = await get_items(bob, NS_NICK, to=alice.bare)
            assert [i for i, _ in items_of(r)] == ["current"]
            r = await bob.iq(alice.bare, "<query xmlns='%s'/>" % NS_DISCO_ITEMS)
            nodes = [i.get("node") for i in r.xml.iter("{%s}item" % NS_DISCO_ITEMS)]
            assert NS_NICK in nodes, nodes
            r = await bob.iq(alice.bare, "<query xmlns='%s' node='%s'/>" % (NS_DISCO_INFO, NS_NICK))
            ids = [(i.get("category"), i.get("type"))
                   for i in r.xml.iter("{%s}identity" % NS_DISCO_INFO)]
            assert ("pubsub", "leaf") in ids, ids
            # Another account cannot publish to alice's PEP.
            err = await bob.error(alice.bare, "<pubsub xmlns='%s'><publish node='%s'><item>%s"
                                  "</item></publish></pubsub>"
                                  % (NS_PUBSUB, NS_NICK, NICK % (NS_NICK, "x")))
            assert err.condition in ("forbidden", "item-not-found"), err
        finally:
            await close_all(alice, bob, carol, *([late] if late else []))
    run(body(), 90)


def conferences(storage):
    return {c.get("jid"): c for c in storage.findall("{%s}conference" % NS_BOOKMARKS_LEGACY)}


def test_private_bookmarks_and_pep_bookmarks_are_one_list(pubsub_factory):
    target = pubsub_factory()

    async def body():
        alice = await login(target, "alice")
        try:
            r = await alice.iq(alice.bare, "<query xmlns='%s'/>" % NS_DISCO_INFO)
            features = {f.get("var") for f in r.xml.iter("{%s}feature" % NS_DISCO_INFO)}
            assert NS_BOOKMARKS2 + "#compat" in features
            assert "urn:xmpp:bookmarks-conversion:0" in features
            assert "%s#auto-create" % NS_PUBSUB in features
            # A legacy client stores bookmarks in private XML (XEP-0048 Example 1, and a
            # conference without a valid JID, which cannot become an item).
            await alice.iq(None, "<query xmlns='%s'><storage xmlns='%s'>"
                           "<conference name='Council' autojoin='true' "
                           "jid='council@conference.localhost'><nick>Puck</nick></conference>"
                           "<conference jid='@@bad'/>"
                           "<url name='Works' url='http://example.org/'/>"
                           "</storage></query>" % (NS_PRIVATE, NS_BOOKMARKS_LEGACY), "set")
            r = await get_items(alice, NS_BOOKMARKS2, to=alice.bare)
            items = dict(items_of(r))
            assert list(items) == ["council@conference.localhost"]
            conf = items["council@conference.localhost"]
            assert conf.tag == "{%s}conference" % NS_BOOKMARKS2
            assert conf.get("name") == "Council" and conf.get("autojoin") in ("true", "1")
            assert conf.findtext("{%s}nick" % NS_BOOKMARKS2) == "Puck"
            # A modern client adds one (XEP-0402 §3.3); the legacy view shows both, and keeps
            # the <url/>.
            opts = form_xml({"pubsub#persist_items": "true", "pubsub#access_model": "whitelist",
                             "pubsub#max_items": "max",
                             "pubsub#send_last_published_item": "never"},
                            NS_PUBSUB + "#publish-options")
            await alice.iq(None, "<pubsub xmlns='%s'><publish node='%s'>"
                           "<item id='orchard@conference.localhost'>"
                           "<conference xmlns='%s' name='The Orchard'/></item></publish>"
                           "<publish-options>%s</publish-options></pubsub>"
                           % (NS_PUBSUB, NS_BOOKMARKS2, NS_BOOKMARKS2, opts), "set")
            r = await alice.iq(None, "<query xmlns='%s'><storage xmlns='%s'/></query>"
                               % (NS_PRIVATE, NS_BOOKMARKS_LEGACY))
            storage = r.xml.find("{%s}query/{%s}storage" % (NS_PRIVATE, NS_BOOKMARKS_LEGACY))
            assert set(conferences(storage)) == {"council@conference.localhost",
                                                 "orchard@conference.localhost"}
            assert storage.find("{%s}url" % NS_BOOKMARKS_LEGACY) is not None
            # The legacy client removes the first: it is retracted from the PEP node.
            await alice.iq(None, "<query xmlns='%s'><storage xmlns='%s'>"
                           "<conference jid='orchard@conference.localhost'/>"
                           "</storage></query>" % (NS_PRIVATE, NS_BOOKMARKS_LEGACY), "set")
            r = await get_items(alice, NS_BOOKMARKS2, to=alice.bare)
            assert [i for i, _ in items_of(r)] == ["orchard@conference.localhost"]
        finally:
            await close_all(alice)
    run(body(), 60)
