"""XEP-0138 stream compression (zlib), end to end.

slixmpp's xep_0138 plugin predates its asyncio transport (it swaps a blocking socket object that
slixmpp no longer uses) and aioxmpp has no stream compression, so the client side here is a raw
socket with Python's zlib module: it negotiates as XEP-0138 §2 shows, then compresses what it
sends and decompresses what it reads. A slixmpp user on the other end proves that stanzas flow
through the compressed stream to ordinary clients and back."""
import asyncio
import zlib
import xml.etree.ElementTree as ET

from clients import login, close_all, run
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_COMPRESS = "http://jabber.org/protocol/compress"
NS_FEATURE = "http://jabber.org/features/compress"
NS_CLIENT = "jabber:client"
COMPRESSED_LISTENER = '[{ address = "127.0.0.1:0", compression = true }]'


class ZlibSock:
    """Wraps a (TLS) socket: sends compressed with a sync flush per send (XEP-0138 §6), reads
    decompressed. Keeps what crossed the wire for checks."""

    def __init__(self, sock):
        self.sock = sock
        self.out = zlib.compressobj()
        self.inp = zlib.decompressobj()
        self.wire_in = b""   # compressed, as received
        self.plain_in = b""  # the same, decompressed

    def settimeout(self, t):
        self.sock.settimeout(t)

    def sendall(self, data):
        self.send_raw(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, n):
        # An empty result means the peer closed: loop until decompressed bytes appear.
        while True:
            chunk = self.sock.recv(n)
            if not chunk:
                return b""
            self.wire_in += chunk
            data = self.inp.decompress(chunk)
            if data:
                self.plain_in += data
                return data

    def close(self):
        self.sock.close()


def compressed_server(server_factory):
    s = server_factory(listen=COMPRESSED_LISTENER)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def authenticated(port, user="alice"):
    """STARTTLS, PLAIN and the restart; returns (conn, features after SASL)."""
    c = Raw(port)
    f = x.starttls(c)
    assert f.find(q(NS_FEATURE, "compression")) is None  # §2 / XEP-0170: not before SASL
    assert x.plain(c, user, "secret").tag == q(x.NS_SASL, "success")
    return c, x.restart(c)


def methods(f):
    comp = f.find(q(NS_FEATURE, "compression"))
    return None if comp is None else [m.text for m in comp.findall(q(NS_FEATURE, "method"))]


def request(c, method="zlib"):
    c.send("<compress xmlns='%s'><method>%s</method></compress>" % (NS_COMPRESS, method))
    names = {q(NS_COMPRESS, "compressed"), q(NS_COMPRESS, "failure")}
    return x.wait_element(c, lambda e: e.tag in names, what="compress reply")


def failure(el):
    assert el.tag == q(NS_COMPRESS, "failure"), ET.tostring(el)
    return [ch.tag.split("}", 1)[1] for ch in el]


def compress(c):
    """Negotiates zlib and restarts the stream compressed; returns the new features."""
    reply = request(c)
    assert reply.tag == q(NS_COMPRESS, "compressed"), ET.tostring(reply)
    c.sock = ZlibSock(c.sock)
    return x.open_stream(c)


def test_negotiated_after_sasl_and_stanzas_flow_compressed(server_factory):
    s = compressed_server(server_factory)
    c, f = authenticated(s.port)
    try:
        # Offered after SASL, before binding (XEP-0170), with the zlib method (§4: mandatory to implement).
        assert methods(f) == ["zlib"]
        assert f.find(q(x.NS_BIND, "bind")) is not None
        f2 = compress(c)
        assert f2.find(q(NS_FEATURE, "compression")) is None  # not offered twice
        assert f2.find(q(x.NS_BIND, "bind")) is not None
        jid = x.bound_jid(x.bind(c, "zip"))

        async def body():
            bob = await login("bob@localhost/b", s.port)
            try:
                await bob.presence()
                c.send("<presence/>")
                c.send("<message to='bob@localhost/b' type='chat' id='m1'>"
                       "<body>squeezed hello</body></message>")
                m = await bob.next_message(pred=lambda m: m["body"] == "squeezed hello")
                assert str(m["from"]) == jid
                bob.say(jid, "plain reply " * 20)
                loop = asyncio.get_running_loop()
                reply = await loop.run_in_executor(None, lambda: x.wait_element(
                    c, lambda e: e.tag == q(NS_CLIENT, "message")))
                assert reply.findtext(q(NS_CLIENT, "body")) == "plain reply " * 20
            finally:
                await close_all(bob)
        run(body())
        # What came over the wire was compressed: the plain text never appears in it, and it
        # took less room than the XML it carried.
        assert b"plain reply " * 20 in c.sock.plain_in
        assert b"plain reply" not in c.sock.wire_in
        assert b"<message" not in c.sock.wire_in
        assert len(c.sock.wire_in) < len(c.sock.plain_in)
        # The stream closes properly, compressed to the end.
        c.send("</stream:stream>")
        x.wait_closed_stream(c)
    finally:
        c.close()


