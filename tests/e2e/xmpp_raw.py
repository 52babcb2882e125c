"""Raw-socket XMPP helpers shared by test_streams.py and test_sasl.py.

Everything here works on a conftest.Raw connection: STARTTLS and direct TLS (stdlib ssl, or
pyOpenSSL when the test needs the TLS exporter for channel binding), a pull parser that turns
what the server sent into top-level elements, SASL PLAIN and a hand-written RFC 5802 SCRAM
client, resource binding, and checks for stream errors. Every wait is bounded.
"""
import base64
import hashlib
import hmac
import os
import select
import socket
import ssl
import time
import xml.etree.ElementTree as ET

from conftest import HEADER

NS_STREAM = "http://etherx.jabber.org/streams"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_CLIENT = "jabber:client"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_SASL_CB = "urn:xmpp:sasl-cb:0"

# RFC 6120 §4.9.3: every defined stream error condition.
STREAM_CONDITIONS = {
    "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone",
    "host-unknown", "improper-addressing", "internal-server-error", "invalid-from",
    "invalid-namespace", "invalid-xml", "not-authorized", "not-well-formed", "policy-violation",
    "remote-connection-failed", "reset", "resource-constraint", "restricted-xml", "see-other-host",
    "system-shutdown", "undefined-condition", "unsupported-encoding", "unsupported-feature",
    "unsupported-stanza-type", "unsupported-version",
}

DEFAULT_TIMEOUT = 5.0


def q(ns, name):
    """Clark notation: {ns}name."""
    return "{%s}%s" % (ns, name)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def header(to="localhost", xmlns=NS_CLIENT, stream_ns=NS_STREAM, version="1.0", decl=True,
           from_=None, extra=""):
    """An initial stream header; pass None to leave an attribute out."""
    attrs = []
    if from_ is not None:
        attrs.append("from='%s'" % from_)
    if to is not None:
        attrs.append("to='%s'" % to)
    if xmlns is not None:
        attrs.append("xmlns='%s'" % xmlns)
    attrs.append("xmlns:stream='%s'" % stream_ns)
    if version is not None:
        attrs.append("version='%s'" % version)
    if extra:
        attrs.append(extra)
    return ("<?xml version='1.0'?>" if decl else "") + "<stream:stream %s>" % " ".join(attrs)


def stream_header(c):
    """The attributes of the server's current stream header (since the last new_stream)."""
    p = parse(c.buf)
    assert p.header is not None, c.buf
    return dict(p.header.attrib)


# ---- parsing what the server sent ------------------------------------------------------------

class Parsed:
    def __init__(self):
        self.header = None      # the root <stream:stream/> (attributes only matter)
        self.elements = []      # complete top-level elements, in order
        self.closed = False     # </stream:stream> seen
        self.error = None       # an XML error in the server's output


def parse(buf):
    """Parses the server's output of one stream (from its header on)."""
    out = Parsed()
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    try:
        parser.feed(buf)
    except ET.ParseError as e:
        out.error = e
    try:
        for ev, el in parser.read_events():
            if ev == "start":
                depth += 1
                if depth == 1:
                    out.header = el
            else:
                depth -= 1
                if depth == 1:
                    out.elements.append(el)
                elif depth == 0:
                    out.closed = True
    except ET.ParseError as e:
        out.error = e
    return out


def read_more(c, deadline):
    """One read into c.buf. Returns False when the server closed the connection."""
    remaining = deadline - time.time()
    if remaining <= 0:
        raise AssertionError("timed out; got %r" % c.buf.decode(errors="replace"))
    c.sock.settimeout(remaining)
    try:
        chunk = c.sock.recv(65536)
    except socket.timeout:
        return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        chunk = b""
    if not chunk:
        return False
    c.buf += chunk
    return True


def new_stream(c):
    """Forget what was read on the previous stream (after STARTTLS or SASL success)."""
    c.buf = b""
    c.taken = set()


