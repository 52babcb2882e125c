"""Federation between two Starling instances (RFC 6120 s2s, XEP-0178 SASL EXTERNAL, XEP-0220
Server Dialback), end to end on loopback: a.test on 127.0.0.1 and b.test on 127.0.0.2, each
with a certificate from a test CA the suite makes (federation.CA), users driven by slixmpp.
Raw sockets play a misbehaving peer server for the stream-level errors."""
import asyncio
import base64
import os
import re
import socket
import ssl
import tempfile
import time

import pytest

import federation
from clients import login, close_all, run, error_condition

A, B = "a.test", "b.test"


def wait_log(server, pattern, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(pattern, server.log()):
            return
        time.sleep(0.05)
    raise AssertionError("no %r in the log of %s:\n%s" % (pattern, server.domains,
                                                          server.log()[-4000:]))


class Pair:
    """Two Starlings federating through [s2s.hosts]. mode: 'certs' (both trust the CA: SASL
    EXTERNAL) or 'dialback' (self-signed certificates, require_valid_certificates = false)."""

    def __init__(self, server_factory, mode="certs", a_extra="", b_extra="", direct_tls=False):
        self.dir = tempfile.mkdtemp(prefix="starling-s2s-")
        ca = federation.CA(os.path.join(self.dir, "ca"))
        pa = federation.free_port("127.0.0.1")
        pb = federation.free_port("127.0.0.2")
        ta = federation.free_port("127.0.0.1")
        tb = federation.free_port("127.0.0.2")
        self.servers = {}
        for dom, addr, port, tport, other, other_addr, other_port, extra in (
                (A, "127.0.0.1", pa, ta, B, "127.0.0.2", tb if direct_tls else pb, a_extra),
                (B, "127.0.0.2", pb, tb, A, "127.0.0.1", ta if direct_tls else pa, b_extra)):
            if mode == "certs":
                cert, key = ca.issue(dom)
                s2s = ""
            else:
                cert, key = federation.self_signed(os.path.join(self.dir, dom), dom)
                s2s = "require_valid_certificates = false\n"
            s = server_factory(
                domains=(dom,),
                extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                s2s_address=addr, s2s_port=port, s2s_tls_port=tport,
                s2s_extra=('ca_file = "%s"\nconnect_timeout = 10\n%s%s\n'
                           '[s2s.hosts]\n"%s" = { address = "%s:%d", direct_tls = %s }\n'
                           % (ca.path, s2s, extra, other, other_addr, other_port,
                              "true" if direct_tls else "false")))
            s.adduser("alice@" + dom, "secret")
            s.adduser("bob@" + dom, "secret")
            self.servers[dom] = s
        for s in self.servers.values():
            s.start()

    def __getitem__(self, dom):
        return self.servers[dom]


async def subscribe_and_chat(sa, sb):
    """alice@a.test and bob@b.test subscribe to each other, see each other's presence and
    exchange messages both ways (RFC 6121 §3, §4 across servers)."""
    plugins = ("xep_0030", "xep_0092", "xep_0199", "xep_0054")
    alice = await login("alice@a.test/home", sa.port, plugins=plugins)
    bob = await login("bob@b.test/work", sb.port, plugins=plugins)
    try:
        got = {"alice": asyncio.Queue(), "bob": asyncio.Queue()}
        for name, c in (("alice", alice), ("bob", bob)):
            c.add_event_handler("presence_available",
                                lambda p, q=got[name]: q.put_nowait(str(p["from"])))
        # slixmpp answers subscription requests itself (auto_authorize) and subscribes back
        # (auto_subscribe).
        alice.roster.auto_authorize = bob.roster.auto_authorize = True
        alice.roster.auto_subscribe = bob.roster.auto_subscribe = True
        await alice.get_roster()
        await bob.get_roster()
        alice.send_presence()
        bob.send_presence()
        alice.send_presence_subscription(pto="bob@b.test")

        async def presence_from(q, who):
            while True:
                frm = await q.get()
                if frm.startswith(who):
                    return frm
        assert await asyncio.wait_for(presence_from(got["alice"], "bob@b.test"), 20) == \
            "bob@b.test/work"
        assert await asyncio.wait_for(presence_from(got["bob"], "alice@a.test"), 20) == \
            "alice@a.test/home"
        # Both rosters hold the other with subscription 'both'.
        for c, other in ((alice, "bob@b.test"), (bob, "alice@a.test")):
            for _ in range(100):
                if c.client_roster[other]["subscription"] == "both":
                    break
                await asyncio.sleep(0.1)
            assert c.client_roster[other]["subscription"] == "both"

        alice.say("bob@b.test", "hello from a")
        m = await bob.next_message(pred=lambda m: m["body"] == "hello from a")
        assert str(m["from"]) == "alice@a.test/home" and m["type"] == "chat"
        bob.say("alice@a.test/home", "hello from b")
        m = await alice.next_message(pred=lambda m: m["body"] == "hello from b")
        assert str(m["from"]) == "bob@b.test/work"

        # iq across servers: ping and version of the remote server, and of the remote user.
        v = await alice["xep_0092"].get_version("b.test", timeout=10)
        assert v["software_version"]["name"] == "Starling"
        await alice["xep_0199"].ping("b.test", timeout=10)
        await bob["xep_0199"].ping("alice@a.test/home", timeout=10)
        info = await bob["xep_0030"].get_info("a.test", timeout=10)
        assert "urn:xmpp:ping" in info["disco_info"]["features"]
        # vCard (XEP-0054) of a remote account.
        vcard = alice["xep_0054"].make_vcard()
        vcard["FN"] = "Alice of A"
        await alice["xep_0054"].publish_vcard(vcard, timeout=10)
        card = await bob["xep_0054"].get_vcard("alice@a.test", cached=False, timeout=10)
        assert card["vcard_temp"]["FN"] == "Alice of A"

        # RFC 6121 §4.3: a new session's initial presence makes a.test probe b.test, whose
        # answer brings bob's current presence; b.test sees alice come back.
        await alice.close()
        alice = await login("alice@a.test/again", sa.port, plugins=plugins)
        back = asyncio.Queue()
        alice.add_event_handler("presence_available", lambda p: back.put_nowait(str(p["from"])))
        alice.send_presence()
        while await asyncio.wait_for(back.get(), 20) != "bob@b.test/work":
            pass
        assert await asyncio.wait_for(presence_from(got["bob"], "alice@a.test/again"),
                                      20) == "alice@a.test/again"
    finally:
        await close_all(alice, bob)


def test_federation_with_certificates(server_factory):
    """Valid certificates from the test CA both ways: SASL EXTERNAL (XEP-0178)."""
    p = Pair(server_factory, "certs", a_extra="ping_interval = 1\nping_timeout = 10\n")
    run(subscribe_and_chat(p[A], p[B]), 90)
    # XEP-0199 pings of the link a.test -> b.test, answered over b.test's link back.
    wait_log(p[A], r"s2s-out a\.test->b\.test: ping answered")
    for s, other in ((p[A], B), (p[B], A)):
        wait_log(s, r"s2s-out %s->%s: authenticated \(SASL EXTERNAL\)" % (s.domains[0], other))
        wait_log(s, r"s2s-in .*: %s authenticated \(SASL EXTERNAL, certificate\)" % other)
        assert "authenticated (dialback)" not in s.log()


def test_federation_with_dialback(server_factory):
    """Self-signed certificates and require_valid_certificates = false: Server Dialback
    (XEP-0220), each side verifying the other's key with its authoritative server."""
    p = Pair(server_factory, "dialback")
    run(subscribe_and_chat(p[A], p[B]), 90)
    for s, other in ((p[A], B), (p[B], A)):
        wait_log(s, r"s2s-out %s->%s: authenticated \(dialback\)" % (s.domains[0], other))
        wait_log(s, r"s2s-in .*: %s authenticated \(dialback\)" % other)
        assert "SASL EXTERNAL)" not in s.log()
    # b.test shuts down: its streams end with <system-shutdown/>, which a.test takes as the end
    # of both directions (its own link and b.test's incoming stream).
    assert p[B].stop() == 0
    wait_log(p[A], r"s2s-in .*: stream error from peer: system-shutdown")
    wait_log(p[A], r"s2s-out a\.test->b\.test: stream error from peer: system-shutdown")
    assert "unsupported element" not in p[A].log()


def test_federation_over_direct_tls(server_factory):
    """XEP-0368: links made with TLS from the first byte (ALPN xmpp-server) to the peers'
    direct TLS ports, here found through [s2s.hosts] entries with direct_tls = true."""
    p = Pair(server_factory, "certs", direct_tls=True, a_extra="idle_timeout = 10\n")
    run(subscribe_and_chat(p[A], p[B]), 90)
    for s, other in ((p[A], B), (p[B], A)):
        wait_log(s, r"s2s-out %s->%s: connected to [0-9.]+:%d \(direct TLS\)"
                 % (s.domains[0], other, p[other].s2s_tls_port))
        wait_log(s, r"s2s-out %s->%s: authenticated \(SASL EXTERNAL\)" % (s.domains[0], other))
    # a.test's link closes after idle_timeout; the next stanza opens a new one.
    wait_log(p[A], r"s2s-out a\.test->b\.test: idle, closing", timeout=30)

    async def again():
        alice = await login("alice@a.test/later", p[A].port)
        bob = await login("bob@b.test/later", p[B].port)
        try:
            await bob.presence()
            alice.say("bob@b.test/later", "after the idle close")
            m = await bob.next_message(pred=lambda m: m["body"] == "after the idle close",
                                       timeout=20)
            assert str(m["from"]) == "alice@a.test/later"
        finally:
            await close_all(alice, bob)
    run(again(), 60)
    assert len(re.findall(r"s2s-out a\.test->b\.test: authenticated", p[A].log())) == 2


def test_untrusted_peer_refused_when_certificates_required(server_factory):
    """b.test presents a certificate no one trusts; a.test requires valid certificates, so
    a.test's message bounces with remote-server-not-found and b.test cannot dial back in."""
    d = tempfile.mkdtemp(prefix="starling-s2s-")
    ca = federation.CA(os.path.join(d, "ca"))
    pa = federation.free_port("127.0.0.1")
    pb = federation.free_port("127.0.0.2")
    cert_a, key_a = ca.issue(A)
    cert_b, key_b = federation.self_signed(os.path.join(d, "b"), B)
    sa = server_factory(domains=(A,), extra='[tls]\ncertificate = "%s"\nkey = "%s"\n'
                        % (cert_a, key_a), s2s_address="127.0.0.1", s2s_port=pa,
                        s2s_extra='ca_file = "%s"\n[s2s.hosts]\n"%s" = "127.0.0.2:%d"\n'
                        % (ca.path, B, pb))
    sb = server_factory(domains=(B,), extra='[tls]\ncertificate = "%s"\nkey = "%s"\n'
                        % (cert_b, key_b), s2s_address="127.0.0.2", s2s_port=pb,
                        s2s_extra='ca_file = "%s"\nrequire_valid_certificates = false\n'
                        '[s2s.hosts]\n"%s" = "127.0.0.1:%d"\n' % (ca.path, A, pa))
    sa.adduser("alice@a.test", "secret")
    sb.adduser("bob@b.test", "secret")
    sa.start()
    sb.start()

    async def body():
        alice = await login("alice@a.test/x", sa.port)
        bob = await login("bob@b.test/x", sb.port)
        try:
            alice.say("bob@b.test", "not delivered")
            err = await alice.next_message(pred=lambda m: m["type"] == "error")
            assert error_condition(err) == "remote-server-not-found"
            assert err["body"] == "not delivered"  # RFC 6120 §8.3.1: the original payload
            # b.test's dialback towards a.test is refused (a valid certificate is required).
            bob.say("alice@a.test", "not accepted")
            err = await bob.next_message(pred=lambda m: m["type"] == "error", timeout=20)
            assert error_condition(err) in ("remote-server-timeout", "remote-server-not-found")
            await alice.no_message(1)
        finally:
            await close_all(alice, bob)
    run(body(), 60)
    wait_log(sa, r"dialback for b\.test refused: a valid certificate is required")


def test_unreachable_domains_bounce(server_factory):
    """A domain whose server refuses connections: remote-server-not-found; one that accepts
    TCP and never answers: remote-server-timeout after connect_timeout (RFC 6120 §8.3.3)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    refused_port = federation.free_port("127.0.0.1")
    s = server_factory(domains=(A,), s2s_extra=(
        'connect_timeout = 2\n[s2s.hosts]\n"refused.test" = "127.0.0.1:%d"\n'
        '"silent.test" = "127.0.0.1:%d"\n' % (refused_port, silent.getsockname()[1])))
    s.adduser("alice@a.test", "secret")
    s.start()

    async def body():
        alice = await login("alice@a.test/x", s.port)
        try:
            alice.say("someone@refused.test", "one")
            err = await alice.next_message(pred=lambda m: m["type"] == "error")
            assert error_condition(err) == "remote-server-not-found"
            assert str(err["from"]) == "someone@refused.test"
            alice.say("someone@silent.test", "two")
            alice.say("someone@silent.test", "three")
            errs = [await alice.next_message(pred=lambda m: m["type"] == "error", timeout=15)
                    for _ in range(2)]
            assert [error_condition(e) for e in errs] == ["remote-server-timeout"] * 2
            assert [e["body"] for e in errs] == ["two", "three"]  # queued in order
            # While the link backs off, the next stanza fails at once with the same error.
            alice.say("someone@refused.test", "four")
            err = await alice.next_message(pred=lambda m: m["type"] == "error", timeout=5)
            assert error_condition(err) == "remote-server-not-found"
            # An iq gets its error too.
            with pytest.raises(Exception) as e:
                await alice["xep_0199"].ping("refused.test", timeout=10)
            assert "remote-server-not-found" in str(e.value) or \
                error_condition(e.value) == "remote-server-not-found"
        finally:
            await close_all(alice)
    try:
        run(body(), 60)
        # The links in back-off end at once at SIGTERM (no wait for streams that never close).
        assert s.stop() == 0
        assert "still open after" not in s.log(), s.log()[-3000:]
    finally:
        silent.close()


def test_unknown_domain_and_queue_limit(server_factory):
    """DNS says the domain does not exist (NXDOMAIN from the fake DNS server, no SRV and no
    A/AAAA): remote-server-not-found. A link that is still connecting holds at most
    s2s.max_queued_stanzas; beyond, resource-constraint at once."""
    dns = federation.FakeDNS().start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        s = server_factory(domains=(A,), s2s_extra=(
            'dns_server = "%s"\nconnect_timeout = 3\nmax_queued_stanzas = 1\n'
            '[s2s.hosts]\n"silent.test" = "127.0.0.1:%d"\n'
            % (dns.addr_port, silent.getsockname()[1])))
        s.adduser("alice@a.test", "secret")
        s.start()

        async def body():
            alice = await login("alice@a.test/x", s.port)
            try:
                alice.say("someone@nowhere.test", "lost")
                err = await alice.next_message(pred=lambda m: m["type"] == "error")
                assert error_condition(err) == "remote-server-not-found"
                alice.say("someone@silent.test", "first")
                alice.say("someone@silent.test", "second")
                err = await alice.next_message(pred=lambda m: m["type"] == "error", timeout=2)
                assert (error_condition(err), err["body"]) == ("resource-constraint", "second")
                err = await alice.next_message(pred=lambda m: m["type"] == "error", timeout=10)
                assert (error_condition(err), err["body"]) == ("remote-server-timeout", "first")
            finally:
                await close_all(alice)
        run(body(), 40)
        assert ("_xmpp-server._tcp.nowhere.test", "SRV") in dns.queries
    finally:
        silent.close()
        dns.stop()


def test_policy_deny_domains(server_factory):
    s = server_factory(domains=(A,), s2s_extra='deny_domains = ["evil.test"]\n')
    s.adduser("alice@a.test", "secret")
    s.start()

    async def body():
        alice = await login("alice@a.test/x", s.port)
        try:
            alice.say("mallory@evil.test", "no")
            err = await alice.next_message(pred=lambda m: m["type"] == "error")
            assert error_condition(err) == "not-allowed"
        finally:
            await close_all(alice)
    run(body(), 30)


# ---- a raw peer server ---------------------------------------------------------------------

class RawPeer:
    """A hand-driven peer server: TCP to Starling's s2s port, STARTTLS with a client
    certificate, SASL EXTERNAL."""

    def __init__(self, port, cert=None, key=None, ca=None, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.cert, self.key, self.ca = cert, key, ca
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def recv_until(self, pattern, timeout=10):
        deadline = time.time() + timeout
        while not re.search(pattern, self.buf.decode(errors="replace"), re.S):
            if time.time() > deadline:
                raise AssertionError("no %r in %r" % (pattern, self.buf[-2000:]))
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("closed before %r; got %r" % (pattern, self.buf[-2000:]))
            self.buf += chunk
        return self.buf.decode(errors="replace")

    def header(self, frm, to):
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns:db='jabber:server:dialback' from='%s' to='%s' version='1.0'>"
                  % (frm, to))

    def starttls(self, frm, to):
        self.header(frm, to)
        self.recv_until(r"</stream:features>")
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.recv_until(r"<proceed")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=to)
        self.buf = b""
        self.header(frm, to)
        return self.recv_until(r"</stream:features>")

    def external(self, frm, to, authzid=None):
        feats = self.starttls(frm, to)
        assert "<mechanism>EXTERNAL</mechanism>" in feats, feats
        self.buf = b""
        payload = "=" if authzid is None else base64.b64encode(authzid.encode()).decode()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>%s</auth>"
                  % payload)
        out = self.recv_until(r"<success|<failure.*</failure>")
        if "<success" not in out:
            return out
        self.buf = b""
        self.header(frm, to)
        return self.recv_until(r"</stream:features>|<stream:features/>")

    def closed_with(self, condition, timeout=10):
        out = self.recv_until(r"</stream:stream>", timeout)
        assert "<%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" % condition in out, out
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def peer_setup(server_factory):
    d = tempfile.mkdtemp(prefix="starling-s2s-")
    ca = federation.CA(os.path.join(d, "ca"))
    cert_a, key_a = ca.issue(A)
    s = server_factory(domains=(A,), extra='[tls]\ncertificate = "%s"\nkey = "%s"\n'
                       % (cert_a, key_a), s2s_extra='ca_file = "%s"\n' % ca.path)
    s.adduser("alice@a.test", "secret")
    s.start()
    return s, ca, d


def test_invalid_from_cuts_the_stream(peer_setup):
    """A peer authenticated as b.test that sends a stanza from another domain is cut off with
    <invalid-from/> (RFC 6120 §4.9.3.9); its stanzas from b.test are delivered before that."""
    s, ca, d = peer_setup
    cert_b, key_b = ca.issue(B, directory=os.path.join(d, "b"))

    async def body():
        alice = await login("alice@a.test/x", s.port)
        await alice.presence()
        try:
            peer = RawPeer(s.s2s_port, cert_b, key_b)
            feats = peer.external(B, A)
            assert "<stream:features" in feats
            peer.send("<message from='bob@b.test/r' to='alice@a.test' type='chat'>"
                      "<body>genuine</body></message>")
            m = await alice.next_message(pred=lambda m: m["body"] == "genuine")
            assert str(m["from"]) == "bob@b.test/r"
            peer.send("<message from='eve@c.test/r' to='alice@a.test' type='chat'>"
                      "<body>spoofed</body></message>")
            await asyncio.get_running_loop().run_in_executor(
                None, peer.closed_with, "invalid-from")
            await alice.no_message(1)
            peer.close()
        finally:
            await close_all(alice)
    run(body(), 40)


def test_stream_level_errors(peer_setup):
    s, ca, d = peer_setup
    cert_b, key_b = ca.issue(B, directory=os.path.join(d, "b"))
    # A stream to a domain this server does not serve: <host-unknown/> (§4.9.3.6).
    p = RawPeer(s.s2s_port)
    p.header(B, "nowhere.test")
    p.closed_with("host-unknown")
    p.close()
    # Stanzas before TLS: STARTTLS is mandatory (§5.3.1): <policy-violation/>.
    p = RawPeer(s.s2s_port)
    p.header(B, A)
    p.recv_until("</stream:features>")
    assert "<required/>" in p.buf.decode()
    p.send("<message from='bob@b.test' to='alice@a.test'><body>x</body></message>")
    p.closed_with("policy-violation")
    p.close()
    # Stanzas after TLS but before authentication: <not-authorized/>.
    p = RawPeer(s.s2s_port, cert_b, key_b)
    p.starttls(B, A)
    p.buf = b""
    p.send("<message from='bob@b.test' to='alice@a.test'><body>x</body></message>")
    p.closed_with("not-authorized")
    p.close()
    # SASL EXTERNAL for a domain the certificate does not name fails (XEP-0178).
    p = RawPeer(s.s2s_port, cert_b, key_b)
    out = p.external(B, A, authzid="c.test")
    assert "<invalid-authzid/>" in out, out
    p.close()
    # A certificate from an untrusted CA gets no EXTERNAL offer; dialback is refused because a
    # valid certificate is required by default.
    bad_cert, bad_key = federation.self_signed(os.path.join(d, "bad"), B)
    p = RawPeer(s.s2s_port, bad_cert, bad_key)
    feats = p.starttls(B, A)
    assert "EXTERNAL" not in feats and "urn:xmpp:features:dialback" in feats
    p.buf = b""
    p.send("<db:result from='b.test' to='a.test'>0123456789abcdef</db:result>")
    out = p.recv_until(r"</db:result>")
    assert "type='error'" in out and "<not-authorized" in out, out
    p.close()
    # Dialback claiming to be one of the server's own domains: not-acceptable.
    p = RawPeer(s.s2s_port, cert_b, key_b)
    p.starttls(B, A)
    p.buf = b""
    p.send("<db:result from='a.test' to='a.test'>0123456789abcdef</db:result>")
    out = p.recv_until(r"</db:result>")
    assert "type='error'" in out and "<not-acceptable" in out, out
    p.close()
    # A stanza to a domain the stream did not authenticate for: <host-unknown/>.
    p = RawPeer(s.s2s_port, cert_b, key_b)
    p.external(B, A)
    p.send("<message from='bob@b.test' to='carol@elsewhere.test'><body>x</body></message>")
    p.closed_with("host-unknown")
    p.close()
    # Stanzas larger than s2s.max_stanza_size (512 KiB): <policy-violation/>.
    p = RawPeer(s.s2s_port, cert_b, key_b)
    p.external(B, A)
    p.send("<message from='bob@b.test' to='alice@a.test'><body>" + "x" * 600000 +
           "</body></message>")
    p.closed_with("policy-violation")
    p.close()
    # The server is still fine.
    assert s.proc.poll() is None


def test_dialback_verify_answers_as_authoritative_server(peer_setup):
    """XEP-0220 §2.1.3: a receiving server asks us (authoritative for a.test) whether a key is
    valid. Starling's own key for a stream it opened is valid; a forged one is invalid."""
    s, ca, d = peer_setup
    cert_b, key_b = ca.issue(B, directory=os.path.join(d, "b"))
    p = RawPeer(s.s2s_port, cert_b, key_b)
    p.starttls(B, A)
    p.buf = b""
    p.send("<db:verify from='b.test' to='a.test' id='stream-1'>"
           "0000000000000000000000000000000000000000000000000000000000000000</db:verify>")
    out = p.recv_until(r"<db:verify[^>]*/>")
    assert "type='invalid'" in out and "id='stream-1'" in out, out
    p.close()


def test_multiple_local_domains(server_factory):
    """Two served domains talk to each other inside one Starling, without s2s."""
    s = server_factory(domains=(A, "c.test"))
    s.adduser("alice@a.test", "secret")
    s.adduser("carol@c.test", "secret")
    s.start()

    async def body():
        alice = await login("alice@a.test/x", s.port)
        carol = await login("carol@c.test/y", s.port)
        try:
            alice.roster.auto_authorize = carol.roster.auto_authorize = True
            alice.roster.auto_subscribe = carol.roster.auto_subscribe = True
            await alice.get_roster()
            await carol.get_roster()
            seen = asyncio.Queue()
            carol.add_event_handler("presence_available",
                                    lambda pr: seen.put_nowait(str(pr["from"])))
            alice.send_presence()
            carol.send_presence()
            alice.send_presence_subscription(pto="carol@c.test")
            while await asyncio.wait_for(seen.get(), 10) != "alice@a.test/x":
                pass
            alice.say("carol@c.test", "local hop")
            m = await carol.next_message(pred=lambda m: m["body"] == "local hop")
            assert str(m["from"]) == "alice@a.test/x"
        finally:
            await close_all(alice, carol)
    run(body(), 40)
    assert "s2s-out" not in s.log()
