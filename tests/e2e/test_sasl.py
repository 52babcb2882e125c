"""SASL at the wire level (RFC 6120 §6, RFC 4616 PLAIN, RFC 5802 / RFC 7677 SCRAM, RFC 9266
tls-exporter and RFC 5929 tls-server-end-point / tls-unique channel binding, XEP-0440) with raw
sockets over STARTTLS and direct TLS. The SCRAM client is written by hand in xmpp_raw.Scram."""
import base64
import hashlib
import time

import pytest

import xmpp_raw as x
from xmpp_raw import NS_BIND, NS_SASL, NS_TLS, q

SUCCESS = q(NS_SASL, "success")
CHALLENGE = q(NS_SASL, "challenge")
FAILURE = q(NS_SASL, "failure")


def tls(raw, use_openssl=False):
    c = raw()
    f = x.starttls(c, use_openssl=use_openssl)
    c.features = f
    return c


def direct(raw, server, use_openssl=False):
    c = raw(server.tls_port)
    f = x.direct_tls(c, use_openssl=use_openssl)
    c.features = f
    return c


def assert_failure(reply, condition):
    assert reply.tag == FAILURE, "expected <failure><%s/></failure>, got %s" % (
        condition, x.ET.tostring(reply).decode())
    assert x.failure_condition(reply) == condition


def assert_still_open(c):
    """The stream goes on after a SASL failure (RFC 6120 §6.4.5): a retry is possible."""
    r = x.plain(c, "alice", "secret")
    assert r.tag == SUCCESS, x.ET.tostring(r)


# ---- before TLS ----------------------------------------------------------------------------------

