"""Stanza routing between local sessions (RFC 6120 §8, §10; RFC 6121 §8.5) with slixmpp clients."""
import asyncio
import time
import xml.etree.ElementTree as ET

import pytest

from clients import IqError, close_all, error_condition, login, run

PING = "{urn:xmpp:ping}ping"


def is_error(msg):
    return msg["type"] == "error"


def is_chat(msg):
    return msg["type"] != "error"


def test_message_to_full_jid_is_stamped_with_senders_full_jid(server):
    async def body():
        alice = await login("alice@localhost/a1", server.port)
        bob = await login("bob@localhost/b1", server.port)
        try:
            alice.say("bob@localhost/b1", "hi bob")
            m = await bob.next_message()
            assert m["body"] == "hi bob"
            assert str(m["from"]) == "alice@localhost/a1"  # RFC 6120 §8.1.2.1
            assert str(m["to"]) == "bob@localhost/b1"
            assert m["type"] == "chat"
            await bob.no_message(0.5)
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_bare_jid_message_goes_to_highest_priority_only(server):
    """RFC 6121 §8.5.2.1.1: a chat message to the bare JID goes to the available resource(s)
    with the highest non-negative priority."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        high = await login("bob@localhost/high", server.port)
        low = await login("bob@localhost/low", server.port)
        try:
            await high.presence(5)
            await low.presence(1)
            alice.say("bob@localhost", "to the bare JID")
            m = await high.next_message()
            assert m["body"] == "to the bare JID"
            assert str(m["from"]) == "alice@localhost/a"
            await low.no_message(1.0)
            await alice.no_message(0.1)  # no error bounced
        finally:
            await close_all(alice, high, low)
    run(body(), 40)


def test_bare_jid_message_equal_priorities_goes_to_all(server):
    async def body():
        alice = await login("alice@localhost/a", server.port)
        b1 = await login("bob@localhost/one", server.port)
        b2 = await login("bob@localhost/two", server.port)
        try:
            await b1.presence(3)
            await b2.presence(3)
            alice.say("bob@localhost", "to both")
            m1, m2 = await asyncio.gather(b1.next_message(), b2.next_message())
            for m in (m1, m2):
                assert m["body"] == "to both"
                assert str(m["from"]) == "alice@localhost/a"
            await b1.no_message(0.5)
            await b2.no_message(0.1)
        finally:
            await close_all(alice, b1, b2)
    run(body(), 40)


@pytest.fixture
def server_without_offline(server_factory):
    """Offline storage disabled (offline.max_messages = 0): RFC 6121 §8.5.2.2.1 then requires
    service-unavailable where a message cannot be delivered."""
    s = server_factory(extra="[offline]\nmax_messages = 0")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


@pytest.mark.parametrize("priority", [-1, None], ids=["negative-priority", "no-presence"])
def test_bare_jid_message_without_eligible_resource_bounces(server_without_offline, priority):
    """No available resource with a non-negative priority and no offline storage: the sender
    gets service-unavailable (RFC 6121 §8.5.2.2.1) and the negative-priority resource gets
    nothing."""
    server = server_without_offline

    async def body():
        alice = await login("alice@localhost/a", server.port)
        bob = await login("bob@localhost/neg", server.port)
        try:
            if priority is not None:
                await bob.presence(priority)
            alice.say("bob@localhost", "anyone?")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
            assert str(err["from"]) == "bob@localhost"
            await bob.no_message(1.0)
        finally:
            await close_all(alice, bob)
    run(body(), 40)


@pytest.mark.parametrize("priority", [-1, None], ids=["negative-priority", "no-presence"])
def test_bare_jid_message_without_eligible_resource_is_stored(server, priority):
    """With offline storage (the default) the same message is stored, not bounced, and the
    negative-priority resource still gets nothing (RFC 6121 §8.5.2.1.1)."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        bob = await login("bob@localhost/neg", server.port)
        try:
            if priority is not None:
                await bob.presence(priority)
            alice.say("bob@localhost", "anyone?")
            await alice.ping_server()
            await alice.no_message(0.5)
            await bob.no_message(0.5)
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_bare_jid_routing_follows_presence_changes(server_without_offline):
    server = server_without_offline

    async def body():
        alice = await login("alice@localhost/a", server.port)
        high = await login("bob@localhost/high", server.port)
        low = await login("bob@localhost/low", server.port)
        try:
            await high.presence(5)
            await low.presence(1)
            await high.presence(-1)  # now only 'low' has a non-negative priority
            alice.say("bob@localhost", "one")
            m = await low.next_message()
            assert m["body"] == "one"
            await high.no_message(0.5)
            # 'low' goes unavailable too: nobody is eligible any more.
            low.send_presence(ptype="unavailable")
            await low.ping_server()
            alice.say("bob@localhost", "two")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
            await high.no_message(0.5)
            await low.no_message(0.1)
        finally:
            await close_all(alice, high, low)
    run(body(), 40)


