"""XEP-0045 Multi-User Chat driven by aioxmpp's MUC client (aioxmpp.muc.MUCClient and its Room
conversation): creating and configuring a room with ConfigurationForm, joining, messages,
history, nick changes, subject, kick, ban, affiliations, mediated invitations; some flows mix
aioxmpp and slixmpp occupants in one room."""
import asyncio

import pytest

import clients
import muc_util as mu
from muc_util import run, close_all, create_instant, is_presence, is_message

SVC = "conference.localhost"


@pytest.fixture
def srv(server_factory):
    return mu.muc_server(server_factory)


def R(name):
    return "%s@%s" % (name, SVC)


class Ax:
    """An aioxmpp client with MUCClient; `async with Ax(...) as a:` connects."""

    def __init__(self, user, port):
        import aioxmpp
        import aioxmpp.muc
        self.client = clients.aioxmpp_client("%s@localhost/ax" % user, port)
        self.muc = self.client.summon(aioxmpp.muc.MUCClient)
        self._cm = None

    async def __aenter__(self):
        import aioxmpp
        self._cm = self.client.connected()
        await asyncio.wait_for(self._cm.__aenter__(), 20)
        # Initial presence, so that messages to the bare JID (invitations) reach this session.
        await self.client.send(aioxmpp.Presence(type_=aioxmpp.PresenceType.AVAILABLE))
        return self

    async def __aexit__(self, *exc):
        try:
            await asyncio.wait_for(self._cm.__aexit__(*exc), 5)
        except (asyncio.TimeoutError, Exception):
            pass

    async def join(self, room, nick, password=None, history=None):
        """Joins; returns (Room, signal queues)."""
        import aioxmpp
        r, fut = self.muc.join(aioxmpp.JID.fromstr(room), nick, password=password,
                               history=history, autorejoin=False)
        q = Events(r)
        await asyncio.wait_for(fut, 10)
        return r, q


class Events:
    """Queues of a Room's signals, each entry the signal's arguments (args, kwargs)."""

    NAMES = ("on_message", "on_join", "on_leave", "on_exit", "on_nick_changed",
             "on_topic_changed", "on_presence_changed", "on_muc_role_changed",
             "on_muc_affiliation_changed")

    def __init__(self, room):
        self.q = {n: asyncio.Queue() for n in self.NAMES}
        for n in self.NAMES:
            getattr(room, n).connect(
                lambda *a, _n=n, **kw: self.q[_n].put_nowait((a, kw)))

    async def next(self, name, pred=lambda a, kw: True, timeout=10):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("no %s within %ss" % (name, timeout))
            try:
                a, kw = await asyncio.wait_for(self.q[name].get(), left)
            except asyncio.TimeoutError:
                raise AssertionError("no %s within %ss" % (name, timeout))
            if pred(a, kw):
                return a, kw


def body_of(msg):
    return msg.body.any() if msg.body else None


def text_message(body):
    import aioxmpp
    m = aioxmpp.Message(type_=aioxmpp.MessageType.GROUPCHAT)
    m.body[None] = body
    return m


def test_aioxmpp_create_configure_chat(srv):
    """aioxmpp alice creates a room (join → locked new room), fetches the configuration form
    (get_room_config + ConfigurationForm), names it and submits it (set_room_config); aioxmpp
    bob joins and sees alice; messages both ways (on_message), the subject (set_topic →
    on_topic_changed), nick change (set_nick → on_nick_changed), leaving (leave → on_leave)."""
    async def body():
        import aioxmpp
        import aioxmpp.muc
        async with Ax("alice", srv.port) as a, Ax("bob", srv.port) as b:
            room = R("axroom")
            ra, ea = await a.join(room, "alice")
            assert ra.me.affiliation == "owner" and ra.me.role == "moderator"
            form = aioxmpp.muc.ConfigurationForm.from_xso(
                await a.muc.get_room_config(aioxmpp.JID.fromstr(room)))
            form.roomname.value = "aioxmpp room"
            form.changesubject.value = True
            await a.muc.set_room_config(aioxmpp.JID.fromstr(room), form.render_reply())

            rb, eb = await b.join(room, "bob")
            assert sorted(m.nick for m in rb.members) == ["alice", "bob"]
            assert rb.me.role == "participant"
            (member,), _ = await ea.next("on_join")
            assert member.nick == "bob"

            await rb.send_message(text_message("hi from bob"))
            (msg, mem, *_), _ = await ea.next("on_message",
                                              lambda a_, kw: body_of(a_[0]) == "hi from bob")
            assert mem.nick == "bob"
            await ra.send_message(text_message("hi from alice"))
            await eb.next("on_message", lambda a_, kw: body_of(a_[0]) == "hi from alice")

            await rb.set_topic({None: "bob's topic"})   # changesubject allows it
            (mem, topic), kw = await ea.next("on_topic_changed",
                                             lambda a_, kw: a_[1].any() == "bob's topic")
            # §7.2.15: the subject comes from the occupant JID of who set it or the room.
            assert kw.get("muc_nick") in ("bob", None), kw
            assert ra.muc_subject.any() == "bob's topic"

            await rb.set_nick("robert")
            (mem, old, new), kw = await ea.next("on_nick_changed")
            assert (old, new) == ("bob", "robert")
            await eb.next("on_nick_changed")
            assert rb.me.nick == "robert"

            await rb.leave()
            (mem,), kw = await ea.next("on_leave")
            assert mem.nick == "robert"
            assert kw.get("muc_leave_mode") == aioxmpp.muc.LeaveMode.NORMAL
    run(body(), 90)


