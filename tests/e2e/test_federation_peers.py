"""Self-check of the federation harness (federation.py): Prosody and ejabberd, run as our own
processes on loopback, federate with each other through the fake DNS server and the test CA.

A user on prosody.test and one on ejabberd.test subscribe to each other, see each other's
presence and exchange messages both ways: once with certificates from the test CA on both sides
(each server authenticates the other with SASL EXTERNAL, s2s_secure_auth / no dialback), once
with ejabberd presenting a self-signed certificate that Prosody does not trust, where
ejabberd -> Prosody must fall back to Server Dialback (XEP-0220).

Skips only when Prosody or ejabberd is not installed (or ejabberdctl cannot run: it needs root
or the ejabberd user). lua-unbound missing is a failure: scripts/install-deps.sh installs it."""
import asyncio
import re

import xml.etree.ElementTree as ET

import pytest

import federation
from clients import close_all, run

PASSWORD = "secret"


def _skip_reason():
    return federation.Prosody.available() or federation.Ejabberd.available()


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "")


@pytest.fixture
def world():
    """CA + fake DNS in a fresh work directory; yields (ca, dns, start, workdir) where
    start(peer) starts a peer and registers it for teardown. Everything is stopped and the
    directory removed at teardown."""
    with federation.World() as w:
        yield w.ca, w.dns, w.start, w.dir


class Presences:
    """Every presence a client receives (any type), for bounded waits on a particular one."""

    def __init__(self, client):
        self.items = []
        for ev in ("presence_available", "presence_unavailable", "presence_subscribe",
                   "presence_subscribed", "presence_unsubscribe", "presence_unsubscribed",
                   "presence_error"):
            client.add_event_handler(ev, self._on)

    def _on(self, pres):
        self.items.append((pres["from"].bare, pres["type"]))

    async def wait(self, bare, types, timeout=30):
        await until(lambda: any(f == bare and t in types for f, t in self.items), timeout,
                    lambda: "presence %s from %s; got %r" % (types, bare, self.items))


