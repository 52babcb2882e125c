"""XEP-0045 Multi-User Chat, moderator (§8), admin (§9) and owner (§10) use cases and room
registration (§7.10), plus the service's [muc] policy (admins, create_rooms), driven by
slixmpp's xep_0045 plugin (set_role, set_affiliation, get_affiliation_list, destroy, ...) and
the recording MucClient of muc_util, against a real Starling (conference.localhost)."""
import asyncio

import pytest

import muc_util as mu
from muc_util import (NS_MUC, NS_USER, NS_DATA, NS_REGISTER, codes, item, enter,
                      enter_error, create_instant, barrier, groupchat, error_of, login,
                      close_all, run, is_presence, is_message, IqError)

SVC = "conference.localhost"


@pytest.fixture
def srv(server_factory):
    return mu.muc_server(server_factory)


def R(name):
    return "%s@%s" % (name, SVC)


async def logins(srv, *names):
    return await asyncio.gather(*(login("%s@localhost/r" % n, srv.port) for n in names))


async def iq_err(coro, condition, etype=None):
    """Awaits a request that must fail with `condition` (and error type `etype`)."""
    try:
        r = await coro
    except IqError as e:
        got = (e.iq["error"]["condition"], e.iq["error"]["type"])
        assert got[0] == condition and (etype is None or got[1] == etype), \
            "expected %s/%s, got %s: %s" % (condition, etype, got, e.iq)
        return got
    raise AssertionError("expected %s, got a result: %s" % (condition, r))


# ---- §8 moderators ---------------------------------------------------------------------------