def test_aioxmpp_kick_and_ban(srv):
    """aioxmpp owner kicks (Room.kick → 307, LeaveMode.KICKED with the reason at the kicked
    aioxmpp client) and bans (Room.ban → 301, LeaveMode.BANNED); the banned user's next join
    fails with forbidden; the owner lists outcasts with get_affiliated."""
    async def body():
        import aioxmpp
        import aioxmpp.errors
        import aioxmpp.muc
        async with Ax("alice", srv.port) as a, Ax("bob", srv.port) as b, \
                Ax("carol", srv.port) as c:
            room = R("axkick")
            ra, ea = await a.join(room, "alice")
            await a.muc.set_room_config(aioxmpp.JID.fromstr(room),
                                        aioxmpp.muc.ConfigurationForm.from_xso(
                                            await a.muc.get_room_config(
                                                aioxmpp.JID.fromstr(room))).render_reply())
            rb, eb = await b.join(room, "bob")
            rc, ec = await c.join(room, "carol")
            await ea.next("on_join", lambda a_, kw: a_[0].nick == "bob")
            await ea.next("on_join", lambda a_, kw: a_[0].nick == "carol")
            bob = next(m for m in ra.members if m.nick == "bob")
            await ra.kick(bob, "be nice")
            _, kw = await eb.next("on_exit")
            assert kw.get("muc_leave_mode") == aioxmpp.muc.LeaveMode.KICKED, kw
            assert kw.get("muc_reason") == "be nice", kw
            assert 307 in kw.get("muc_status_codes", set()), kw
            (mem,), kw = await ec.next("on_leave")
            assert mem.nick == "bob" and kw.get("muc_leave_mode") == aioxmpp.muc.LeaveMode.KICKED

            # ban carol; an aioxmpp ban needs the real JID: alice is a moderator, she sees it.
            carol = next(m for m in ra.members if m.nick == "carol")
            assert carol.direct_jid is not None and carol.direct_jid.bare() == \
                aioxmpp.JID.fromstr("carol@localhost")
            await ra.ban(carol, "bye")
            _, kw = await ec.next("on_exit")
            assert kw.get("muc_leave_mode") == aioxmpp.muc.LeaveMode.BANNED, kw
            assert 301 in kw.get("muc_status_codes", set()), kw
            outcasts = await a.muc.get_affiliated(aioxmpp.JID.fromstr(room), "outcast")
            assert [str(j) for j in outcasts] == ["carol@localhost"], outcasts
            c2 = Ax("carol", srv.port)
            async with c2:
                r, fut = c2.muc.join(aioxmpp.JID.fromstr(room), "carol", autorejoin=False)
                with pytest.raises(aioxmpp.errors.XMPPAuthError) as ei:
                    await asyncio.wait_for(fut, 10)
                assert ei.value.condition == aioxmpp.ErrorCondition.FORBIDDEN
    run(body(), 90)


