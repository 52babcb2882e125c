"""XEP-0045 Multi-User Chat across servers: occupants from a federated server in a room of
conference.a.test. Two Starlings (a.test on 127.0.0.1, b.test on 127.0.0.2) federate with
certificates from the test CA that also name conference.a.test (the MUC service talks s2s as
its own domain), b.test's [s2s.hosts] points conference.a.test at a.test's s2s port. A Prosody
user (federation.py runs Prosody 0.12 from Debian) joins a Starling room through the fake DNS
server when Prosody is available."""
import os
import re
import tempfile

import pytest

import federation
import muc_util as mu
from muc_util import (codes, item, enter, enter_error, create_instant, groupchat, error_of,
                      close_all, run, is_presence, is_message)

A, B = "a.test", "b.test"
MUC_A = "conference.a.test"
# Federated joins go through s2s dial-up and authentication first: more time than on one server.
FED_WAIT = 30


class MucPair:
    """a.test and b.test with MUC services, certificates naming conference.<domain> too, and
    [s2s.hosts] entries for each other's domain and MUC service."""

    def __init__(self, server_factory, a_extra="", b_extra=""):
        self.dir = tempfile.mkdtemp(prefix="starling-muc-s2s-")
        ca = federation.CA(os.path.join(self.dir, "ca"))
        ports = {A: ("127.0.0.1", federation.free_port("127.0.0.1")),
                 B: ("127.0.0.2", federation.free_port("127.0.0.2"))}
        self.servers = {}
        for dom, other, extra in ((A, B, a_extra), (B, A, b_extra)):
            addr, port = ports[dom]
            oaddr, oport = ports[other]
            cert, key = ca.issue(dom, subdomains=("conference",))
            hosts = "".join('"%s" = { address = "%s:%d" }\n' % (h, oaddr, oport)
                            for h in (other, "conference." + other))
            s = server_factory(
                domains=(dom,),
                extra='[tls]\ncertificate = "%s"\nkey = "%s"\n%s' % (cert, key, extra),
                s2s_address=addr, s2s_port=port,
                s2s_extra='ca_file = "%s"\nconnect_timeout = 10\n[s2s.hosts]\n%s'
                          % (ca.path, hosts))
            for u in ("alice", "bob", "carol"):
                s.adduser("%s@%s" % (u, dom), "secret")
            self.servers[dom] = s
        for s in self.servers.values():
            s.start()

    def __getitem__(self, dom):
        return self.servers[dom]