def test_same_resource_replaces_older_session(server):
    """RFC 6120 §7.7.2.2: binding a resource already in use ends the older session with
    <conflict/>; stanzas to that full JID go to the new session."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        old = await login("bob@localhost/same", server.port)
        new = await login("bob@localhost/same", server.port)
        try:
            await asyncio.wait_for(old.ended, 10)
            assert any(e["condition"] == "conflict" for e in old.stream_errors), old.stream_errors
            alice.say("bob@localhost/same", "to the new one")
            m = await new.next_message()
            assert m["body"] == "to the new one"
            assert old.inbox.empty()
        finally:
            await close_all(alice, old, new)
    run(body(), 40)


def test_message_to_server_domain_is_service_unavailable(server):
    async def body():
        alice = await login("alice@localhost/a", server.port)
        try:
            alice.say("localhost", "hello server")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
            assert str(err["from"]) == "localhost"
        finally:
            await close_all(alice)
    run(body(), 30)


def test_forged_from_is_replaced(server):
    async def body():
        alice = await login("alice@localhost/real", server.port)
        bob = await login("bob@localhost/b", server.port)
        try:
            msg = alice.make_message(mto="bob@localhost/b", mbody="forged", mtype="chat")
            msg["from"] = "mallory@localhost/x"
            msg.send()
            m = await bob.next_message()
            assert m["body"] == "forged"
            assert str(m["from"]) == "alice@localhost/real"
            # Also a forged from naming another real account.
            msg = alice.make_message(mto="bob@localhost/b", mbody="forged2", mtype="chat")
            msg["from"] = "bob@localhost/b"
            msg.send()
            m = await bob.next_message()
            assert m["body"] == "forged2"
            assert str(m["from"]) == "alice@localhost/real"
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_iq_to_full_jid_is_delivered_and_answered(server):
    async def body():
        alice = await login("alice@localhost/a", server.port)
        bob = await login("bob@localhost/b", server.port)
        try:
            # bob shares his presence with alice (directed presence), so she may query him
            # (RFC 6121 §8.5.3.1; test_presence.py checks the refusal otherwise).
            bob.send_presence(pto="alice@localhost")
            await bob.ping_server()
            # bob's slixmpp answers jabber:iq:version itself (XEP-0092 plugin).
            r = await alice["xep_0092"].get_version("bob@localhost/b", timeout=10)
            assert r["type"] == "result"
            assert str(r["from"]) == "bob@localhost/b"
            assert r["software_version"]["name"]
            assert r["software_version"]["name"] != "Starling"
            # And a ping, answered by bob's client.
            r = await alice.iq_get("bob@localhost/b", ET.Element(PING))
            assert r["type"] == "result" and str(r["from"]) == "bob@localhost/b"
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_iq_to_offline_resource_is_service_unavailable(server):
    """RFC 6121 §8.5.3.2.2: an iq to a full JID with no matching resource."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        bob = await login("bob@localhost/online", server.port)
        try:
            with pytest.raises(IqError) as e:
                await alice.iq_get("bob@localhost/offline", ET.Element("{jabber:iq:version}query"))
            assert error_condition(e.value) == "service-unavailable"
            assert str(e.value.iq["from"]) == "bob@localhost/offline"
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_iq_to_bare_jid_unknown_namespace_is_service_unavailable(server):
    async def body():
        alice = await login("alice@localhost/a", server.port)
        bob = await login("bob@localhost/b", server.port)
        try:
            await bob.presence(1)
            with pytest.raises(IqError) as e:
                await alice.iq_get("bob@localhost", ET.Element("{urn:example:unknown}query"))
            assert error_condition(e.value) == "service-unavailable"
            # RFC 6121 §8.5.2.1.3: the server handles it on the account's behalf, never the
            # client.
            await bob.no_message(0.2)
        finally:
            await close_all(alice, bob)
    run(body(), 40)


