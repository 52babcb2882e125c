"""Offline messages: RFC 6121 §8.5.2.2.1 storage, XEP-0160 delivery on presence, XEP-0203 delay
stamps, the per-account quota, and durability across restart and kill -9."""
import datetime
import os
import signal
import sqlite3
import time

import clients
from clients import login, close_all, error_condition

NS_DELAY = "urn:xmpp:delay"


def delay_of(msg):
    return msg.xml.find("{%s}delay" % NS_DELAY)


async def send_and_settle(sender, to, body, mtype="chat"):
    sender.send_message(mto=to, mbody=body, mtype=mtype)
    # A ping round trip: the server has handled the message once the pong is back.
    await sender.plugin["xep_0199"].ping(jid="localhost", timeout=10)


def test_message_to_offline_user_is_delivered_on_presence_with_delay(server):
    async def scenario():
        alice = await login("alice@localhost/a", server.port)
        try:
            before = datetime.datetime.now(datetime.timezone.utc)
            for i in range(3):
                await send_and_settle(alice, "bob@localhost", "while you were out %d" % i)
            await alice.no_message(0.3)  # no error came back: stored
        finally:
            await close_all(alice)
        bob = await login("bob@localhost/b", server.port)
        try:
            await bob.no_message(0.5)  # nothing before presence (XEP-0160 §4)
            bob.send_presence()
            for i in range(3):
                m = await bob.next_message()
                assert m["body"] == "while you were out %d" % i  # in order
                assert str(m["from"]) == "alice@localhost/a"
                d = delay_of(m)
                assert d is not None, m
                assert d.get("from") == "localhost"
                stamp = datetime.datetime.fromisoformat(d.get("stamp").replace("Z", "+00:00"))
                assert before - datetime.timedelta(seconds=1) <= stamp
                assert stamp <= datetime.datetime.now(datetime.timezone.utc)
            await bob.no_message(0.5)
        finally:
            await close_all(bob)
        # Delivered once: a new session gets nothing.
        bob2 = await login("bob@localhost/b2", server.port)
        try:
            bob2.send_presence()
            await bob2.no_message(0.7)
        finally:
            await close_all(bob2)
    clients.run(scenario())


def test_negative_priority_waits_for_non_negative(server):
    async def scenario():
        alice = await login("alice@localhost/a", server.port)
        try:
            await send_and_settle(alice, "bob@localhost", "later")
        finally:
            await close_all(alice)
        bob = await login("bob@localhost/b", server.port)
        try:
            bob.send_presence(ppriority=-1)
            await bob.no_message(0.7)
            bob.send_presence(ppriority=1)
            m = await bob.next_message()
            assert m["body"] == "later"
        finally:
            await close_all(bob)
    clients.run(scenario())


def test_headline_is_not_stored_and_errors_nobody(server):
    async def scenario():
        alice = await login("alice@localhost/a", server.port)
        try:
            await send_and_settle(alice, "bob@localhost", "news", mtype="headline")
            await alice.no_message(0.3)  # RFC 6121 §8.5.2.2.1: silently ignored
        finally:
            await close_all(alice)
        bob = await login("bob@localhost/b", server.port)
        try:
            bob.send_presence()
            await bob.no_message(0.7)
        finally:
            await close_all(bob)
    clients.run(scenario())


def test_quota_gives_service_unavailable(server_factory):
    s = server_factory(extra="[offline]\nmax_messages = 2")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()

    async def scenario():
        alice = await login("alice@localhost/a", s.port)
        try:
            await send_and_settle(alice, "bob@localhost", "one")
            await send_and_settle(alice, "bob@localhost", "two")
            await alice.no_message(0.3)
            alice.send_message(mto="bob@localhost", mbody="three", mtype="chat")
            err = await alice.next_message()
            assert err["type"] == "error"
            assert error_condition(err) == "service-unavailable"
        finally:
            await close_all(alice)
        bob = await login("bob@localhost/b", s.port)
        try:
            bob.send_presence()
            assert (await bob.next_message())["body"] == "one"
            assert (await bob.next_message())["body"] == "two"
            await bob.no_message(0.5)
        finally:
            await close_all(bob)
    clients.run(scenario())


def test_disabled_offline_storage_bounces(server_factory):
    s = server_factory(extra="[offline]\nmax_messages = 0")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()

    async def scenario():
        alice = await login("alice@localhost/a", s.port)
        try:
            alice.send_message(mto="bob@localhost", mbody="x", mtype="chat")
            err = await alice.next_message()
            assert error_condition(err) == "service-unavailable"
        finally:
            await close_all(alice)
    clients.run(scenario())


def test_stored_message_survives_kill_9_and_restart(server):
    async def store():
        alice = await login("alice@localhost/a", server.port)
        try:
            await send_and_settle(alice, "bob@localhost", "durable")
        finally:
            await close_all(alice)
    clients.run(store())
    # Wait until it is stored (read-only look at the database: without XEP-0198 the client has
    # no acknowledgement to wait for), then kill -9: no chance to flush anything.
    db = os.path.join(server.data_dir, "starling.db")
    deadline = time.time() + 10
    while True:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            n = con.execute("SELECT count(*) FROM kv WHERE store='offline' AND username='bob'")\
                .fetchone()[0]
        finally:
            con.close()
        if n == 1:
            break
        assert time.time() < deadline, "the message was never stored"
        time.sleep(0.02)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    server.proc = None
    server._log.close()
    server.start()

    async def fetch():
        bob = await login("bob@localhost/b", server.port)
        try:
            bob.send_presence()
            m = await bob.next_message()
            assert m["body"] == "durable"
            assert delay_of(m) is not None
        finally:
            await close_all(bob)
    clients.run(fetch())


def test_disco_advertises_msgoffline(server):
    async def scenario():
        alice = await login("alice@localhost/a", server.port)
        try:
            info = await alice.plugin["xep_0030"].get_info(jid="localhost")
            assert "msgoffline" in info["disco_info"]["features"]
        finally:
            await close_all(alice)
    clients.run(scenario())