def test_aioxmpp_affiliations_and_history(srv):
    """slixmpp alice owns a room and talks; aioxmpp bob joins with History(maxstanzas=2) and
    gets the last two messages (on_message); alice (slixmpp set_affiliation) makes bob a
    member and bob's aioxmpp Room reports on_muc_affiliation_changed; bob (not an owner) asking
    for the owner list with get_affiliated is refused (§10.5: forbidden, XMPPAuthError)."""
    async def body():
        import aioxmpp
        import aioxmpp.errors
        import aioxmpp.muc
        import aioxmpp.muc.xso
        alice = await mu.login("alice@localhost/s", srv.port)
        try:
            room = R("axhist")
            await create_instant(alice, room, "alice")
            for i in range(4):
                mu.groupchat(alice, room, "old %d" % i)
                await alice.expect(is_message(room + "/alice", "old %d" % i, "groupchat"))
            async with Ax("bob", srv.port) as b:
                r, fut = b.muc.join(aioxmpp.JID.fromstr(room), "bob",
                                    history=aioxmpp.muc.xso.History(maxstanzas=2),
                                    autorejoin=False)
                ev = Events(r)
                await asyncio.wait_for(fut, 10)
                got = []
                for _ in range(2):
                    (msg, *_), _ = await ev.next("on_message")
                    got.append(body_of(msg))
                assert got == ["old 2", "old 3"], got
                await alice["xep_0045"].set_affiliation(room, "member", jid="bob@localhost",
                                                        timeout=10)
                # aioxmpp emits (presence, occupant) for this signal.
                (_, mem), kw = await ev.next("on_muc_affiliation_changed")
                assert mem.nick == "bob" and r.me.affiliation == "member"
                with pytest.raises(aioxmpp.errors.XMPPAuthError):
                    await b.muc.get_affiliated(aioxmpp.JID.fromstr(room), "owner")
                # bob leaves; alice sees it with the slixmpp recorder.
                m = alice.mark()
                await r.leave()
                await alice.expect(is_presence(room + "/bob", "unavailable"), since=m)
        finally:
            await close_all(alice)
    run(body(), 90)


def test_aioxmpp_invitations(srv):
    """Mediated invitation sent by aioxmpp (Room.invite, InviteMode.MEDIATED) reaches slixmpp
    dave from the room; a mediated invitation sent by slixmpp reaches aioxmpp carol's
    MUCClient.on_muc_invitation with the room, the inviter and the reason; a direct
    invitation (XEP-0249, InviteMode.DIRECT) reaches dave with jabber:x:conference."""
    async def body():
        import aioxmpp
        import aioxmpp.im
        import aioxmpp.muc
        dave = await mu.login("dave@localhost/s", srv.port)
        alice = await mu.login("alice@localhost/s", srv.port)
        try:
            room = R("axinv")
            await create_instant(alice, room, "alice")
            async with Ax("bob", srv.port) as b, Ax("carol", srv.port) as c:
                rb, _ = await b.join(room, "bob")
                tok, _ = await rb.invite(aioxmpp.JID.fromstr("dave@localhost"), "from aioxmpp",
                                         mode=aioxmpp.im.InviteMode.MEDIATED)
                _, m = await dave.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                         and mu.user_x(s) is not None)
                inv = mu.user_x(m).find("{%s}invite" % mu.NS_USER)
                assert inv is not None and inv.findtext("{%s}reason" % mu.NS_USER) == \
                    "from aioxmpp", m
                tok, _ = await rb.invite(aioxmpp.JID.fromstr("dave@localhost"), "direct one",
                                         mode=aioxmpp.im.InviteMode.DIRECT)
                _, m = await dave.expect(lambda s: s.name == "message" and
                                         s.xml.find("{%s}x" % mu.NS_CONFERENCE) is not None)
                assert s_attr(m, mu.NS_CONFERENCE, "jid") == room, m

                got = asyncio.get_running_loop().create_future()
                c.muc.on_muc_invitation.connect(
                    lambda stanza, addr, inviter, mode, **kw:
                    got.done() or got.set_result((addr, inviter, mode, kw)))
                alice["xep_0045"].invite(room, "carol@localhost", reason="please")
                addr, inviter, mode, kw = await asyncio.wait_for(got, 10)
                assert str(addr) == room
                assert mode == aioxmpp.im.InviteMode.MEDIATED
                # §7.8.2: the inviter's bare, full or occupant JID.
                assert str(inviter.bare()) == "alice@localhost" or str(inviter) == \
                    room + "/alice", inviter
                assert kw.get("reason") == "please"
        finally:
            await close_all(alice, dave)
    run(body(), 90)


def s_attr(stanza, ns, attr):
    x = stanza.xml.find("{%s}x" % ns)
    return None if x is None else x.get(attr)