def test_federated_occupant(server_factory):
    """bob@b.test enters a room of conference.a.test (occupants first, 110 last, subject), sees
    and is seen by alice@a.test, chats both ways, exchanges private messages, changes his nick;
    the owner kicks him (307 reaches b.test); a room he tries to create is refused
    (create_rooms = local: not-allowed); a message from a non-occupant on b.test gets
    not-acceptable back across servers."""
    p = MucPair(server_factory)

    async def body():
        alice = await mu.login("alice@a.test/home", p[A].port)
        carol = await mu.login("carol@a.test/home", p[A].port)
        bob = await mu.login("bob@b.test/work", p[B].port)
        bob2 = await mu.login("carol@b.test/work", p[B].port)
        try:
            room = "lobby@" + MUC_A
            await create_instant(alice, room, "alice")
            await mu.submit_config(alice, room, {"muc#roomconfig_whois": "anyone"})
            await enter(carol, room + "/carol")
            alice["xep_0045"].set_subject(room, "Welcome")
            await carol.expect(mu.is_subject(room, "Welcome"))
            ma = alice.mark()
            r = await enter(bob, room + "/bob", timeout=FED_WAIT)
            assert {110, 100} <= codes(r.self_presence), r.self_presence
            assert sorted(str(x["from"]) for x in r.others) == [room + "/alice",
                                                                room + "/carol"], r.others
            assert r.subject["subject"] == "Welcome"
            _, pr = await alice.expect(is_presence(room + "/bob"), since=ma)
            assert item(pr)["jid"] == "bob@b.test/work", pr

            groupchat(bob, room, "hello from b")
            for c in (alice, carol, bob):
                await c.expect(is_message(room + "/bob", "hello from b", "groupchat"),
                               timeout=FED_WAIT)
            groupchat(alice, room, "hello from a")
            await bob.expect(is_message(room + "/alice", "hello from a", "groupchat"))
            # Private messages both ways.
            bob.send_raw("<message to='%s/alice' type='chat'><body>pm from b</body></message>"
                         % room)
            await alice.expect(is_message(room + "/bob", "pm from b", "chat"))
            alice.send_raw("<message to='%s/bob' type='chat'><body>pm from a</body></message>"
                           % room)
            await bob.expect(is_message(room + "/alice", "pm from a", "chat"))
            # Self-ping across servers (XEP-0410).
            res = await bob.iq(room + "/bob", "<ping xmlns='%s'/>" % mu.NS_PING,
                               timeout=FED_WAIT)
            assert res["type"] == "result"
            # Nick change.
            mb = bob.mark()
            bob.send_raw("<presence to='%s/bobby'/>" % room)
            _, pr = await bob.expect(is_presence(room + "/bob", "unavailable", code=303),
                                     since=mb)
            assert item(pr)["nick"] == "bobby"
            await alice.expect(is_presence(room + "/bobby"))
            # A user of b.test who is not in the room.
            groupchat(bob2, room, "not in")
            _, e = await bob2.expect(is_message(room, mtype="error"), timeout=FED_WAIT)
            assert error_of(e)[0] == "not-acceptable", e
            # create_rooms = local: b.test users may not create rooms here.
            assert (await enter_error(bob, "newroom@%s/bob" % MUC_A, timeout=FED_WAIT)) == \
                ("not-allowed", "cancel")
            # Kick.
            mb = bob.mark()
            await alice["xep_0045"].set_role(room, "bobby", "none", reason="enough",
                                             timeout=10)
            _, pr = await bob.expect(is_presence(room + "/bobby", "unavailable"), since=mb,
                                     timeout=FED_WAIT)
            assert {307, 110} <= codes(pr), pr
            assert mu.item_child_text(pr, "reason") == "enough", pr
            await carol.expect(is_presence(room + "/bobby", "unavailable", code=307))
        finally:
            await close_all(alice, carol, bob, bob2)
    run(body(), 150)
    # The service talked to b.test as conference.a.test, authenticated by the certificate
    # that names it (SASL EXTERNAL, XEP-0178), and b.test accepted it as such.
    log_a, log_b = p[A].log(), p[B].log()
    assert re.search(r"s2s-out conference\.a\.test->b\.test: authenticated \(SASL EXTERNAL\)",
                     log_a), log_a[-4000:]
    assert re.search(r"conference\.a\.test authenticated \(SASL EXTERNAL", log_b), log_b[-4000:]