def test_negotiation_failures(server_factory):
    s = compressed_server(server_factory)
    # Before authentication (after TLS): out of XEP-0170's order, <setup-failed/>; the stream
    # goes on (§2: a failed negotiation is not a stream error).
    c = Raw(s.port)
    try:
        x.starttls(c)
        assert failure(request(c)) == ["setup-failed"]
        assert x.plain(c, "alice", "secret").tag == q(x.NS_SASL, "success")
        f = x.restart(c)
        # A method we do not offer: <unsupported-method/>; then zlib still works.
        assert failure(request(c, "lzw")) == ["unsupported-method"]
        c.send("<compress xmlns='%s'/>" % NS_COMPRESS)  # no method at all
        assert failure(x.wait_tag(c, q(NS_COMPRESS, "failure"))) == ["unsupported-method"]
        compress(c)
        # Asked again on the compressed stream: <setup-failed/>.
        assert failure(request(c)) == ["setup-failed"]
        x.bind(c)
        # After binding: <setup-failed/>, and the session is fine.
        assert failure(request(c)) == ["setup-failed"]
        c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert x.wait_id(c, "p1").get("type") == "result"
    finally:
        c.close()


def test_not_offered_and_refused_when_not_enabled(server):
    # The default: no compression on any listener (CRIME-style attacks, XEP-0138 §7).
    c, f = authenticated(server.port)
    try:
        assert methods(f) is None
        assert failure(request(c)) == ["setup-failed"]
        # Nothing changed: the stream is still uncompressed and usable.
        x.bind(c)
        c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert x.wait_id(c, "p1").get("type") == "result"
    finally:
        c.close()
    assert "stream compression offered" not in server.log()


def test_decompression_bomb_hits_the_stanza_size_limit(server_factory):
    s = compressed_server(server_factory)
    c, _ = authenticated(s.port)
    try:
        compress(c)
        x.bind(c)
        # 64 MiB of body text compress to ~64 KiB; the server must cut it off at the stanza
        # size limit (256 KiB) with <policy-violation/>, not inflate it all.
        bomb = ("<message to='bob@localhost'><body>" + "A" * (64 * 1024 * 1024)).encode()
        zs = c.sock.out
        c.sock.send_raw(zs.compress(bomb) + zs.flush(zlib.Z_SYNC_FLUSH))
        p = x.expect_stream_error(c, "policy-violation", timeout=20)
        err = [e for e in p.elements if e.tag == q(x.NS_STREAM, "error")][0]
        assert err.findtext(q(x.NS_STREAMS, "text")) == "Stanza larger than the server's limit"
        # Only a little of it was inflated before the cut: the bomb's tail was never read as XML.
        assert len(c.sock.wire_in) < 64 * 1024
    finally:
        c.close()


def test_corrupt_compressed_data_is_a_processing_failure(server_factory):
    s = compressed_server(server_factory)
    c, _ = authenticated(s.port)
    try:
        compress(c)
        x.bind(c)
        c.sock.send_raw(b"\x00\xffthis is not a deflate stream\xff" * 8)
        # §2: <undefined-condition/> with the application condition <processing-failed/>.
        p = x.expect_stream_error(c, "undefined-condition")
        err = [e for e in p.elements if e.tag == q(x.NS_STREAM, "error")][0]
        app = err.find(q(NS_COMPRESS, "failure"))
        assert app is not None, ET.tostring(err)
        assert [ch.tag for ch in app] == [q(NS_COMPRESS, "processing-failed")]
    finally:
        c.close()


def test_compression_is_per_listener(server_factory):
    s = server_factory(listen=COMPRESSED_LISTENER)
    s.adduser("alice@localhost", "secret")
    s.start()
    # The direct TLS listener of this configuration does not offer it: per listener.
    c = Raw(s.tls_port)
    try:
        x.direct_tls(c)
        assert x.plain(c, "alice", "secret").tag == q(x.NS_SASL, "success")
        assert methods(x.restart(c)) is None
    finally:
        c.close()
