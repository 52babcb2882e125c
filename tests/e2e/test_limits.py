"""Per-connection byte-rate limit (DESIGN.md security defaults; c2s.max_bytes_per_second).

A client that sends faster than the limit is read more slowly: its stanzas still arrive, in
order, but no faster than the configured rate once the burst allowance is spent."""
import time

import pytest

from conftest import Raw
import xmpp_raw as x

RATE = 4096           # bytes per second
LIMIT = 4096          # max_stanza_size: the burst is max(LIMIT, RATE) = 4 KiB


@pytest.fixture
def slow_server(server_factory):
    s = server_factory(c2s_extra=f"max_bytes_per_second = {RATE}\nmax_stanza_size = {LIMIT}")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def test_fast_sender_is_throttled_but_nothing_is_lost(slow_server):
    alice = Raw(slow_server.port, timeout=30)
    bob = Raw(slow_server.port, timeout=30)
    try:
        alice_jid = x.login(alice, "alice", "secret", "a")
        bob_jid = x.login(bob, "bob", "secret", "b")
        # 16 messages of ~1 KiB = ~16 KiB: 4 KiB of burst, then ~12 KiB at 4 KiB/s = ~3 s.
        body = "m" * 900
        stanzas = "".join("<message to='%s' id='m%d'><body>%s</body></message>" % (bob_jid, i, body)
                          for i in range(16))
        start = time.monotonic()
        alice.send(stanzas)
        x.wait_id(bob, "m15", timeout=30)
        elapsed = time.monotonic() - start
        # Every message arrived, in order.
        ids = [m.get("id") for m in x.parse(bob.buf).elements if m.get("id", "").startswith("m")]
        assert ids == ["m%d" % i for i in range(16)]
        assert all(m.get("from") == alice_jid for m in x.parse(bob.buf).elements
                   if m.get("id", "").startswith("m"))
        # Lower bound only: (total - burst) / rate, with slack for the TLS record overhead.
        expected = (len(stanzas) - LIMIT) / RATE
        assert elapsed >= expected * 0.8, "no throttling: %.2fs for %d bytes" % (elapsed, len(stanzas))
    finally:
        alice.close()
        bob.close()


def test_unlimited_when_zero(server_factory):
    s = server_factory(c2s_extra="max_bytes_per_second = 0")
    s.adduser("alice@localhost", "secret")
    s.start()
    c = Raw(s.port)
    try:
        me = x.login(c, "alice", "secret", "u")
        body = "z" * 60000
        start = time.monotonic()
        c.send("<message to='%s' id='big'><body>%s</body></message>" % (me, body))
        x.wait_id(c, "big")
        # With the default limit (100 KiB/s) this would still pass; the point is that 0 is
        # accepted and nothing is throttled below the 256 KiB burst.
        assert time.monotonic() - start < 5
    finally:
        c.close()
