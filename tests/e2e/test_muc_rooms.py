"""XEP-0045 Multi-User Chat, occupant use cases (§6 discovery, §7 entering, messages, private
messages, nick changes, presence, invitations, leaving; §10.1 room creation) and XEP-0410
self-ping, XEP-0249 direct invitations; driven by slixmpp (xep_0045, xep_0249 plugins and the
recording MucClient of muc_util) against a real Starling with the MUC service on
conference.localhost."""
import asyncio
import datetime

import pytest

import muc_util as mu
from muc_util import (NS_MUC, NS_USER, NS_OWNER, NS_DATA, NS_PING, codes, item,
                      enter, enter_error, create_instant, barrier, groupchat, error_of, login,
                      close_all, run, is_presence, is_message, is_subject)

SVC = "conference.localhost"


@pytest.fixture
def srv(server_factory):
    return mu.muc_server(server_factory)


def R(name):
    return "%s@%s" % (name, SVC)


async def logins(srv, *names):
    return await asyncio.gather(*(login("%s@localhost/%s" % (n, "r"), srv.port) for n in names))


# ---- §6 discovery ----------------------------------------------------------------------------

def test_service_discovery(srv):
    """§6.1/§6.2: the service is an item of the server's disco#items and has identity
    conference/text and the MUC feature."""
    async def body():
        alice, = await logins(srv, "alice")
        try:
            items = await mu.disco_items(alice, "localhost")
            assert SVC in [i["jid"] for i in items], items
            ids, feats, _ = await mu.disco_info(alice, SVC)
            assert ("conference", "text") in [(c, t) for c, t, _ in ids], ids
            assert NS_MUC in feats, feats
        finally:
            await close_all(alice)
    run(body(), 60)


def test_room_discovery_public_rooms_only(srv):
    """§6.3: disco#items of the service lists public rooms only; §6.4: a room's disco#info has
    identity conference/text, the muc_* features of its configuration and the muc#roominfo
    form with the occupant count."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            await create_instant(alice, R("public"), "alice")
            await enter(alice, R("hidden") + "/alice", subject=False)
            await mu.submit_config(alice, R("hidden"), {
                "muc#roomconfig_publicroom": False, "muc#roomconfig_roomname": "Secret"})
            await enter(bob, R("public") + "/bob")
            items = await mu.disco_items(bob, SVC)
            jids = [i["jid"] for i in items]
            assert R("public") in jids and R("hidden") not in jids, items
            ids, feats, forms = await mu.disco_info(bob, R("public"))
            assert ("conference", "text") in [(c, t) for c, t, _ in ids], ids
            for f in (NS_MUC, "muc_public", "muc_temporary", "muc_open", "muc_unmoderated",
                      "muc_semianonymous", "muc_unsecured"):
                assert f in feats, (f, feats)
            info = forms.get(NS_MUC + "#roominfo")
            assert info is not None, forms
            assert info.get("muc#roominfo_occupants") == ["2"], info
            ids, feats, _ = await mu.disco_info(bob, R("hidden"))
            assert "muc_hidden" in feats and "muc_public" not in feats, feats
            assert ("conference", "text", "Secret") in ids, ids
            # A room that does not exist.
            cond = await bob.iq_error(R("nosuchroom"), "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- §10.1 creating rooms --------------------------------------------------------------------

def test_instant_room(srv):
    """§10.1.2: the creator gets 201 + 110 as owner/moderator; the room is locked (others get
    item-not-found, §7.2.11) until the owner submits an empty form; then others enter."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            r = await enter(alice, R("instant") + "/alice", subject=False)
            assert {110, 201} <= codes(r.self_presence), r.self_presence
            assert item(r.self_presence)["affiliation"] == "owner"
            assert item(r.self_presence)["role"] == "moderator"
            assert await enter_error(bob, R("instant") + "/bob") == ("item-not-found", "cancel")
            await alice.iq(R("instant"), "<query xmlns='%s'><x xmlns='%s' type='submit'/></query>"
                           % (NS_OWNER, NS_DATA), "set")
            r = await enter(bob, R("instant") + "/bob")
            assert 201 not in codes(r.self_presence)
            assert item(r.self_presence)["affiliation"] == "none"
            assert item(r.self_presence)["role"] == "participant"
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_reserved_room(srv):
    """§10.1.3: the owner asks for the configuration form (slixmpp get_room_config), fills it
    in and submits it (set_room_config); the room opens with that configuration."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            r = await enter(alice, R("reserved") + "/alice", subject=False)
            assert 201 in codes(r.self_presence)
            form = await alice["xep_0045"].get_room_config(R("reserved"), timeout=10)
            fields = form.get_fields()
            ft = form.xml.find("{%s}field[@var='FORM_TYPE']" % NS_DATA)
            assert ft is not None and ft.findtext("{%s}value" % NS_DATA) == \
                NS_MUC + "#roomconfig", form
            for var in ("muc#roomconfig_roomname", "muc#roomconfig_roomdesc",
                        "muc#roomconfig_persistentroom", "muc#roomconfig_publicroom",
                        "muc#roomconfig_membersonly", "muc#roomconfig_moderatedroom",
                        "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret",
                        "muc#roomconfig_whois", "muc#roomconfig_maxusers",
                        "muc#roomconfig_changesubject", "muc#roomconfig_allowinvites",
                        "muc#roomconfig_allowpm"):
                assert var in fields, (var, list(fields))
            sub = alice["xep_0004"].make_form(ftype="submit")
            sub.add_field(var="FORM_TYPE", ftype="hidden", value=NS_MUC + "#roomconfig")
            sub.add_field(var="muc#roomconfig_roomname", value="Reserved Room")
            sub.add_field(var="muc#roomconfig_whois", value="anyone")
            await alice["xep_0045"].set_room_config(R("reserved"), sub, timeout=10)
            ids, feats, _ = await mu.disco_info(bob, R("reserved"))
            assert ("conference", "text", "Reserved Room") in ids, ids
            assert "muc_nonanonymous" in feats, feats
            # slixmpp's own join API (join_muc_wait) works against the unlocked room.
            pres, subject, occupants, history = await bob["xep_0045"].join_muc_wait(
                R("reserved"), "bob", maxstanzas=0, timeout=10)
            assert 110 in pres["muc"]["status_codes"] and 100 in pres["muc"]["status_codes"]
            # slixmpp lists every presence it saw as joining, its own included.
            assert sorted(str(p["from"]) for p in occupants) == \
                [R("reserved") + "/alice", R("reserved") + "/bob"]
            assert subject["subject"] == ""
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_cancel_initial_configuration_destroys_room(srv):
    """§10.1.3: if the owner cancels the initial configuration the room is destroyed: the next
    presence to it creates a new room (201 again)."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            await enter(alice, R("cancelled") + "/alice", subject=False)
            await alice["xep_0045"].cancel_config(R("cancelled"), timeout=10)
            await alice.expect(is_presence(R("cancelled") + "/alice", "unavailable"),
                               what="unavailable presence after the destruction")
            r = await enter(bob, R("cancelled") + "/bob", subject=False)
            assert 201 in codes(r.self_presence), r.self_presence
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- §7.2 entering ---------------------------------------------------------------------------