def test_no_sasl_before_tls(server, raw):
    """RFC 6120 §5.3.1 and §6.4.1: TLS is required first; <auth/> gets <encryption-required/>."""
    c = raw()
    f = x.open_stream(c)
    assert f.find(q(NS_SASL, "mechanisms")) is None
    x.sasl_send(c, "auth", b"\0alice\0secret", mechanism="PLAIN")
    assert_failure(x.sasl_reply(c), "encryption-required")
    # Nothing was authenticated, and STARTTLS is still possible.
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    x.wait_tag(c, q(NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context())
    f = x.open_stream(c)
    assert "PLAIN" in x.mechanisms(f)
    assert f.find(q(NS_BIND, "bind")) is None


# ---- PLAIN (RFC 4616) ----------------------------------------------------------------------------

@pytest.mark.parametrize("authzid", ["", "alice@localhost"], ids=["no-authzid", "own-authzid"])
def test_plain_success(server, raw, authzid):
    c = tls(raw)
    r = x.plain(c, "alice", "secret", authzid=authzid)
    assert r.tag == SUCCESS
    assert not (r.text or "").strip(), "PLAIN has no additional data with success"
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    assert x.bound_jid(x.bind(c, "plain")) == "alice@localhost/plain"


def test_plain_without_initial_response(server, raw):
    """RFC 6120 §6.4.2: no initial response -> an empty challenge, then the response."""
    c = tls(raw)
    x.sasl_send(c, "auth", None, mechanism="PLAIN")
    r = x.sasl_reply(c)
    assert r.tag == CHALLENGE
    assert not (r.text or "").strip() or r.text.strip() == "="
    x.sasl_send(c, "response", b"\0alice\0secret")
    assert x.sasl_reply(c).tag == SUCCESS


def test_plain_username_is_prepared(server, raw):
    """RFC 7622 §3.3: the localpart is case-insensitive (UsernameCaseMapped)."""
    c = tls(raw)
    assert x.plain(c, "ALICE", "secret").tag == SUCCESS
    x.restart(c)
    assert x.bound_jid(x.bind(c, "caps")) == "alice@localhost/caps"


def test_plain_wrong_password_is_delayed(server, raw):
    c = tls(raw)
    start = time.monotonic()
    r = x.plain(c, "alice", "wrong")
    elapsed = time.monotonic() - start
    assert_failure(r, "not-authorized")
    assert elapsed >= 0.15, "failure after %.3f s: auth_failure_delay_ms=200 not applied" % elapsed
    assert_still_open(c)


def test_plain_unknown_user(server, raw):
    c = tls(raw)
    start = time.monotonic()
    r = x.plain(c, "nobody", "secret")
    elapsed = time.monotonic() - start
    assert_failure(r, "not-authorized")
    assert elapsed >= 0.15, "an unknown user must look like a wrong password (%.3f s)" % elapsed


def test_plain_authzid_of_other_user(server, raw):
    """RFC 6120 §6.4.6 / §6.5.6: alice may not act as bob."""
    c = tls(raw)
    assert_failure(x.plain(c, "alice", "secret", authzid="bob@localhost"), "invalid-authzid")
    assert_still_open(c)


def test_plain_retry_after_failure(server, raw):
    c = tls(raw)
    assert_failure(x.plain(c, "alice", "nope"), "not-authorized")
    assert_failure(x.plain(c, "alice", "nope2"), "not-authorized")
    assert x.plain(c, "alice", "secret").tag == SUCCESS


# ---- failures (RFC 6120 §6.5) --------------------------------------------------------------------

def test_invalid_mechanism(server, raw):
    c = tls(raw)
    x.sasl_send(c, "auth", b"\0alice\0secret", mechanism="NOPE")
    assert_failure(x.sasl_reply(c), "invalid-mechanism")
    assert_still_open(c)


def test_incorrect_encoding(server, raw):
    c = tls(raw)
    x.sasl_send(c, "auth", "!!!not*base64!!!", mechanism="PLAIN")
    assert_failure(x.sasl_reply(c), "incorrect-encoding")
    assert_still_open(c)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_garbage_client_first(server, raw, mechanism):
    c = tls(raw)
    x.sasl_send(c, "auth", b"this is not a SCRAM message", mechanism=mechanism)
    assert_failure(x.sasl_reply(c), "malformed-request")
    assert_still_open(c)


def test_abort_mid_scram(server, raw):
    """RFC 6120 §6.4.4: <abort/> is answered with <failure><aborted/></failure>."""
    c = tls(raw)
    s = x.Scram("sha256", "alice", "secret")
    x.sasl_send(c, "auth", s.first(), mechanism="SCRAM-SHA-256")
    assert x.sasl_reply(c).tag == CHALLENGE
    x.sasl_send(c, "abort")
    assert_failure(x.sasl_reply(c), "aborted")
    assert_still_open(c)


def test_five_failures_close_the_stream(server, raw):
    """RFC 6120 §6.4.5: after a limited number of retries the stream is closed."""
    c = tls(raw)
    for i in range(4):
        assert_failure(x.plain(c, "alice", "wrong%d" % i), "not-authorized")
    assert not c.closed_by_server(timeout=0.05)
    assert_failure(x.plain(c, "alice", "wrong4"), "not-authorized")
    x.expect_stream_error(c, "policy-violation")


# ---- SCRAM (RFC 5802, RFC 7677) ------------------------------------------------------------------

@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_without_channel_binding(server, raw, mechanism):
    """RFC 5802 §6: flag 'n' (client does not support channel binding) must be accepted."""
    c = tls(raw)
    assert mechanism in x.mechanisms(c.features)
    r, s = x.scram(c, mechanism, "alice", "secret", gs2_header="n,,")
    assert r.tag == SUCCESS, x.ET.tostring(r)  # server signature checked in x.scram
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_y_flag_fails_when_server_offers_plus(server, raw, mechanism):
    """RFC 5802 §6: 'y' means the client thinks the server cannot bind; the server does
    (it advertises -PLUS), so this is a downgrade and it MUST fail."""
    c = tls(raw)
    assert mechanism + "-PLUS" in x.mechanisms(c.features)
    r, s = x.scram(c, mechanism, "alice", "secret", gs2_header="y,,")
    assert_failure(r, "not-authorized")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_wrong_password(server, raw, mechanism):
    c = tls(raw)
    r, s = x.scram(c, mechanism, "alice", "wrong")
    assert_failure(r, "not-authorized")
    assert_still_open(c)


def test_scram_unknown_user_fails_at_the_end(server, raw):
    """The exchange for an unknown user looks like any other until the final failure."""
    c = tls(raw)
    s = x.Scram("sha256", "nobody", "secret")
    x.sasl_send(c, "auth", s.first(), mechanism="SCRAM-SHA-256")
    r = x.sasl_reply(c)
    assert r.tag == CHALLENGE
    sf = base64.b64decode(r.text).decode()
    assert sf.startswith("r=" + s.cnonce) and ",s=" in sf and ",i=" in sf, sf
    x.sasl_send(c, "response", s.final(sf.encode()))
    assert_failure(x.sasl_reply(c), "not-authorized")


def test_scram_unknown_user_salt_is_stable(server, raw):
    """An unknown user gets the same salt and iteration count on every attempt, like a real
    one, so the server-first-message does not reveal which accounts exist."""
    def server_first(user):
        c = tls(raw)
        s = x.Scram("sha256", user, "whatever")
        x.sasl_send(c, "auth", s.first(), mechanism="SCRAM-SHA-256")
        r = x.sasl_reply(c)
        assert r.tag == CHALLENGE
        attrs = dict(kv.split("=", 1) for kv in base64.b64decode(r.text).decode().split(","))
        return attrs["s"], attrs["i"]
    assert server_first("alice") == server_first("alice")
    assert server_first("nobody") == server_first("nobody")


def test_scram_reserved_mext_fails(server, raw):
    """RFC 5802 §5.1: an 'm' attribute (reserved-mext) in the client-first-message MUST cause
    authentication failure."""
    c = tls(raw)
    x.sasl_send(c, "auth", b"n,,m=ext,n=alice,r=abcdefghijklmnop", mechanism="SCRAM-SHA-256")
    r = x.sasl_reply(c)
    assert r.tag == FAILURE
    assert x.failure_condition(r) in ("malformed-request", "not-authorized")


def test_scram_username_is_prepared(server, raw):
    c = tls(raw)
    r, _ = x.scram(c, "SCRAM-SHA-256", "ALICE", "secret")
    assert r.tag == SUCCESS
    x.restart(c)
    assert x.bound_jid(x.bind(c, "sc")) == "alice@localhost/sc"


def test_scram_authzid(server, raw):
    c = tls(raw)
    r, _ = x.scram(c, "SCRAM-SHA-256", "alice", "secret", gs2_header="n,a=alice@localhost,")
    assert r.tag == SUCCESS
    c2 = tls(raw)
    r, _ = x.scram(c2, "SCRAM-SHA-256", "alice", "secret", gs2_header="n,a=bob@localhost,")
    assert_failure(r, "invalid-authzid")


def test_scram_p_flag_under_non_plus_mechanism_fails(server, raw):
    """RFC 5802 §6: channel binding ('p') is only used with the -PLUS mechanism."""
    c = tls(raw, use_openssl=True)
    r, _ = x.scram(c, "SCRAM-SHA-256", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c))
    assert_failure(r, "not-authorized")


