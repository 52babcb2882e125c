"""XEP-0013 Flexible Offline Message Retrieval on top of the XEP-0160 offline store, end to end.

Raw sockets where the exact stanzas matter (forms, headers, order of messages and results,
errors, flood or no flood); slixmpp's xep_0013 plugin and aioxmpp's disco client as independent
implementations."""
import os
import sqlite3
import time
import xml.etree.ElementTree as ET

import clients
from clients import login, close_all
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_OFFLINE = "http://jabber.org/protocol/offline"
NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DATA = "jabber:x:data"
NS_CLIENT = "jabber:client"
NS_DELAY = "urn:xmpp:delay"
NS_PING = "urn:xmpp:ping"


# ---- helpers ---------------------------------------------------------------------------------

def raw_login(server, user, resource):
    c = Raw(server.port)
    x.login(c, user, "secret", resource)
    return c


def stored_count(server, user):
    db = os.path.join(server.data_dir, "starling.db")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM kv WHERE store='offline' AND username=?",
                           (user,)).fetchone()[0]
    finally:
        con.close()


def wait_stored(server, user, n, timeout=10):
    """Waits until `user` has exactly n stored offline messages (read-only look at SQLite, so
    the check itself does not use XEP-0013)."""
    deadline = time.time() + timeout
    while True:
        got = stored_count(server, user)
        if got == n:
            return
        assert time.time() < deadline, \
            "expected %d stored messages for %s, have %d" % (n, user, got)
        time.sleep(0.02)


def store_messages(server, bodies, sender="alice", resource="a", to="bob@localhost"):
    """`sender` sends a chat message per body to the offline `to`; returns once all are stored."""
    before = stored_count(server, to.split("@")[0])
    c = raw_login(server, sender, resource)
    try:
        for b in bodies:
            c.send("<message to='%s' type='chat'><body>%s</body></message>" % (to, b))
        wait_stored(server, to.split("@")[0], before + len(bodies))
    finally:
        c.close()


_ids = [0]


def iq(c, itype, payload, to=None):
    """Sends an iq and returns (reply, elements received after the previous reply of this helper
    and before this reply, in order)."""
    _ids[0] += 1
    iq_id = "q%d" % _ids[0]
    to_attr = "" if to is None else " to='%s'" % to
    c.send("<iq type='%s' id='%s'%s>%s</iq>" % (itype, iq_id, to_attr, payload))
    reply = x.wait_id(c, iq_id)
    p = x.parse(c.buf)
    idx = next(i for i, e in enumerate(p.elements) if e.get("id") == iq_id)
    start = getattr(c, "mark", 0)
    c.mark = idx + 1
    c.taken.update(range(start, idx))  # returned here: later waits do not see them again
    return reply, p.elements[start:idx]


def count_req(node=NS_OFFLINE):
    return "<query xmlns='%s' node='%s'/>" % (NS_INFO, node)


def headers_req(node=NS_OFFLINE):
    return "<query xmlns='%s' node='%s'/>" % (NS_ITEMS, node)


def offline_req(inner):
    return "<offline xmlns='%s'>%s</offline>" % (NS_OFFLINE, inner)


def error_of(reply):
    assert reply.get("type") == "error", ET.tostring(reply)
    return x.stanza_error(reply)


def result_of(reply):
    assert reply.get("type") == "result", ET.tostring(reply)
    return reply


def number_of_messages(reply):
    query = result_of(reply).find(q(NS_INFO, "query"))
    form = query.find(q(NS_DATA, "x"))
    assert form is not None, ET.tostring(reply)
    fields = {f.get("var"): f for f in form.findall(q(NS_DATA, "field"))}
    assert fields["FORM_TYPE"].get("type") == "hidden"
    assert fields["FORM_TYPE"].findtext(q(NS_DATA, "value")) == NS_OFFLINE
    return int(fields["number_of_messages"].findtext(q(NS_DATA, "value")))


