"""XEP-0077 In-Band Registration end to end: account creation before login (slixmpp's and
aioxmpp's registration code, and raw sockets for the exact stanzas), the [registration]
configuration (per domain, throttle), password change and cancellation after login, and
`starlingctl deluser`."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import Client, login, close_all, error_condition, IqError
from conftest import Raw, HEADER
import xmpp_raw as x
from xmpp_raw import q

NS_REG = "jabber:iq:register"
NS_FEATURE = "http://jabber.org/features/iq-register"
NS_XDATA = "jabber:x:data"
NS_ROSTER = "jabber:iq:roster"
NS_CLIENT = "jabber:client"

OPEN = "[registration]\nallow = true\nthrottle_max = 0\n"


@pytest.fixture
def open_server(server_factory):
    """Registration allowed, no throttle; accounts alice and bob exist."""
    s = server_factory(extra=OPEN)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def pre_auth(port, domain="localhost"):
    """A Raw connection after STARTTLS, not authenticated. Returns (conn, features)."""
    c = Raw(port)
    hdr = HEADER.replace("to='localhost'", "to='%s'" % domain)
    x.new_stream(c)
    c.send(hdr)
    x.features(c)
    c.send("<starttls xmlns='%s'/>" % x.NS_TLS)
    x.wait_tag(c, q(x.NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context(), server_hostname=domain)
    f = x.open_stream(c, hdr)
    return c, f


def reg_iq(c, iq_id, iq_type, inner="", to=None):
    to_attr = "" if to is None else " to='%s'" % to
    c.send("<iq type='%s' id='%s'%s><query xmlns='%s'>%s</query></iq>"
           % (iq_type, iq_id, to_attr, NS_REG, inner))
    return x.wait_id(c, iq_id)


def register_raw(c, user, password, iq_id="reg1"):
    return reg_iq(c, iq_id, "set",
                  "<username>%s</username><password>%s</password>" % (user, password))


def can_login(port, user, password):
    c = Raw(port)
    try:
        x.starttls(c)
        r = x.plain(c, user, password)
        return r.tag == q(x.NS_SASL, "success")
    finally:
        c.close()


def roster_items(c, iq_id="r1"):
    c.send("<iq type='get' id='%s'><query xmlns='%s'/></iq>" % (iq_id, NS_ROSTER))
    reply = x.wait_id(c, iq_id)
    assert reply.get("type") == "result", ET.tostring(reply)
    return [i.get("jid") for i in reply.find(q(NS_ROSTER, "query"))]


def add_roster_item(c, jid, iq_id="rs1"):
    c.send("<iq type='set' id='%s'><query xmlns='%s'><item jid='%s'/></query></iq>"
           % (iq_id, NS_ROSTER, jid))
    assert x.wait_id(c, iq_id).get("type") == "result"


# ---- before login (§3.1) ------------------------------------------------------------------------

def test_feature_and_fields_when_enabled(open_server):
    c, f = pre_auth(open_server.port)
    try:
        # §5: the stream feature, next to the SASL mechanisms (TLS is required first).
        assert f.find(q(NS_FEATURE, "register")) is not None, ET.tostring(f)
        reply = reg_iq(c, "get1", "get", to="localhost")
        assert reply.get("type") == "result", ET.tostring(reply)
        assert reply.get("from") == "localhost"
        assert reply.get("to") is None
        query = reply.find(q(NS_REG, "query"))
        assert query.find(q(NS_REG, "username")) is not None
        assert query.find(q(NS_REG, "password")) is not None
        form = query.find(q(NS_XDATA, "x"))
        assert form is not None and form.get("type") == "form"
        fields = {fl.get("var"): fl for fl in form.findall(q(NS_XDATA, "field"))}
        assert fields["FORM_TYPE"].findtext(q(NS_XDATA, "value")) == NS_REG
        assert fields["password"].get("type") == "text-private"
        assert fields["username"].find(q(NS_XDATA, "required")) is not None
    finally:
        c.close()


def test_register_over_direct_tls(open_server):
    # XEP-0368 direct TLS: the stream starts in the state after STARTTLS.
    c = Raw(open_server.tls_port)
    try:
        f = x.direct_tls(c)
        assert f.find(q(NS_FEATURE, "register")) is not None, ET.tostring(f)
        assert register_raw(c, "tess", "t3ss").get("type") == "result"
    finally:
        c.close()
    assert can_login(open_server.port, "tess", "t3ss")


def test_no_feature_before_tls(open_server):
    c = Raw(open_server.port)
    try:
        f = x.open_stream(c)
        assert f.find(q(NS_FEATURE, "register")) is None
        # Before TLS an iq is still refused with a stream error (TLS is required first).
        c.send("<iq type='get' id='g'><query xmlns='%s'/></iq>" % NS_REG)
        x.expect_stream_error(c, "not-authorized", reply_close=True)
    finally:
        c.close()


def test_raw_register_then_login_on_the_same_stream(open_server):
    c, _ = pre_auth(open_server.port)
    try:
        reply = register_raw(c, "carol", "c4rol pass")
        assert reply.get("type") == "result", ET.tostring(reply)
        # No 'to' was given, so the reply has neither 'from' nor 'to' (the client has no JID).
        assert reply.get("from") is None and reply.get("to") is None
        # §3.1.1: the client then authenticates with the new identity on the same stream.
        r = x.plain(c, "carol", "c4rol pass")
        assert r.tag == q(x.NS_SASL, "success"), ET.tostring(r)
        x.restart(c)
        assert x.bound_jid(x.bind(c, "r")) == "carol@localhost/r"
    finally:
        c.close()
    # And on a fresh connection, with a SCRAM client (slixmpp).
    async def body():
        carol = await login("carol@localhost/s", open_server.port, password="c4rol pass")
        await close_all(carol)
    clients.run(body(), 40)


def test_data_form_submission(open_server):
    c, _ = pre_auth(open_server.port)
    try:
        form = ("<x xmlns='jabber:x:data' type='submit'>"
                "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>"
                "<field var='username'><value>Dave</value></field>"
                "<field var='password'><value>d4ve</value></field></x>")
        reply = reg_iq(c, "f1", "set", form)
        assert reply.get("type") == "result", ET.tostring(reply)
        # A form missing a required field: XEP-0004 §4 validation, not-acceptable.
        reply = reg_iq(c, "f2", "set",
                       "<x xmlns='jabber:x:data' type='submit'>"
                       "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
                       "<field var='username'><value>eve</value></field></x>")
        assert x.stanza_error(reply) == ("modify", "not-acceptable")
        # A form that is not a submission is a bad request.
        reply = reg_iq(c, "f3", "set", "<x xmlns='jabber:x:data' type='form'/>")
        assert x.stanza_error(reply) == ("modify", "bad-request")
    finally:
        c.close()
    # The username was prepared (UsernameCaseMapped): dave logs in.
    assert can_login(open_server.port, "dave", "d4ve")
    assert not can_login(open_server.port, "eve", "")


def test_slixmpp_registers_and_logs_in(open_server):
    async def body():
        c = Client("frank@localhost/reg", "fr4nk",
                   plugins=("xep_0030", "xep_0004", "xep_0066", "xep_0077"))
        seen = {}

        async def on_register(form):
            seen["form"] = form
            iq = c.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = c.boundjid.user
            iq["register"]["password"] = c.password
            await iq.send(timeout=10)
            seen["registered"] = True

        c.add_event_handler("register", on_register)
        # slixmpp 1.8.3 queues every iq but bind/session until the session starts, so its own
        # xep_0077 registration hangs (the get is "NOT SENT"); this private switch lets the
        # pre-auth iqs out. A client bug, not a server one.
        c._always_send_everything = True
        c.connect_to(open_server.port)
        try:
            await c.wait_session()
            assert seen.get("registered")
            assert seen["form"]["register"].xml.find(q(NS_REG, "username")) is not None
        finally:
            await close_all(c)
        # A second client logs in with the new account.
        again = await login("frank@localhost/two", open_server.port, password="fr4nk")
        await close_all(again)
    clients.run(body(), 60)


def test_aioxmpp_registers(open_server):
    import aioxmpp
    import aioxmpp.connector
    import aioxmpp.ibr
    import aioxmpp.node

    async def body():
        jid = aioxmpp.JID.fromstr("grace@localhost")
        metadata = aioxmpp.make_security_layer(None, no_verify=True)
        transport, stream, features = await aioxmpp.node.connect_xmlstream(
            jid, metadata,
            override_peer=[("127.0.0.1", open_server.port, aioxmpp.connector.STARTTLSConnector())])
        try:
            fields = await aioxmpp.ibr.get_registration_fields(stream)
            used = set(aioxmpp.ibr.get_used_fields(fields))
            assert {(NS_REG, "username"), (NS_REG, "password")} <= used, used
            await aioxmpp.ibr.register(stream, aioxmpp.ibr.Query("grace", "gr4ce"))
        finally:
            stream.abort()
        client = clients.aioxmpp_client("grace@localhost", open_server.port, "gr4ce")
        async with client.connected():
            assert str(client.local_jid.bare()) == "grace@localhost"
    clients.run(body(), 60)


def test_conflict_for_existing_user(open_server):
    c, _ = pre_auth(open_server.port)
    try:
        reply = register_raw(c, "Alice", "other")  # prepared to "alice", which exists
        assert x.stanza_error(reply) == ("cancel", "conflict")
    finally:
        c.close()
    assert can_login(open_server.port, "alice", "secret")
    assert not can_login(open_server.port, "alice", "other")


@pytest.mark.parametrize("username", ["bad user", "a@b", "x/y", "\u00a0", "a" * 1024])
def test_invalid_username_is_not_acceptable(open_server, username):
    c, _ = pre_auth(open_server.port)
    try:
        reply = register_raw(c, username, "pw")
        assert x.stanza_error(reply) == ("modify", "not-acceptable"), ET.tostring(reply)
    finally:
        c.close()


@pytest.mark.parametrize("inner", [
    "<username>henry</username>",
    "<username>henry</username><password/>",
    "<username>henry</username><password></password>",
    "<password>pw</password>",
    "<username/><password>pw</password>",
])
def test_missing_fields_are_not_acceptable(open_server, inner):
    c, _ = pre_auth(open_server.port)
    try:
        reply = reg_iq(c, "m1", "set", inner)
        assert x.stanza_error(reply) == ("modify", "not-acceptable"), ET.tostring(reply)
        # The stream stays usable: a correct registration still works.
        assert register_raw(c, "henry", "h3nry", "m2").get("type") == "result"
    finally:
        c.close()


def test_malformed_requests(open_server):
    c, _ = pre_auth(open_server.port)
    try:
        # §3.2: <remove/> must be alone; and before login there is nothing to remove.
        reply = reg_iq(c, "b1", "set", "<remove/><username>x</username>")
        assert x.stanza_error(reply) == ("modify", "bad-request")
        reply = reg_iq(c, "b2", "set", "<remove/>")
        assert x.stanza_error(reply) == ("wait", "unexpected-request")
        # RFC 6120 §8.2.3: one payload per get/set.
        c.send("<iq type='get' id='b3'><query xmlns='%s'/><query xmlns='%s'/></iq>"
               % (NS_REG, NS_REG))
        assert x.stanza_error(x.wait_id(c, "b3")) == ("modify", "bad-request")
        # A malformed data form.
        reply = reg_iq(c, "b4", "set", "<x xmlns='jabber:x:data' type='submit'>"
                       "<field var='a'/><field var='a'/></x>")
        assert x.stanza_error(reply) == ("modify", "bad-request")
        # RFC 6120 §8.2.3: an iq needs an id.
        c.send("<iq type='get'><query xmlns='%s'/></iq>" % NS_REG)
        err = x.wait_element(c, lambda e: e.tag == q(NS_CLIENT, "iq") and e.get("id") is None)
        assert x.stanza_error(err) == ("modify", "bad-request")
        # Any other iq before authentication still ends the stream (RFC 6120 §4.9.3.12).
        c.send("<iq type='get' id='b5'><query xmlns='jabber:iq:roster'/></iq>")
        x.expect_stream_error(c, "not-authorized", reply_close=True)
    finally:
        c.close()


def test_only_the_server_can_be_addressed_before_login(open_server):
    c, _ = pre_auth(open_server.port)
    try:
        c.send("<iq type='get' id='o1' to='bob@localhost'><query xmlns='%s'/></iq>" % NS_REG)
        x.expect_stream_error(c, "not-authorized", reply_close=True)
    finally:
        c.close()


def test_disabled_by_default(server):
    """XEP-0077 §3.1: a host without in-band registration answers service-unavailable; and it
    offers no stream feature."""
    c, f = pre_auth(server.port)
    try:
        assert f.find(q(NS_FEATURE, "register")) is None, ET.tostring(f)
        assert x.mechanisms(f)
        assert x.stanza_error(reg_iq(c, "d1", "get")) == ("cancel", "service-unavailable")
        reply = register_raw(c, "ivan", "iv4n", "d2")
        assert x.stanza_error(reply) == ("cancel", "service-unavailable")
        # The stream is still open and authentication works.
        assert x.plain(c, "alice", "secret").tag == q(x.NS_SASL, "success")
    finally:
        c.close()
    assert not can_login(server.port, "ivan", "iv4n")


def test_allowed_per_domain(server_factory):
    s = server_factory(domains=("localhost", "closed.test"),
                       extra='[registration]\nallow = ["localhost"]\nthrottle_max = 0\n').start()
    c, f = pre_auth(s.port, "closed.test")
    try:
        assert f.find(q(NS_FEATURE, "register")) is None
        reply = register_raw(c, "judy", "judy")
        assert x.stanza_error(reply) == ("cancel", "service-unavailable")
    finally:
        c.close()
    c, f = pre_auth(s.port, "localhost")
    try:
        assert f.find(q(NS_FEATURE, "register")) is not None
        assert register_raw(c, "judy", "judy").get("type") == "result"
    finally:
        c.close()


def test_throttle_per_ip(server_factory):
    s = server_factory(extra="[registration]\nallow = true\nthrottle_max = 2\n"
                             "throttle_period = 3600\n").start()
    results = []
    for i, user in enumerate(["kim", "lee", "max"]):
        c, _ = pre_auth(s.port)
        try:
            results.append(register_raw(c, user, "pw%d" % i))
        finally:
            c.close()
    assert results[0].get("type") == "result"
    assert results[1].get("type") == "result"
    assert x.stanza_error(results[2]) == ("wait", "not-acceptable"), ET.tostring(results[2])
    text = results[2].find(q(NS_CLIENT, "error")).findtext(q(x.NS_STANZAS, "text"))
    assert "Too many" in text
    assert can_login(s.port, "lee", "pw1")
    assert not can_login(s.port, "max", "pw2")


# ---- after login (§3.2, §3.3) -------------------------------------------------------------------

def test_registered_info_and_disco(server):
    """Works whatever registration.allow says (docs/configuration.md)."""
    c = Raw(server.port)
    try:
        x.login(c, "alice", "secret", "r")
        reply = reg_iq(c, "i1", "get")
        query = reply.find(q(NS_REG, "query"))
        assert query.find(q(NS_REG, "registered")) is not None
        assert query.findtext(q(NS_REG, "username")) == "alice"
        assert not query.findtext(q(NS_REG, "password"))
        c.send("<iq type='get' id='d1' to='localhost'>"
               "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = x.wait_id(c, "d1")
        feats = [f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")]
        assert NS_REG in feats
        # Another account's registration is not ours to read.
        reply = reg_iq(c, "i2", "get", to="bob@localhost")
        assert x.stanza_error(reply) == ("auth", "forbidden")
    finally:
        c.close()


def test_change_password(server):
    c = Raw(server.port)
    try:
        x.login(c, "alice", "secret", "r")
        # An empty password MUST NOT change it (§3.3).
        reply = register_raw(c, "alice", "", "p0")
        assert x.stanza_error(reply) == ("modify", "bad-request")
        # Without <username/>: bad-request (§3.3).
        reply = reg_iq(c, "p1", "set", "<password>x</password>")
        assert x.stanza_error(reply) == ("modify", "bad-request")
        # Only the own account.
        reply = register_raw(c, "bob", "hijack", "p2")
        assert x.stanza_error(reply) == ("cancel", "not-allowed")
        # §3.3: the error does not return the original XML (the password).
        assert reply.find(q(NS_REG, "query")) is None, ET.tostring(reply)
        assert b"hijack" not in ET.tostring(reply)
        assert register_raw(c, "alice", "n3w secret", "p3").get("type") == "result"
    finally:
        c.close()
    assert can_login(server.port, "alice", "n3w secret")
    assert not can_login(server.port, "alice", "secret")
    assert can_login(server.port, "bob", "secret")

    # slixmpp's change_password (no 'to') and aioxmpp's change_pass (to the domain).
    async def body():
        alice = await login("alice@localhost/s", server.port, password="n3w secret",
                            plugins=("xep_0030", "xep_0004", "xep_0066", "xep_0077"))
        try:
            await alice["xep_0077"].change_password("slix pass", timeout=10)
        finally:
            await close_all(alice)
        import aioxmpp.ibr
        client = clients.aioxmpp_client("alice@localhost", server.port, "slix pass")
        async with client.connected():
            await client.summon(aioxmpp.ibr.RegistrationService).change_pass("aio pass")
    clients.run(body(), 60)
    assert can_login(server.port, "alice", "aio pass")
    assert not can_login(server.port, "alice", "slix pass")


def test_change_password_form_checks_old_password(server):
    c = Raw(server.port)
    try:
        x.login(c, "alice", "secret", "r")

        def form(old, new):
            return ("<x xmlns='jabber:x:data' type='submit'>"
                    "<field type='hidden' var='FORM_TYPE'>"
                    "<value>jabber:iq:register:changepassword</value></field>"
                    "<field var='username'><value>alice@localhost</value></field>"
                    "<field var='old_password'><value>%s</value></field>"
                    "<field var='password'><value>%s</value></field></x>" % (old, new))
        reply = reg_iq(c, "o1", "set", form("wrong", "new1"))
        assert x.stanza_error(reply) == ("modify", "not-authorized")
        assert reg_iq(c, "o2", "set", form("secret", "new2")).get("type") == "result"
    finally:
        c.close()
    assert can_login(server.port, "alice", "new2")


def test_cancel_deletes_data_and_ends_every_session(open_server):
    port = open_server.port
    c, _ = pre_auth(port)
    register_raw(c, "nina", "n1na")
    c.close()
    a = Raw(port)
    b = Raw(port)
    bob = Raw(port)
    try:
        x.login(a, "nina", "n1na", "a")
        x.login(b, "nina", "n1na", "b")
        x.login(bob, "bob", "secret", "b")
        add_roster_item(a, "bob@localhost")
        assert roster_items(a) == ["bob@localhost"]
        # An offline message (nina has no available resource).
        bob.send("<message to='nina@localhost' type='chat' id='m1'><body>stored</body></message>")
        # Let the server store it: bob's next iq is handled after his message.
        bob.send("<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert x.wait_id(bob, "ping1").get("type") == "result"

        reply = reg_iq(a, "c1", "set", "<remove/>")
        assert reply.get("type") == "result", ET.tostring(reply)
        # §3.2: then <not-authorized/> on every session of the account.
        x.expect_stream_error(a, "not-authorized", reply_close=True)
        x.expect_stream_error(b, "not-authorized", reply_close=True)
        # Messages to the removed account now bounce (RFC 6121 §8.5.1: no such account).
        bob.send("<message to='nina@localhost' type='chat' id='m2'><body>gone</body></message>")
        err = x.wait_id(bob, "m2")
        assert x.stanza_error(err) == ("cancel", "service-unavailable")
    finally:
        for conn in (a, b, bob):
            conn.close()
    assert not can_login(port, "nina", "n1na")
    # Re-register the same name: the roster and the offline message are gone.
    c, _ = pre_auth(port)
    try:
        assert register_raw(c, "nina", "again").get("type") == "result"
    finally:
        c.close()
    n = Raw(port)
    try:
        x.login(n, "nina", "again", "n")
        assert roster_items(n) == []
        n.send("<presence/>")
        x.no_element(n, lambda e: e.tag == q(NS_CLIENT, "message"), timeout=1.0)
    finally:
        n.close()


def test_cancel_with_slixmpp_and_aioxmpp(open_server):
    open_server.adduser("olga@localhost", "secret")
    open_server.adduser("pete@localhost", "secret")

    async def body():
        olga = await login("olga@localhost/s", open_server.port,
                           plugins=("xep_0030", "xep_0004", "xep_0066", "xep_0077"))
        other = await login("olga@localhost/other", open_server.port)
        try:
            await olga["xep_0077"].cancel_registration(timeout=10)
            await asyncio.wait_for(other.ended, 10)
            await asyncio.wait_for(olga.ended, 10)
        finally:
            await close_all(olga, other)
        import aioxmpp.errors
        import aioxmpp.ibr
        client = clients.aioxmpp_client("pete@localhost", open_server.port)
        # aioxmpp documents that cancel_registration() may raise even on success, as the
        # <not-authorized/> stream error follows the result; the checks below are server-side.
        try:
            async with client.connected():
                await client.summon(aioxmpp.ibr.RegistrationService).cancel_registration()
                await asyncio.sleep(1)
        except (aioxmpp.errors.StreamError, asyncio.CancelledError) as e:
            assert not isinstance(e, aioxmpp.errors.StreamError) or "not-authorized" in str(e)
    clients.run(body(), 60)
    assert not can_login(open_server.port, "olga", "secret")
    assert not can_login(open_server.port, "pete", "secret")
    assert can_login(open_server.port, "alice", "secret")


def test_post_login_operations_can_be_disabled(server_factory):
    s = server_factory(extra="[registration]\npassword_change = false\nremove = false\n")
    s.adduser("alice@localhost", "secret")
    s.start()
    c = Raw(s.port)
    try:
        x.login(c, "alice", "secret", "r")
        assert x.stanza_error(register_raw(c, "alice", "new", "n1")) == ("cancel", "not-allowed")
        assert x.stanza_error(reg_iq(c, "n2", "set", "<remove/>")) == ("cancel", "not-allowed")
    finally:
        c.close()
    assert can_login(s.port, "alice", "secret")


def test_starlingctl_deluser_removes_data(server_factory):
    s = server_factory()
    s.adduser("quinn@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()
    c = Raw(s.port)
    try:
        x.login(c, "quinn", "secret", "r")
        add_roster_item(c, "bob@localhost")
        assert roster_items(c) == ["bob@localhost"]
    finally:
        c.close()
    # An offline message for quinn (no available resource now).
    bob = Raw(s.port)
    try:
        x.login(bob, "bob", "secret", "b")
        bob.send("<message to='quinn@localhost' type='chat'><body>stored</body></message>")
        bob.send("<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert x.wait_id(bob, "ping1").get("type") == "result"
    finally:
        bob.close()
    r = s.ctl("deluser", "quinn@localhost")
    assert r.returncode == 0, r.stderr
    assert not can_login(s.port, "quinn", "secret")
    s.adduser("quinn@localhost", "secret")
    c = Raw(s.port)
    try:
        x.login(c, "quinn", "secret", "r")
        assert roster_items(c) == []
        c.send("<presence/>")
        x.no_element(c, lambda e: e.tag == q(NS_CLIENT, "message"), timeout=1.0)
    finally:
        c.close()


def test_cancel_tells_the_contacts(open_server):
    """Cancelling the account cancels its subscriptions as removing each contact would (RFC 6121
    §2.5.2): the contact sees it go unavailable, then unsubscribed and unsubscribe, and its
    roster item drops to subscription 'none'."""
    from test_presence import Peer, subscribe_mutually
    open_server.adduser("nina@localhost", "secret")
    nina = Peer(open_server, "nina", "n")
    bob = Peer(open_server, "bob", "b")
    try:
        subscribe_mutually(nina, bob)
        reply = reg_iq(nina.c, "c1", "set", "<remove/>")
        assert reply.get("type") == "result", ET.tostring(reply)
        bob.wait_presence("nina@localhost/n", "unavailable")
        bob.wait_presence("nina@localhost", "unsubscribed")
        bob.wait_presence("nina@localhost", "unsubscribe")
        bob.sync()
        assert bob.roster()["nina@localhost"].get("subscription") == "none"
    finally:
        nina.close()
        bob.close()