# ---- SCRAM-*-PLUS with tls-exporter (RFC 9266) ---------------------------------------------------

@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_scram_plus_tls_exporter_over_starttls(server, raw, mechanism):
    c = tls(raw, use_openssl=True)
    assert c.sock.version() == "TLSv1.3"
    assert mechanism in x.mechanisms(c.features)
    assert "tls-exporter" in x.cb_types(c.features)
    r, _ = x.scram(c, mechanism, "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c))
    assert r.tag == SUCCESS, x.ET.tostring(r)
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    assert x.bound_jid(x.bind(c, "plus")) == "alice@localhost/plus"


def test_scram_plus_tls_exporter_over_direct_tls(server, raw):
    c = direct(raw, server, use_openssl=True)
    assert c.sock.version() == "TLSv1.3"
    assert c.sock.selected_alpn_protocol() == "xmpp-client"
    assert "tls-exporter" in x.cb_types(c.features)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c))
    assert r.tag == SUCCESS, x.ET.tostring(r)


def test_scram_plus_wrong_channel_binding_data(server, raw):
    c = tls(raw, use_openssl=True)
    wrong = bytes(b ^ 0xFF for b in x.exporter(c))
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=wrong)
    assert_failure(r, "not-authorized")


def test_scram_plus_binding_of_another_connection(server, raw):
    """The channel binding of one TLS connection does not authenticate another (a MITM)."""
    c1 = tls(raw, use_openssl=True)
    c2 = tls(raw, use_openssl=True)
    r, _ = x.scram(c2, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c1))
    assert_failure(r, "not-authorized")


def test_scram_plus_wrong_channel_binding_over_direct_tls(server, raw):
    c = direct(raw, server, use_openssl=True)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=b"\0" * 32)
    assert_failure(r, "not-authorized")


def test_scram_plus_unsupported_binding_type(server, raw):
    """RFC 5802 §6: the server MUST fail when it does not support the requested type
    (tls-unique-for-telnet is registered by RFC 5929 §5, and meaningless here)."""
    c = tls(raw, use_openssl=True)
    assert "tls-unique-for-telnet" not in x.cb_types(c.features)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-unique-for-telnet,,", cb_data=b"\0" * 32)
    assert_failure(r, "not-authorized")


def test_scram_plus_without_binding_flag_fails(server, raw):
    c = tls(raw, use_openssl=True)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="n,,")
    assert_failure(r, "not-authorized")


