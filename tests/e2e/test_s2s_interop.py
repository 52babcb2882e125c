"""Starling federating with Prosody 0.12 and ejabberd 23.01 from Debian, both directions, on
loopback: a.test (Starling, 127.0.0.1) and prosody.test (127.0.0.3) / ejabberd.test
(127.0.0.4), started by the suite as our own processes (federation.py). Everyone finds everyone
through the fake DNS server: SRV _xmpp-server._tcp records with random ports, so Starling's
c-ares resolver is exercised too (s2s.dns_server).

Each pairing runs once with certificates from the test CA on all sides (SASL EXTERNAL both
ways) and once with Starling presenting a self-signed certificate and the peer accepting Server
Dialback (XEP-0220): the peer must then verify Starling's dialback key with Starling as the
authoritative server, while Starling still authenticates the peer by certificate."""
import os
import re
import time

import pytest

import federation
from federation import federate
from clients import run


def _skip_reason():
    return federation.Prosody.available() or federation.Ejabberd.available()


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "")


class StarlingPeer:
    """What federation.login_at needs to know about a Starling under test."""

    def __init__(self, server, domain, ca_path, cert_from_ca):
        self.server = server
        self.domain = domain
        self.address = "127.0.0.1"
        self.c2s_port = server.port
        self.ca_path = ca_path
        self.cert_from_ca = cert_from_ca

    def log(self):
        return self.server.log()


def start_starling(server_factory, w, certs):
    if certs:
        cert, key = w.ca.issue("a.test")
        s2s = ""
    else:
        cert, key = federation.self_signed(w.path("starling-bad"), "a.test")
        s2s = "require_valid_certificates = false\n"
    s = server_factory(domains=("a.test",),
                       extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                       s2s_extra='ca_file = "%s"\ndns_server = "%s"\n%s'
                       % (w.ca.path, w.dns.addr_port, s2s))
    s.adduser("alice@a.test", "secret")
    s.adduser("bob@a.test", "secret")
    s.start()
    w.dns.add_server("a.test", "127.0.0.1", s.s2s_port)
    return StarlingPeer(s, "a.test", w.ca.path, certs)


def wait_log(peer, pattern, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(pattern, peer.log()):
            return
        time.sleep(0.1)
    raise AssertionError("no %r in the log:\n%s" % (pattern, peer.log()[-5000:]))


@pytest.mark.parametrize("kind", ["prosody", "ejabberd"])
def test_certificates(server_factory, kind):
    with federation.World() as w:
        st = start_starling(server_factory, w, certs=True)
        cls = federation.Prosody if kind == "prosody" else federation.Ejabberd
        peer = w.start(cls(ca=w.ca, dns=w.dns, secure_auth=True, users={"alice": "secret", "bob": "secret"},
                           workdir=w.path(kind)))
        run(federate(st, peer), 180)   # alice@a.test <-> bob@peer
        wait_log(st, r"s2s-out a\.test->%s: authenticated \(SASL EXTERNAL\)"
                 % re.escape(peer.domain))
        wait_log(st, r"%s authenticated \(SASL EXTERNAL, certificate\)" % re.escape(peer.domain))
        # Starling found the peer through DNS SRV (the fake server), not a static map.
        assert ("_xmpp-server._tcp.%s" % peer.domain, "SRV") in w.dns.queries
        assert "authenticated (dialback)" not in st.log()


@pytest.mark.parametrize("kind", ["prosody", "ejabberd"])
def test_dialback(server_factory, kind):
    with federation.World() as w:
        st = start_starling(server_factory, w, certs=False)
        cls = federation.Prosody if kind == "prosody" else federation.Ejabberd
        peer = w.start(cls(ca=w.ca, dns=w.dns, secure_auth=False, dialback=True,
                           users={"alice": "secret", "bob": "secret"}, workdir=w.path(kind)))
        run(federate(peer, st), 180)   # bob@peer starts this time
        # The peer does not trust Starling's certificate: Starling -> peer is dialback, and the
        # peer asked Starling (authoritative for a.test) to verify the key.
        wait_log(st, r"s2s-out a\.test->%s: authenticated \(dialback\)" % re.escape(peer.domain))
        wait_log(st, r"db:verify from %s for stream .*: valid" % re.escape(peer.domain))
        # Starling trusts the peer's certificate (from the CA): peer -> Starling needs no
        # dialback round trip.
        assert re.search(r"%s authenticated \((SASL EXTERNAL, certificate|dialback request, "
                         r"valid certificate)\)" % re.escape(peer.domain), st.log())