def test_enter_order_and_anonymity(srv):
    """§7.2.3: the existing occupants' presence first, the new occupant's own presence (110)
    last, then the subject; everyone sees the newcomer. Semi-anonymous (§7.2.5): participants
    do not see real JIDs, moderators do. Non-anonymous (§7.2.4): 100 in the self-presence and
    everyone sees full JIDs."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("order")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            m = alice.mark()
            r = await enter(carol, room + "/carol")
            assert [str(p["from"]) for p in r.others] == [room + "/alice", room + "/bob"] or \
                [str(p["from"]) for p in r.others] == [room + "/bob", room + "/alice"], r.others
            assert r.self_presence["type"] != "unavailable"
            assert 100 not in codes(r.self_presence)
            assert item(r.self_presence)["role"] == "participant"
            # carol (participant) sees no real JID; alice (moderator) sees carol's full JID.
            for p in r.others:
                assert "jid" not in item(p), p
            _, p = await alice.expect(is_presence(room + "/carol"), since=m)
            assert item(p).get("jid") == str(carol.boundjid), p
            assert 110 not in codes(p)
            _, p = await bob.expect(is_presence(room + "/carol"))
            assert "jid" not in item(p), p

            # Non-anonymous now: carol re-enters and gets 100; bob sees her real JID.
            await mu.submit_config(alice, room, {"muc#roomconfig_whois": "anyone"})
            mu.leave(carol, room + "/carol")
            await carol.expect(is_presence(room + "/carol", "unavailable", code=110))
            m = bob.mark()
            r = await enter(carol, room + "/carol")
            assert {100, 110} <= codes(r.self_presence), r.self_presence
            assert all(item(p).get("jid") for p in r.others), r.others
            _, p = await bob.expect(is_presence(room + "/carol"), since=m)
            assert item(p).get("jid") == str(carol.boundjid), p
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_enter_errors(srv):
    """§7.2.9 nick conflict (conflict), §7.2.6 password (not-authorized), §7.2.7 members-only
    (registration-required), §7.2.8 banned (forbidden), §7.2.10 max users
    (service-unavailable), §7.2.1 no nickname (jid-malformed)."""
    async def body():
        alice, bob, carol, dave = await logins(srv, "alice", "bob", "carol", "dave")
        try:
            room = R("errors")
            await create_instant(alice, room, "alice")
            assert await enter_error(bob, room + "/alice") == ("conflict", "cancel")
            # A nickname is required (§7.2.1: jid-malformed for a join to the bare room JID).
            m = bob.mark()
            bob.send_raw(mu.join_xml(room))
            _, p = await bob.expect(lambda s: s.name == "presence" and s["type"] == "error"
                                    and s["from"].bare == room, since=m)
            assert error_of(p) == ("jid-malformed", "modify"), p

            # Password.
            await mu.submit_config(alice, room, {"muc#roomconfig_passwordprotectedroom": True,
                                                 "muc#roomconfig_roomsecret": "s3cret"})
            assert await enter_error(bob, room + "/bob") == ("not-authorized", "auth")
            assert await enter_error(bob, room + "/bob", password="wrong") == \
                ("not-authorized", "auth")
            r = await enter(bob, room + "/bob", password="s3cret")
            assert item(r.self_presence)["role"] == "participant"
            _, feats, _ = await mu.disco_info(carol, room)
            assert "muc_passwordprotected" in feats, feats

            # Members-only: carol is not a member (bob is made one first, so he stays: §10.2
            # removes non-members with 322).
            await mu.admin_set(alice, room, [{"jid": "bob@localhost", "affiliation": "member"}])
            await mu.submit_config(alice, room, {"muc#roomconfig_passwordprotectedroom": False,
                                                 "muc#roomconfig_membersonly": True})
            assert await enter_error(carol, room + "/carol") == \
                ("registration-required", "auth")
            await mu.admin_set(alice, room, [{"jid": "carol@localhost", "affiliation": "member"}])
            r = await enter(carol, room + "/carol")
            assert item(r.self_presence)["affiliation"] == "member"

            # Banned.
            await mu.admin_set(alice, room, [{"jid": "dave@localhost", "affiliation": "outcast"}])
            assert await enter_error(dave, room + "/dave") == ("forbidden", "auth")

            # Max users: 3 present (alice, bob, carol); limit 3; dave (now a member) is refused.
            await mu.admin_set(alice, room, [{"jid": "dave@localhost", "affiliation": "member"}])
            await mu.submit_config(alice, room, {"muc#roomconfig_maxusers": "3"})
            assert await enter_error(dave, room + "/dave") == ("service-unavailable", "wait")
        finally:
            await close_all(alice, bob, carol, dave)
    run(body(), 90)


def test_nonexistent_room_is_created_on_entering(srv):
    """§7.2.13: entering a room that does not exist creates it (create_rooms = local)."""
    async def body():
        bob, = await logins(srv, "bob")
        try:
            r = await enter(bob, R("fresh") + "/bob", subject=False)
            assert {110, 201} <= codes(r.self_presence)
        finally:
            await close_all(bob)
    run(body(), 60)


def test_history(srv):
    """§7.2.15/§7.2.16: history after the presences, before the subject, each message from
    room/nick with a <delay/> stamped by the room; maxstanzas, maxchars, seconds and since
    limit it; maxchars='0' means none."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("history")
            await create_instant(alice, room, "alice")
            before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
            for i in range(5):
                groupchat(alice, room, "line %d" % i)
                await alice.expect(is_message(room + "/alice", "line %d" % i, "groupchat"))
            alice["xep_0045"].set_subject(room, "The topic")
            await alice.expect(is_subject(room, "The topic"))

            r = await enter(bob, room + "/bob")
            assert [m["body"] for m in r.history] == ["line %d" % i for i in range(5)], r.history
            for m in r.history:
                assert str(m["from"]) == room + "/alice" and m["type"] == "groupchat"
                d = mu.delay_of(m)
                assert d is not None and d.get("stamp"), m
                assert d.get("from") == room, m
            assert r.subject["subject"] == "The topic"
            mu.leave(bob, room + "/bob")
            await bob.expect(is_presence(room + "/bob", "unavailable"))

            async def hist(**h):
                r = await enter(bob, room + "/bob", history={k: str(v) for k, v in h.items()})
                m = bob.mark()
                mu.leave(bob, room + "/bob")
                await bob.expect(is_presence(room + "/bob", "unavailable"), since=m)
                return [m["body"] for m in r.history]

            assert await hist(maxstanzas=2) == ["line 3", "line 4"]
            assert await hist(maxchars=0) == []
            assert await hist(seconds=3600) == ["line %d" % i for i in range(5)]
            future = (datetime.datetime.now(datetime.timezone.utc)
                      + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert await hist(since=future) == []
            assert await hist(since=before.strftime("%Y-%m-%dT%H:%M:%SZ")) == \
                ["line %d" % i for i in range(5)]
            # maxchars counts whole stanzas: a small limit gives fewer (complete) messages.
            few = await hist(maxchars=400)
            assert len(few) < 5 and few == ["line %d" % i for i in range(5 - len(few), 5)], few
        finally:
            await close_all(alice, bob)
    run(body(), 90)


# ---- §7.4 messages, §8.1 subject -------------------------------------------------------------

def test_groupchat_reflected(srv):
    """§7.4: a groupchat message is reflected to every occupant, the sender too, from the
    sender's occupant JID, keeping the client's id."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("chat")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            groupchat(bob, room, "hello all", mid="m-1")
            for c in (alice, bob, carol):
                _, m = await c.expect(is_message(room + "/bob", "hello all", "groupchat"))
                assert m["id"] == "m-1", m
                assert str(m["to"]) == str(c.boundjid), m
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_message_errors(srv):
    """§7.4: a non-occupant's groupchat message gets not-acceptable and is not reflected;
    §18.1 (business rules): a message to a room that does not exist gets item-not-found;
    a visitor in a moderated room gets forbidden."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("msgerr")
            await create_instant(alice, room, "alice")
            m = alice.mark()
            groupchat(carol, room, "intruder")
            _, e = await carol.expect(is_message(room, mtype="error"))
            # XEP-0045 shows no error type here; RFC 6120 §8.3.3.9 suggests modify.
            assert error_of(e)[0] == "not-acceptable", e
            await barrier(alice, room)
            assert not alice.found(is_message(body="intruder"), since=m)

            groupchat(carol, R("nowhere"), "anyone?")
            _, e = await carol.expect(is_message(R("nowhere"), mtype="error"))
            assert error_of(e)[0] == "item-not-found", e

            await mu.submit_config(alice, room, {"muc#roomconfig_moderatedroom": True})
            r = await enter(bob, room + "/bob")
            assert item(r.self_presence)["role"] == "visitor"
            m = alice.mark()
            groupchat(bob, room, "may I?")
            _, e = await bob.expect(is_message(room, mtype="error"))
            assert error_of(e) == ("forbidden", "auth"), e
            await barrier(alice, room)
            assert not alice.found(is_message(body="may I?"), since=m)
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_subject(srv):
    """§8.1: a moderator changes the subject: every occupant gets it (subject, no body); a
    participant may not (forbidden) unless muc#roomconfig_changesubject; a newcomer gets the
    current subject last, from the occupant JID of who set it (or the room)."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("subject")
            await create_instant(alice, room, "alice")
            r = await enter(bob, room + "/bob")
            assert r.subject["subject"] == "" and not r.subject["body"]
            alice["xep_0045"].set_subject(room, "First")
            for c in (alice, bob):
                _, m = await c.expect(lambda s: is_subject(room)(s) and s["subject"] == "First")
                assert str(m["from"]) in (room + "/alice", room), m
            bob["xep_0045"].set_subject(room, "Bob's")
            _, e = await bob.expect(is_message(room, mtype="error"))
            assert error_of(e) == ("forbidden", "auth"), e
            await mu.submit_config(alice, room, {"muc#roomconfig_changesubject": True})
            bob["xep_0045"].set_subject(room, "Bob's")
            await alice.expect(lambda s: is_subject(room)(s) and s["subject"] == "Bob's")
            r = await enter(carol, room + "/carol")
            assert r.subject["subject"] == "Bob's"
            # §7.2.15: the subject SHOULD carry a <delay/> whose 'from' is the room.
            d = mu.delay_of(r.subject)
            assert d is None or d.get("from") == room, r.subject
            # A message with a subject and a body is an ordinary message, not a subject change.
            carol.send_raw("<message to='%s' type='groupchat'><subject>x</subject><body>b</body>"
                           "</message>" % room)
            await alice.expect(is_message(room + "/carol", "b", "groupchat"))
            mu.leave(carol, room + "/carol")
            r = await enter(carol, room + "/carol2")
            assert r.subject["subject"] == "Bob's"
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §7.5 private messages -------------------------------------------------------------------

def test_private_messages(srv):
    """§7.5: a chat message to room/nick reaches that occupant from the sender's occupant JID
    (with the muc#user <x/>); type groupchat gets bad-request, an unknown nick item-not-found,
    a non-occupant not-acceptable; allow_pm = none blocks them."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("pm")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            bob.send_raw("<message to='%s/alice' type='chat' id='pm1'><body>psst</body></message>"
                         % room)
            _, m = await alice.expect(is_message(room + "/bob", "psst", "chat"))
            assert mu.user_x(m) is not None, m
            assert "bob@localhost" not in str(m), m   # semi-anonymous: no real JID
            bob.send_raw("<message to='%s/alice' type='groupchat'><body>wrong type</body>"
                         "</message>" % room)
            _, e = await bob.expect(is_message(room + "/alice", mtype="error"))
            assert error_of(e) == ("bad-request", "modify"), e
            bob.send_raw("<message to='%s/nobody' type='chat'><body>hi</body></message>" % room)
            _, e = await bob.expect(is_message(room + "/nobody", mtype="error"))
            assert error_of(e)[0] == "item-not-found", e
            carol.send_raw("<message to='%s/alice' type='chat'><body>outsider</body></message>"
                           % room)
            _, e = await carol.expect(is_message(room + "/alice", mtype="error"))
            assert error_of(e)[0] == "not-acceptable", e

            await mu.submit_config(alice, room, {"muc#roomconfig_allowpm": "none"})
            m, mb = alice.mark(), bob.mark()
            bob.send_raw("<message to='%s/alice' type='chat'><body>blocked</body></message>"
                         % room)
            _, e = await bob.expect(is_message(room + "/alice", mtype="error"), since=mb)
            # The spec names no condition for muc#roomconfig_allowpm; refusing a privilege
            # the occupant lacks is forbidden (§7.5 / RFC 6120 §8.3.3.5) or not-allowed.
            assert error_of(e)[0] in ("forbidden", "not-allowed"), e
            await barrier(alice, room)
            assert not alice.found(is_message(body="blocked"), since=m)
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §7.6 nick change, §7.7 presence ---------------------------------------------------------

def test_nick_change_and_presence(srv):
    """§7.6: unavailable with 303 and the new nick, then available from the new nick, to
    everyone (110 to the changer); a taken nick gets conflict. §7.7: a presence change reaches
    every occupant with the muc#user item."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("nick")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            ma, mb = alice.mark(), bob.mark()
            bob.send_raw("<presence to='%s/robert'/>" % room)
            for c, mark, own in ((alice, ma, False), (bob, mb, True)):
                i, p = await c.expect(is_presence(room + "/bob", "unavailable", code=303),
                                      since=mark)
                assert item(p).get("nick") == "robert", p
                assert (110 in codes(p)) == own, p
                _, p2 = await c.expect(is_presence(room + "/robert"), since=i)
                assert (110 in codes(p2)) == own, p2
            # A taken nick.
            m = bob.mark()
            bob.send_raw("<presence to='%s/alice'/>" % room)
            _, e = await bob.expect(mu.is_error_presence(room + "/alice"), since=m)
            assert error_of(e) == ("conflict", "cancel"), e
            # Presence update.
            m = alice.mark()
            bob.send_raw("<presence to='%s/robert'><show>away</show><status>lunch</status>"
                         "</presence>" % room)
            _, p = await alice.expect(is_presence(room + "/robert"), since=m)
            assert p["show"] == "away" and p["status"] == "lunch", p
            assert item(p)["role"] == "participant", p
            # Messages now come from the new nick.
            groupchat(bob, room, "renamed")
            await alice.expect(is_message(room + "/robert", "renamed", "groupchat"))
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_multiple_resources_one_nick(srv):
    """§7.2.9: the same bare JID may join twice under one nick (two resources): both sessions
    get the room's messages; one session leaving does not remove the occupant."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        bob2 = await login("bob@localhost/second", srv.port)
        try:
            room = R("multi")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            r = await enter(bob2, room + "/bob")
            assert 110 in codes(r.self_presence)
            groupchat(alice, room, "to both")
            for c in (bob, bob2):
                await c.expect(is_message(room + "/alice", "to both", "groupchat"))
            # A private message to the nick reaches the sessions of the occupant.
            alice.send_raw("<message to='%s/bob' type='chat'><body>pm both</body></message>"
                           % room)
            await bob.expect(is_message(room + "/alice", "pm both", "chat"))
            await bob2.expect(is_message(room + "/alice", "pm both", "chat"))
            m = alice.mark()
            mu.leave(bob2, room + "/bob")
            await bob2.expect(is_presence(room + "/bob", "unavailable", code=110))
            await barrier(alice, room)
            assert not alice.found(is_presence(room + "/bob", "unavailable"), since=m)
            groupchat(alice, room, "still there?")
            await bob.expect(is_message(room + "/alice", "still there?", "groupchat"))
            # Another user cannot take the nick (conflict), even while two sessions hold it.
            carol, = await logins(srv, "carol")
            try:
                assert await enter_error(carol, room + "/bob") == ("conflict", "cancel")
            finally:
                await close_all(carol)
        finally:
            await close_all(alice, bob, bob2)
    run(body(), 60)


# ---- §7.14 leaving, temporary rooms ----------------------------------------------------------

def test_leave_and_temporary_room_vanishes(srv):
    """§7.14: the leaver gets unavailable with 110, the others unavailable with the status
    text; a temporary room is destroyed when the last occupant leaves (disco#info then gets
    item-not-found and the next entry creates it again, 201)."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("temp")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            m = alice.mark()
            mu.leave(bob, room + "/bob", status="bye now")
            _, p = await bob.expect(is_presence(room + "/bob", "unavailable"))
            assert 110 in codes(p), p
            assert item(p)["role"] == "none", p
            _, p = await alice.expect(is_presence(room + "/bob", "unavailable"), since=m)
            assert p["status"] == "bye now" and 110 not in codes(p), p
            # A second unavailable from a non-occupant is ignored (§18.2 rule 5: no answer).
            mu.leave(bob, room + "/bob")
            mu.leave(alice, room + "/alice")
            await alice.expect(is_presence(room + "/alice", "unavailable", code=110))
            cond = await bob.iq_error(room, "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond
            errors = bob.found(lambda s: s["type"] == "error" and s.name == "presence")
            assert not errors, errors
            r = await enter(bob, room + "/bob", subject=False)
            assert 201 in codes(r.self_presence)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_session_end_leaves_rooms(srv):
    """RFC 6121 / §7.14: a client that disconnects without leaving is removed: its server sends
    unavailable presence to the rooms it joined."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("gone")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            m = alice.mark()
            await bob.close()
            await alice.expect(is_presence(room + "/bob", "unavailable"), since=m)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- §7.8 invitations, XEP-0249 --------------------------------------------------------------

def test_mediated_invitation_and_decline(srv):
    """§7.8.2: an occupant's invitation goes out from the room with the inviter's JID and the
    reason (and the password of a protected room); the invitee's decline reaches the inviter
    from the room. In a members-only room a participant without allow_invites may not invite
    (forbidden)."""
    async def body():
        alice, bob, dave = await logins(srv, "alice", "bob", "dave")
        try:
            room = R("invite")
            await create_instant(alice, room, "alice")
            await mu.submit_config(alice, room, {"muc#roomconfig_passwordprotectedroom": True,
                                                 "muc#roomconfig_roomsecret": "pw"})
            alice["xep_0045"].invite(room, "dave@localhost", reason="join us")
            _, m = await dave.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                     and mu.user_x(s) is not None
                                     and mu.user_x(s).find("{%s}invite" % NS_USER) is not None)
            inv = mu.user_x(m).find("{%s}invite" % NS_USER)
            # §7.8.2: 'from' is the inviter's bare, full or occupant JID.
            assert inv.get("from", "").split("/")[0] == "alice@localhost" or \
                inv.get("from") == room + "/alice", m
            assert inv.findtext("{%s}reason" % NS_USER) == "join us", m
            assert mu.user_x(m).findtext("{%s}password" % NS_USER) == "pw", m
            dave["xep_0045"].decline(room, "alice@localhost", reason="busy")
            _, m = await alice.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                      and mu.user_x(s) is not None
                                      and mu.user_x(s).find("{%s}decline" % NS_USER) is not None)
            dec = mu.user_x(m).find("{%s}decline" % NS_USER)
            assert dec.get("from", "").split("/")[0] == "dave@localhost", m
            assert dec.findtext("{%s}reason" % NS_USER) == "busy", m

            # Members-only, invitations restricted to admins: bob (member) may not invite.
            await mu.submit_config(alice, room, {"muc#roomconfig_passwordprotectedroom": False,
                                                 "muc#roomconfig_membersonly": True,
                                                 "muc#roomconfig_allowinvites": False})
            await mu.admin_set(alice, room, [{"jid": "bob@localhost", "affiliation": "member"}])
            await enter(bob, room + "/bob")
            m = dave.mark()
            bob["xep_0045"].invite(room, "dave@localhost")
            _, e = await bob.expect(is_message(room, mtype="error"))
            assert error_of(e) == ("forbidden", "auth"), e
            await barrier(dave, room)
            assert not dave.found(lambda s: s.name == "message" and mu.user_x(s) is not None,
                                  since=m)
            # The owner may; the invitee can then enter the members-only room.
            alice["xep_0045"].invite(room, "dave@localhost")
            await dave.expect(lambda s: s.name == "message" and str(s["from"]) == room
                              and mu.user_x(s) is not None, since=m)
        finally:
            await close_all(alice, bob, dave)
    run(body(), 60)