def test_federated_ban_by_domain_and_offline_occupant(server_factory):
    """§9.1 bans may name a whole server: affiliation outcast for 'b.test' keeps every b.test
    user out (forbidden); an occupant whose session ends on b.test leaves the room (b.test
    sends the unavailable presence over s2s)."""
    p = MucPair(server_factory)

    async def body():
        alice = await mu.login("alice@a.test/home", p[A].port)
        bob = await mu.login("bob@b.test/work", p[B].port)
        carol = await mu.login("carol@b.test/work", p[B].port)
        try:
            room = "ban@" + MUC_A
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob", timeout=FED_WAIT)
            ma = alice.mark()
            await bob.close()
            await alice.expect(is_presence(room + "/bob", "unavailable"), since=ma,
                               timeout=FED_WAIT)
            await mu.admin_set(alice, room, [{"jid": "b.test", "affiliation": "outcast"}])
            assert (await enter_error(carol, room + "/carol", timeout=FED_WAIT)) == \
                ("forbidden", "auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 150)


def test_occupant_whose_server_dies_is_removed(server_factory):
    """Ghost removal (XEP-0045 §18.1 / status 333): b.test is killed with SIGKILL, so it never
    sends bob's unavailable presence. The room's next stanzas to bob bounce (the s2s link
    breaks, then b.test refuses connections: remote-server-not-found), and the room removes
    bob with 333; the other occupants see him leave."""
    p = MucPair(server_factory)

    async def body():
        alice = await mu.login("alice@a.test/home", p[A].port)
        bob = await mu.login("bob@b.test/work", p[B].port)
        try:
            room = "ghosts@" + MUC_A
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob", timeout=FED_WAIT)
            ma = alice.mark()
            p[B].proc.kill()  # no unavailable presence, no stream close
            p[B].proc.wait()
            p[B].proc = None  # (the fixture's teardown checks only servers still running)
            p[B]._log.close()
            gone = is_presence(room + "/bob", "unavailable", code=333)
            # A stanza written just before the peer's reset may vanish in TCP; the next ones
            # bounce. Bounded: at most 10 messages, each followed by a wait.
            for n in range(10):
                groupchat(alice, room, "anyone there? %d" % n)
                try:
                    await alice.expect(gone, since=ma, timeout=3)
                    break
                except AssertionError:
                    continue
            _, ghost = await alice.expect(gone, since=ma, timeout=FED_WAIT)
            assert 333 in codes(ghost)
            # The room no longer lists bob.
            items = await mu.disco_items(alice, room)
            assert room + "/bob" not in [i.get("jid") for i in items]
        finally:
            await close_all(alice)
            await bob.close()
    run(body(), 150)


def test_federated_create_rooms_anyone(server_factory):
    """create_rooms = "anyone": a b.test user may create a room on conference.a.test (201) and
    own it."""
    p = MucPair(server_factory, a_extra='[muc]\ncreate_rooms = "anyone"\n')

    async def body():
        bob = await mu.login("bob@b.test/work", p[B].port)
        alice = await mu.login("alice@a.test/home", p[A].port)
        try:
            room = "bobs@" + MUC_A
            r = await enter(bob, room + "/bob", subject=False, timeout=FED_WAIT)
            assert 201 in codes(r.self_presence)
            assert item(r.self_presence)["affiliation"] == "owner"
            await bob.iq(room, "<query xmlns='%s'><x xmlns='%s' type='submit'/></query>"
                         % (mu.NS_OWNER, mu.NS_DATA), "set", timeout=FED_WAIT)
            await enter(alice, room + "/alice")
        finally:
            await close_all(alice, bob)
    run(body(), 150)


def _prosody_missing():
    return federation.Prosody.available()


@pytest.mark.skipif(bool(_prosody_missing()), reason=_prosody_missing() or "")
def test_prosody_user_joins_starling_room(server_factory):
    """A user of Prosody 0.12 (prosody.test, found through the fake DNS like conference.a.test)
    enters a room of Starling's conference.a.test, chats and is kicked."""
    with federation.World() as w:
        cert, key = w.ca.issue("a.test", subdomains=("conference",))
        s = server_factory(domains=("a.test",),
                           extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key),
                           s2s_extra='ca_file = "%s"\ndns_server = "%s"\n'
                           % (w.ca.path, w.dns.addr_port))
        s.adduser("alice@a.test", "secret")
        s.start()
        w.dns.add_server("a.test", "127.0.0.1", s.s2s_port)
        w.dns.add_server(MUC_A, "127.0.0.1", s.s2s_port)
        peer = w.start(federation.Prosody(ca=w.ca, dns=w.dns, secure_auth=True,
                                          users={"bob": "secret"}, workdir=w.path("prosody")))

        async def body():
            alice = await mu.login("alice@a.test/home", s.port)
            bob = mu.MucClient("bob@%s/p" % peer.domain)
            bob.connect((peer.address, peer.c2s_port))
            await bob.wait_session()
            try:
                room = "interop@" + MUC_A
                await create_instant(alice, room, "alice")
                r = await enter(bob, room + "/bob", timeout=60)
                assert [str(x["from"]) for x in r.others] == [room + "/alice"]
                groupchat(bob, room, "hello from prosody")
                await alice.expect(is_message(room + "/bob", "hello from prosody", "groupchat"),
                                   timeout=FED_WAIT)
                groupchat(alice, room, "hello from starling")
                await bob.expect(is_message(room + "/alice", "hello from starling",
                                            "groupchat"), timeout=FED_WAIT)
                mb = bob.mark()
                await alice["xep_0045"].set_role(room, "bob", "none", timeout=10)
                _, pr = await bob.expect(is_presence(room + "/bob", "unavailable"), since=mb,
                                         timeout=FED_WAIT)
                assert 307 in codes(pr), pr
            finally:
                await close_all(alice, bob)
        run(body(), 180)