def test_ping_to_bare_jid_answered_by_server(server):
    """XEP-0199 §4.2 / RFC 6121 §8.5.2.1.3: the server answers for the account (online or not)."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        try:
            r = await alice.iq_get("bob@localhost", ET.Element(PING))
            assert r["type"] == "result"
            assert str(r["from"]) == "bob@localhost"
            bob = await login("bob@localhost/b", server.port)
            try:
                r = await alice.iq_get("bob@localhost", ET.Element(PING))
                assert r["type"] == "result" and str(r["from"]) == "bob@localhost"
            finally:
                await bob.close()
        finally:
            await close_all(alice)
    run(body(), 40)


def test_iq_to_nonexistent_account_is_service_unavailable(server):
    async def body():
        alice = await login("alice@localhost/a", server.port)
        try:
            with pytest.raises(IqError) as e:
                await alice.iq_get("nobody@localhost", ET.Element(PING))
            assert error_condition(e.value) == "service-unavailable"
        finally:
            await close_all(alice)
    run(body(), 30)


def test_message_to_nonexistent_account_is_service_unavailable(server):
    """RFC 6121 §8.5.1: no such account."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        try:
            alice.say("nobody@localhost", "hello?")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
            assert str(err["from"]) == "nobody@localhost"
            alice.say("nobody@localhost/res", "hello?")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
        finally:
            await close_all(alice)
    run(body(), 30)


def test_message_to_remote_domain_is_remote_server_not_found(server):
    """No federation yet: RFC 6120 §8.3.3.16 remote-server-not-found."""
    async def body():
        alice = await login("alice@localhost/a", server.port)
        try:
            alice.say("user@example.net", "far away")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "remote-server-not-found"
            assert str(err["from"]) == "user@example.net"
            with pytest.raises(IqError) as e:
                await alice.iq_get("example.net", ET.Element(PING))
            assert error_condition(e.value) == "remote-server-not-found"
        finally:
            await close_all(alice)
    run(body(), 30)


def test_100_concurrent_sessions(server_factory):
    n = 100
    s = server_factory()
    t0 = time.time()
    for i in range(n):
        s.adduser("u%03d@localhost" % i, "pw%03d" % i)
    s.start()
    t_accounts = time.time() - t0

    async def body():
        async def one(i):
            return await login("u%03d@localhost/r%d" % (i, i), s.port, "pw%03d" % i, timeout=45)
        results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
        clients = [c for c in results if not isinstance(c, BaseException)]
        try:
            failed = [r for r in results if isinstance(r, BaseException)]
            assert not failed, "%d logins failed, first: %r" % (len(failed), failed[0])
            for i, c in enumerate(clients):
                j = (i + 1) % n
                c.say("u%03d@localhost/r%d" % (j, j), "from %d to %d" % (i, j))
            msgs = await asyncio.gather(*(c.next_message(timeout=20) for c in clients))
            for j, m in enumerate(msgs):
                i = (j - 1) % n
                assert m["body"] == "from %d to %d" % (i, j)
                assert str(m["from"]) == "u%03d@localhost/r%d" % (i, i)
                assert m["type"] == "chat"
            # Exactly once: nothing else arrives anywhere.
            await asyncio.sleep(1.0)
            extra = [(str(c.boundjid), c.inbox.qsize()) for c in clients if c.inbox.qsize()]
            assert not extra, extra
        finally:
            await close_all(*clients)
    t1 = time.time()
    run(body(), 90)
    assert t_accounts + (time.time() - t1) < 90


def test_virtual_hosts_route_locally(server_factory):
    s = server_factory(domains=("a.test", "b.test"))
    s.adduser("alice@a.test", "secret")
    s.adduser("bob@b.test", "secret")
    s.start()

    async def body():
        alice = await login("alice@a.test/x", s.port)
        bob = await login("bob@b.test/y", s.port)
        try:
            assert str(alice.boundjid) == "alice@a.test/x"
            assert str(bob.boundjid) == "bob@b.test/y"
            alice.say("bob@b.test/y", "across hosts")
            m = await bob.next_message()
            assert m["body"] == "across hosts"
            assert str(m["from"]) == "alice@a.test/x"
            await bob.presence(0)
            alice.say("bob@b.test", "bare across hosts")
            m = await bob.next_message()
            assert m["body"] == "bare across hosts"
            bob.say("alice@a.test/x", "reply")
            m = await alice.next_message()
            assert m["body"] == "reply" and str(m["from"]) == "bob@b.test/y"
            # Each host's server answers on its own.
            r = await alice.iq_get("b.test", ET.Element(PING))
            assert r["type"] == "result" and str(r["from"]) == "b.test"
            # alice@b.test does not exist: a.test's account does not leak into b.test.
            alice.say("alice@b.test", "wrong host")
            err = await alice.next_message(pred=is_error)
            assert error_condition(err) == "service-unavailable"
        finally:
            await close_all(alice, bob)
    run(body(), 40)