def test_direct_invitation(srv):
    """XEP-0249: a jabber:x:conference invitation from one user to another is delivered as
    sent (slixmpp xep_0249 on both sides)."""
    async def body():
        alice, dave = await logins(srv, "alice", "dave")
        try:
            room = R("direct")
            await create_instant(alice, room, "alice")
            got = asyncio.get_running_loop().create_future()
            dave.add_event_handler("groupchat_direct_invite",
                                   lambda m: got.done() or got.set_result(m))
            alice["xep_0249"].send_invitation("dave@localhost", room, reason="come")
            m = await asyncio.wait_for(got, 10)
            assert m["groupchat_invite"]["jid"] == room
            assert m["groupchat_invite"]["reason"] == "come"
            assert m["from"].bare == "alice@localhost"
            await enter(dave, room + "/dave")
        finally:
            await close_all(alice, dave)
    run(body(), 60)


# ---- §7.13 voice requests --------------------------------------------------------------------

def test_voice_request(srv):
    """§7.13 / §8.6: a visitor's voice request (slixmpp request_voice) reaches the moderators
    as a muc#request form with the visitor's nick; the moderator approves it by submitting
    the form and the visitor becomes a participant. With allowvoicerequests off it is
    refused."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("voice")
            await create_instant(alice, room, "alice")
            await mu.submit_config(alice, room, {"muc#roomconfig_moderatedroom": True})
            r = await enter(bob, room + "/bob")
            assert item(r.self_presence)["role"] == "visitor"
            bob["xep_0045"].request_voice(room, "participant")
            _, m = await alice.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                      and s.xml.find("{%s}x" % NS_DATA) is not None)
            form = m.xml.find("{%s}x" % NS_DATA)
            vals = {f.get("var"): f.findtext("{%s}value" % NS_DATA)
                    for f in form.findall("{%s}field" % NS_DATA)}
            assert vals.get("FORM_TYPE") == NS_MUC + "#request", vals
            assert vals.get("muc#role") == "participant", vals
            assert vals.get("muc#roomnick") == "bob", vals
            # §8.6: the moderator submits the form it got, with muc#request_allow true.
            fields = "".join(
                "<field var='%s'><value>%s</value></field>" % (f.get("var"), f.findtext(
                    "{%s}value" % NS_DATA) or "")
                for f in form.findall("{%s}field" % NS_DATA)
                if f.get("var") not in ("muc#request_allow",))
            mark = bob.mark()
            alice.send_raw(
                "<message to='%s'><x xmlns='%s' type='submit'>%s"
                "<field var='muc#request_allow'><value>true</value></field>"
                "</x></message>" % (room, NS_DATA, fields))
            _, p = await bob.expect(is_presence(room + "/bob"), since=mark)
            assert item(p)["role"] == "participant", p
            groupchat(bob, room, "I can speak")
            await alice.expect(is_message(room + "/bob", "I can speak", "groupchat"))
            # With voice requests off, a visitor's request is refused and reaches nobody.
            await mu.submit_config(alice, room, {"muc#roomconfig_allowvoicerequests": False})
            await alice["xep_0045"].set_role(room, "bob", "visitor", timeout=10)
            ma, mb = alice.mark(), bob.mark()
            bob["xep_0045"].request_voice(room, "participant")
            _, e = await bob.expect(is_message(room, mtype="error"), since=mb)
            assert error_of(e)[0] in ("forbidden", "not-allowed"), e
            await barrier(alice, room)
            assert not alice.found(lambda s: s.name == "message" and
                                   s.xml.find("{%s}x" % NS_DATA) is not None, since=ma)
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_iq_through_occupant_jid(srv):
    """§18.4 rule 3: in a semi-anonymous room an iq to an occupant JID is forwarded to the
    occupant's real JID from the sender's occupant JID, and the answer comes back from the
    target's occupant JID (slixmpp xep_0092 answers the version query); neither side learns
    the other's real JID. An iq to a nick that is not in the room gets item-not-found or
    not-acceptable."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("iqfwd")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            v = await bob["xep_0092"].get_version(room + "/alice", timeout=10)
            assert str(v["from"]) == room + "/alice", v
            assert v["software_version"]["name"], v
            assert "alice@localhost" not in str(v), v
            cond = await bob.iq_error(room + "/nobody", "<query xmlns='jabber:iq:version'/>")
            assert cond[0] in ("item-not-found", "not-acceptable"), cond
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- XEP-0410 self-ping ----------------------------------------------------------------------

