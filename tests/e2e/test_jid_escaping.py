"""XEP-0106 JID escaping, end to end: escaped localparts are ordinary JIDs to the server.
`starlingctl` takes them as typed (d\\27artagnan) or escapes a typed localpart that needs it
(d'artagnan, space cadet) and stores the escaped form; in-band registration takes the escaped
form; slixmpp logs in with an escaped JID and exchanges messages with it."""
import xml.etree.ElementTree as ET

from clients import login, close_all, run
from conftest import Raw, HEADER
import xmpp_raw as x
from xmpp_raw import q

NS_REG = "jabber:iq:register"


def users(s):
    r = s.ctl("users")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_starlingctl_escapes_and_accepts_escaped_localparts(server_factory):
    s = server_factory()
    # Typed unescaped: escaped per XEP-0106 and stored so, with a note.
    r = s.ctl("adduser", "d'artagnan@localhost", input="secret\n")
    assert r.returncode == 0, r.stderr
    assert "d\\27artagnan@localhost" in r.stdout
    assert "escaped" in r.stderr
    r = s.ctl("adduser", "space cadet@localhost", input="secret\n")
    assert r.returncode == 0, r.stderr
    r = s.ctl("adduser", "user@host@localhost", input="secret\n")
    assert r.returncode == 0, r.stderr
    # An escape-like sequence in typed text has its backslash escaped (§4.2 rule 3).
    r = s.ctl("adduser", "c:\\5commas@localhost", input="secret\n")
    assert r.returncode == 0, r.stderr
    assert users(s) == sorted(["c\\3a\\5c5commas@localhost", "d\\27artagnan@localhost",
                               "space\\20cadet@localhost", "user\\40host@localhost"])
    # Typed escaped: the same account (exit code 4, exists).
    r = s.ctl("adduser", "d\\27artagnan@localhost", input="secret\n")
    assert r.returncode == 4, (r.stdout, r.stderr)
    # passwd and deluser take either form.
    r = s.ctl("passwd", "space\\20cadet@localhost", input="newpass\n")
    assert r.returncode == 0, r.stderr
    r = s.ctl("deluser", "user@host@localhost")
    assert r.returncode == 0, r.stderr
    r = s.ctl("deluser", "c\\3a\\5c5commas@localhost")
    assert r.returncode == 0, r.stderr
    assert users(s) == ["d\\27artagnan@localhost", "space\\20cadet@localhost"]
    # Not a JID even after escaping.
    r = s.ctl("adduser", "no domain here", input="x\n")
    assert r.returncode == 2, (r.stdout, r.stderr)
    s.start()
    # The password changed through the escaped form works for the account.
    c = Raw(s.port)
    try:
        x.starttls(c)
        assert x.plain(c, "space\\20cadet", "newpass").tag == q(x.NS_SASL, "success")
    finally:
        c.close()


def test_slixmpp_escaped_jid_logs_in_and_chats(server_factory):
    s = server_factory()
    s.adduser("alice@localhost", "secret")
    assert s.ctl("adduser", "d'artagnan@localhost", input="secret\n").returncode == 0
    s.start()

    async def body():
        alice = await login("alice@localhost/a", s.port)
        dart = await login("d\\27artagnan@localhost/gate", s.port)
        try:
            await alice.presence()
            await dart.presence()
            assert dart.boundjid.full == "d\\27artagnan@localhost/gate"
            dart.say("alice@localhost", "All for one")
            m = await alice.next_message(pred=lambda m: m["body"] == "All for one")
            # The server never unescapes (XEP-0106 §4.1): the wire form arrives.
            assert str(m["from"]) == "d\\27artagnan@localhost/gate"
            alice.say("d\\27artagnan@localhost", "one for all")
            m = await dart.next_message(pred=lambda m: m["body"] == "one for all")
            assert str(m["from"]).startswith("alice@localhost")
        finally:
            await close_all(alice, dart)
    run(body())


def test_registration_takes_escaped_localparts(server_factory):
    s = server_factory(extra="[registration]\nallow = true\nthrottle_max = 0\n")
    s.start()
    c = Raw(s.port)
    try:
        x.starttls(c)
        c.send("<iq type='set' id='r1'><query xmlns='%s'><username>at\\26t\\20guy</username>"
               "<password>pw</password></query></iq>" % NS_REG)
        assert x.wait_id(c, "r1").get("type") == "result"
        # The unescaped form is not a localpart (RFC 7622 §3.3.1); the client must escape it.
        c.send("<iq type='set' id='r2'><query xmlns='%s'><username>at&amp;t guy2</username>"
               "<password>pw</password></query></iq>" % NS_REG)
        assert x.stanza_error(x.wait_id(c, "r2")) == ("modify", "not-acceptable")
    finally:
        c.close()
    assert "at\\26t\\20guy@localhost" in users(s)
    c = Raw(s.port)
    try:
        assert x.login(c, "at\\26t\\20guy", "pw", "r") == "at\\26t\\20guy@localhost/r"
    finally:
        c.close()
