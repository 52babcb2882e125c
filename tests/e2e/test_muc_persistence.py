"""XEP-0045 persistent rooms (muc#roomconfig_persistentroom): a persistent room keeps its
configuration, affiliations, registered nicks and subject across a server restart (same data
directory) and while empty; a temporary room does not survive; a destroyed persistent room
does not come back."""
import asyncio

import pytest

import muc_util as mu
from muc_util import (NS_MUC, NS_REGISTER, NS_DATA, codes, item, enter, enter_error,
                      create_instant, close_all, run, is_presence)

SVC = "conference.localhost"


def R(name):
    return "%s@%s" % (name, SVC)


@pytest.fixture
def srv(server_factory):
    return mu.muc_server(server_factory)


async def logins(srv, *names):
    return await asyncio.gather(*(mu.login("%s@localhost/r" % n, srv.port) for n in names))


def restart(srv):
    rc = srv.stop()
    assert rc == 0, "starling exited with %s:\n%s" % (rc, srv.log()[-3000:])
    srv.start()


def test_persistent_room_survives_restart(srv):
    async def setup():
        alice, bob, carol = await logins(srv, "alice", "bob", "carol")
        try:
            await create_instant(alice, R("keep"), "alice")
            # bob registers the nick "bobby" (§7.10) and so becomes a member; kept as well.
            await bob.iq(R("keep"), "<query xmlns='%s'><x xmlns='%s' type='submit'><field "
                         "var='FORM_TYPE'><value>%s#register</value></field><field "
                         "var='muc#register_roomnick'><value>bobby</value></field></x></query>"
                         % (NS_REGISTER, NS_DATA, NS_MUC), "set")
            await mu.submit_config(alice, R("keep"), {
                "muc#roomconfig_persistentroom": True,
                "muc#roomconfig_roomname": "Kept Room",
                "muc#roomconfig_roomdesc": "survives restarts",
                "muc#roomconfig_membersonly": True,
                "muc#roomconfig_whois": "anyone",
                "muc#roomconfig_maxusers": "42",
            })
            await mu.admin_set(alice, R("keep"), [
                {"jid": "carol@localhost", "affiliation": "admin"},
                {"jid": "dave@localhost", "affiliation": "outcast"}])
            alice["xep_0045"].set_subject(R("keep"), "Persistent topic")
            await alice.expect(mu.is_subject(R("keep"), "Persistent topic"))
            # Empty: a persistent room stays.
            mu.leave(alice, R("keep") + "/alice")
            await alice.expect(is_presence(R("keep") + "/alice", "unavailable", code=110))
            ids, _, _ = await mu.disco_info(carol, R("keep"))
            assert ("conference", "text", "Kept Room") in ids, ids
            # A temporary room with an occupant at shutdown.
            await create_instant(carol, R("fleeting"), "carol")
        finally:
            await close_all(alice, bob, carol)
    run(setup(), 60)

    restart(srv)

    async def check():
        alice, bob, carol, dave, eve = await logins(srv, "alice", "bob", "carol", "dave", "eve")
        try:
            room = R("keep")
            ids, feats, forms = await mu.disco_info(eve, room)
            assert ("conference", "text", "Kept Room") in ids, ids
            for f in ("muc_persistent", "muc_membersonly", "muc_nonanonymous"):
                assert f in feats, (f, feats)
            assert forms.get(NS_MUC + "#roominfo", {}).get("muc#roominfo_description") == \
                ["survives restarts"], forms
            assert room in [i["jid"] for i in await mu.disco_items(eve, SVC)]
            # Not locked, affiliations kept: alice is owner, bob member, dave banned, eve none.
            r = await enter(alice, room + "/alice")
            assert 201 not in codes(r.self_presence)
            assert item(r.self_presence)["affiliation"] == "owner"
            assert r.subject["subject"] == "Persistent topic"
            fields, _ = await mu.get_config_form(alice, room)
            assert fields["muc#roomconfig_maxusers"][1] == ["42"], fields
            assert mu.boolean(fields["muc#roomconfig_persistentroom"][1]), fields
            r = await enter(bob, room + "/bobby")
            assert item(r.self_presence)["affiliation"] == "member"
            r = await enter(carol, room + "/carol")
            assert item(r.self_presence)["affiliation"] == "admin"
            assert await enter_error(dave, room + "/dave") == ("forbidden", "auth")
            assert await enter_error(eve, room + "/eve") == ("registration-required", "auth")
            members = await mu.admin_list(alice, room, affiliation="member")
            assert [(i.get("jid"), i.get("nick")) for i in members] == \
                [("bob@localhost", "bobby")], members
            # The temporary room is gone.
            cond = await eve.iq_error(R("fleeting"), "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond

            # A destroyed persistent room does not come back.
            await alice["xep_0045"].destroy(room, "done", timeout=10)
            await bob.expect(lambda s: s.name == "presence" and s["type"] == "unavailable"
                             and s["from"].bare == room and mu.user_x(s) is not None and
                             mu.user_x(s).find("{%s}destroy" % mu.NS_USER) is not None)
        finally:
            await close_all(alice, bob, carol, dave, eve)
    run(check(), 60)

    restart(srv)

    async def gone():
        eve, = await logins(srv, "eve")
        try:
            cond = await eve.iq_error(R("keep"), "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond
        finally:
            await close_all(eve)
    run(gone(), 60)


def test_persistent_by_default(server_factory):
    """[muc.defaults] persistent = true: a new room is persistent without configuration and
    survives a restart; turning persistence off makes it go when empty."""
    s = mu.muc_server(server_factory, extra="[muc]\n[muc.defaults]\npersistent = true\n")

    async def setup():
        alice, = await logins(s, "alice")
        try:
            await create_instant(alice, R("default"), "alice")
            await create_instant(alice, R("later"), "alice")
            await mu.submit_config(alice, R("later"), {"muc#roomconfig_persistentroom": False})
        finally:
            await close_all(alice)
    run(setup(), 60)
    restart(s)

    async def check():
        eve, = await logins(s, "eve")
        try:
            _, feats, _ = await mu.disco_info(eve, R("default"))
            assert "muc_persistent" in feats, feats
            cond = await eve.iq_error(R("later"), "<query xmlns='%s'/>" % mu.NS_DISCO_INFO)
            assert cond[0] == "item-not-found", cond
        finally:
            await close_all(eve)
    run(check(), 60)