def header_items(reply):
    query = result_of(reply).find(q(NS_ITEMS, "query"))
    assert query.get("node") == NS_OFFLINE  # XEP-0030 §4.2: node mirrored
    return [(i.get("jid"), i.get("node"), i.get("name"))
            for i in query.findall(q(NS_ITEMS, "item"))]


def is_message(el):
    return el.tag == q(NS_CLIENT, "message")


def offline_node(msg):
    off = msg.find(q(NS_OFFLINE, "offline"))
    assert off is not None, ET.tostring(msg)
    items = off.findall(q(NS_OFFLINE, "item"))
    assert len(items) == 1, ET.tostring(msg)
    return items[0].get("node")


def body(msg):
    return msg.findtext(q(NS_CLIENT, "body"))


def send_presence_and_settle(c):
    """Initial presence, then a ping round trip, so the server has handled the presence (and
    started any flood) before the test looks for messages."""
    _ids[0] += 1
    c.send("<presence/><iq type='get' id='p%d' to='localhost'><ping xmlns='%s'/></iq>"
           % (_ids[0], NS_PING))
    x.wait_id(c, "p%d" % _ids[0])


def no_message(c, wait=1.0):
    x.no_element(c, is_message, timeout=wait)


# ---- discovery -------------------------------------------------------------------------------

def test_server_advertises_the_feature(server):
    # XEP-0013 §2.1, with slixmpp's disco client.
    async def scenario():
        alice = await login("alice@localhost/a", server.port)
        try:
            info = await alice.plugin["xep_0030"].get_info(jid="localhost")
            assert NS_OFFLINE in info["disco_info"]["features"]
        finally:
            await close_all(alice)
    clients.run(scenario())


def test_count_and_headers(server):
    store_messages(server, ["one", "two", "three"])
    c = raw_login(server, "bob", "b")
    try:
        # §2.2: identity automation/message-list, the feature and the number of messages.
        reply, _ = iq(c, "get", count_req())
        query = result_of(reply).find(q(NS_INFO, "query"))
        assert query.get("node") == NS_OFFLINE  # XEP-0030 §3.2: node mirrored
        ids = [(i.get("category"), i.get("type")) for i in query.findall(q(NS_INFO, "identity"))]
        assert ids == [("automation", "message-list")]
        feats = [f.get("var") for f in query.findall(q(NS_INFO, "feature"))]
        assert NS_OFFLINE in feats
        assert number_of_messages(reply) == 3
        # §2.3: one header per message: jid = the user, name = the sender's full JID, node
        # unique, in dictionary order of arrival.
        reply, _ = iq(c, "get", headers_req())
        items = header_items(reply)
        assert len(items) == 3
        assert all(jid == "bob@localhost" for jid, _, _ in items)
        assert all(name == "alice@localhost/a" for _, _, name in items)
        nodes = [n for _, n, _ in items]
        assert len(set(nodes)) == 3 and nodes == sorted(nodes) and all(nodes)
        # The reply to a request without 'to' has no 'from' (RFC 6120 §8.1.2.1).
        assert reply.get("from") is None
    finally:
        c.close()


def test_empty_store_gives_zero_and_an_empty_query(server):
    c = raw_login(server, "bob", "b")
    try:
        reply, _ = iq(c, "get", count_req())
        assert number_of_messages(reply) == 0
        reply, _ = iq(c, "get", headers_req())
        assert header_items(reply) == []  # §2.3: an empty query, not an error
    finally:
        c.close()


def test_requests_addressed_to_own_bare_jid_work(server):
    store_messages(server, ["x"])
    c = raw_login(server, "bob", "b")
    try:
        reply, _ = iq(c, "get", count_req(), to="bob@localhost")
        assert number_of_messages(reply) == 1
    finally:
        c.close()


# ---- view, remove, fetch, purge ------------------------------------------------------------

