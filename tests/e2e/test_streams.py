"""Streams at the wire level (RFC 6120 §4, §5, §7, §8, §11; XEP-0368) with raw sockets:
keepalives, every stream error and the input that causes it, closing, STARTTLS and direct TLS,
resource binding, 'from' stamping and the basic iq/message routing errors."""
import socket
import ssl
import time
import warnings

import pytest

from conftest import HEADER, Raw
import xmpp_raw as x
from xmpp_raw import NS_BIND, NS_CLIENT, NS_SASL, NS_STREAM, NS_TLS, q


def tls_ready(raw):
    """A connection with TLS done and the SASL features read."""
    c = raw()
    f = x.starttls(c)
    assert "PLAIN" in x.mechanisms(f)
    return c


# ---- keepalives ----------------------------------------------------------------------------------

def test_whitespace_keepalives_are_accepted(server, raw):
    """RFC 6120 §4.6.1: whitespace between top-level elements is a keepalive, not an error."""
    c = raw()
    c.send(HEADER + "  \n\t ")
    x.features(c)
    for _ in range(3):
        c.send(" \n")
        time.sleep(0.05)
    c.send("\r\n   ")
    assert not c.closed_by_server(timeout=0.3)
    x.no_element(c, lambda e: True, timeout=0.1)
    # The stream is still usable: STARTTLS goes through.
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    f = x.open_stream(c)
    assert "SCRAM-SHA-256" in x.mechanisms(f)
    # And keepalives over TLS too, then a SASL exchange.
    c.send("   \n ")
    r = x.plain(c, "alice", "secret")
    assert r.tag == q(NS_SASL, "success")


# ---- XML errors (RFC 6120 §4.9.3, §11) -----------------------------------------------------------

def after_header(raw, data):
    c = raw()
    c.send(HEADER)
    x.features(c)
    c.send(data)
    return c


def test_not_well_formed_mismatched_tags(server, raw):
    c = after_header(raw, "<a></b>")
    x.expect_stream_error(c, "not-well-formed")


def test_not_well_formed_garbage_bytes(server, raw):
    c = after_header(raw, b"\xff\xfe\xfd<garbage \x01\x02>")
    x.expect_stream_error(c, "not-well-formed")


def test_not_well_formed_nul_byte(server, raw):
    """XML 1.0 §2.2: NUL is never a character."""
    c = after_header(raw, b"<message>\x00</message>")
    x.expect_stream_error(c, "not-well-formed")


def test_not_well_formed_invalid_utf8_in_text(server, raw):
    c = after_header(raw, b"<message><body>\xc3\x28</body></message>")
    x.expect_stream_error(c, "not-well-formed")


def test_not_well_formed_illegal_character_reference(server, raw):
    """XML 1.0 §4.1 (WFC: Legal Character): &#7; is not a Char, so U+0007 cannot even be sent."""
    c = after_header(raw, "<message><body>a&#7;b</body></message>")
    x.expect_stream_error(c, "not-well-formed")


def test_restricted_xml_comment(server, raw):
    c = after_header(raw, "<!-- x -->")
    x.expect_stream_error(c, "restricted-xml")


def test_restricted_xml_comment_inside_stanza(server, raw):
    c = after_header(raw, "<message><!-- x --><body>hi</body></message>")
    x.expect_stream_error(c, "restricted-xml")


def test_restricted_xml_processing_instruction(server, raw):
    c = after_header(raw, "<?foo bar?>")
    x.expect_stream_error(c, "restricted-xml")


def test_restricted_xml_entity_reference(server, raw):
    c = after_header(raw, "<message><body>&foo;</body></message>")
    x.expect_stream_error(c, "restricted-xml")


def test_restricted_xml_entity_reference_in_attribute(server, raw):
    c = after_header(raw, "<message to='&foo;'><body>hi</body></message>")
    x.expect_stream_error(c, "restricted-xml")


def test_predefined_entities_and_char_refs_are_allowed(server, raw):
    """RFC 6120 §11.1 restricts only entities other than the five predefined ones."""
    c = raw()
    x.starttls(c)
    # A nonza with escaped content: the server must treat it as ordinary text (bad base64 here,
    # so the answer is a SASL failure, not a stream error).
    c.send("<auth xmlns='%s' mechanism='PLAIN'>&lt;&gt;&amp;&apos;&quot;&#65;</auth>" % NS_SASL)
    r = x.sasl_reply(c)
    assert x.failure_condition(r) == "incorrect-encoding"


def doctype_stream(raw, doctype):
    c = raw()
    c.send("<?xml version='1.0'?>" + doctype + x.header(decl=False))
    return c