def test_kick(srv):
    """§8.2: a moderator kicks a participant (slixmpp set_role none with a reason): the kicked
    occupant gets unavailable with 307 + 110, the reason and the actor; the others get 307;
    the kicked user may come back. A moderator may not kick an owner (not-allowed); a
    participant may not kick (forbidden); an unknown nick is item-not-found."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("kick")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            mb, mc = bob.mark(), carol.mark()
            await alice["xep_0045"].set_role(room, "bob", "none", reason="spam", timeout=10)
            _, p = await bob.expect(is_presence(room + "/bob", "unavailable"), since=mb)
            assert {307, 110} <= codes(p), p
            assert item(p)["role"] == "none", p
            assert mu.item_child_text(p, "reason") == "spam", p
            actor = mu.user_x(p).find("{%s}item/{%s}actor" % (NS_USER, NS_USER))
            assert actor is not None and actor.get("nick") == "alice", p
            _, p = await carol.expect(is_presence(room + "/bob", "unavailable"), since=mc)
            assert 307 in codes(p) and 110 not in codes(p), p
            # bob is out: his messages are refused.
            groupchat(bob, room, "still here?")
            _, e = await bob.expect(is_message(room, mtype="error"), since=mb)
            assert error_of(e)[0] == "not-acceptable", e
            # ... and he may come back.
            await enter(bob, room + "/bob")
            # carol (participant) may not kick; nobody may kick the owner.
            await iq_err(carol["xep_0045"].set_role(room, "bob", "none", timeout=10), "forbidden", "auth")
            await mu.admin_set(alice, room, [{"jid": "carol@localhost", "affiliation": "admin"}])
            await iq_err(carol["xep_0045"].set_role(room, "alice", "none",
                                                           timeout=10), "not-allowed")
            await iq_err(alice["xep_0045"].set_role(room, "nobody", "none",
                                                           timeout=10), "item-not-found")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_voice_grant_and_revoke(srv):
    """§8.3/§8.4/§8.5: in a moderated room a moderator grants voice (role participant) and
    revokes it (visitor), everyone sees the role change; the voice list (role=participant)
    names the participants; an admin's voice cannot be revoked (not-allowed)."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("voice")
            await create_instant(alice, room, "alice")
            await mu.submit_config(alice, room, {"muc#roomconfig_moderatedroom": True})
            r = await enter(bob, room + "/bob")
            assert item(r.self_presence)["role"] == "visitor"
            await enter(carol, room + "/carol")
            mc = carol.mark()
            await alice["xep_0045"].set_role(room, "bob", "participant", timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["role"] == "participant", p
            groupchat(bob, room, "thanks")
            await carol.expect(is_message(room + "/bob", "thanks", "groupchat"))
            voice = await mu.admin_list(alice, room, role="participant")
            assert [i.get("nick") for i in voice] == ["bob"], voice
            assert all(i.get("role") == "participant" and i.get("jid") for i in voice), voice
            assert await alice["xep_0045"].get_roles_list(room, "participant", timeout=10) == \
                ["bob"]
            mc = carol.mark()
            await alice["xep_0045"].set_role(room, "bob", "visitor", reason="quiet", timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["role"] == "visitor", p
            groupchat(bob, room, "again")
            _, e = await bob.expect(is_message(room, mtype="error"))
            assert error_of(e) == ("forbidden", "auth"), e
            # An admin is a moderator; nobody revokes the voice of an admin/owner.
            await mu.admin_set(alice, room, [{"jid": "carol@localhost", "affiliation": "admin"}])
            await iq_err(mu.admin_set(carol, room, [{"nick": "alice",
                                                             "role": "visitor"}]), "not-allowed")
            # A participant may not ask for the voice list.
            await iq_err(mu.admin_list(bob, room, role="participant"), "forbidden")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_moderator_grant_and_list(srv):
    """§9.6/§9.7/§9.8: an admin grants moderator to a participant (role moderator broadcast),
    the moderator list names it; revoking makes it a participant again."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("mods")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            mc = carol.mark()
            await alice["xep_0045"].set_role(room, "bob", "moderator", timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["role"] == "moderator", p
            mods = await mu.admin_list(alice, room, role="moderator")
            assert sorted(i.get("nick") for i in mods) == ["alice", "bob"], mods
            # bob (moderator, no affiliation) may kick carol now.
            await bob["xep_0045"].set_role(room, "carol", "none", timeout=10)
            await carol.expect(is_presence(room + "/carol", "unavailable", code=307))
            mb = bob.mark()
            await alice["xep_0045"].set_role(room, "bob", "participant", timeout=10)
            _, p = await bob.expect(is_presence(room + "/bob"), since=mb)
            assert item(p)["role"] == "participant" and 110 in codes(p), p
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §9 admins -------------------------------------------------------------------------------

def test_ban(srv):
    """§9.1: an admin bans an occupant (affiliation outcast): 301 + 110 to the banned user, 301
    to the others; the ban list names it with the reason; the banned user is refused
    (forbidden); banning oneself gets conflict; §9.2 lifting the ban lets the user in."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("ban")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            mb, mc = bob.mark(), carol.mark()
            await alice["xep_0045"].set_affiliation(room, "outcast", jid="bob@localhost",
                                                    reason="troll", timeout=10)
            _, p = await bob.expect(is_presence(room + "/bob", "unavailable"), since=mb)
            assert {301, 110} <= codes(p), p
            assert item(p)["affiliation"] == "outcast" and item(p)["role"] == "none", p
            assert mu.item_child_text(p, "reason") == "troll", p
            _, p = await carol.expect(is_presence(room + "/bob", "unavailable"), since=mc)
            assert 301 in codes(p), p
            outcasts = await mu.admin_list(alice, room, affiliation="outcast")
            assert [i.get("jid") for i in outcasts] == ["bob@localhost"], outcasts
            assert "role" not in outcasts[0], outcasts
            assert await alice["xep_0045"].get_affiliation_list(room, "outcast", timeout=10) \
                == ["bob@localhost"]
            assert await enter_error(bob, room + "/bob") == ("forbidden", "auth")
            # Ban a user who is not in the room: no presence, but the list grows.
            await mu.admin_set(alice, room, [{"jid": "dave@localhost", "affiliation": "outcast"}])
            outcasts = await mu.admin_list(alice, room, affiliation="outcast")
            assert sorted(i.get("jid") for i in outcasts) == ["bob@localhost", "dave@localhost"]
            # Self-ban: conflict. A participant may not ban (forbidden). Nobody bans an owner
            # except an owner (not-allowed for an admin).
            await iq_err(mu.admin_set(alice, room, [{"jid": "alice@localhost",
                                                            "affiliation": "outcast"}]), "conflict")
            await iq_err(mu.admin_set(carol, room, [{"jid": "dave@localhost",
                                                             "affiliation": "outcast"}]), "forbidden")
            # Lift the ban (affiliation none) — slixmpp's delta list API.
            await alice["xep_0045"].send_affiliation_list(room, [("bob@localhost", "none")],
                                                          timeout=10)
            await enter(bob, room + "/bob")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_member_list(srv):
    """§9.3/§9.4/§9.5: granting membership changes the occupant's affiliation for everyone;
    the member list names members; in a members-only room revoking membership removes the
    occupant with 321; members-only conversion removes non-members with 322."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("members")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            mc = carol.mark()
            await alice["xep_0045"].set_affiliation(room, "member", jid="bob@localhost",
                                                    timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["affiliation"] == "member", p
            members = await mu.admin_list(alice, room, affiliation="member")
            assert [i.get("jid") for i in members] == ["bob@localhost"], members
            # Members-only: carol (no affiliation) is removed with 322.
            mc = carol.mark()
            mb = bob.mark()
            await mu.submit_config(alice, room, {"muc#roomconfig_membersonly": True})
            _, p = await carol.expect(is_presence(room + "/carol", "unavailable"), since=mc)
            assert {322, 110} <= codes(p), p
            _, p = await bob.expect(is_presence(room + "/carol", "unavailable"), since=mb)
            assert 322 in codes(p), p
            # Revoking bob's membership removes him with 321.
            mb = bob.mark()
            await alice["xep_0045"].set_affiliation(room, "none", jid="bob@localhost",
                                                    timeout=10)
            _, p = await bob.expect(is_presence(room + "/bob", "unavailable"), since=mb)
            assert {321, 110} <= codes(p), p
            assert item(p)["affiliation"] == "none", p
            assert await enter_error(bob, room + "/bob") == ("registration-required", "auth")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- §10 owners ------------------------------------------------------------------------------

def test_admin_and_owner_lists(srv):
    """§10.6-§10.8: the owner grants admin and owner (presence with the new affiliation and
    role moderator); admin/owner lists; only owners may change them (forbidden for an admin);
    the last owner may not remove himself (conflict); a second owner may."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("owners")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await enter(carol, room + "/carol")
            mc = carol.mark()
            await alice["xep_0045"].set_affiliation(room, "admin", jid="bob@localhost",
                                                    timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["affiliation"] == "admin" and item(p)["role"] == "moderator", p
            admins = await mu.admin_list(alice, room, affiliation="admin")
            assert [i.get("jid") for i in admins] == ["bob@localhost"], admins
            # An admin may not touch the admin or owner lists.
            await iq_err(mu.admin_set(bob, room, [{"jid": "carol@localhost",
                                                           "affiliation": "admin"}]), "forbidden")
            await iq_err(mu.admin_set(bob, room, [{"jid": "carol@localhost",
                                                           "affiliation": "owner"}]), "forbidden")
            # The only owner may not leave ownership.
            await iq_err(mu.admin_set(alice, room, [{"jid": "alice@localhost",
                                                             "affiliation": "admin"}]), "conflict")
            mc = carol.mark()
            await alice["xep_0045"].set_affiliation(room, "owner", jid="bob@localhost",
                                                    timeout=10)
            _, p = await carol.expect(is_presence(room + "/bob"), since=mc)
            assert item(p)["affiliation"] == "owner", p
            owners = await mu.admin_list(alice, room, affiliation="owner")
            assert sorted(i.get("jid") for i in owners) == ["alice@localhost", "bob@localhost"]
            # Now alice may step down.
            await mu.admin_set(alice, room, [{"jid": "alice@localhost", "affiliation": "admin"}])
            owners = await mu.admin_list(bob, room, affiliation="owner")
            assert [i.get("jid") for i in owners] == ["bob@localhost"], owners
            # A member-affiliated participant asking for the owner list of a semi-anonymous
            # room is refused (§10.5: forbidden).
            await iq_err(mu.admin_list(carol, room, affiliation="owner"), "forbidden")
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


def test_full_configuration_form(srv):
    """§10.2: the owner reads the form, changes every field and reads the new values back;
    occupants get a 104 message (configuration changed) and 172 when the room becomes
    non-anonymous (§10.2.1); a non-owner gets forbidden."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("config")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            fields, _ = await mu.get_config_form(alice, room)
            assert fields["FORM_TYPE"][1] == [NS_MUC + "#roomconfig"], fields["FORM_TYPE"]
            mb = bob.mark()
            values = {
                "muc#roomconfig_roomname": "Configured",
                "muc#roomconfig_roomdesc": "A described room",
                "muc#roomconfig_persistentroom": True,
                "muc#roomconfig_publicroom": False,
                "muc#roomconfig_membersonly": False,
                "muc#roomconfig_moderatedroom": True,
                "muc#roomconfig_passwordprotectedroom": True,
                "muc#roomconfig_roomsecret": "pw",
                "muc#roomconfig_whois": "anyone",
                "muc#roomconfig_maxusers": "30",
                "muc#roomconfig_changesubject": True,
                "muc#roomconfig_allowinvites": True,
                "muc#roomconfig_allowpm": "moderators",
            }
            await mu.submit_config(alice, room, values)
            fields, _ = await mu.get_config_form(alice, room)
            for var, v in values.items():
                want = ["1" if v else "0"] if isinstance(v, bool) else [v]
                got = fields[var][1]
                if isinstance(v, bool):
                    got = ["1" if mu.boolean(got) else "0"]
                assert got == want, (var, fields[var], want)
            _, m = await bob.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                    and 104 in codes(s), since=mb, what="104 notification")
            _, m = await bob.expect(lambda s: s.name == "message" and str(s["from"]) == room
                                    and 172 in codes(s), since=mb, what="172 notification")
            ids, feats, forms = await mu.disco_info(bob, room)
            for f in ("muc_persistent", "muc_hidden", "muc_moderated", "muc_passwordprotected",
                      "muc_nonanonymous", "muc_open"):
                assert f in feats, (f, feats)
            assert ("conference", "text", "Configured") in ids, ids
            info = forms.get(NS_MUC + "#roominfo", {})
            assert info.get("muc#roominfo_description") == ["A described room"], info
            await iq_err(bob["xep_0045"].get_room_config(room, timeout=10), "forbidden", "auth")
            sub = bob["xep_0004"].make_form(ftype="submit")
            sub.add_field(var="FORM_TYPE", ftype="hidden", value=NS_MUC + "#roomconfig")
            await iq_err(bob["xep_0045"].set_room_config(room, sub, timeout=10), "forbidden")
            # A password-protected room without a password is refused (§10.1.3 not-acceptable).
            await iq_err(mu.submit_config(alice, room, {
                "muc#roomconfig_passwordprotectedroom": True,
                "muc#roomconfig_roomsecret": ""}), "not-acceptable")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_destroy(srv):
    """§10.9: the owner destroys the room (slixmpp destroy with reason and alternate venue):
    each occupant gets one unavailable presence with <destroy jid=alt><reason/>; the room is
    gone (item-not-found); a non-owner gets forbidden."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("doomed")
            alt = R("newplace")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            await iq_err(bob["xep_0045"].destroy(room, "mine now", timeout=10), "forbidden", "auth")
            mb = bob.mark()
            await alice["xep_0045"].destroy(room, "moving", altroom=alt, timeout=10)
            _, p = await bob.expect(is_presence(room + "/bob", "unavailable"), since=mb)
            d = mu.user_x(p).find("{%s}destroy" % NS_USER)
            assert d is not None, p
            assert d.get("jid") == alt, p
            assert d.findtext("{%s}reason" % NS_USER) == "moving", p
            assert item(p)["role"] == "none", p
            await barrier(bob, room)
            assert not bob.found(is_presence(room + "/alice", "unavailable"), since=mb), \
                "§10.9: SHOULD NOT broadcast each occupant's unavailable"
            cond = await bob.iq_error(room, "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond
        finally:
            await close_all(alice, bob)
    run(body(), 60)


# ---- §7.10 registration ----------------------------------------------------------------------

def test_registration(srv):
    """§7.10: a user asks the room for the registration form (muc#register with
    muc#register_roomnick), submits a nick and becomes a member; asking again shows
    <registered/> with the nick; §7.11 the reserved nick is discoverable (x-roomuser-item);
    another user may not take that nick (conflict); a bad form is bad-request."""
    async def body():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            room = R("register")
            await create_instant(alice, room, "alice")
            r = await bob.iq(room, "<query xmlns='%s'/>" % NS_REGISTER)
            x = r.xml.find("{%s}query/{%s}x" % (NS_REGISTER, NS_DATA))
            assert x is not None, r
            vars_ = {f.get("var"): f for f in x.findall("{%s}field" % NS_DATA)}
            assert vars_["FORM_TYPE"].findtext("{%s}value" % NS_DATA) == NS_MUC + "#register"
            assert "muc#register_roomnick" in vars_, list(vars_)
            # A submission without a nick.
            bad = ("<query xmlns='%s'><x xmlns='%s' type='submit'><field var='FORM_TYPE'>"
                   "<value>%s#register</value></field></x></query>" % (NS_REGISTER, NS_DATA,
                                                                       NS_MUC))
            assert (await bob.iq_error(room, bad, "set"))[0] == "bad-request"
            sub = ("<query xmlns='%s'><x xmlns='%s' type='submit'><field var='FORM_TYPE'>"
                   "<value>%s#register</value></field><field var='muc#register_roomnick'>"
                   "<value>%s</value></field></x></query>")
            await bob.iq(room, sub % (NS_REGISTER, NS_DATA, NS_MUC, "bobby"), "set")
            members = await mu.admin_list(alice, room, affiliation="member")
            assert [(i.get("jid"), i.get("nick")) for i in members] == \
                [("bob@localhost", "bobby")], members
            r = await bob.iq(room, "<query xmlns='%s'/>" % NS_REGISTER)
            q = r.xml.find("{%s}query" % NS_REGISTER)
            assert q.find("{%s}registered" % NS_REGISTER) is not None, r
            assert q.findtext("{%s}username" % NS_REGISTER) == "bobby", r
            r = await bob.iq(room, "<query xmlns='%s' node='x-roomuser-item'/>"
                             % mu.NS_DISCO_INFO)
            ident = r.xml.find("{%s}query/{%s}identity" % (mu.NS_DISCO_INFO, mu.NS_DISCO_INFO))
            assert ident is not None and ident.get("name") == "bobby", r
            # The nick is reserved: carol cannot register or use it.
            assert (await carol.iq_error(room, sub % (NS_REGISTER, NS_DATA, NS_MUC, "bobby"),
                                         "set"))[0] == "conflict"
            assert await enter_error(carol, room + "/bobby") == ("conflict", "cancel")
            r = await enter(bob, room + "/bobby")
            assert item(r.self_presence)["affiliation"] == "member"
        finally:
            await close_all(alice, bob, carol)
    run(body(), 60)


# ---- service policy ([muc] admins, create_rooms) ---------------------------------------------

def test_service_admins_have_owner_rights(server_factory):
    """[muc] admins (§5.2 service admins): eve, an admin of the service, may configure, kick in
    and destroy a room she does not own; she enters as owner/moderator."""
    s = mu.muc_server(server_factory, extra='[muc]\nadmins = ["eve@localhost"]\n')

    async def body():
        alice, bob, eve = await logins(s, "alice", "bob", "eve")
        try:
            room = R("adminned")
            await create_instant(alice, room, "alice")
            await enter(bob, room + "/bob")
            fields, _ = await mu.get_config_form(eve, room)
            assert "muc#roomconfig_roomname" in fields
            await mu.submit_config(eve, room, {"muc#roomconfig_roomname": "By eve"})
            r = await enter(eve, room + "/eve")
            assert item(r.self_presence)["affiliation"] == "owner", r.self_presence
            assert item(r.self_presence)["role"] == "moderator", r.self_presence
            await eve["xep_0045"].set_role(room, "bob", "none", timeout=10)
            await bob.expect(is_presence(room + "/bob", "unavailable", code=307))
            ma = alice.mark()
            await eve["xep_0045"].destroy(room, "admin says", timeout=10)
            _, p = await alice.expect(is_presence(room + "/alice", "unavailable"), since=ma)
            assert mu.user_x(p).find("{%s}destroy" % NS_USER) is not None, p
        finally:
            await close_all(alice, bob, eve)
    run(body(), 60)


def test_create_rooms_admins_only(server_factory):
    """[muc] create_rooms = "admins": a plain user creating a room gets not-allowed (§10.1.1);
    a MUC admin may create it, and then the plain user may enter it."""
    s = mu.muc_server(server_factory,
                      extra='[muc]\ncreate_rooms = "admins"\nadmins = ["eve@localhost"]\n')

    async def body():
        alice, eve = await logins(s, "alice", "eve")
        try:
            assert await enter_error(alice, R("mine") + "/alice") == ("not-allowed", "cancel")
            await create_instant(eve, R("mine"), "eve")
            r = await enter(alice, R("mine") + "/alice")
            assert item(r.self_presence)["affiliation"] == "none"
        finally:
            await close_all(alice, eve)
    run(body(), 60)


def test_room_defaults_from_config(server_factory):
    """[muc.defaults]: a new room starts with the configured defaults (here moderated,
    non-anonymous, members can invite), visible in its form and disco#info."""
    s = mu.muc_server(server_factory, extra='[muc]\n[muc.defaults]\nmoderated = true\n'
                      'whois = "anyone"\nallow_invites = true\npublic_room = false\n')

    async def body():
        alice, bob = await logins(s, "alice", "bob")
        try:
            room = R("defaults")
            await create_instant(alice, room, "alice")
            fields, _ = await mu.get_config_form(alice, room)
            assert mu.boolean(fields["muc#roomconfig_moderatedroom"][1]), fields
            assert fields["muc#roomconfig_whois"][1] == ["anyone"], fields
            assert mu.boolean(fields["muc#roomconfig_allowinvites"][1]), fields
            r = await enter(bob, room + "/bob")
            assert item(r.self_presence)["role"] == "visitor"
            assert 100 in codes(r.self_presence)
            items = await mu.disco_items(bob, SVC)
            assert room not in [i["jid"] for i in items], items
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_server_admins_have_owner_rights(server_factory):
    """The server's top-level `admins` are MUC service admins too (docs/configuration.md
    [muc] admins): eve may read and change the configuration of alice's room."""
    s = mu.muc_server(server_factory, extra='admins = ["eve@localhost"]\n')

    async def body():
        alice, eve = await logins(s, "alice", "eve")
        try:
            room = R("serveradmin")
            await create_instant(alice, room, "alice")
            await mu.submit_config(eve, room, {"muc#roomconfig_roomname": "Eve was here"})
            ids, _, _ = await mu.disco_info(alice, room)
            assert ("conference", "text", "Eve was here") in ids, ids
            owners = await mu.admin_list(eve, room, affiliation="owner")
            assert [i.get("jid") for i in owners] == ["alice@localhost"], owners
        finally:
            await close_all(alice, eve)
    run(body(), 60)


def test_max_rooms(server_factory):
    """[muc] max_rooms: creating one room more than allowed gets resource-constraint; an
    existing room can still be entered."""
    s = mu.muc_server(server_factory, extra="[muc]\nmax_rooms = 2\n")

    async def body():
        alice, bob = await logins(s, "alice", "bob")
        try:
            await create_instant(alice, R("one"), "alice")
            await create_instant(alice, R("two"), "alice")
            assert (await enter_error(bob, R("three") + "/bob"))[0] == "resource-constraint"
            await enter(bob, R("two") + "/bob")
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_max_history(server_factory):
    """[muc] max_history caps the history a room keeps (§7.2.15): with max_history = 3 a
    newcomer asking for everything gets the last three messages only."""
    s = mu.muc_server(server_factory, extra="[muc]\nmax_history = 3\n")

    async def body():
        alice, bob = await logins(s, "alice", "bob")
        try:
            room = R("short")
            await create_instant(alice, room, "alice")
            for i in range(6):
                groupchat(alice, room, "m%d" % i)
                await alice.expect(is_message(room + "/alice", "m%d" % i, "groupchat"))
            r = await enter(bob, room + "/bob", history={"maxstanzas": "100"})
            assert [m["body"] for m in r.history] == ["m3", "m4", "m5"], r.history
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_owner_leaving_locked_room_destroys_it(srv):
    """§10.1.3: when the creator leaves before configuring the room, the room is destroyed:
    the creator gets unavailable presence and the next entry creates a new room (201)."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("abandoned")
            r = await enter(alice, room + "/alice", subject=False)
            assert 201 in codes(r.self_presence)
            m = alice.mark()
            mu.leave(alice, room + "/alice")
            await alice.expect(is_presence(room + "/alice", "unavailable"), since=m)
            r = await enter(bob, room + "/bob", subject=False)
            assert 201 in codes(r.self_presence), r.self_presence
        finally:
            await close_all(alice, bob)
    run(body(), 60)


def test_rejoin_is_full_resync(srv):
    """§7.2.1 / §18.2 rule 3: a join presence from a session already in the room is a
    synchronisation request: the service sends the occupants, the self-presence (110) and the
    subject again, and nobody sees a new occupant."""
    async def body():
        alice, bob = await logins(srv, "alice", "bob")
        try:
            room = R("resync")
            await create_instant(alice, room, "alice")
            alice["xep_0045"].set_subject(room, "again")
            await alice.expect(mu.is_subject(room, "again"))
            await enter(bob, room + "/bob")
            ma = alice.mark()
            r = await enter(bob, room + "/bob")
            assert [str(p["from"]) for p in r.others] == [room + "/alice"], r.others
            assert r.subject["subject"] == "again"
            await barrier(alice, room)
            assert not alice.found(lambda s: s.name == "presence" and 110 in codes(s), since=ma)
            assert len(await mu.admin_list(alice, room, role="participant")) == 1
        finally:
            await close_all(alice, bob)
    run(body(), 60)