def test_scram_plus_over_tls_1_2(server, raw):
    """TLS 1.2 with the extended master secret: tls-exporter (RFC 9266 §3) and tls-unique
    (RFC 5929 §3.1, the first Finished message = the client's) both work."""
    from OpenSSL import SSL
    ctx = x.openssl_context(tls13=False)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    c = raw()
    f = x.starttls(c, use_openssl=True, ctx=ctx)
    assert c.sock.version() == "TLSv1.2"
    types = x.cb_types(f)
    assert "tls-exporter" in types and "tls-unique" in types, types
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-unique,,",
                   cb_data=c.sock.finished())
    assert r.tag == SUCCESS, x.ET.tostring(r)
    c2 = raw()
    x.starttls(c2, use_openssl=True, ctx=ctx)
    r, _ = x.scram(c2, "SCRAM-SHA-1-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c2))
    assert r.tag == SUCCESS, x.ET.tostring(r)


# ---- SCRAM-*-PLUS with tls-server-end-point (RFC 5929 §4.1) -------------------------------------

def test_channel_binding_types_advertised(server, raw):
    """XEP-0440: every type we can serve, in our order of preference. Over TLS 1.3 tls-unique is
    the client's Finished message (COMPAT for OpenSSL-based clients, see net/tls.cpp)."""
    expected = ["tls-exporter", "tls-server-end-point", "tls-unique"]
    c = tls(raw)
    assert x.cb_types(c.features) == expected
    c2 = direct(raw, server)
    assert x.cb_types(c2.features) == expected


def test_server_end_point_hash_of_test_certificate(server, raw):
    """The e2e certificate is EC P-256 signed with ecdsa-with-SHA256, so RFC 5929 §4.1 gives
    SHA-256 over its DER."""
    c = tls(raw, use_openssl=True)
    cert = c.sock.peer_certificate()
    assert cert.get_signature_algorithm() == b"ecdsa-with-SHA256"
    hashname, data = x.server_end_point(c)
    assert hashname == "sha256" and len(data) == 32


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_scram_plus_tls_server_end_point_over_starttls(server, raw, mechanism):
    c = tls(raw, use_openssl=True)
    assert mechanism in x.mechanisms(c.features)
    assert "tls-server-end-point" in x.cb_types(c.features)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, mechanism, "alice", "secret", gs2_header="p=tls-server-end-point,,",
                   cb_data=data)
    assert r.tag == SUCCESS, x.ET.tostring(r)  # server signature checked in x.scram
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    assert x.bound_jid(x.bind(c, "tsep")) == "alice@localhost/tsep"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_scram_plus_tls_server_end_point_over_direct_tls(server, raw, mechanism):
    c = direct(raw, server, use_openssl=True)
    assert "tls-server-end-point" in x.cb_types(c.features)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, mechanism, "alice", "secret",
                   gs2_header="p=tls-server-end-point,a=alice@localhost,", cb_data=data)
    assert r.tag == SUCCESS, x.ET.tostring(r)


def test_scram_plus_tls_server_end_point_over_tls_1_2(server, raw):
    from OpenSSL import SSL
    ctx = x.openssl_context(tls13=False)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    c = raw()
    f = x.starttls(c, use_openssl=True, ctx=ctx)
    assert c.sock.version() == "TLSv1.2"
    assert "tls-server-end-point" in x.cb_types(f)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-server-end-point,,", cb_data=data)
    assert r.tag == SUCCESS, x.ET.tostring(r)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_scram_plus_tls_server_end_point_wrong_data(server, raw, mechanism):
    """A certificate hash that is not ours (e.g. a TLS man in the middle's certificate) fails;
    so does the right certificate under the wrong hash function (SHA-1 is replaced by SHA-256,
    RFC 5929 §4.1) and the data of another binding type."""
    from OpenSSL import crypto
    c = tls(raw, use_openssl=True)
    _, data = x.server_end_point(c)
    der = crypto.dump_certificate(crypto.FILETYPE_ASN1, c.sock.peer_certificate())
    # Four failures: the fifth would close the stream (RFC 6120 §6.4.5).
    for wrong in (bytes(b ^ 0xFF for b in data), hashlib.sha1(der).digest(),
                  hashlib.sha384(der).digest(), der):
        r, _ = x.scram(c, mechanism, "alice", "secret", gs2_header="p=tls-server-end-point,,",
                       cb_data=wrong)
        assert_failure(r, "not-authorized")
    c2 = tls(raw, use_openssl=True)
    r, _ = x.scram(c2, mechanism, "alice", "secret", gs2_header="p=tls-server-end-point,,",
                   cb_data=x.exporter(c2))
    assert_failure(r, "not-authorized")