def test_view_one_then_remove_one(server):
    store_messages(server, ["first", "second", "third"])
    c = raw_login(server, "bob", "b")
    try:
        nodes = [n for _, n, _ in header_items(iq(c, "get", headers_req())[0])]
        # §2.4: the requested message, then the result.
        reply, before = iq(c, "get", offline_req("<item action='view' node='%s'/>" % nodes[1]))
        result_of(reply)
        msgs = [e for e in before if is_message(e)]
        assert [body(m) for m in msgs] == ["second"]
        m = msgs[0]
        assert offline_node(m) == nodes[1]
        assert m.get("from") == "alice@localhost/a"
        assert m.get("to") == "bob@localhost/b"
        assert m.find(q(NS_DELAY, "delay")) is not None
        # §2.5: viewing does not remove.
        assert number_of_messages(iq(c, "get", count_req())[0]) == 3
        # Several nodes in one view, in the order asked.
        two = "".join("<item action='view' node='%s'/>" % n for n in (nodes[2], nodes[0]))
        reply, before = iq(c, "get", offline_req(two))
        result_of(reply)
        assert [body(e) for e in before if is_message(e)] == ["third", "first"]
        # §2.5: remove one.
        result_of(iq(c, "set", offline_req("<item action='remove' node='%s'/>" % nodes[0]))[0])
        remaining = [n for _, n, _ in header_items(iq(c, "get", headers_req())[0])]
        assert remaining == nodes[1:]
        wait_stored(server, "bob", 2)
        # Removing it again: it does not exist any more.
        reply, _ = iq(c, "set", offline_req("<item action='remove' node='%s'/>" % nodes[0]))
        assert error_of(reply) == ("cancel", "item-not-found")
        # A removal naming one unknown node removes nothing.
        reply, _ = iq(c, "set", offline_req(
            "<item action='remove' node='%s'/><item action='remove' node='nope'/>" % nodes[1]))
        assert error_of(reply) == ("cancel", "item-not-found")
        assert number_of_messages(iq(c, "get", count_req())[0]) == 2
    finally:
        c.close()


def test_fetch_then_purge(server):
    store_messages(server, ["m0", "m1", "m2"])
    c = raw_login(server, "bob", "b")
    try:
        nodes = [n for _, n, _ in header_items(iq(c, "get", headers_req())[0])]
        # §2.6: every message, each with its node, then the result.
        reply, before = iq(c, "get", offline_req("<fetch/>"))
        result_of(reply)
        msgs = [e for e in before if is_message(e)]
        assert [body(m) for m in msgs] == ["m0", "m1", "m2"]
        assert [offline_node(m) for m in msgs] == nodes
        # Fetched messages stay until removed (§2.5).
        assert number_of_messages(iq(c, "get", count_req())[0]) == 3
        # §2.7
        result_of(iq(c, "set", offline_req("<purge/>"))[0])
        assert number_of_messages(iq(c, "get", count_req())[0]) == 0
        assert header_items(iq(c, "get", headers_req())[0]) == []
        wait_stored(server, "bob", 0)
        # Fetch on an empty store: just the result.
        reply, before = iq(c, "get", offline_req("<fetch/>"))
        result_of(reply)
        assert not [e for e in before if is_message(e)]
    finally:
        c.close()


# ---- errors ----------------------------------------------------------------------------------