async def until(pred, timeout, what):
    """Waits (bounded) until pred() is true; AssertionError naming what() otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() >= deadline:
            raise AssertionError("not within %ss: %s" % (timeout, what()))
        await asyncio.sleep(0.05)


AVAILABLE = ("available", "chat", "away", "xa", "dnd")


async def federate(p, e):
    """alice@prosody.test and bob@ejabberd.test: mutual subscription, presence, messages."""
    alice = await federation.login_at(p, "alice", PASSWORD)
    bob = await federation.login_at(e, "bob", PASSWORD)
    try:
        # slixmpp's defaults: auto_authorize and auto_subscribe, so bob approves alice's
        # request and subscribes back, which alice approves in turn.
        pa, pb = Presences(alice), Presences(bob)
        alice.send_presence()
        bob.send_presence()
        await asyncio.gather(alice.ping_server(), bob.ping_server())
        alice.send_presence(pto=bob.boundjid.bare, ptype="subscribe")
        # Each request crossed the federation link (whether the approval itself is shown to
        # the client as a presence differs between servers; the roster pushes below are not).
        await pb.wait(alice.boundjid.bare, ("subscribe",), 60)
        await pa.wait(bob.boundjid.bare, ("subscribe",), 60)
        # Both servers' rosters say "both" (asked with roster gets, not slixmpp's local view,
        # which its own auto-subscribe bookkeeping can leave behind the server's).
        async def subscription(client, contact):
            # No 'ver' attribute: the whole roster, never "unchanged since version X".
            iq = await client.iq_get(None, ET.Element("{jabber:iq:roster}query"))
            for item in iq.xml.iter("{jabber:iq:roster}item"):
                if item.get("jid") == contact:
                    return item.get("subscription")
            return None

        async def both():
            return (await subscription(alice, bob.boundjid.bare),
                    await subscription(bob, alice.boundjid.bare))
        state = None
        for _ in range(60):     # bounded: at most ~60 round trips a side
            state = await both()
            if state == ("both", "both"):
                break
            await asyncio.sleep(0.5)
        assert state == ("both", "both"), state
        # Both now see the other online (presence probes / broadcast after subscription).
        await pa.wait(bob.boundjid.bare, AVAILABLE, 30)
        await pb.wait(alice.boundjid.bare, AVAILABLE, 30)

        alice.say(bob.boundjid.bare, "hello from prosody")
        m = await bob.next_message(30, pred=lambda m: m["body"])
        assert m["body"] == "hello from prosody"
        assert m["from"].bare == alice.boundjid.bare and m["type"] == "chat"

        bob.say(alice.boundjid.bare, "hello from ejabberd")
        m = await alice.next_message(30, pred=lambda m: m["body"])
        assert m["body"] == "hello from ejabberd"
        assert m["from"].bare == bob.boundjid.bare and m["type"] == "chat"

    finally:
        await close_all(alice, bob)


def test_certificates_sasl_external(world):
    ca, dns, start, tmp = world
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, dns=dns, secure_auth=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))
    run(federate(p, e), 180)
    plog, elog = p.log(), e.log()
    # Prosody accepted ejabberd's certificate for its incoming stream, and ejabberd Prosody's.
    assert "Accepting SASL EXTERNAL identity from ejabberd.test" in plog, plog[-5000:]
    assert re.search(r"SASL EXTERNAL with ejabberd\.test succeeded", plog), plog[-5000:]
    assert "Accepted inbound s2s EXTERNAL authentication prosody.test -> ejabberd.test" in elog
    assert "Accepted outbound s2s EXTERNAL authentication ejabberd.test -> prosody.test" in elog
    assert "dialback" not in (plog + elog).lower()
    # The lookups went through the fake DNS server.
    assert ("_xmpp-server._tcp.ejabberd.test", "SRV") in dns.queries
    assert ("_xmpp-server._tcp.prosody.test", "SRV") in dns.queries


def test_untrusted_certificate_dialback(world):
    ca, dns, start, tmp = world
    bad = federation.self_signed(tmp + "/bad", "ejabberd.test")
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=False, dialback=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, cert=bad, dns=dns, secure_auth=False, dialback=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))
    run(federate(p, e), 180)
    plog = p.log()
    # ejabberd's certificate is not trusted: Prosody must not have accepted EXTERNAL from it,
    # and verified its dialback key with the authoritative server (ejabberd.test) instead.
    assert "Accepting SASL EXTERNAL identity from ejabberd.test" not in plog
    assert re.search(r"verified dialback key|asking ejabberd\.test if key", plog), plog[-5000:]
    elog = e.log()
    assert "Accepted outbound s2s dialback authentication ejabberd.test -> prosody.test" in elog
    # The other direction: ejabberd trusts the CA that issued Prosody's certificate.
    assert "Accepted inbound s2s EXTERNAL authentication prosody.test -> ejabberd.test" in elog


def test_untrusted_certificate_refused_when_certificates_required(world):
    """The secure_auth option is enforced: Prosody requires valid certificates (no dialback);
    ejabberd's is self-signed, so ejabberd -> Prosody fails and bob's message bounces, and
    alice receives nothing."""
    ca, dns, start, tmp = world
    bad = federation.self_signed(tmp + "/bad", "ejabberd.test")
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, cert=bad, dns=dns, secure_auth=False, dialback=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))

    async def body():
        alice = await federation.login_at(p, "alice", PASSWORD)
        bob = await federation.login_at(e, "bob", PASSWORD)
        try:
            alice.send_presence()
            bob.send_presence()
            bob.say(alice.boundjid.bare, "should not arrive")
            err = await bob.next_message(60, pred=lambda m: m["type"] == "error")
            assert err["from"].bare == alice.boundjid.bare
            await alice.no_message(1.0)
            return err["error"]["condition"]
        finally:
            await close_all(alice, bob)
    cond = run(body(), 120)
    assert cond in ("remote-server-not-found", "remote-server-timeout", "not-authorized"), cond
    plog = p.log()
    assert "Forbidding insecure connection to/from ejabberd.test" in plog, plog[-5000:]
    assert "Accepting SASL EXTERNAL identity from ejabberd.test" not in plog
    assert "Accepted outbound s2s" not in e.log()
