"""XEP-0163 PEP across servers: contacts on another server get notifications filtered by their
XEP-0115 '+notify' features, which the account's server learns by asking the remote client for
its disco#info node#ver over s2s (§4.4), and the last item when they come online (§4.3.2).

Two Starlings (a.test on 127.0.0.1, b.test on 127.0.0.2, certificates from the test CA) and,
when Prosody is installed, Prosody 0.12 (prosody.test, with mod_pep, found through the fake DNS
server). The clients are slixmpp (xep_0060, xep_0163, xep_0172 nick with its +notify interest,
xep_0115 caps)."""
import asyncio
import os
import tempfile

import pytest

import federation
import pubsub_util as pu
from pubsub_util import NS_NICK, NS_PUBSUB, BARE_PLUGINS, close_all, run, is_event

A, B = "a.test", "b.test"
# The first stanza to another server waits for the s2s link (dial-up, TLS, authentication).
FED_WAIT = 30


class StarlingPair:
    """a.test and b.test federating with certificates of one test CA ([s2s.hosts] entries)."""

    def __init__(self, server_factory, users=("alice", "bob", "carol", "dave")):
        self.dir = tempfile.mkdtemp(prefix="starling-pep-s2s-")
        ca = federation.CA(os.path.join(self.dir, "ca"))
        ports = {A: ("127.0.0.1", federation.free_port("127.0.0.1")),
                 B: ("127.0.0.2", federation.free_port("127.0.0.2"))}
        self.servers = {}
        for dom, other in ((A, B), (B, A)):
            addr, port = ports[dom]
            oaddr, oport = ports[other]
            cert, key = ca.issue(dom)
            s = server_factory(
                domains=(dom,),
                extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                s2s_address=addr, s2s_port=port,
                s2s_extra='ca_file = "%s"\nconnect_timeout = 10\n[s2s.hosts]\n'
                          '"%s" = { address = "%s:%d" }\n' % (ca.path, other, oaddr, oport))
            for u in users:
                s.adduser("%s@%s" % (u, dom), "secret")
            self.servers[dom] = s
        for s in self.servers.values():
            s.start()

    def __getitem__(self, dom):
        return self.servers[dom]


async def login(jid, port, plugins=pu.PLUGINS, address="127.0.0.1"):
    c = pu.PubClient(jid, plugins=plugins)
    c.connect((address, port))
    try:
        await c.wait_session()
        await c.presence()
    except BaseException:
        await c.close()
        raise
    return c


def is_presence_from(frm, ptype):
    return lambda s: (s.name == "presence" and s["from"].bare == frm and
                      (s["type"] or "available") == ptype)


async def roster_subscription(c, contact):
    r = await c.iq(None, "<query xmlns='jabber:iq:roster'/>")
    return {i.get("jid"): i.get("subscription")
            for i in r.xml.iter("{jabber:iq:roster}item")}.get(contact)


async def befriend(x, y):
    """Mutual presence subscription across servers (RFC 6121 §3.1): each asks, the other
    approves once the request has arrived; waits for 'both' on both rosters and for each
    other's available presence (which carries the caps the servers then verify)."""
    for a, b in ((x, y), (y, x)):
        m = b.mark()
        a.send_presence(pto=b.bare, ptype="subscribe")
        await b.expect(is_presence_from(a.bare, "subscribe"), since=m, timeout=FED_WAIT,
                       what="subscription request")
        b.send_presence(pto=a.bare, ptype="subscribed")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FED_WAIT
    for c, other in ((x, y), (y, x)):
        while await roster_subscription(c, other.bare) != "both":
            assert loop.time() < deadline, "%s: no 'both' with %s" % (c.bare, other.bare)
            await asyncio.sleep(0.1)
        await c.expect(is_presence_from(other.bare, "available"), timeout=FED_WAIT,
                       what="the contact's presence")


def nick_is(text):
    def p(k, _s):
        return any((list(it) or [None])[0] is not None and list(it)[0].text == text
                   for it in k.findall("{%s}item" % pu.NS_EVENT))
    return p


async def publish_nick(c, text):
    await c.iq(None, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
               "<nick xmlns='%s'>%s</nick></item></publish></pubsub>"
               % (NS_PUBSUB, NS_NICK, NS_NICK, text), "set")


