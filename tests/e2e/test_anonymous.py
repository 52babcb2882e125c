"""RFC 4505 SASL ANONYMOUS on anonymous domains (`anonymous_domains`), end to end.

slixmpp (which uses ANONYMOUS when its JID has no localpart) logs in, gets a random JID, chats
with a normal user, and after it disconnects its JID no longer exists. Raw sockets check the
exact SASL exchange (trace information, invalid mechanisms), the roster and the contacts'
subscription state, and the clean-up at start-up after a crash. The database is read directly
(SQLite, read-only) to prove that nothing of an anonymous session is left behind."""
import asyncio
import os
import re
import sqlite3
import time
import xml.etree.ElementTree as ET

import clients
from clients import login, close_all, error_condition, run
from conftest import Raw, HEADER
import xmpp_raw as x
from xmpp_raw import q

ANON = "anon.localhost"
ANON_CONFIG = 'anonymous_domains = ["%s"]\n[registration]\nallow = true\nthrottle_max = 0\n' % ANON
NS_ROSTER = "jabber:iq:roster"
NS_CLIENT = "jabber:client"
NS_REG = "jabber:iq:register"
NS_REG_FEATURE = "http://jabber.org/features/iq-register"
PRESENCE = q(NS_CLIENT, "presence")
HEX32 = re.compile(r"[0-9a-f]{32}")


def anon_server(server_factory):
    s = server_factory(extra=ANON_CONFIG)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def header(domain):
    return HEADER.replace("to='localhost'", "to='%s'" % domain)


def tls_stream(port, domain=ANON):
    """A Raw connection after STARTTLS to `domain`; returns (conn, features)."""
    c = Raw(port)
    x.new_stream(c)
    c.send(header(domain))
    x.features(c)
    c.send("<starttls xmlns='%s'/>" % x.NS_TLS)
    x.wait_tag(c, q(x.NS_TLS, "proceed"))
    x.wrap_stdlib(c, x.client_context(), server_hostname=domain)
    return c, x.open_stream(c, header(domain))


def anon_login(port, trace=b"", resource=None):
    """ANONYMOUS login and resource binding on the anonymous domain; returns (conn, full JID)."""
    c, f = tls_stream(port)
    assert x.mechanisms(f) == ["ANONYMOUS"]
    x.sasl_send(c, "auth", trace if trace else "=", mechanism="ANONYMOUS")
    r = x.sasl_reply(c)
    assert r.tag == q(x.NS_SASL, "success"), ET.tostring(r)
    x.open_stream(c, header(ANON))
    return c, x.bound_jid(x.bind(c, resource))


def db(server):
    return sqlite3.connect("file:%s?mode=ro" % os.path.join(server.data_dir, "starling.db"),
                           uri=True, timeout=10)


def stored(server, user, domain=ANON):
    """(account rows, key-value rows) stored for an account."""
    con = db(server)
    try:
        accounts = con.execute("SELECT count(*) FROM accounts WHERE domain = ? AND username = ?",
                               (domain, user)).fetchone()[0]
        kv = con.execute("SELECT count(*) FROM kv WHERE domain = ? AND username = ?",
                         (domain, user)).fetchone()[0]
        return accounts, kv
    finally:
        con.close()


def anon_accounts(server):
    con = db(server)
    try:
        return [r[0] for r in con.execute("SELECT username FROM accounts WHERE domain = ?",
                                          (ANON,))]
    finally:
        con.close()


def wait_gone(server, user, timeout=10):
    """Waits (bounded) until nothing is stored for the account any more."""
    deadline = time.time() + timeout
    while stored(server, user) != (0, 0):
        assert time.time() < deadline, "still stored for %s: %s" % (user, stored(server, user))
        time.sleep(0.05)