def check_header_first(c, p, version="1.0"):
    """RFC 6120 §4.9.1.2: an error triggered by the initial header still comes after the
    receiving entity's own opening tag (§4.9.1.3: 'from' is a domain the server serves)."""
    text = c.buf.decode(errors="replace")
    assert text.lstrip().startswith("<?xml") or text.lstrip().startswith("<stream:stream"), text
    assert text.index("<stream:stream") < text.index("<stream:error"), text
    assert p.header.get("from") == "localhost", text
    if version is not None:
        assert p.header.get("version") == version, text
    assert p.header.get("id"), text


def test_restricted_xml_doctype_before_root(server, raw):
    c = doctype_stream(raw, "<!DOCTYPE stream:stream>")
    p = x.expect_stream_error(c, "restricted-xml")
    check_header_first(c, p)


def test_restricted_xml_internal_subset_entity_declaration(server, raw):
    c = doctype_stream(raw, "<!DOCTYPE stream:stream [<!ENTITY foo 'bar'>]>")
    p = x.expect_stream_error(c, "restricted-xml")
    check_header_first(c, p)


def test_restricted_xml_processing_instruction_before_root(server, raw):
    c = raw()
    c.send("<?xml version='1.0'?><?foo bar?>" + x.header(decl=False))
    x.expect_stream_error(c, "restricted-xml")


# ---- size limit ----------------------------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
def small_server(server_factory):
    s = server_factory(c2s_extra="max_stanza_size = %d" % LIMIT)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def send_in_pieces(c, data, piece=1024):
    """Sends `data` piece by piece; stops when the server has answered or closed."""
    sent = 0
    while sent < len(data):
        try:
            c.send(data[sent:sent + piece])
        except OSError:
            break
        sent += piece
        c.sock.settimeout(0.02)
        try:
            chunk = c.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            break
        if not chunk:
            break
        c.buf += chunk
        if b"</stream:stream>" in c.buf:
            break
    return sent


def test_policy_violation_for_large_stanza(small_server):
    c = Raw(small_server.port)
    try:
        x.login(c, "alice", "secret", "big")
        stanza = ("<message to='bob@localhost'><body>" + "x" * 10240 + "</body></message>").encode()
        send_in_pieces(c, stanza)
        x.expect_stream_error(c, "policy-violation")
    finally:
        c.close()


def test_policy_violation_cuts_off_endless_element(small_server):
    """An element that is never completed is cut off once it passes the limit: the server
    must not wait for its end."""
    c = Raw(small_server.port)
    try:
        c.send(HEADER)
        x.features(c)
        c.send("<message to='bob@localhost'><body>")
        # Below the limit nothing happens.
        c.send("y" * (LIMIT - 1024))
        x.no_element(c, lambda e: True, timeout=0.3)
        assert not c.closed_by_server(timeout=0.05)
        # Past it, without ever closing the element.
        for _ in range(3):
            c.send("y" * 1024)
        x.expect_stream_error(c, "policy-violation")
    finally:
        c.close()


def test_stanza_just_under_limit_is_accepted(small_server):
    c = Raw(small_server.port)
    try:
        me = x.login(c, "alice", "secret", "fits")
        stanza = "<message to='%s' id='fit'><body>%s</body></message>" % (me, "z" * 3000)
        c.send(stanza)
        m = x.wait_id(c, "fit")
        assert m.get("from") == me
        assert len(m.find(q(NS_CLIENT, "body")).text) == 3000
    finally:
        c.close()


def sized_message(to, size, stanza_id):
    head = "<message to='%s' id='%s'><body>" % (to, stanza_id)
    tail = "</body></message>"
    m = head + "a" * (size - len(head) - len(tail)) + tail
    assert len(m.encode()) == size
    return m


def test_stanza_of_exactly_the_limit_is_accepted(small_server):
    """The limit counts the bytes of the element, markup included: LIMIT bytes pass."""
    c = Raw(small_server.port)
    try:
        me = x.login(c, "alice", "secret", "exact")
        c.send(sized_message(me, LIMIT, "exact"))
        assert x.wait_id(c, "exact").get("from") == me
    finally:
        c.close()


def test_stanza_one_byte_over_the_limit_is_refused(small_server):
    c = Raw(small_server.port)
    try:
        me = x.login(c, "alice", "secret", "over")
        c.send(sized_message(me, LIMIT + 1, "over"))
        p = x.expect_stream_error(c, "policy-violation")
        assert not [e for e in p.elements if e.get("id") == "over"]
    finally:
        c.close()


def test_policy_violation_cuts_off_endless_stream_header(small_server):
    """The stream header is capped like a stanza: one that never ends is refused, and the error
    still comes after the server's own header."""
    c = Raw(small_server.port)
    try:
        c.send("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
               "xmlns:stream='%s' version='1.0' x='" % NS_STREAM)
        for _ in range(6):
            c.send("h" * 1024)
        p = x.expect_stream_error(c, "policy-violation")
        check_header_first(c, p)
    finally:
        c.close()


