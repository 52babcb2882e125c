"""Self-check of the federation harness (federation.py): Prosody and ejabberd, run as our own
processes on loopback, federate with each other through the fake DNS server and the test CA.

A user on prosody.test and one on ejabberd.test subscribe to each other, see each other's
presence and exchange messages both ways: once with certificates from the test CA on both sides
(each server authenticates the other with SASL EXTERNAL, s2s_secure_auth / no dialback), once
with ejabberd presenting a self-signed certificate that Prosody does not trust, where
ejabberd -> Prosody must fall back to Server Dialback (XEP-0220).

Skips only when Prosody or ejabberd is not installed (or ejabberdctl cannot run: it needs root
or the ejabberd user). lua-unbound missing is a failure: scripts/install-deps.sh installs it."""
import re

import pytest

import federation
from clients import close_all, run
from federation import federate, wait_log

PASSWORD = "secret"


def _skip_reason():
    return federation.Prosody.available() or federation.Ejabberd.available()


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "")


@pytest.fixture
def world():
    """CA + fake DNS in a fresh work directory; yields (ca, dns, start, workdir) where
    start(peer) starts a peer and registers it for teardown. Everything is stopped and the
    directory removed at teardown."""
    with federation.World() as w:
        yield w.ca, w.dns, w.start, w.dir


def test_certificates_sasl_external(world):
    ca, dns, start, tmp = world
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, dns=dns, secure_auth=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))
    run(federate(p, e), 180)
    # Prosody accepted ejabberd's certificate for its incoming stream, and ejabberd Prosody's.
    wait_log(p, r"Accepting SASL EXTERNAL identity from ejabberd\.test")
    wait_log(p, r"SASL EXTERNAL with ejabberd\.test succeeded")
    wait_log(e, r"Accepted inbound s2s EXTERNAL authentication prosody\.test -> ejabberd\.test")
    wait_log(e, r"Accepted outbound s2s EXTERNAL authentication ejabberd\.test -> prosody\.test")
    plog, elog = p.log(), e.log()
    assert "dialback" not in (plog + elog).lower()
    # The lookups went through the fake DNS server.
    assert ("_xmpp-server._tcp.ejabberd.test", "SRV") in dns.queries
    assert ("_xmpp-server._tcp.prosody.test", "SRV") in dns.queries


def test_untrusted_certificate_dialback(world):
    ca, dns, start, tmp = world
    bad = federation.self_signed(tmp + "/bad", "ejabberd.test")
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=False, dialback=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, cert=bad, dns=dns, secure_auth=False, dialback=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))
    run(federate(p, e), 180)
    plog = p.log()
    # ejabberd's certificate is not trusted: Prosody must not have accepted EXTERNAL from it,
    # and verified its dialback key with the authoritative server (ejabberd.test) instead.
    assert "Accepting SASL EXTERNAL identity from ejabberd.test" not in plog
    assert re.search(r"verified dialback key|asking ejabberd\.test if key", plog), plog[-5000:]
    wait_log(e, r"Accepted outbound s2s dialback authentication ejabberd\.test -> prosody\.test")
    # The other direction: ejabberd trusts the CA that issued Prosody's certificate.
    wait_log(e, r"Accepted inbound s2s EXTERNAL authentication prosody\.test -> ejabberd\.test")


def test_untrusted_certificate_refused_when_certificates_required(world):
    """The secure_auth option is enforced: Prosody requires valid certificates (no dialback);
    ejabberd's is self-signed, so ejabberd -> Prosody fails and bob's message bounces, and
    alice receives nothing."""
    ca, dns, start, tmp = world
    bad = federation.self_signed(tmp + "/bad", "ejabberd.test")
    p = start(federation.Prosody(ca=ca, dns=dns, secure_auth=True,
                                 users={"alice": PASSWORD}, workdir=tmp + "/prosody"))
    e = start(federation.Ejabberd(ca=ca, cert=bad, dns=dns, secure_auth=False, dialback=True,
                                  users={"bob": PASSWORD}, workdir=tmp + "/ejabberd"))

    async def body():
        alice = await federation.login_at(p, "alice", PASSWORD)
        bob = await federation.login_at(e, "bob", PASSWORD)
        try:
            alice.send_presence()
            bob.send_presence()
            bob.say(alice.boundjid.bare, "should not arrive")
            err = await bob.next_message(60, pred=lambda m: m["type"] == "error")
            assert err["from"].bare == alice.boundjid.bare
            await alice.no_message(1.0)
            return err["error"]["condition"]
        finally:
            await close_all(alice, bob)
    cond = run(body(), 120)
    assert cond in ("remote-server-not-found", "remote-server-timeout", "not-authorized"), cond
    plog = p.log()
    assert "Forbidding insecure connection to/from ejabberd.test" in plog, plog[-5000:]
    assert "Accepting SASL EXTERNAL identity from ejabberd.test" not in plog
    assert "Accepted outbound s2s" not in e.log()