def sync(c, iq_id):
    c.send("<iq type='get' id='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % iq_id)
    return x.wait_id(c, iq_id)


def roster(c, iq_id):
    c.send("<iq type='get' id='%s'><query xmlns='%s'/></iq>" % (iq_id, NS_ROSTER))
    reply = x.wait_id(c, iq_id)
    return {i.get("jid"): i.get("subscription")
            for i in reply.iter(q(NS_ROSTER, "item"))}


def wait_presence(c, frm, ptype, timeout=5):
    return x.wait_element(c, lambda e: e.tag == PRESENCE and e.get("from") == frm
                          and (e.get("type") or "") == ptype, timeout,
                          what="presence %r from %s" % (ptype, frm))


def subscribe_mutually(a, a_bare, b, b_bare):
    a.send("<presence to='%s' type='subscribe'/>" % b_bare)
    wait_presence(b, a_bare, "subscribe")
    b.send("<presence to='%s' type='subscribed'/>" % a_bare)
    wait_presence(a, b_bare, "subscribed")
    b.send("<presence to='%s' type='subscribe'/>" % a_bare)
    wait_presence(a, b_bare, "subscribe")
    a.send("<presence to='%s' type='subscribed'/>" % b_bare)
    wait_presence(b, a_bare, "subscribed")


# ---- slixmpp -------------------------------------------------------------------------------------

def test_slixmpp_anonymous_login_chats_and_its_jid_is_gone_afterwards(server_factory):
    s = anon_server(server_factory)

    async def body():
        alice = await login("alice@localhost/a", s.port)
        # No localpart and no password: slixmpp picks SASL ANONYMOUS.
        anon = await login(ANON, s.port, password="")
        try:
            await alice.presence()
            await anon.presence()
            jid = anon.boundjid
            assert jid.domain == ANON and HEX32.fullmatch(jid.user), jid
            anon.say("alice@localhost", "hello from nowhere")
            m = await alice.next_message(pred=lambda m: m["body"] == "hello from nowhere")
            assert m["from"] == jid
            alice.say(jid.full, "hello back")
            m = await anon.next_message(pred=lambda m: m["body"] == "hello back")
            assert m["from"].bare == "alice@localhost"
            # The same to the bare JID (RFC 6121 §8.5.2: the available resource gets it).
            alice.say(jid.bare, "to your bare JID")
            await anon.next_message(pred=lambda m: m["body"] == "to your bare JID")
            assert stored(s, jid.user)[0] == 1
            await anon.close()
            wait_gone(s, jid.user)
            # The account no longer exists (RFC 6121 §8.5.1): service-unavailable, to the bare
            # and the full JID alike.
            for to in (jid.bare, jid.full):
                alice.say(to, "anyone there?")
                err = await alice.next_message(pred=lambda m: m["type"] == "error"
                                               and m["from"] == to)
                assert error_condition(err) == "service-unavailable"
        finally:
            await close_all(alice, anon)
    run(body())
    assert "anonymous login as" in s.log()


def test_slixmpp_fresh_account_per_login(server_factory):
    s = anon_server(server_factory)

    async def body():
        one = await login(ANON, s.port, password="")
        two = await login(ANON, s.port, password="")
        try:
            assert one.boundjid.bare != two.boundjid.bare
            for c in (one, two):
                assert HEX32.fullmatch(c.boundjid.user)
            # Two live anonymous users can talk to each other.
            one.say(two.boundjid.full, "hi two")
            m = await two.next_message(pred=lambda m: m["body"] == "hi two")
            assert m["from"] == one.boundjid
        finally:
            await close_all(one, two)
    run(body())


def test_slixmpp_anonymous_is_refused_on_a_normal_domain(server_factory):
    s = anon_server(server_factory)

    async def body():
        c = clients.Client("localhost", "")
        c.connect_to(s.port)
        try:
            done, _ = await asyncio.wait({c.started, c.auth_failed, c.ended}, timeout=20,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert c.started not in done
            assert done, "no outcome"
        finally:
            await c.close()
    run(body())


# ---- the exact exchange --------------------------------------------------------------------------

def test_only_anonymous_is_offered_and_accepted_there(server_factory):
    s = anon_server(server_factory)
    c, f = tls_stream(s.port)
    try:
        assert x.mechanisms(f) == ["ANONYMOUS"]
        assert x.cb_types(f) == []
        # XEP-0077 is not offered there, although registration.allow = true.
        assert f.find(q(NS_REG_FEATURE, "register")) is None
        for mech, data in (("PLAIN", b"\0alice\0secret"), ("SCRAM-SHA-256", b"n,,n=a,r=abc")):
            x.sasl_send(c, "auth", data, mechanism=mech)
            assert x.failure_condition(x.sasl_reply(c)) == "invalid-mechanism"
        c.send("<iq type='get' id='r1'><query xmlns='%s'/></iq>" % NS_REG)
        assert x.stanza_error(x.wait_id(c, "r1")) == ("cancel", "service-unavailable")
        c.send("<iq type='set' id='r2'><query xmlns='%s'><username>x</username>"
               "<password>y</password></query></iq>" % NS_REG)
        assert x.stanza_error(x.wait_id(c, "r2")) == ("cancel", "service-unavailable")
    finally:
        c.close()
    # And logged in: still no registration to read, change or cancel.
    a, jid = anon_login(s.port)
    try:
        a.send("<iq type='get' id='g'><query xmlns='%s'/></iq>" % NS_REG)
        assert x.stanza_error(x.wait_id(a, "g")) == ("cancel", "service-unavailable")
        a.send("<iq type='set' id='rm'><query xmlns='%s'><remove/></query></iq>" % NS_REG)
        assert x.stanza_error(x.wait_id(a, "rm")) == ("cancel", "service-unavailable")
    finally:
        a.close()


def test_normal_domain_never_offers_or_accepts_anonymous(server_factory):
    s = anon_server(server_factory)
    c, f = tls_stream(s.port, "localhost")
    try:
        mechs = x.mechanisms(f)
        assert "ANONYMOUS" not in mechs and "PLAIN" in mechs
        assert f.find(q(NS_REG_FEATURE, "register")) is not None
        x.sasl_send(c, "auth", b"sirhc", mechanism="ANONYMOUS")
        assert x.failure_condition(x.sasl_reply(c)) == "invalid-mechanism"
        x.sasl_send(c, "auth", None, mechanism="ANONYMOUS")
        assert x.failure_condition(x.sasl_reply(c)) == "invalid-mechanism"
        # The stream goes on: a normal login still works.
        assert x.plain(c, "alice", "secret").tag == q(x.NS_SASL, "success")
    finally:
        c.close()


def test_trace_information(server_factory):
    s = anon_server(server_factory)
    # RFC 4505 §4's example: the trace "sirhc", logged and otherwise ignored.
    c, jid = anon_login(s.port, trace=b"sirhc")
    c.close()
    assert "(trace: 'sirhc')" in s.log()
    # 255 characters of two octets each is the most (§2: token = 1*255TCHAR).
    c, _ = anon_login(s.port, trace=("\u00e9" * 255).encode())
    c.close()
    # Too long, a control character, not UTF-8: <malformed-request/>.
    for bad in (b"a" * 256, b"line\nfeed", b"\xff\xfe"):
        c, f = tls_stream(s.port)
        try:
            x.sasl_send(c, "auth", bad, mechanism="ANONYMOUS")
            assert x.failure_condition(x.sasl_reply(c)) == "malformed-request", bad
        finally:
            c.close()
    # No initial response: an empty challenge, then the trace in a <response/> (RFC 6120
    # §6.4.2); an empty response is an empty trace.
    c, f = tls_stream(s.port)
    try:
        x.sasl_send(c, "auth", None, mechanism="ANONYMOUS")
        ch = x.sasl_reply(c)
        assert ch.tag == q(x.NS_SASL, "challenge") and not (ch.text or "").strip("=")
        x.sasl_send(c, "response", None)
        assert x.sasl_reply(c).tag == q(x.NS_SASL, "success")
    finally:
        c.close()


def test_no_second_session_on_an_anonymous_account(server_factory):
    s = anon_server(server_factory)
    a, jid = anon_login(s.port, resource="one")
    user = jid.split("@")[0]
    try:
        # Nobody can authenticate as that account: ANONYMOUS is the only mechanism there and
        # each login gets a fresh one.
        c, f = tls_stream(s.port)
        try:
            x.sasl_send(c, "auth", ("\0%s\0" % user).encode() + b"x", mechanism="PLAIN")
            assert x.failure_condition(x.sasl_reply(c)) == "invalid-mechanism"
            x.sasl_send(c, "auth", "=", mechanism="ANONYMOUS")  # an empty trace
            assert x.sasl_reply(c).tag == q(x.NS_SASL, "success")
            x.open_stream(c, header(ANON))
            other = x.bound_jid(x.bind(c, "one"))
            assert other.split("/")[0] != jid.split("/")[0]
        finally:
            c.close()
        # Nor a second resource on the same stream (RFC 6120 §7: one per stream).
        reply = x.bind(a, "two", iq_id="bind2")
        assert x.stanza_error(reply) == ("cancel", "not-allowed")
        assert sync(a, "still").get("type") == "result"
    finally:
        a.close()


def test_contacts_are_told_and_everything_is_deleted(server_factory):
    s = anon_server(server_factory)
    alice = Raw(s.port)
    a, jid = anon_login(s.port, resource="r")
    anon_bare, user = jid.split("/")[0], jid.split("@")[0]
    try:
        x.login(alice, "alice", "secret", "a")
        roster(alice, "ra")
        alice.send("<presence/>")
        sync(alice, "s1")
        roster(a, "rn")
        a.send("<presence/>")
        sync(a, "s2")
        subscribe_mutually(a, anon_bare, alice, "alice@localhost")
        assert roster(alice, "ra2")[anon_bare] == "both"
        assert roster(a, "rn2")["alice@localhost"] == "both"
        # It stores data like any account (its roster, here).
        accounts, kv = stored(s, user)
        assert accounts == 1 and kv > 0
        # The session ends.
        a.send("</stream:stream>")
        x.wait_closed_stream(a)
        a.close()
        # The contact sees it go unavailable, then the subscriptions end both ways (RFC 6121
        # §2.5.2 as for a deleted account) and its roster says so.
        wait_presence(alice, jid, "unavailable")
        wait_presence(alice, anon_bare, "unsubscribe")
        wait_presence(alice, anon_bare, "unsubscribed")
        wait_gone(s, user)
        assert roster(alice, "ra3").get(anon_bare) == "none"
        # Its JID is gone: service-unavailable for a message and an iq.
        alice.send("<message to='%s' id='m1' type='chat'><body>hi</body></message>" % anon_bare)
        assert x.stanza_error(x.wait_id(alice, "m1")) == ("cancel", "service-unavailable")
        alice.send("<iq to='%s' id='v1' type='get'><query xmlns='jabber:iq:version'/></iq>"
                   % anon_bare)
        assert x.stanza_error(x.wait_id(alice, "v1"))[1] == "service-unavailable"
    finally:
        alice.close()
        a.close()
    assert anon_accounts(s) == []


def test_account_deleted_even_without_binding(server_factory):
    s = anon_server(server_factory)
    c, f = tls_stream(s.port)
    x.sasl_send(c, "auth", "=", mechanism="ANONYMOUS")
    assert x.sasl_reply(c).tag == q(x.NS_SASL, "success")
    assert len(anon_accounts(s)) == 1
    c.close()  # the TCP connection just drops, before any resource was bound
    deadline = time.time() + 10
    while anon_accounts(s):
        assert time.time() < deadline, anon_accounts(s)
        time.sleep(0.05)


def test_restart_after_a_crash_deletes_what_anonymous_sessions_left(server_factory):
    s = anon_server(server_factory)
    alice = Raw(s.port)
    a, jid = anon_login(s.port)
    anon_bare, user = jid.split("/")[0], jid.split("@")[0]
    try:
        x.login(alice, "alice", "secret", "a")
        roster(alice, "ra")
        alice.send("<presence/>")
        sync(alice, "s1")
        roster(a, "rn")
        a.send("<presence/>")
        sync(a, "s2")
        subscribe_mutually(a, anon_bare, alice, "alice@localhost")
        assert roster(alice, "ra2")[anon_bare] == "both"
        # kill -9: the session never ends cleanly.
        s.proc.kill()
        s.proc.wait()
        s.proc = None
        s._log.close()
    finally:
        alice.close()
        a.close()
    assert stored(s, user)[0] == 1  # left behind by the crash
    s.start()
    wait_gone(s, user)
    assert "removing 1 anonymous account(s) of %s" % ANON in s.log()
    # The contact's subscription to it ended too. The contact's roster is updated when the
    # unsubscribe/unsubscribed presences reach it, which may be just after the deletion.
    alice = Raw(s.port)
    try:
        x.login(alice, "alice", "secret", "a2")
        deadline = time.time() + 10
        n = 0
        while roster(alice, "ra%d" % n).get(anon_bare) != "none":
            assert time.time() < deadline, roster(alice, "last")
            n += 1
            time.sleep(0.05)
    finally:
        alice.close()


def test_shutdown_with_anonymous_sessions_open(server_factory):
    """SIGTERM ends the anonymous sessions with <system-shutdown/>; the server exits cleanly, and
    whatever deletion did not finish before it stopped is done at the next start."""
    s = anon_server(server_factory)
    a, jid = anon_login(s.port)
    user = jid.split("@")[0]
    try:
        assert s.stop() == 0
    finally:
        a.close()
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        assert marker not in s.log()
    s.start()
    wait_gone(s, user)
    assert anon_accounts(s) == []
