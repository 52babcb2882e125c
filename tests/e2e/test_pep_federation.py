"""XEP-0163 PEP across servers: contacts on another server get notifications filtered by their
XEP-0115 '+notify' features, which the account's server learns by asking the remote client for
its disco#info node#ver over s2s (§4.4), and the last item when they come online (§4.3.2).

Two Starlings (a.test on 127.0.0.1, b.test on 127.0.0.2, certificates from the test CA) and,
when Prosody is installed, Prosody 0.12 (prosody.test, with mod_pep, found through the fake DNS
server) and ejabberd 23.01 (ejabberd.test, mod_pubsub with the PEP plugin). The clients are
slixmpp (xep_0060, xep_0163, xep_0172 nick with its +notify interest,
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

    def __init__(self, server_factory, users=("alice", "bob", "carol", "dave"),
                 subdomains=()):
        self.dir = tempfile.mkdtemp(prefix="starling-pep-s2s-")
        ca = federation.CA(os.path.join(self.dir, "ca"))
        ports = {A: ("127.0.0.1", federation.free_port("127.0.0.1")),
                 B: ("127.0.0.2", federation.free_port("127.0.0.2"))}
        self.servers = {}
        for dom, other in ((A, B), (B, A)):
            addr, port = ports[dom]
            oaddr, oport = ports[other]
            cert, key = ca.issue(dom, subdomains=subdomains)
            hosts = "".join('"%s" = { address = "%s:%d" }\n' % (h, oaddr, oport)
                            for h in [other] + ["%s.%s" % (sd, other) for sd in subdomains])
            s = server_factory(
                domains=(dom,),
                extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                s2s_address=addr, s2s_port=port,
                s2s_extra='ca_file = "%s"\nconnect_timeout = 10\n[s2s.hosts]\n%s'
                          % (ca.path, hosts))
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


def test_pubsub_service_across_servers(server_factory):
    """bob@b.test uses the pubsub service of a.test (pubsub.a.test talks s2s as its own domain,
    named in a.test's certificate): subscribes to alice's node, gets her notification, reads
    items, gets item-not-found for a missing node across the link, and after unsubscribing gets
    no more notifications."""
    p = StarlingPair(server_factory, subdomains=("pubsub",))
    service = "pubsub.a.test"

    async def body():
        alice = await login("alice@a.test/home", p[A].port)
        bob = await login("bob@b.test/work", p[B].port)
        try:
            await pu.create(alice, "news", to=service)
            sub = await pu.subscribe(bob, "news", to=service)
            assert sub["subscription"] == "subscribed" and sub["jid"] == bob.bare, sub
            mb = bob.mark()
            await pu.publish(alice, "news", "across the link", item_id="n1", to=service)
            _, m = await bob.expect(is_event(service, "news", pred=pu.has_item("n1")),
                                    since=mb, timeout=FED_WAIT, what="the service's notification")
            assert [pu.entry_text(x) for _, x in pu.event_items(m)] == ["across the link"]
            r = await pu.get_items(bob, "news", to=service)
            assert [i for i, _ in pu.items_of(r)] == ["n1"], r
            e = await bob.error(service, "<pubsub xmlns='%s'><items node='missing'/></pubsub>"
                                % NS_PUBSUB, "get", timeout=FED_WAIT)
            e.check("item-not-found", etype="cancel")
            assert (await pu.owner_list(alice, "news", "subscriptions", to=service)) == \
                {bob.bare: "subscribed"}
            await bob.iq(service, "<pubsub xmlns='%s'><unsubscribe node='news' jid='%s'/>"
                         "</pubsub>" % (NS_PUBSUB, bob.bare), "set")
            mb = bob.mark()
            await pu.publish(alice, "news", "not for bob", item_id="n2", to=service)
            await pu.barrier(bob, service, timeout=FED_WAIT)
            assert not bob.found(is_event(service), mb), bob.seen
        finally:
            await close_all(alice, bob)
    run(body(), 120)


class ProsodyWithPep(federation.Prosody):
    """federation.Prosody with mod_pep (its module list may be set only once)."""

    def write_config(self):
        super().write_config()
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace('"posix" }', '"posix"; "pep" }', 1))


class EjabberdWithPep(federation.Ejabberd):
    """federation.Ejabberd with mod_caps and mod_pubsub's PEP plugin."""

    def write_config(self):
        super().write_config()
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("modules:\n", "modules:\n  mod_caps: {}\n  mod_pubsub:\n"
                                 "    plugins: [\"flat\", \"pep\"]\n", 1))


PEERS = {"prosody": ProsodyWithPep, "ejabberd": EjabberdWithPep}


@pytest.mark.parametrize("kind", ["prosody", "ejabberd"])
def test_pep_with_peer(server_factory, kind):
    """alice@a.test (Starling) and bob on Prosody 0.12 (mod_pep) or ejabberd 23.01 (mod_pubsub's
    PEP) are contacts: alice's nick reaches bob's client (Starling verified its caps through the
    peer), bob's nick (published on the peer) reaches alice (the peer asked alice's client
    through Starling), and each reads the other's node."""
    cls = PEERS[kind]
    missing = cls.available()
    if missing:
        pytest.skip(missing)
    with federation.World() as w:
        cert, key = w.ca.issue("a.test")
        s = server_factory(domains=("a.test",),
                           extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                           s2s_extra='ca_file = "%s"\ndns_server = "%s"\n'
                           % (w.ca.path, w.dns.addr_port))
        s.adduser("alice@a.test", "secret")
        s.start()
        w.dns.add_server("a.test", "127.0.0.1", s.s2s_port)
        peer = w.start(cls(ca=w.ca, dns=w.dns, secure_auth=True, users={"bob": "secret"},
                           workdir=w.path(kind)))

        async def body():
            alice = await login("alice@a.test/home", s.port)
            bob = await login("bob@%s/p" % peer.domain, peer.c2s_port, address=peer.address)
            try:
                await befriend(alice, bob)
                mb = bob.mark()
                await publish_nick(alice, "Ally")
                _, m = await bob.expect(is_event(alice.bare, NS_NICK, pred=nick_is("Ally")),
                                        since=mb, timeout=FED_WAIT,
                                        what="alice's nick at the %s user" % kind)
                assert m["from"].bare == alice.bare, m
                ma = alice.mark()
                await publish_nick(bob, "Bob on " + kind)
                await alice.expect(is_event(bob.bare, NS_NICK, pred=nick_is("Bob on " + kind)),
                                   since=ma, timeout=FED_WAIT,
                                   what="the %s user's nick at alice" % kind)
                r = await pu.get_items(bob, NS_NICK, to=alice.bare)
                assert [pu.entry_text(x) for _, x in pu.items_of(r)] == ["Ally"], r
                r = await pu.get_items(alice, NS_NICK, to=bob.bare)
                assert [pu.entry_text(x) for _, x in pu.items_of(r)] == ["Bob on " + kind], r
            finally:
                await close_all(alice, bob)
        run(body(), 180)