def test_unknown_nodes_are_item_not_found(server):
    store_messages(server, ["keep"])
    c = raw_login(server, "bob", "b")
    try:
        for req in (count_req("urn:unknown"), headers_req("urn:unknown"),
                    count_req(NS_OFFLINE + "/x"), headers_req(NS_OFFLINE + "/x")):
            assert error_of(iq(c, "get", req)[0]) == ("cancel", "item-not-found"), req
        # The offline node belongs to accounts, not to the server itself.
        assert error_of(iq(c, "get", count_req(), to="localhost")[0]) == \
            ("cancel", "item-not-found")
        # §2.4: view of a node that does not exist; nothing is sent.
        reply, before = iq(c, "get",
                           offline_req("<item action='view' node='00000000000000000099'/>"))
        assert error_of(reply) == ("cancel", "item-not-found")
        assert not [e for e in before if is_message(e)]
        (_, node, _), = header_items(iq(c, "get", headers_req())[0])
        reply, before = iq(c, "get", offline_req(
            "<item action='view' node='%s'/><item action='view' node='nope'/>" % node))
        assert error_of(reply) == ("cancel", "item-not-found")
        assert not [e for e in before if is_message(e)]
    finally:
        c.close()


def test_someone_elses_store_is_forbidden(server):
    store_messages(server, ["private"], sender="bob", resource="b", to="alice@localhost")
    mallory = raw_login(server, "bob", "m")
    try:
        # XEP-0013 §2.3 to §2.7: a requester other than the user's own resources: forbidden.
        node = "00000000000000000001"
        for itype, req in (("get", count_req()), ("get", headers_req()),
                           ("get", offline_req("<fetch/>")),
                           ("get", offline_req("<item action='view' node='%s'/>" % node)),
                           ("set", offline_req("<item action='remove' node='%s'/>" % node)),
                           ("set", offline_req("<purge/>"))):
            reply, before = iq(mallory, itype, req, to="alice@localhost")
            assert error_of(reply) == ("auth", "forbidden"), req
            assert not [e for e in before if is_message(e)]
        wait_stored(server, "alice", 1)  # nothing was removed
        # A nonexistent account: disco#info gets service-unavailable (RFC 6121 §8.5.1), and
        # disco#items an empty result, node or not (XEP-0030 §8 2.1).
        reply, _ = iq(mallory, "get", count_req(), to="nobody@localhost")
        assert error_of(reply) == ("cancel", "service-unavailable")
        reply, _ = iq(mallory, "get", headers_req(), to="nobody@localhost")
        assert list(result_of(reply).find(q(NS_ITEMS, "query"))) == []
    finally:
        mallory.close()
    # The owner still sees it.
    c = raw_login(server, "alice", "a")
    try:
        assert number_of_messages(iq(c, "get", count_req())[0]) == 1
    finally:
        c.close()


def test_malformed_requests_are_bad_request(server):
    store_messages(server, ["x"])
    c = raw_login(server, "bob", "b")
    try:
        for itype, inner in (("get", ""),
                             ("set", ""),
                             ("get", "<item node='00000000000000000001'/>"),
                             ("get", "<item action='view'/>"),
                             ("get", "<item action='remove' node='00000000000000000001'/>"),
                             ("set", "<item action='view' node='00000000000000000001'/>"),
                             ("get", "<purge/>"),
                             ("get", "<fetch/><item action='view' node='00000000000000000001'/>"),
                             ("get", "<bogus/>")):
            reply, before = iq(c, itype, offline_req(inner))
            assert error_of(reply) == ("modify", "bad-request"), (itype, inner)
            assert not [e for e in before if is_message(e)]
        wait_stored(server, "bob", 1)
    finally:
        c.close()


# ---- flood or no flood (XEP-0013 §2.2, §2.6) ----------------------------------------------

def test_no_flood_after_headers_and_none_for_other_resources_meanwhile(server):
    store_messages(server, ["a", "b"])
    flex = raw_login(server, "bob", "flex")
    try:
        header_items(iq(flex, "get", headers_req())[0])
        send_presence_and_settle(flex)
        no_message(flex, 1.0)
        # §2.2: another resource while the flexible one is active: no flood either.
        other = raw_login(server, "bob", "other")
        try:
            send_presence_and_settle(other)
            no_message(other, 1.0)
        finally:
            other.close()
        # In-session messages are delivered as usual (§2.2).
        live_sender = raw_login(server, "alice", "a")
        try:
            live_sender.send(
                "<message to='bob@localhost' type='chat'><body>live</body></message>")
            m = x.wait_element(flex, is_message)
            assert body(m) == "live"
            assert m.find(q(NS_OFFLINE, "offline")) is None
        finally:
            live_sender.close()
        wait_stored(server, "bob", 2)  # still there
    finally:
        flex.close()