def test_scram_plus_tls_server_end_point_cbind_header_must_match(server, raw):
    """c= must carry the GS2 header sent first: the end-point data under a claimed tls-exporter
    header, or the header without the data, fails."""
    c = tls(raw, use_openssl=True)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-server-end-point,,", cb_data=data,
                   cbind_header="p=tls-exporter,,")
    assert_failure(r, "not-authorized")
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-server-end-point,,", cb_data=b"")
    assert_failure(r, "not-authorized")
    assert_still_open(c)


def test_scram_tls_server_end_point_under_non_plus_mechanism_fails(server, raw):
    c = tls(raw, use_openssl=True)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, "SCRAM-SHA-256", "alice", "secret", gs2_header="p=tls-server-end-point,,",
                   cb_data=data)
    assert_failure(r, "not-authorized")


def test_scram_plus_tls_server_end_point_authzid_of_other_user(server, raw):
    c = tls(raw, use_openssl=True)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-server-end-point,a=bob@localhost,", cb_data=data)
    assert_failure(r, "invalid-authzid")


def test_scram_plus_tls_server_end_point_wrong_password(server, raw):
    c = tls(raw, use_openssl=True)
    _, data = x.server_end_point(c)
    r, _ = x.scram(c, "SCRAM-SHA-1-PLUS", "alice", "wrong", gs2_header="p=tls-server-end-point,,",
                   cb_data=data)
    assert_failure(r, "not-authorized")


# ---- tampering with the final message (RFC 5802 §5.1, §9) ----------------------------------------

def test_scram_cbind_header_must_match_first_message(server, raw):
    """c= must carry the GS2 header of the first message: claiming another binding type there
    (or stripping the binding to 'n,,') fails."""
    c = tls(raw, use_openssl=True)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cb_data=x.exporter(c), cbind_header="p=tls-unique,,")
    assert_failure(r, "not-authorized")
    c2 = tls(raw, use_openssl=True)
    r, _ = x.scram(c2, "SCRAM-SHA-256-PLUS", "alice", "secret", gs2_header="p=tls-exporter,,",
                   cbind_header="n,,")
    assert_failure(r, "not-authorized")


def test_scram_cbind_must_repeat_the_authzid(server, raw):
    c = tls(raw)
    r, _ = x.scram(c, "SCRAM-SHA-256", "alice", "secret", gs2_header="n,a=alice@localhost,",
                   cbind_header="n,,")
    assert_failure(r, "not-authorized")


def test_scram_final_nonce_must_match(server, raw):
    c = tls(raw)
    r, _ = x.scram(c, "SCRAM-SHA-256", "alice", "secret", nonce_suffix="X")
    assert_failure(r, "not-authorized")


def test_scram_plus_authzid_of_other_user(server, raw):
    c = tls(raw, use_openssl=True)
    r, _ = x.scram(c, "SCRAM-SHA-256-PLUS", "alice", "secret",
                   gs2_header="p=tls-exporter,a=bob@localhost,", cb_data=x.exporter(c))
    assert_failure(r, "invalid-authzid")


# ---- after success -------------------------------------------------------------------------------

def test_restart_after_success_offers_bind(server, raw):
    """RFC 6120 §6.4.6: after <success/> the client restarts the stream; the new features
    carry <bind/> and no more SASL."""
    c = tls(raw)
    assert x.plain(c, "alice", "secret").tag == SUCCESS
    f = x.restart(c)
    assert f.find(q(NS_BIND, "bind")) is not None
    assert f.find(q(NS_SASL, "mechanisms")) is None
    assert f.find(q(NS_TLS, "starttls")) is None


def test_restart_header_after_success_has_new_id(server, raw):
    c = tls(raw)
    first_id = x.parse(c.buf).header.get("id")
    assert x.plain(c, "alice", "secret").tag == SUCCESS
    x.restart(c)
    p = x.parse(c.buf)
    assert p.header.get("id") and p.header.get("id") != first_id
    assert p.header.get("from") == "localhost"


def test_password_is_not_logged(server, raw):
    password = "secret-xyz-123"
    server.adduser("carol@localhost", password)
    c = tls(raw)
    assert x.plain(c, "carol", password).tag == SUCCESS
    x.restart(c)
    x.bind(c, "log")
    # Also a failing attempt with a near miss on another stream.
    c2 = tls(raw)
    assert_failure(x.plain(c2, "carol", password + "4"), "not-authorized")
    c.close()
    c2.close()
    server.stop()
    log = server.log()
    assert "authenticated as carol@localhost" in log, "login not logged at all?"
    for secret in (password, password + "4"):
        for needle in (secret, x.b64(secret), x.b64("\0carol\0" + secret),
                       x.b64("\0carol\0" + secret).rstrip("=")):
            assert needle not in log, "%r found in the server log" % needle