def wait_element(c, pred=lambda e: True, timeout=DEFAULT_TIMEOUT, what="element"):
    """The first top-level element not returned before that satisfies `pred`."""
    taken = getattr(c, "taken", None)
    if taken is None:
        taken = c.taken = set()
    deadline = time.time() + timeout
    while True:
        p = parse(c.buf)
        for i, el in enumerate(p.elements):
            if i not in taken and pred(el):
                taken.add(i)
                return el
        if p.closed or p.error is not None:
            raise AssertionError("stream ended (%s) without %s: %r"
                                 % (p.error, what, c.buf.decode(errors="replace")))
        if not read_more(c, deadline):
            p = parse(c.buf)
            for i, el in enumerate(p.elements):
                if i not in taken and pred(el):
                    taken.add(i)
                    return el
            raise AssertionError("connection closed without %s: %r"
                                 % (what, c.buf.decode(errors="replace")))


def wait_tag(c, tag, timeout=DEFAULT_TIMEOUT):
    return wait_element(c, lambda e: e.tag == tag, timeout, what=tag)


def wait_id(c, stanza_id, timeout=DEFAULT_TIMEOUT):
    return wait_element(c, lambda e: e.get("id") == stanza_id, timeout, what="id=%r" % stanza_id)


def no_element(c, pred, timeout=0.3):
    """Asserts that nothing matching `pred` arrives within `timeout` (a short, bounded wait)."""
    try:
        el = wait_element(c, pred, timeout)
    except AssertionError:
        return
    raise AssertionError("unexpected element: %s" % ET.tostring(el).decode())


def features(c, timeout=DEFAULT_TIMEOUT):
    return wait_tag(c, q(NS_STREAM, "features"), timeout)


def stanza_error(el):
    """(type, condition) of a stanza's <error/>, or None."""
    err = el.find(q(NS_CLIENT, "error"))
    if err is None:
        return None
    conds = [ch.tag.split("}", 1)[1] for ch in err
             if ch.tag.startswith("{%s}" % NS_STANZAS) and not ch.tag.endswith("}text")]
    assert len(conds) == 1, "an error carries exactly one condition: %s" % ET.tostring(el)
    return err.get("type"), conds[0]


def wait_closed_stream(c, timeout=DEFAULT_TIMEOUT):
    """Reads until the server's </stream:stream>; returns the Parsed stream."""
    deadline = time.time() + timeout
    while True:
        p = parse(c.buf)
        if p.closed:
            return p
        if p.error is not None:
            raise AssertionError("server sent bad XML (%s): %r" % (p.error, c.buf))
        if not read_more(c, deadline):
            p = parse(c.buf)
            if p.closed:
                return p
            raise AssertionError("connection closed before </stream:stream>: %r"
                                 % c.buf.decode(errors="replace"))


def expect_stream_error(c, condition, timeout=DEFAULT_TIMEOUT, close_timeout=5,
                        reply_close=False):
    """RFC 6120 §4.9: <stream:error> with exactly `condition`, then </stream:stream>, then the
    server closes the TCP connection. Returns the Parsed stream. With reply_close the client
    answers with its own closing tag (RFC 6120 §4.4) so the server need not wait for it."""
    p = wait_closed_stream(c, timeout)
    if reply_close:
        try:
            c.send("</stream:stream>")
        except OSError:
            pass
    assert p.header is not None and p.header.tag == q(NS_STREAM, "stream"), c.buf
    errors = [e for e in p.elements if e.tag == q(NS_STREAM, "error")]
    assert len(errors) == 1, "expected one stream error: %r" % c.buf
    err = errors[0]
    # It is the last element before </stream:stream> (§4.9.1.1).
    assert p.elements[-1] is err, c.buf
    conds = [ch.tag.split("}", 1)[1] for ch in err
             if ch.tag.startswith("{%s}" % NS_STREAMS) and not ch.tag.endswith("}text")]
    assert conds == [condition], "expected <%s/>, got %s: %r" % (condition, conds, c.buf)
    assert conds[0] in STREAM_CONDITIONS
    for ch in err:
        if ch.tag == q(NS_STREAMS, "text"):
            assert len(ch) == 0
    assert c.closed_by_server(timeout=close_timeout), "server did not close the TCP connection"
    return p