def close_and_wait_gone(server, c):
    """Closes a raw session and waits until the server has ended it (its debug log names the
    client's address when the session is closed)."""
    host, port = c.sock.getsockname()[:2]
    c.send("</stream:stream>")
    c.close()
    deadline = time.time() + 10
    while "c2s %s:%d: closed" % (host, port) not in server.log():
        assert time.time() < deadline, "the server did not close the session"
        time.sleep(0.02)


def test_plain_client_gets_the_flood_once_the_flexible_session_is_gone(server):
    store_messages(server, ["a", "b"])
    flex = raw_login(server, "bob", "flex")
    header_items(iq(flex, "get", headers_req())[0])
    close_and_wait_gone(server, flex)

    async def scenario():
        bob = await login("bob@localhost/plain", server.port)
        try:
            bob.send_presence()
            got = [await bob.next_message(), await bob.next_message()]
            assert [m["body"] for m in got] == ["a", "b"]
            # A flood is not flexible retrieval: no node, and the messages are gone.
            assert all(m.xml.find(q(NS_OFFLINE, "offline")) is None for m in got)
        finally:
            await close_all(bob)
    clients.run(scenario())
    wait_stored(server, "bob", 0)


def test_a_new_session_replacing_a_flexible_one_is_flooded(server):
    # The choice is per session: the same full JID logging in again is a new session
    # (RFC 6120 §7.7.2.2 replaces the old one), whatever the order in which the server sees the
    # old one close.
    store_messages(server, ["a"])
    flex = raw_login(server, "bob", "same")
    try:
        header_items(iq(flex, "get", headers_req())[0])
        again = raw_login(server, "bob", "same")
        try:
            send_presence_and_settle(again)
            assert body(x.wait_element(again, is_message)) == "a"
        finally:
            again.close()
    finally:
        flex.close()


def test_count_alone_also_prevents_the_flood(server):
    store_messages(server, ["a"])
    c = raw_login(server, "bob", "b")
    try:
        assert number_of_messages(iq(c, "get", count_req())[0]) == 1
        send_presence_and_settle(c)
        no_message(c, 1.0)
    finally:
        c.close()


def test_fetch_without_headers_prevents_the_flood(server):
    store_messages(server, ["a"])
    c = raw_login(server, "bob", "b")
    try:
        reply, before = iq(c, "get", offline_req("<fetch/>"))
        result_of(reply)
        assert [body(e) for e in before if is_message(e)] == ["a"]
        send_presence_and_settle(c)
        no_message(c, 1.0)
        wait_stored(server, "bob", 1)
    finally:
        c.close()


def test_plain_raw_client_is_flooded(server):
    # The control for the tests above: the same steps without XEP-0013 do flood.
    store_messages(server, ["a", "b"])
    c = raw_login(server, "bob", "b")
    try:
        send_presence_and_settle(c)
        got = [x.wait_element(c, is_message), x.wait_element(c, is_message)]
        assert [body(m) for m in got] == ["a", "b"]
        wait_stored(server, "bob", 0)
    finally:
        c.close()


# ---- durability ------------------------------------------------------------------------------

def test_messages_survive_a_restart_and_are_still_listed(server):
    store_messages(server, ["before restart 1", "before restart 2"])
    c = raw_login(server, "bob", "b")
    try:
        before = header_items(iq(c, "get", headers_req())[0])
    finally:
        c.close()
    assert server.stop() == 0
    server.start()
    c = raw_login(server, "bob", "b")
    try:
        assert header_items(iq(c, "get", headers_req())[0]) == before
        reply, msgs = iq(c, "get", offline_req("<fetch/>"))
        result_of(reply)
        assert [body(e) for e in msgs if is_message(e)] == ["before restart 1", "before restart 2"]
    finally:
        c.close()