def test_policy_violation_cuts_off_endless_start_tag(small_server):
    c = Raw(small_server.port)
    try:
        c.send(HEADER)
        x.features(c)
        c.send("<message to='bob@localhost' x='")
        for _ in range(6):
            c.send("t" * 1024)
        x.expect_stream_error(c, "policy-violation")
    finally:
        c.close()


def test_endless_comment_is_cut_off(small_server):
    """A comment is restricted XML, but one that never ends is only seen as too much input:
    either condition is right, what matters is that the server does not buffer it forever."""
    c = Raw(small_server.port)
    try:
        c.send(HEADER)
        x.features(c)
        c.send("<!--")
        for _ in range(6):
            c.send("c" * 1024)
        p = x.wait_closed_stream(c)
        err = [e for e in p.elements if e.tag == q(NS_STREAM, "error")]
        assert err and err[0][0].tag in (q(x.NS_STREAMS, "policy-violation"),
                                         q(x.NS_STREAMS, "restricted-xml")), c.buf
        assert c.closed_by_server(timeout=5)
    finally:
        c.close()


def test_keepalives_do_not_count_towards_the_limit(small_server):
    """Whitespace keepalives over a long session add up to more than the stanza limit; they
    are not part of any element and must not trip it."""
    c = Raw(small_server.port)
    try:
        x.login(c, "alice", "secret", "ka")
        for _ in range(3 * LIMIT // 1024):
            c.send(" " * 1023 + "\n")
        c.send("<iq type='get' id='ka-ping' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert x.wait_id(c, "ka-ping").get("type") == "result"
    finally:
        c.close()


# ---- stream header errors ------------------------------------------------------------------------

def header_error(raw, hdr, condition, version="1.0"):
    c = raw()
    c.send(hdr)
    p = x.expect_stream_error(c, condition)
    check_header_first(c, p, version)
    assert not [e for e in p.elements if e.tag == q(NS_STREAM, "features")], \
        "no features on a stream that is in error"


def test_host_unknown_for_other_domain(server, raw):
    header_error(raw, x.header(to="example.org"), "host-unknown")


def test_host_unknown_without_to(server, raw):
    header_error(raw, x.header(to=None), "host-unknown")


def test_invalid_namespace_for_stream_namespace(server, raw):
    header_error(raw, x.header(stream_ns="http://wrong.namespace.example.org/"),
                 "invalid-namespace")


@pytest.mark.parametrize("default_ns", ["jabber:server", "urn:example:other"])
def test_invalid_namespace_for_content_namespace(server, raw, default_ns):
    header_error(raw, x.header(xmlns=default_ns), "invalid-namespace")


@pytest.mark.parametrize("version", ["2.0", "0.9", "abc"])
def test_unsupported_version(server, raw, version):
    """RFC 6120 §4.9.3.25 (the response header's own version is checked separately)."""
    header_error(raw, x.header(version=version), "unsupported-version", version=None)


@pytest.mark.parametrize("theirs,ours", [
    ("2.0", "1.0"), ("11.0", "1.0"),
    ("0.9", "0.9"),
])
def test_response_version_is_the_lower_one(server, raw, theirs, ours):
    """RFC 6120 §4.7.5 rule 2: "The receiving entity MUST set the value of the 'version'
    attribute in the response stream header to either the value supplied by the initiating
    entity or the highest version number supported by the receiving entity, whichever is
    lower" (also on a stream closed with <unsupported-version/>, cf. the §4.9.3.25 example)."""
    c = raw()
    c.send(x.header(version=theirs))
    x.wait_closed_stream(c)
    assert x.stream_header(c).get("version") == ours, c.buf


def test_unsupported_version_when_version_missing(server, raw):
    """RFC 6120 §4.7.5 rule 4: no 'version' means 0.9, which is not supported."""
    header_error(raw, x.header(version=None), "unsupported-version", version=None)


def test_no_version_attribute_in_answer_to_header_without_version(server, raw):
    """RFC 6120 §4.7.5 rule 4: on a header with no 'version' the receiving entity "SHOULD NOT
    include a 'version' attribute in the response stream header"."""
    c = raw()
    c.send(x.header(version=None))
    x.wait_closed_stream(c)
    assert "version" not in x.stream_header(c), c.buf


def test_header_error_on_stream_after_starttls(server, raw):
    """§4.9.1.2 also holds for the stream restarted over TLS: the server sends its new header
    before the error."""
    c = raw()
    x.open_stream(c)
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    c.send(x.header(to="example.org"))
    p = x.expect_stream_error(c, "host-unknown")
    check_header_first(c, p)


def test_restart_after_sasl_without_to(server, raw):
    c = tls_ready(raw)
    assert x.plain(c, "alice", "secret").tag == q(NS_SASL, "success")
    x.new_stream(c)
    c.send(x.header(to=None))
    p = x.expect_stream_error(c, "host-unknown")
    check_header_first(c, p)


def test_stream_header_in_single_bytes(server, raw):
    """The parser is incremental: a header that arrives one byte at a time works."""
    c = raw()
    for ch in HEADER:
        c.send(ch)
    assert x.features(c).find(q(NS_TLS, "starttls")) is not None


def test_domain_in_header_is_case_insensitive(server, raw):
    """RFC 7622 §3.2: the domainpart is prepared (case-folded) before comparison."""
    c = raw()
    x.open_stream(c, x.header(to="LocalHost"))
    assert x.parse(c.buf).header.get("from") == "localhost"


def test_not_well_formed_before_the_header(server, raw):
    """A stream that does not start with markup (e.g. an HTTP request) is refused, with our
    header first."""
    c = raw()
    c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    p = x.expect_stream_error(c, "not-well-formed")
    check_header_first(c, p)


@pytest.mark.parametrize("version", ["1.1", "1.10", "01.0"])
def test_compatible_versions_are_accepted(server, raw, version):
    """RFC 6120 §4.7.5: a higher minor version is handled as 1.0 (and answered with 1.0, the
    lower of the two); leading zeros are ignored."""
    c = raw()
    f = x.open_stream(c, x.header(version=version))
    assert f.find(q(NS_TLS, "starttls")) is not None
    assert x.stream_header(c).get("version") == "1.0"


# ---- response header attributes (RFC 6120 §4.7) --------------------------------------------------

def test_response_header_attributes(server, raw):
    """§4.7.1 'from' is the served domain, §4.7.3 a fresh 'id' (the client's own 'id' is
    ignored), §4.7.4 'xml:lang' is always present (here the default, 'en')."""
    c = raw()
    x.open_stream(c, x.header(extra="id='client-chosen' xml:lang='x-klingon'"))
    h = x.stream_header(c)
    assert h.get("from") == "localhost"
    assert h.get("id") and h.get("id") != "client-chosen"
    assert h.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    c2 = raw()
    x.open_stream(c2)
    assert x.stream_header(c2).get("id") != h.get("id")


def test_response_header_to_is_bare_jid_of_client_from(server, raw):
    """RFC 6120 §4.7.2: "if the client included a 'from' attribute in the initial stream header
    then the server MUST include a 'to' attribute in the response stream header and MUST set
    its value to the bare JID specified in the 'from' attribute"."""
    c = raw()
    x.open_stream(c, x.header(from_="alice@localhost"))
    assert x.stream_header(c).get("to") == "alice@localhost", c.buf
    # The same over TLS, with a full JID in 'from'.
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    x.open_stream(c, x.header(from_="alice@localhost/phone"))
    assert x.stream_header(c).get("to") == "alice@localhost", c.buf


def test_response_header_has_no_to_without_client_from(server, raw):
    """RFC 6120 §4.7.2: "If the client did not include a 'from' attribute in the initial stream
    header then the server MUST NOT include a 'to' attribute in the response stream header."
    Checked on each of the three headers of a login (initial, after STARTTLS, after SASL)."""
    c = raw()
    x.open_stream(c)
    assert "to" not in x.stream_header(c), c.buf
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    x.open_stream(c)
    assert "to" not in x.stream_header(c), c.buf
    assert x.plain(c, "alice", "secret").tag == q(NS_SASL, "success")
    x.restart(c)
    assert "to" not in x.stream_header(c), c.buf


# ---- stream errors for content out of order ------------------------------------------------------

def test_not_authorized_for_message_before_tls(server, raw):
    c = after_header(raw, "<message to='bob@localhost'><body>hi</body></message>")
    x.expect_stream_error(c, "not-authorized")


def test_not_authorized_for_message_before_sasl(server, raw):
    c = tls_ready(raw)
    c.send("<message to='bob@localhost'><body>hi</body></message>")
    x.expect_stream_error(c, "not-authorized")


def test_not_authorized_for_stanza_before_bind(server, raw):
    """RFC 6120 §7.1: no stanzas until a resource is bound."""
    c = tls_ready(raw)
    assert x.plain(c, "alice", "secret").tag == q(NS_SASL, "success")
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    c.send("<message to='bob@localhost'><body>hi</body></message>")
    x.expect_stream_error(c, "not-authorized")


@pytest.mark.parametrize("element", ["<foo xmlns='urn:example:foo'/>",
                                     "<pubsub xmlns='jabber:client'><publish node='n'/></pubsub>"],
                         ids=["unknown-namespace", "unknown-name-in-jabber-client"])
def test_unsupported_stanza_type_after_bind(server, raw, element):
    """RFC 6120 §4.9.3.24."""
    c = raw()
    x.login(c, "alice", "secret", "ust")
    c.send(element)
    x.expect_stream_error(c, "unsupported-stanza-type")


# ---- closing -------------------------------------------------------------------------------------

def test_client_close_is_answered(server, raw):
    """RFC 6120 §4.4: the server answers the client's closing tag with its own and closes."""
    c = raw()
    c.send(HEADER)
    x.features(c)
    c.send("</stream:stream>")
    x.expect_plain_close(c)


def test_client_close_after_bind(server, raw):
    c = raw()
    x.login(c, "alice", "secret", "closing")
    c.send("</stream:stream>")
    x.expect_plain_close(c)


# ---- TLS -----------------------------------------------------------------------------------------

def test_starttls_features(server, raw):
    c = raw()
    f = x.open_stream(c)
    st = f.find(q(NS_TLS, "starttls"))
    assert st is not None and st.find(q(NS_TLS, "required")) is not None
    assert f.find(q(NS_SASL, "mechanisms")) is None, "no SASL before TLS (RFC 6120 §5.3.1)"
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    f = x.open_stream(c)
    assert f.find(q(NS_TLS, "starttls")) is None, "STARTTLS is not offered twice"
    mechs = x.mechanisms(f)
    for m in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"):
        assert m in mechs, mechs
    assert "tls-exporter" in x.cb_types(f)


def old_tls_context():
    """A client context that offers only TLS 1.1 or lower, or None when the local OpenSSL
    cannot offer it at all."""
    ctx = x.client_context()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that is the point here
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return ctx


def handshake_fails(sock, ctx):
    """True when the handshake is refused by the server; skips when our own OpenSSL refuses
    to offer the protocol."""
    sock.settimeout(5)
    try:
        s = ctx.wrap_socket(sock, server_hostname="localhost")
    except ssl.SSLError as e:
        if "NO_PROTOCOLS_AVAILABLE" in str(e) or "no protocols available" in str(e):
            pytest.skip("the local OpenSSL cannot offer TLS 1.1 or lower")
        # The server's refusal: a protocol_version alert (RFC 8446 §6.2), or the connection
        # dropped during the handshake.
        assert ("PROTOCOL_VERSION" in str(e) or "UNSUPPORTED_PROTOCOL" in str(e)
                or "EOF" in str(e) or "HANDSHAKE_FAILURE" in str(e)), repr(e)
        return True
    except socket.timeout:
        raise AssertionError("the TLS handshake hung instead of failing")
    except (ConnectionResetError, BrokenPipeError):
        return True
    version = s.version()
    s.close()
    raise AssertionError("handshake succeeded with %s" % version)


def test_starttls_refuses_tls_1_1(server, raw):
    """RFC 7590 §3.1 / RFC 8996: TLS 1.1 and lower are not negotiated."""
    ctx = old_tls_context()
    if ctx is None:
        pytest.skip("the local OpenSSL cannot be configured for TLS 1.1")
    c = raw()
    x.open_stream(c)
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    assert handshake_fails(c.sock, ctx)


def test_direct_tls_refuses_tls_1_1(server, raw):
    ctx = old_tls_context()
    if ctx is None:
        pytest.skip("the local OpenSSL cannot be configured for TLS 1.1")
    c = raw(server.tls_port)
    assert handshake_fails(c.sock, ctx)


def test_direct_tls_with_alpn(server, raw):
    """XEP-0368: TLS from the first byte; ALPN 'xmpp-client' is selected when offered."""
    c = raw(server.tls_port)
    f = x.direct_tls(c, alpn=("xmpp-client",))
    assert c.sock.selected_alpn_protocol() == "xmpp-client"
    assert f.find(q(NS_TLS, "starttls")) is None
    mechs = x.mechanisms(f)
    assert "SCRAM-SHA-256-PLUS" in mechs and "PLAIN" in mechs, mechs
    r = x.plain(c, "alice", "secret")
    assert r.tag == q(NS_SASL, "success")
    assert x.restart(c).find(q(NS_BIND, "bind")) is not None


def test_direct_tls_without_alpn(server, raw):
    c = raw(server.tls_port)
    f = x.direct_tls(c, alpn=None)
    assert c.sock.selected_alpn_protocol() is None
    assert "PLAIN" in x.mechanisms(f)


def test_direct_tls_other_alpn_only(server, raw):
    """A client offering only other protocols is not given one it did not ask for."""
    c = raw(server.tls_port)
    f = x.direct_tls(c, alpn=("h2",))
    assert c.sock.selected_alpn_protocol() is None
    assert "PLAIN" in x.mechanisms(f)


def test_direct_tls_without_sni(server, raw):
    c = raw(server.tls_port)
    x.wrap_stdlib(c, x.client_context(alpn=["xmpp-client"]), server_hostname=None)
    assert "PLAIN" in x.mechanisms(x.open_stream(c))


def test_plaintext_on_direct_tls_port_is_dropped(server, raw):
    """XEP-0368: the port speaks TLS only; a plaintext stream header fails the handshake and
    the connection is closed without any XMPP answer."""
    c = raw(server.tls_port)
    c.send(HEADER)
    assert c.closed_by_server(timeout=5)
    assert b"<stream" not in c.buf


def test_failed_starttls_handshake_closes_connection(server, raw):
    """RFC 6120 §5.4.3.2: when the TLS negotiation fails the server closes the TCP
    connection (no stream error: the XML stream is already gone)."""
    c = raw()
    x.open_stream(c)
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.new_stream(c)
    c.send("this is not a TLS ClientHello\r\n" * 4)
    assert c.closed_by_server(timeout=5)
    assert b"<stream:error" not in c.buf


# ---- stamping ------------------------------------------------------------------------------------

def test_from_is_stamped_with_sender_full_jid(server, raw):
    """RFC 6120 §8.1.2.1: the server stamps 'from' with the sender's full JID, replacing a
    forged one."""
    alice, bob = raw(), raw()
    assert x.login(alice, "alice", "secret", "r") == "alice@localhost/r"
    bob_jid = x.login(bob, "bob", "secret", "b")
    assert bob_jid == "bob@localhost/b"
    bob.send("<message to='alice@localhost/r' from='mallory@evil.example/x' id='m1'>"
             "<body>hi</body></message>")
    m = x.wait_id(alice, "m1")
    assert m.tag == q(NS_CLIENT, "message")
    assert m.get("from") == "bob@localhost/b"
    assert m.get("to") == "alice@localhost/r"
    assert m.find(q(NS_CLIENT, "body")).text == "hi"


def test_stanza_xml_lang_is_kept(server, raw):
    """RFC 6120 §4.7.4: an 'xml:lang' on a stanza MUST NOT be modified or deleted in delivery."""
    alice, bob = raw(), raw()
    x.login(alice, "alice", "secret", "r")
    x.login(bob, "bob", "secret", "b")
    bob.send("<message to='alice@localhost/r' id='lang' xml:lang='de'><body>Hallo</body>"
             "<body xml:lang='fr'>Salut</body></message>")
    m = x.wait_id(alice, "lang")
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert m.get(lang) == "de"
    bodies = m.findall(q(NS_CLIENT, "body"))
    assert [(b.get(lang), b.text) for b in bodies] == [(None, "Hallo"), ("fr", "Salut")]


def test_stanza_content_is_delivered_unchanged(server, raw):
    """Escaped characters in text and attributes and non-ASCII text survive routing and the
    server's re-serialization (single-quoted attributes need &apos;)."""
    alice, bob = raw(), raw()
    x.login(alice, "alice", "secret", "r")
    x.login(bob, "bob", "secret", "b")
    text = "<tag> & 'single' \"double\" h\u00e9llo \u2603 \U0001F600"
    bob.send("<message to='alice@localhost/r' id=\"q'uo&quot;te\"><body>&lt;tag&gt; &amp; "
             "'single' \"double\" h\u00e9llo \u2603 \U0001F600</body>"
             "<x xmlns='urn:example:x' a='&lt;&amp;&quot;&apos;&gt;'/></message>")
    m = x.wait_id(alice, "q'uo\"te")
    assert m.find(q(NS_CLIENT, "body")).text == text
    assert m.find(q("urn:example:x", "x")).get("a") == "<&\"'>"


def test_from_of_own_bare_jid_is_replaced_by_full_jid(server, raw):
    alice, bob = raw(), raw()
    x.login(alice, "alice", "secret", "r")
    x.login(bob, "bob", "secret", "b")
    bob.send("<message to='alice@localhost/r' from='bob@localhost' id='m2'>"
             "<body>x</body></message>")
    assert x.wait_id(alice, "m2").get("from") == "bob@localhost/b"


def test_forged_from_on_iq_gets_the_reply_to_the_real_sender(server, raw):
    alice, bob = raw(), raw()
    x.login(alice, "alice", "secret", "r")
    x.login(bob, "bob", "secret", "b")
    bob.send("<iq type='get' id='forged' to='localhost' from='alice@localhost/r'>"
             "<ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_id(bob, "forged")
    assert r.get("type") == "result"
    assert r.get("to") == "bob@localhost/b"
    x.no_element(alice, lambda e: e.get("id") == "forged", timeout=0.3)


# ---- binding (RFC 6120 §7) -----------------------------------------------------------------------

def authenticated(raw, user="alice"):
    c = raw()
    x.starttls(c)
    assert x.plain(c, user, "secret").tag == q(NS_SASL, "success")
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    return c


def test_bind_client_chosen_resource(server, raw):
    c = authenticated(raw)
    r = x.bind(c, "laptop")
    assert r.get("id") == "bind1"
    assert x.bound_jid(r) == "alice@localhost/laptop"


def test_bind_server_generated_resource(server, raw):
    c = authenticated(raw)
    r = x.bind(c, None)
    jid = x.bound_jid(r)
    bare, _, resource = jid.partition("/")
    assert bare == "alice@localhost"
    assert resource, jid
    # Two generated resources differ.
    c2 = authenticated(raw)
    assert x.bound_jid(x.bind(c2, None)) != jid


def test_bind_invalid_resource_is_bad_request(server, raw):
    """RFC 6120 §7.7.2.1: a resource that cannot be prepared gets <bad-request/>. (U+0007 cannot
    be sent in XML 1.0 at all, see test_not_well_formed_illegal_character_reference; U+0085 is a
    legal XML character but a control character that PRECIS OpaqueString disallows.)"""
    c = authenticated(raw)
    r = x.bind(c, "bad\u0085res", iq_id="b-bad")
    assert r.get("type") == "error"
    assert x.stanza_error(r) == ("modify", "bad-request")
    # The stream stays open and a valid resource can still be bound.
    assert x.bound_jid(x.bind(c, "good", iq_id="b-good")) == "alice@localhost/good"


def test_bind_too_long_resource_is_bad_request(server, raw):
    c = authenticated(raw)
    r = x.bind(c, "r" * 1024, iq_id="b-long")
    assert x.stanza_error(r) == ("modify", "bad-request")


def bad_bind(c, i):
    """One bind with a resource that cannot be prepared; the reply, or None when the stream
    was closed instead."""
    c.send("<iq type='set' id='bad%d'><bind xmlns='%s'><resource>bad\u0085%d</resource></bind>"
           "</iq>" % (i, NS_BIND, i))
    try:
        r = x.wait_id(c, "bad%d" % i)
    except AssertionError:
        return None
    assert x.stanza_error(r) == ("modify", "bad-request")
    return r


def test_bind_allows_five_retries(server, raw):
    """RFC 6120 §7.7.3: at least 5 retries after a bind error."""
    c = authenticated(raw)
    for i in range(6):
        assert bad_bind(c, i) is not None, "stream closed after %d failed binds" % (i + 1)
    assert x.bound_jid(x.bind(c, "finally")) == "alice@localhost/finally"


def test_bind_retry_limit_closes_stream(server, raw):
    """RFC 6120 §7.7.3: "the server SHOULD allow a configurable but reasonable number of
    retries (at least 5 and no more than 10) ... After the client has reached the retry limit,
    the server MUST close the stream with a <policy-violation/> stream error"."""
    c = authenticated(raw)
    closed_after = None
    for i in range(1, 13):
        if bad_bind(c, i) is None or x.parse(c.buf).closed:
            closed_after = i
            break
    assert closed_after is not None, "12 failed binds and the stream is still open: no retry limit"
    assert closed_after >= 6, "fewer than 5 retries allowed"
    x.expect_stream_error(c, "policy-violation")


def test_bind_conflict_overrides_old_session(server, raw):
    """RFC 6120 §7.7.2.2: with the override policy the older session gets a <conflict/> stream
    error and the new one is bound."""
    first = authenticated(raw)
    assert x.bound_jid(x.bind(first, "dup")) == "alice@localhost/dup"
    second = authenticated(raw)
    assert x.bound_jid(x.bind(second, "dup")) == "alice@localhost/dup"
    x.expect_stream_error(first, "conflict", reply_close=True)
    # Stanzas for the resource now reach the new session.
    bob = raw()
    x.login(bob, "bob", "secret", "b")
    bob.send("<message to='alice@localhost/dup' id='after'><body>x</body></message>")
    assert x.wait_id(second, "after").get("from") == "bob@localhost/b"


def test_legacy_session_establishment(server, raw):
    """RFC 3921 §3 session iq, still used by old clients: answered with a result."""
    c = raw()
    x.login(c, "alice", "secret", "old")
    c.send("<iq type='set' id='sess1'><session xmlns='%s'/></iq>" % x.NS_SESSION)
    r = x.wait_id(c, "sess1")
    assert r.tag == q(NS_CLIENT, "iq")
    assert r.get("type") == "result"


# ---- iq and message routing errors (RFC 6120 §8) -------------------------------------------------

@pytest.fixture
def alice(server, raw):
    c = raw()
    c.jid = x.login(c, "alice", "secret", "iq")
    return c


def test_iq_without_id_is_bad_request(alice):
    """RFC 6120 §8.1.3: 'id' is REQUIRED for iq."""
    alice.send("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_element(alice, lambda e: e.tag == q(NS_CLIENT, "iq"))
    assert r.get("type") == "error"
    assert x.stanza_error(r) == ("modify", "bad-request")


def test_iq_with_two_children_is_bad_request(alice):
    """RFC 6120 §8.2.3: an iq get or set contains exactly one payload element."""
    alice.send("<iq type='get' id='two' to='localhost'><query xmlns='jabber:iq:version'/>"
               "<ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_id(alice, "two")
    assert r.get("type") == "error"
    assert x.stanza_error(r) == ("modify", "bad-request")


def test_iq_with_no_child_is_bad_request(alice):
    alice.send("<iq type='get' id='none' to='localhost'/>")
    r = x.wait_id(alice, "none")
    assert x.stanza_error(r) == ("modify", "bad-request")


def test_iq_unknown_namespace_to_server_is_service_unavailable(alice):
    """RFC 6120 §8.4: an iq the server does not understand gets <service-unavailable/>."""
    alice.send("<iq type='get' id='unk' to='localhost'><query xmlns='urn:example:nope'/></iq>")
    r = x.wait_id(alice, "unk")
    assert r.get("type") == "error"
    assert r.get("from") == "localhost"
    assert r.get("to") == alice.jid
    assert x.stanza_error(r) == ("cancel", "service-unavailable")


def test_iq_to_remote_domain_is_remote_server_not_found(alice):
    alice.send("<iq type='get' id='rem' to='example.net'><ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_id(alice, "rem")
    assert r.get("type") == "error"
    assert r.get("from") == "example.net"
    assert x.stanza_error(r) == ("cancel", "remote-server-not-found")


def test_message_to_unknown_local_user_is_service_unavailable(alice):
    """RFC 6121 §8.5.1: no such account -> <service-unavailable/>."""
    alice.send("<message to='nobody@localhost' id='nb'><body>hello?</body></message>")
    r = x.wait_id(alice, "nb")
    assert r.tag == q(NS_CLIENT, "message")
    assert r.get("type") == "error"
    assert r.get("from") == "nobody@localhost"
    assert x.stanza_error(r) == ("cancel", "service-unavailable")


@pytest.mark.parametrize("to", ["a@b@c", "@localhost", "alice@localhost/", "alice@"])
def test_message_with_malformed_to_is_jid_malformed(alice, to):
    """RFC 6120 §8.3.3.8."""
    alice.send("<message to='%s' id='mal'><body>x</body></message>" % to)
    r = x.wait_id(alice, "mal")
    assert r.get("type") == "error"
    assert x.stanza_error(r) == ("modify", "jid-malformed")
    assert r.get("to") == alice.jid


def test_iq_with_malformed_to_is_jid_malformed(alice):
    alice.send("<iq type='get' id='imal' to='a@b@c'><ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_id(alice, "imal")
    assert x.stanza_error(r) == ("modify", "jid-malformed")


def test_stream_survives_stanza_errors(alice):
    """Stanza errors do not end the stream: a ping to the server still works afterwards."""
    alice.send("<message to='@localhost' id='e1'><body>x</body></message>")
    x.wait_id(alice, "e1")
    alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    r = x.wait_id(alice, "p1")
    assert r.get("type") == "result"


def _tls_stream(server):
    """STARTTLS with a stdlib socket that reports a TCP end without TLS close_notify as an
    error (suppress_ragged_eofs=False); returns the wrapped socket after the second header."""
    import socket as socketlib
    import ssl as ssllib
    s = socketlib.create_connection(("127.0.0.1", server.port), timeout=10)
    hdr = ("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    s.sendall(hdr.encode())
    buf = b""
    while b"</stream:features>" not in buf:
        buf += s.recv(4096)
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    while b"<proceed" not in buf:
        buf += s.recv(4096)
    ctx = ssllib.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssllib.CERT_NONE
    # Python sets OpenSSL's "ignore unexpected EOF" by default, which hides a missing
    # close_notify; clear it.
    ctx.options &= ~getattr(ssllib, "OP_IGNORE_UNEXPECTED_EOF", 0)
    t = ctx.wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False)
    t.sendall(hdr.encode())
    buf = b""
    while b"</stream:features>" not in buf:
        buf += t.recv(4096)
    return t


def _read_to_close_notify(t):
    """Reads until the TLS layer is closed; fails on a TCP end without close_notify."""
    import ssl as ssllib
    data = b""
    while True:
        try:
            chunk = t.recv(4096)
        except (ssllib.SSLEOFError, ssllib.SSLError) as e:
            raise AssertionError("TCP closed without TLS close_notify: %r (%s)" % (data, e))
        if not chunk:
            return data  # close_notify received
        data += chunk


@pytest.mark.parametrize("initiator", ["client", "server"])
def test_tls_close_notify_before_tcp_close(server, initiator):
    """RFC 6120 §4.4 security warning: the TLS layer is closed with close_notify before the TCP
    connection, whichever side closes the stream."""
    t = _tls_stream(server)
    try:
        if initiator == "client":
            t.sendall(b"</stream:stream>")
            data = _read_to_close_notify(t)
            assert data.endswith(b"</stream:stream>"), data
        else:
            t.sendall(b"<message><unclosed></message>")  # not-well-formed: the server closes
            data = b""
            while b"</stream:stream>" not in data:
                data += t.recv(4096)
            assert b"not-well-formed" in data
            t.sendall(b"</stream:stream>")
            _read_to_close_notify(t)
    finally:
        t.close()