def expect_plain_close(c, timeout=DEFAULT_TIMEOUT):
    """The server closes its stream without an error and then the TCP connection."""
    p = wait_closed_stream(c, timeout)
    assert not [e for e in p.elements if e.tag == q(NS_STREAM, "error")], c.buf
    assert c.closed_by_server(timeout=5), "server did not close the TCP connection"
    return p


# ---- TLS ---------------------------------------------------------------------------------------

def client_context(alpn=None, min_version=None, max_version=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def wrap_stdlib(c, ctx, server_hostname="localhost"):
    c.sock.settimeout(c.timeout)
    c.sock = ctx.wrap_socket(c.sock, server_hostname=server_hostname)
    new_stream(c)


class OpenSSLSock:
    """Just enough of a socket over a pyOpenSSL connection for Raw: settimeout, recv, sendall,
    close, plus the TLS exporter. The TCP socket stays non-blocking and every wait uses select
    with a deadline."""

    def __init__(self, tcp, ctx, server_hostname="localhost", timeout=10):
        from OpenSSL import SSL
        self.SSL = SSL
        self.tcp = tcp
        self.tcp.setblocking(False)
        self.timeout = timeout
        self.conn = SSL.Connection(ctx, tcp)
        if server_hostname:
            self.conn.set_tlsext_host_name(server_hostname.encode())
        self.conn.set_connect_state()
        self._retry(self.conn.do_handshake, time.time() + timeout)

    def _retry(self, fn, deadline, *args):
        SSL = self.SSL
        while True:
            try:
                return fn(*args)
            except SSL.WantReadError:
                r, w = [self.tcp], []
            except SSL.WantWriteError:
                r, w = [], [self.tcp]
            remaining = deadline - time.time()
            if remaining <= 0:
                raise socket.timeout("TLS operation timed out")
            rr, ww, _ = select.select(r, w, [], remaining)
            if not rr and not ww:
                raise socket.timeout("TLS operation timed out")

    def settimeout(self, t):
        self.timeout = t

    def recv(self, n):
        SSL = self.SSL
        try:
            return self._retry(self.conn.recv, time.time() + (self.timeout or 10), n)
        except SSL.ZeroReturnError:
            return b""
        except SSL.SysCallError:
            return b""
        except SSL.Error as e:
            raise ConnectionResetError(str(e))

    def sendall(self, data):
        deadline = time.time() + (self.timeout or 10)
        view = memoryview(data)
        while view:
            sent = self._retry(self.conn.send, deadline, bytes(view[:16384]))
            view = view[sent:]

    def export_keying_material(self, label, length):
        return self.conn.export_keying_material(label, length)

    def finished(self):
        return self.conn.get_finished()

    def peer_certificate(self):
        """The server's certificate (pyOpenSSL X509)."""
        return self.conn.get_peer_certificate()

    def version(self):
        return self.conn.get_protocol_version_name()

    def selected_alpn_protocol(self):
        p = self.conn.get_alpn_proto_negotiated()
        return p.decode() if p else None

    def close(self):
        try:
            self.tcp.close()
        except OSError:
            pass


def openssl_context(tls13=True, alpn=None):
    from OpenSSL import SSL
    ctx = SSL.Context(SSL.TLS_METHOD)
    if tls13:
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    if alpn:
        ctx.set_alpn_protos([p.encode() for p in alpn])
    return ctx


def wrap_openssl(c, ctx=None, server_hostname="localhost"):
    c.sock = OpenSSLSock(c.sock, ctx or openssl_context(), server_hostname, c.timeout)
    new_stream(c)


def open_stream(c, hdr=HEADER):
    """Sends a stream header; returns the server's <stream:features/>."""
    new_stream(c)
    c.send(hdr)
    return features(c)


def starttls(c, use_openssl=False, ctx=None):
    """From a fresh TCP connection: header, STARTTLS, TLS handshake and the new stream.
    Returns the features of the stream over TLS."""
    f = open_stream(c)
    assert f.find(q(NS_TLS, "starttls")) is not None
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    wait_tag(c, q(NS_TLS, "proceed"))
    if use_openssl:
        wrap_openssl(c, ctx)
    else:
        wrap_stdlib(c, ctx or client_context())
    return open_stream(c)


def direct_tls(c, use_openssl=False, alpn=("xmpp-client",), ctx=None):
    """From a fresh TCP connection to the direct TLS port (XEP-0368): handshake, stream.
    Returns the features."""
    if use_openssl:
        wrap_openssl(c, ctx or openssl_context(alpn=list(alpn) if alpn else None))
    else:
        wrap_stdlib(c, ctx or client_context(alpn=list(alpn) if alpn else None))
    return open_stream(c)


def mechanisms(f):
    m = f.find(q(NS_SASL, "mechanisms"))
    return [] if m is None else [x.text for x in m.findall(q(NS_SASL, "mechanism"))]


def cb_types(f):
    cb = f.find(q(NS_SASL_CB, "sasl-channel-binding"))
    if cb is None:
        return []
    return [x.get("type") for x in cb.findall(q(NS_SASL_CB, "channel-binding"))]


# ---- SASL --------------------------------------------------------------------------------------

def sasl_send(c, name, data=None, mechanism=None):
    """Sends <auth/>, <response/> or <abort/>; `data` is raw bytes (base64-encoded here), a
    str sent as is, or None for an empty element."""
    attrs = " mechanism='%s'" % mechanism if mechanism else ""
    if data is None:
        c.send("<%s xmlns='%s'%s/>" % (name, NS_SASL, attrs))
        return
    text = data if isinstance(data, str) else b64(data)
    c.send("<%s xmlns='%s'%s>%s</%s>" % (name, NS_SASL, attrs, text, name))


def sasl_reply(c, timeout=DEFAULT_TIMEOUT):
    """The next <challenge/>, <success/> or <failure/>."""
    names = {q(NS_SASL, n) for n in ("challenge", "success", "failure")}
    return wait_element(c, lambda e: e.tag in names, timeout, what="SASL reply")


def failure_condition(el):
    assert el.tag == q(NS_SASL, "failure"), ET.tostring(el)
    conds = [ch.tag.split("}", 1)[1] for ch in el
             if ch.tag.startswith("{%s}" % NS_SASL) and not ch.tag.endswith("}text")]
    assert len(conds) == 1, ET.tostring(el)
    return conds[0]


def plain(c, user, password, authzid=""):
    """SASL PLAIN (RFC 4616); returns the server's reply element."""
    sasl_send(c, "auth", ("%s\0%s\0%s" % (authzid, user, password)).encode(), mechanism="PLAIN")
    return sasl_reply(c)


def saslname(s):
    return s.replace("=", "=3D").replace(",", "=2C")


class Scram:
    """The client side of RFC 5802 SCRAM with SHA-1 or SHA-256."""

    def __init__(self, hashname, user, password, gs2_header="n,,", cb_data=b"", nonce=None,
                 cbind_header=None, nonce_suffix=""):
        self.hashname = hashname
        # For tampering tests: the GS2 header claimed in c= (default: the one sent first) and
        # extra characters appended to the combined nonce in the final message.
        self.cbind_header = gs2_header if cbind_header is None else cbind_header
        self.nonce_suffix = nonce_suffix
        self.user = user
        self.password = password.encode()
        self.gs2 = gs2_header
        self.cb_data = cb_data
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (saslname(user), self.cnonce)
        self.server_signature = None

    def _h(self, data):
        return hashlib.new(self.hashname, data).digest()

    def _hmac(self, key, data):
        return hmac.new(key, data, self.hashname).digest()

    def first(self):
        return (self.gs2 + self.bare).encode()

    def final(self, server_first):
        server_first = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        nonce, salt, it = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        assert nonce.startswith(self.cnonce) and len(nonce) > len(self.cnonce), server_first
        assert it >= 4096, "RFC 7677 §4 / RFC 5802 §5.1: at least 4096 iterations"
        salted = hashlib.pbkdf2_hmac(self.hashname, self.password, salt, it)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = self._h(client_key)
        cbind = b64(self.cbind_header.encode() + self.cb_data)
        without_proof = "c=%s,r=%s" % (cbind, nonce + self.nonce_suffix)
        auth_message = ",".join((self.bare, server_first, without_proof)).encode()
        client_sig = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
        server_key = self._hmac(salted, b"Server Key")
        self.server_signature = self._hmac(server_key, auth_message)
        return ("%s,p=%s" % (without_proof, b64(proof))).encode()

    def check_server_final(self, data):
        data = data.decode()
        assert data.startswith("v="), data
        assert base64.b64decode(data[2:]) == self.server_signature, "server signature mismatch"


def scram(c, mechanism, user, password, gs2_header="n,,", cb_data=b"", **tamper):
    """Runs SCRAM to the end; returns (final reply element, Scram). The server signature is
    verified when the reply is <success/>."""
    hashname = "sha256" if "SHA-256" in mechanism else "sha1"
    s = Scram(hashname, user, password, gs2_header, cb_data, **tamper)
    sasl_send(c, "auth", s.first(), mechanism=mechanism)
    r = sasl_reply(c)
    if r.tag != q(NS_SASL, "challenge"):
        return r, s
    sasl_send(c, "response", s.final(base64.b64decode(r.text or "")))
    r = sasl_reply(c)
    if r.tag == q(NS_SASL, "success"):
        assert r.text, "SCRAM success carries the server-final-message (RFC 6120 §6.4.6)"
        s.check_server_final(base64.b64decode(r.text))
    return r, s


def exporter(c):
    """RFC 9266 tls-exporter channel-binding data of a pyOpenSSL connection."""
    return c.sock.export_keying_material(b"EXPORTER-Channel-Binding", 32)


# RFC 5929 §4.1: the hash function of the certificate's signatureAlgorithm, except that MD5 and
# SHA-1 are replaced by SHA-256. Keyed by the OpenSSL short name of the signature algorithm.
_END_POINT_HASH = {
    "md5WithRSAEncryption": "sha256", "sha1WithRSAEncryption": "sha256",
    "ecdsa-with-SHA1": "sha256",
    "sha256WithRSAEncryption": "sha256", "ecdsa-with-SHA256": "sha256",
    "sha384WithRSAEncryption": "sha384", "ecdsa-with-SHA384": "sha384",
    "sha512WithRSAEncryption": "sha512", "ecdsa-with-SHA512": "sha512",
}


def server_end_point(c):
    """RFC 5929 §4.1 tls-server-end-point channel-binding data of a pyOpenSSL connection: the hash
    of the server certificate as sent in the TLS Certificate message (its DER encoding). Returns
    (hash name, data)."""
    from OpenSSL import crypto
    cert = c.sock.peer_certificate()
    assert cert is not None, "no server certificate"
    der = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
    hashname = _END_POINT_HASH[cert.get_signature_algorithm().decode()]
    return hashname, hashlib.new(hashname, der).digest()


# ---- after authentication -----------------------------------------------------------------------

def restart(c):
    """Stream restart after SASL success (RFC 6120 §6.4.6); returns the features."""
    return open_stream(c)


def bind(c, resource=None, iq_id="bind1"):
    """Resource binding (RFC 6120 §7); returns the reply iq."""
    inner = "<resource>%s</resource>" % resource if resource is not None else ""
    c.send("<iq type='set' id='%s'><bind xmlns='%s'>%s</bind></iq>" % (iq_id, NS_BIND, inner))
    return wait_id(c, iq_id)


def bound_jid(reply):
    assert reply.get("type") == "result", ET.tostring(reply)
    j = reply.find("%s/%s" % (q(NS_BIND, "bind"), q(NS_BIND, "jid")))
    assert j is not None, ET.tostring(reply)
    return j.text


def login(c, user="alice", password="secret", resource=None, tls="starttls"):
    """STARTTLS (or direct TLS when tls='direct'), PLAIN, restart and bind on the fresh Raw `c`.
    Returns the full JID."""
    if tls == "direct":
        direct_tls(c)
    else:
        starttls(c)
    r = plain(c, user, password)
    assert r.tag == q(NS_SASL, "success"), ET.tostring(r)
    f = restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    return bound_jid(bind(c, resource))