def test_pep_between_starlings(server_factory):
    """alice@a.test and bob@b.test are contacts; carol@b.test is a contact without +notify for
    nick; dave@b.test is no contact. alice's nick reaches bob only (his caps verified by a.test
    over s2s), bob's nick reaches alice, bob reads alice's node and dave is refused
    (presence-subscription-required, across s2s), and bob's next session gets the last nick."""
    p = StarlingPair(server_factory)

    async def body():
        alice = await login("alice@a.test/home", p[A].port)
        bob = await login("bob@b.test/work", p[B].port, address="127.0.0.1")
        carol = await login("carol@b.test/work", p[B].port, plugins=BARE_PLUGINS)
        dave = await login("dave@b.test/work", p[B].port)
        bob2 = None
        try:
            await befriend(alice, bob)
            await befriend(alice, carol)
            since = {c: c.mark() for c in (alice, bob, carol, dave)}
            await publish_nick(alice, "Ally")
            _, m = await bob.expect(is_event(alice.bare, NS_NICK, pred=nick_is("Ally")),
                                    since=since[bob], timeout=FED_WAIT,
                                    what="alice's nick at bob (remote +notify)")
            assert str(m["from"]) == alice.bare, m
            await alice.expect(is_event(alice.bare, NS_NICK), since=since[alice])
            # carol did not ask for nicks; dave is not a contact. The barrier is a request to
            # alice's account, handled where her notifications are sent, answered on the same
            # s2s link after them.
            for c in (carol, dave):
                await pu.barrier(c, alice.bare, timeout=FED_WAIT)
                assert not c.found(is_event(alice.bare), since[c]), c.seen

            # The other way: b.test learns alice's caps.
            ma = alice.mark()
            await publish_nick(bob, "Bobby")
            await alice.expect(is_event(bob.bare, NS_NICK, pred=nick_is("Bobby")), since=ma,
                               timeout=FED_WAIT, what="bob's nick at alice")

            # §4.1 presence access across servers: the contact reads, the stranger may not.
            r = await pu.get_items(bob, NS_NICK, to=alice.bare)
            assert [pu.entry_text(x) for _, x in pu.items_of(r)] == ["Ally"], r
            e = await dave.error(alice.bare, "<pubsub xmlns='%s'><items node='%s'/></pubsub>"
                                 % (NS_PUBSUB, NS_NICK), "get", timeout=FED_WAIT)
            e.check("not-authorized", "presence-subscription-required", etype="auth")

            # §4.3.2: a new session of the remote contact gets the last item once a.test has
            # its caps (the same ver: known at once).
            await close_all(bob)
            await publish_nick(alice, "Ally again")
            bob2 = await login("bob@b.test/phone", p[B].port)
            _, m = await bob2.expect(is_event(alice.bare, NS_NICK, pred=nick_is("Ally again")),
                                     timeout=FED_WAIT, what="last nick at bob's new session")
        finally:
            await close_all(*(c for c in (alice, bob, carol, dave, bob2) if c is not None))
    run(body(), 180)


def _prosody_missing():
    return federation.Prosody.available()


class ProsodyWithPep(federation.Prosody):
    """federation.Prosody with mod_pep (its module list may be set only once)."""

    def write_config(self):
        super().write_config()
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace('"posix" }', '"posix"; "pep" }', 1))


@pytest.mark.skipif(bool(_prosody_missing()), reason=_prosody_missing() or "")
def test_pep_with_prosody(server_factory):
    """alice@a.test (Starling) and bob@prosody.test (Prosody 0.12 with mod_pep) are contacts:
    alice's nick reaches bob's client (Starling verified its caps through Prosody), bob's nick
    (published on Prosody) reaches alice (Prosody asked alice's client through Starling), and
    each reads the other's node."""
    with federation.World() as w:
        cert, key = w.ca.issue("a.test")
        s = server_factory(domains=("a.test",),
                           extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                           s2s_extra='ca_file = "%s"\ndns_server = "%s"\n'
                           % (w.ca.path, w.dns.addr_port))
        s.adduser("alice@a.test", "secret")
        s.start()
        w.dns.add_server("a.test", "127.0.0.1", s.s2s_port)
        peer = w.start(ProsodyWithPep(ca=w.ca, dns=w.dns, secure_auth=True,
                                      users={"bob": "secret"}, workdir=w.path("prosody")))

        async def body():
            alice = await login("alice@a.test/home", s.port)
            bob = await login("bob@%s/p" % peer.domain, peer.c2s_port, address=peer.address)
            try:
                await befriend(alice, bob)
                mb = bob.mark()
                await publish_nick(alice, "Ally")
                _, m = await bob.expect(is_event(alice.bare, NS_NICK, pred=nick_is("Ally")),
                                        since=mb, timeout=FED_WAIT,
                                        what="alice's nick at the Prosody user")
                assert m["from"].bare == alice.bare, m
                ma = alice.mark()
                await publish_nick(bob, "Bob on Prosody")
                await alice.expect(is_event(bob.bare, NS_NICK, pred=nick_is("Bob on Prosody")),
                                   since=ma, timeout=FED_WAIT,
                                   what="the Prosody user's nick at alice")
                r = await pu.get_items(bob, NS_NICK, to=alice.bare)
                assert [pu.entry_text(x) for _, x in pu.items_of(r)] == ["Ally"], r
                r = await pu.get_items(alice, NS_NICK, to=bob.bare)
                assert [pu.entry_text(x) for _, x in pu.items_of(r)] == ["Bob on Prosody"], r
            finally:
                await close_all(alice, bob)
        run(body(), 180)