# ---- independent clients ---------------------------------------------------------------------

def test_slixmpp_xep_0013_plugin(server):
    store_messages(server, ["s0", "s1", "s2"])

    async def call(fn, *args):
        """slixmpp's XEP_0013 view/remove/fetch/purge take callbacks; make them awaitable."""
        import asyncio
        fut = asyncio.get_running_loop().create_future()
        fn(*args, timeout=10, callback=lambda iq: fut.done() or fut.set_result(iq),
           timeout_callback=lambda *_: fut.done() or fut.set_exception(AssertionError("timeout")))
        return await asyncio.wait_for(fut, 15)

    async def scenario():
        bob = await login("bob@localhost/sli", server.port,
                          plugins=("xep_0030", "xep_0199", "xep_0013"))
        try:
            off = bob.plugin["xep_0013"]
            info = await off.get_count()
            assert ("automation", "message-list", None, None) in info["disco_info"]["identities"]
            assert number_of_messages(info.xml) == 3
            items = (await off.get_headers())["disco_items"]["items"]
            assert [(str(j), name) for j, _, name in items] == \
                [("bob@localhost", "alice@localhost/a")] * 3
            nodes = sorted(n for _, n, _ in items)  # slixmpp returns a set
            viewed = await call(off.view, [nodes[2]])
            assert viewed["type"] == "result"
            assert [m["body"] for m in viewed["offline"]["results"]] == ["s2"]
            removed = await call(off.remove, [nodes[0]])
            assert removed["type"] == "result"
            fetched = await call(off.fetch)  # COMPAT path: slixmpp sends <fetch/> in an iq set
            assert fetched["type"] == "result"
            assert [m["body"] for m in fetched["offline"]["results"]] == ["s1", "s2"]
            # The inbox saw the viewed and fetched messages, each with its node.
            seen = []
            while not bob.inbox.empty():
                seen.append(bob.inbox.get_nowait())
            assert [m["body"] for m in seen] == ["s2", "s1", "s2"]
            assert all(m["offline"]["item"]["node"] in nodes for m in seen)
            # It used XEP-0013: no flood of the two remaining messages on presence.
            bob.send_presence()
            await bob.ping_server()
            await bob.no_message(1.0)
            purged = await call(off.purge)
            assert purged["type"] == "result"
            assert number_of_messages((await off.get_count()).xml) == 0
        finally:
            await close_all(bob)
    clients.run(scenario())


def test_aioxmpp_disco_client_counts_and_lists(server):
    store_messages(server, ["x0", "x1"])

    async def scenario():
        import aioxmpp
        import aioxmpp.disco
        client = clients.aioxmpp_client("bob@localhost/aio", server.port)
        async with client.connected():
            disco = client.summon(aioxmpp.DiscoClient)
            me = aioxmpp.JID.fromstr("bob@localhost")
            info = await disco.query_info(me, node=NS_OFFLINE, require_fresh=True)
            ids = [(i.category, i.type_) for i in info.identities]
            assert ("automation", "message-list") in ids
            assert NS_OFFLINE in info.features
            forms = [f for f in info.exts if f.get_form_type() == NS_OFFLINE]
            assert len(forms) == 1
            values = {f.var: list(f.values) for f in forms[0].fields}
            assert values["number_of_messages"] == ["2"]
            items = await disco.query_items(me, node=NS_OFFLINE, require_fresh=True)
            assert [(str(i.jid), i.name) for i in items.items] == \
                [("bob@localhost", "alice@localhost/a")] * 2
            assert all(i.node for i in items.items)
    clients.run(scenario())