def test_self_ping(srv):
    """XEP-0410 §3: a ping to one's own occupant JID is answered by the service (result) while
    joined; from a session that is not joined it gets not-acceptable (also to a nick that
    does not exist)."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("selfping")
            await create_instant(alice, room, "alice")
            r = await alice.iq(room + "/alice", "<ping xmlns='%s'/>" % NS_PING)
            assert r["type"] == "result" and str(r["from"]) == room + "/alice"
            assert await bob.iq_error(room + "/bob", "<ping xmlns='%s'/>" % NS_PING) == \
                ("not-acceptable", "cancel")
            assert (await bob.iq_error(room + "/alice", "<ping xmlns='%s'/>" % NS_PING))[0] == \
                "not-acceptable"
            await enter(bob, room + "/bob")
            r = await bob.iq(room + "/bob", "<ping xmlns='%s'/>" % NS_PING)
            assert r["type"] == "result"
            # XEP-0410 §3: it is the sender's full JID that must be joined: bob's second
            # session (not in the room) pinging the same occupant JID gets not-acceptable.
            bob2 = await login("bob@localhost/other", srv.port)
            try:
                assert (await bob2.iq_error(room + "/bob", "<ping xmlns='%s'/>" % NS_PING))[0] \
                    == "not-acceptable"
            finally:
                await close_all(bob2)
            mu.leave(bob, room + "/bob")
            await bob.expect(is_presence(room + "/bob", "unavailable", code=110))
            assert await bob.iq_error(room + "/bob", "<ping xmlns='%s'/>" % NS_PING) == \
                ("not-acceptable", "cancel")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- bad input -------------------------------------------------------------------------------

def test_bad_input(srv):
    """Every bad request gets its error, none is dropped: muc#admin items with both role and
    affiliation or unknown values (bad-request, §18.3 rule 4), an unknown iq namespace on the
    room (service-unavailable), a non-owner's muc#owner get (forbidden, §10.2), a non-moderator
    kick (forbidden, §8), a presence probe / bad type is no join (§18.2 rule 1), and the server
    stays up."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("bad")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            both = "<query xmlns='%s'><item nick='bob' role='visitor' affiliation='member'/>" \
                   "</query>" % mu.NS_ADMIN
            assert (await alice.iq_error(room, both, "set"))[0] == "bad-request"
            bad_role = "<query xmlns='%s'><item nick='bob' role='king'/></query>" % mu.NS_ADMIN
            assert (await alice.iq_error(room, bad_role, "set"))[0] == "bad-request"
            bad_aff = "<query xmlns='%s'><item jid='bob@localhost' affiliation='boss'/></query>" \
                % mu.NS_ADMIN
            assert (await alice.iq_error(room, bad_aff, "set"))[0] == "bad-request"
            no_item = "<query xmlns='%s'/>" % mu.NS_ADMIN
            assert (await alice.iq_error(room, no_item, "get"))[0] == "bad-request"
            bad_jid = "<query xmlns='%s'><item jid='@@bad' affiliation='member'/></query>" \
                % mu.NS_ADMIN
            assert (await alice.iq_error(room, bad_jid, "set"))[0] in ("bad-request",
                                                                        "jid-malformed")
            assert (await alice.iq_error(room, "<query xmlns='urn:example:nothing'/>"))[0] == \
                "service-unavailable"
            assert (await bob.iq_error(room, "<query xmlns='%s'/>" % NS_OWNER)) == \
                ("forbidden", "auth")
            kick = "<query xmlns='%s'><item nick='alice' role='none'/></query>" % mu.NS_ADMIN
            assert (await bob.iq_error(room, kick, "set")) == ("forbidden", "auth")
            assert (await carol.iq_error(room, kick, "set"))[0] == "forbidden"
            # A bad submission of the configuration form.
            bad_form = ("<query xmlns='%s'><x xmlns='%s' type='submit'><field "
                        "var='muc#roomconfig_maxusers'><value>many</value></field></x></query>"
                        % (NS_OWNER, NS_DATA))
            assert (await alice.iq_error(room, bad_form, "set"))[0] in ("bad-request",
                                                                         "not-acceptable")
            # A presence probe to an occupant JID is not a join.
            m = carol.mark()
            carol.send_raw("<presence to='%s/carol' type='probe'/>" % room)
            await barrier(carol, room)
            assert not carol.found(lambda s: s.name == "presence" and 110 in codes(s), since=m)
            # A groupchat message with no body and no subject from an occupant is harmless;
            # the room still works.
            bob.send_raw("<message to='%s' type='groupchat'/>" % room)
            groupchat(bob, room, "still fine")
            await alice.expect(is_message(room + "/bob", "still fine", "groupchat"))
            # Messages to the service itself (not a room) are not delivered anywhere.
            cond = await carol.iq_error(SVC, "<query xmlns='%s'/>" % NS_OWNER, "get")
            assert cond[0] in ("service-unavailable", "feature-not-implemented", "bad-request"), \
                cond
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_muc_disabled(server_factory):
    """[muc] enabled = false: no service (remote-server-not-found or service-unavailable for
    the conference domain; not in disco#items)."""
    s = mu.muc_server(server_factory, extra="[muc]\nenabled = false\n")

    async def body():
        alice = await login("alice@localhost/r", s.port)
        try:
            items = await mu.disco_items(alice, "localhost")
            assert SVC not in [i["jid"] for i in items], items
            cond = await alice.iq_error(SVC, "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] in ("remote-server-not-found", "service-unavailable",
                               "item-not-found"), cond
        finally:
            await close_all(alice)
    run(body(), 60)
