"""XEP-0045 Multi-User Chat: the moderator (§8), admin (§9) and owner (§10) use cases and
registration with a room (§7.10), end to end.

slixmpp's xep_0045 plugin (set_role, set_affiliation, get_roles_list, get_affiliation_list,
get_room_config, set_room_config, destroy) drives the room as its owner; aioxmpp.muc, a second
independent client, is the occupant who is kicked and banned and must understand why; raw
sockets check the exact stanzas and the errors the XEP names for bad requests."""
import asyncio
import xml.etree.ElementTree as ET

import clients
from clients import IqError, close_all, error_condition, login, run
from test_muc_core import (IQ, MESSAGE, NS_CLIENT, NS_MUC_OWNER, NS_MUC_USER, PRESENCE, SERVICE,
                           Peer, codes, create_instant, item, muc_server)  # noqa: F401
import xmpp_raw as x
from xmpp_raw import q

NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_REGISTER = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
MUC_PLUGINS = ("xep_0030", "xep_0045", "xep_0199")


def admin_set(peer, room, items):
    return peer.iq(room, "<query xmlns='%s'>%s</query>" % (NS_MUC_ADMIN, items), "set")


def admin_get(peer, room, item_xml):
    return peer.iq(room, "<query xmlns='%s'>%s</query>" % (NS_MUC_ADMIN, item_xml))


def presence_where(peer, frm, pred, what):
    return peer.wait(lambda e: e.tag == PRESENCE and e.get("from") == frm and pred(e), what)


def with_item(**attrs):
    def pred(e):
        xe = e.find(q(NS_MUC_USER, "x"))
        it = xe.find(q(NS_MUC_USER, "item")) if xe is not None else None
        return it is not None and all(it.get(k) == v for k, v in attrs.items())
    return pred


def condition(r):
    assert r.get("type") == "error", ET.tostring(r)
    return x.stanza_error(r)[1]


async def slixmpp_owner(port, room, nick="Alice"):
    """alice@localhost through slixmpp, owner of the new instant room `room`."""
    alice = await login("alice@localhost/sli", port, plugins=MUC_PLUGINS)
    await alice.plugin["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
    await alice.plugin["xep_0045"].set_room_config(
        room, alice.plugin["xep_0004"].make_form(ftype="submit"))
    return alice


def test_kick_and_ban_slixmpp_owner_aioxmpp_occupant(muc_server):
    """§8.2 kick and §9.1 ban, asked for by slixmpp and understood by aioxmpp."""
    async def body():
        import aioxmpp
        import aioxmpp.muc
        room = "court@" + SERVICE
        alice = await slixmpp_owner(muc_server.port, room)
        muc = alice.plugin["xep_0045"]
        bob = clients.aioxmpp_client("bob@localhost", muc_server.port)
        async with bob.connected():
            service = bob.summon(aioxmpp.muc.MUCClient)
            broom, fut = service.join(aioxmpp.JID.fromstr(room), "Bob", autorejoin=False)
            await asyncio.wait_for(fut, 10)
            # §8.5 the voice list as the owner sees it.
            for _ in range(50):
                if "Bob" in await muc.get_roles_list(room, "participant"):
                    break
                await asyncio.sleep(0.1)
            assert await muc.get_roles_list(room, "participant") == ["Bob"]
            assert await muc.get_roles_list(room, "moderator") == ["Alice"]
            # §8.2: kicked with a reason; aioxmpp sees a kick by Alice.
            exited = asyncio.get_running_loop().create_future()
            broom.on_exit.connect(lambda **kw: exited.done() or exited.set_result(kw))
            await muc.set_role(room, "Bob", "none", reason="Avaunt, you cullion!")
            kw = await asyncio.wait_for(exited, 10)
            assert kw["muc_leave_mode"] == aioxmpp.muc.LeaveMode.KICKED
            assert kw["muc_reason"] == "Avaunt, you cullion!"
            assert kw["muc_actor"].nick == "Alice"
            assert 307 in kw["muc_status_codes"]
            # Back in, then banned (§9.1): aioxmpp sees a ban.
            broom, fut = service.join(aioxmpp.JID.fromstr(room), "Bob", autorejoin=False)
            await asyncio.wait_for(fut, 10)
            exited = asyncio.get_running_loop().create_future()
            broom.on_exit.connect(lambda **kw: exited.done() or exited.set_result(kw))
            await muc.set_affiliation(room, "outcast", jid="bob@localhost", reason="Treason")
            kw = await asyncio.wait_for(exited, 10)
            assert kw["muc_leave_mode"] == aioxmpp.muc.LeaveMode.BANNED
            assert kw["muc_reason"] == "Treason"
            # §9.2 the ban list; the banned user cannot enter (§7.2.8 forbidden).
            assert [str(j) for j in await muc.get_affiliation_list(room, "outcast")] == \
                ["bob@localhost"]
            broom, fut = service.join(aioxmpp.JID.fromstr(room), "Bob", autorejoin=False)
            try:
                await asyncio.wait_for(fut, 10)
                raise AssertionError("a banned user entered")
            except aioxmpp.errors.XMPPAuthError as e:
                assert e.condition == aioxmpp.errors.ErrorCondition.FORBIDDEN
            # aioxmpp as an (unaffiliated) requester of the ban list: forbidden (§9.2).
            try:
                await service.get_affiliated(aioxmpp.JID.fromstr(room), "outcast")
                raise AssertionError("the ban list was shown to a non-admin")
            except aioxmpp.errors.XMPPAuthError as e:
                assert e.condition == aioxmpp.errors.ErrorCondition.FORBIDDEN
            # The ban is lifted (§9.2 "none") and Bob is back.
            await muc.set_affiliation(room, "none", jid="bob@localhost")
            assert await muc.get_affiliation_list(room, "outcast") == []
            broom, fut = service.join(aioxmpp.JID.fromstr(room), "Bob", autorejoin=False)
            await asyncio.wait_for(fut, 10)
        await close_all(alice)
    run(body())


def test_affiliations_and_roles_raw(muc_server):
    """§9.3-§9.8 and §10.3-§10.8 with the exact presence updates, and their errors."""
    room = "coven@" + SERVICE
    a = Peer(muc_server, "alice")
    b = Peer(muc_server, "bob")
    c = Peer(muc_server, "carol")
    create_instant(a, room, "crone")
    b.join(room, "wicca")
    b.presence_from(room + "/wicca")
    c.join(room, "hag")
    c.presence_from(room + "/hag")
    a.presence_from(room + "/hag")
    # §10.7 granting admin status: updated presence with admin/moderator to all.
    r = admin_set(a, room, "<item affiliation='admin' jid='bob@localhost'/>")
    assert r.get("type") == "result", ET.tostring(r)
    p = presence_where(c, room + "/wicca", with_item(affiliation="admin"), "wicca as admin")
    assert (item(p).get("affiliation"), item(p).get("role")) == ("admin", "moderator")
    assert item(p).get("jid") is None  # semi-anonymous: not for a participant
    p = presence_where(b, room + "/wicca", with_item(affiliation="admin"), "own admin presence")
    assert codes(p) == [110] and item(p).get("jid") == b.jid
    # §9.3 membership with a reason.
    r = admin_set(b, room, "<item affiliation='member' jid='carol@localhost'>"
                           "<reason>A worthy witch indeed!</reason></item>")
    assert r.get("type") == "result"
    p = presence_where(a, room + "/hag", with_item(affiliation="member"), "hag as member")
    assert item(p).findtext(q(NS_MUC_USER, "reason")) == "A worthy witch indeed!"
    # §9.5 the member list (to the admin): bare JIDs, no role.
    r = admin_get(b, room, "<item affiliation='member'/>")
    items = r.find(q(NS_MUC_ADMIN, "query")).findall(q(NS_MUC_ADMIN, "item"))
    assert [(i.get("jid"), i.get("affiliation"), i.get("role")) for i in items] == \
        [("carol@localhost", "member", None)]
    # §9.6 moderator status; §9.8 the list.
    assert admin_set(b, room, "<item nick='hag' role='moderator'/>").get("type") == "result"
    presence_where(a, room + "/hag", with_item(role="moderator"), "hag as moderator")
    r = admin_get(b, room, "<item role='moderator'/>")
    nicks = sorted(i.get("nick") for i in r.find(q(NS_MUC_ADMIN, "query")))
    assert nicks == ["crone", "hag", "wicca"]
    # §9.7: not from an admin or owner (not-allowed); by a mere moderator (forbidden).
    assert condition(admin_set(b, room, "<item nick='crone' role='participant'/>")) == \
        "not-allowed"
    assert condition(admin_set(c, room, "<item nick='wicca' role='participant'/>")) == \
        "forbidden"
    assert admin_set(b, room, "<item nick='hag' role='participant'/>").get("type") == "result"
    # §8.2: a moderator of lower affiliation may not kick; one cannot kick oneself.
    assert condition(admin_set(b, room, "<item nick='crone' role='none'/>")) == "not-allowed"
    assert condition(admin_set(b, room, "<item nick='wicca' role='none'/>")) == "conflict"
    # §17.4 rule 4 and bad items: bad-request; unknown nick: item-not-found.
    assert condition(admin_set(b, room, "<item nick='hag' role='none' affiliation='none'/>")) \
        == "bad-request"
    assert condition(admin_set(b, room, "<item nick='hag' role='emperor'/>")) == "bad-request"
    assert condition(admin_set(b, room, "<item affiliation='member'/>")) == "bad-request"
    assert condition(admin_set(b, room, "")) == "bad-request"
    assert condition(admin_set(b, room, "<item nick='ghost' role='none'/>")) == "item-not-found"
    assert condition(admin_set(b, room, "<item affiliation='outcast' jid='@x@'/>")) == \
        "jid-malformed"
    # §9.1: an admin cannot ban an owner, nor himself.
    assert condition(admin_set(b, room, "<item affiliation='outcast' jid='alice@localhost'/>")) \
        == "not-allowed"
    assert condition(admin_set(b, room, "<item affiliation='outcast' jid='bob@localhost'/>")) \
        == "conflict"
    # §10.3-§10.8: the owner and admin lists are the owners'.
    assert condition(admin_get(b, room, "<item affiliation='owner'/>")) == "forbidden"
    assert condition(admin_set(b, room, "<item affiliation='owner' jid='carol@localhost'/>")) \
        == "forbidden"
    r = admin_get(a, room, "<item affiliation='owner'/>")
    assert [i.get("jid") for i in r.find(q(NS_MUC_ADMIN, "query"))] == ["alice@localhost"]
    # §10.6: the last owner stays.
    assert condition(admin_set(a, room, "<item affiliation='admin' jid='alice@localhost'/>")) \
        == "conflict"
    # §9.2: a batch with one prohibited change changes nothing.
    r = admin_set(b, room, "<item affiliation='outcast' jid='dave@localhost'/>"
                           "<item affiliation='outcast' jid='alice@localhost'/>")
    assert condition(r) == "not-allowed"
    r = admin_get(b, room, "<item affiliation='outcast'/>")
    assert len(r.find(q(NS_MUC_ADMIN, "query"))) == 0


def test_configuration_slixmpp(muc_server):
    """§10.2 subsequent configuration through slixmpp; 104/172 notices and 322 removal."""
    async def body():
        room = "config@" + SERVICE
        alice = await slixmpp_owner(muc_server.port, room)
        muc = alice.plugin["xep_0045"]
        b = Peer(muc_server, "bob")
        b.join(room, "Bob")
        b.presence_from(room + "/Bob")
        c = Peer(muc_server, "carol")
        c.join(room, "Carol")
        c.presence_from(room + "/Carol")
        await muc.set_affiliation(room, "member", jid="carol@localhost")
        form = await muc.get_room_config(room)
        fields = form.get_fields()
        for var in ("muc#roomconfig_roomname", "muc#roomconfig_membersonly",
                    "muc#roomconfig_whois", "muc#roomconfig_roomowners",
                    "muc#roomconfig_maxusers", "muc#maxhistoryfetch"):
            assert var in fields, var
        assert fields["muc#roomconfig_roomowners"].get_value() == ["alice@localhost"]
        # Rename, make non-anonymous and members-only.
        form = await muc.get_room_config(room)
        form.set_values({"muc#roomconfig_roomname": "The Court",
                         "muc#roomconfig_whois": "anyone",
                         "muc#roomconfig_membersonly": True})
        await muc.set_room_config(room, form)
        # Bob is no member: removed with 322 (§10.2), the others see it too.
        unavailable = lambda e: e.get("type") == "unavailable"  # noqa: E731
        gone = presence_where(b, room + "/Bob", unavailable, "Bob removed")
        assert gone.get("type") == "unavailable" and 322 in codes(gone) and 110 in codes(gone)
        seen = presence_where(c, room + "/Bob", unavailable, "Bob's removal")
        assert seen.get("type") == "unavailable" and 322 in codes(seen)
        # §10.2.1: Carol is told: now non-anonymous (172) and other changes (104).
        m = c.wait(lambda e: e.tag == MESSAGE and e.get("from") == room and codes(e))
        assert sorted(codes(m)) == [104, 172], ET.tostring(m)
        info = c.iq(room, "<query xmlns='%s'/>" % NS_DISCO_INFO)
        feats = {f.get("var") for f in info.find(q(NS_DISCO_INFO, "query"))
                 .findall(q(NS_DISCO_INFO, "feature"))}
        assert {"muc_membersonly", "muc_nonanonymous"} <= feats
        # Bob cannot come back (§7.2.7).
        b.join(room, "Bob")
        err = b.presence_from(room + "/Bob")
        assert x.stanza_error(err)[1] == "registration-required"
        # §10.1.3 policy: a password-protected room needs a password: not-acceptable.
        form = await muc.get_room_config(room)
        form.set_values({"muc#roomconfig_passwordprotectedroom": True,
                         "muc#roomconfig_roomsecret": ""})
        try:
            await muc.set_room_config(room, form)
            raise AssertionError("accepted a password-protected room without a password")
        except IqError as e:
            assert error_condition(e) == "not-acceptable"
        # A non-owner may neither read nor submit the form (§10.2: forbidden).
        r = c.iq(room, "<query xmlns='%s'/>" % NS_MUC_OWNER)
        assert condition(r) == "forbidden"
        r = c.iq(room, "<query xmlns='%s'><x xmlns='%s' type='submit'/></query>"
                 % (NS_MUC_OWNER, NS_DATA), "set")
        assert condition(r) == "forbidden"
        await close_all(alice)
    run(body())


def test_configuration_aioxmpp(muc_server):
    """aioxmpp reads the muc#roomconfig form with its ConfigurationForm and submits a change."""
    async def body():
        import aioxmpp
        import aioxmpp.muc
        import aioxmpp.forms
        room = "aio@" + SERVICE
        a = Peer(muc_server, "alice")
        create_instant(a, room, "Alice")
        # Make Bob an owner through the admin namespace, then let aioxmpp configure.
        assert admin_set(a, room, "<item affiliation='owner' jid='bob@localhost'/>") \
            .get("type") == "result"
        bob = clients.aioxmpp_client("bob@localhost", muc_server.port)
        async with bob.connected():
            service = bob.summon(aioxmpp.muc.MUCClient)
            mucjid = aioxmpp.JID.fromstr(room)
            data = await service.get_room_config(mucjid)
            form = aioxmpp.muc.ConfigurationForm.from_xso(data)
            assert form.membersonly.value is False
            form.roomname.value = "aioxmpp was here"
            form.moderatedroom.value = True
            await service.set_room_config(mucjid, form.render_reply())
            owners = await service.get_affiliated(mucjid, "owner")
            assert sorted(str(j) for j in owners) == ["alice@localhost", "bob@localhost"]
        m = a.wait(lambda e: e.tag == MESSAGE and e.get("from") == room and codes(e))
        assert codes(m) == [104]
        r = a.iq(room, "<query xmlns='%s'/>" % NS_MUC_OWNER)
        fields = {f.get("var"): f for f in r.find(q(NS_MUC_OWNER, "query"))
                  .find(q(NS_DATA, "x")).findall(q(NS_DATA, "field"))}
        assert fields["muc#roomconfig_roomname"].findtext(q(NS_DATA, "value")) == \
            "aioxmpp was here"
        assert fields["muc#roomconfig_moderatedroom"].findtext(q(NS_DATA, "value")) == "1"
    run(body())


def test_reserved_room_and_destroy(muc_server):
    """§10.1.3 reserved room (form while locked, cancel destroys) and §10.9 destroy."""
    a = Peer(muc_server, "alice")
    b = Peer(muc_server, "bob")
    room = "reserved@" + SERVICE
    a.join(room, "Alice")
    p = a.presence_from(room + "/Alice")
    assert 201 in codes(p)
    form = a.iq(room, "<query xmlns='%s'/>" % NS_MUC_OWNER)
    x_form = form.find(q(NS_MUC_OWNER, "query")).find(q(NS_DATA, "x"))
    assert x_form.get("type") == "form"
    # Locked: nobody else gets in (§10.1.1).
    b.join(room, "Bob")
    assert x.stanza_error(b.presence_from(room + "/Bob"))[1] == "item-not-found"
    r = a.iq(room, "<query xmlns='%s'><x xmlns='%s' type='cancel'/></query>"
             % (NS_MUC_OWNER, NS_DATA), "set")
    assert r.get("type") == "result"
    gone = a.presence_from(room + "/Alice")
    assert gone.get("type") == "unavailable"
    assert gone.find(q(NS_MUC_USER, "x")).find(q(NS_MUC_USER, "destroy")) is not None
    # The room is no more: entering creates a new one.
    b.join(room, "Bob")
    p = b.presence_from(room + "/Bob")
    assert 201 in codes(p) and item(p).get("affiliation") == "owner"

    async def slixmpp_destroy():
        room2 = "doomed@" + SERVICE
        alice = await slixmpp_owner(muc_server.port, room2)
        c = Peer(muc_server, "carol")
        c.join(room2, "Carol")
        c.presence_from(room2 + "/Carol")
        # Non-owners: forbidden (§10.9).
        r = c.iq(room2, "<query xmlns='%s'><destroy/></query>" % NS_MUC_OWNER, "set")
        assert condition(r) == "forbidden"
        await alice.plugin["xep_0045"].destroy(room2, reason="Macbeth doth come.",
                                               altroom="heath@" + SERVICE)
        d = c.presence_from(room2 + "/Carol")
        assert d.get("type") == "unavailable"
        de = d.find(q(NS_MUC_USER, "x")).find(q(NS_MUC_USER, "destroy"))
        assert de.get("jid") == "heath@" + SERVICE
        assert de.findtext(q(NS_MUC_USER, "reason")) == "Macbeth doth come."
        # Only one unavailable presence, not one per occupant (§10.9).
        c.nothing(lambda e: e.tag == PRESENCE and e.get("type") == "unavailable"
                  and e.get("from", "").startswith(room2))
        r = c.iq(room2, "<query xmlns='%s'/>" % NS_DISCO_INFO)
        assert condition(r) == "item-not-found"
        await close_all(alice)
    run(slixmpp_destroy())


def test_registration(muc_server):
    """§7.10 registering with a room; the reserved nick (§7.10.2) and the member list."""
    room = "guild@" + SERVICE
    a = Peer(muc_server, "alice")
    b = Peer(muc_server, "bob")
    c = Peer(muc_server, "carol")
    create_instant(a, room, "Alice")
    r = b.iq(room, "<query xmlns='%s'/>" % NS_REGISTER)
    qe = r.find(q(NS_REGISTER, "query"))
    fx = qe.find(q(NS_DATA, "x"))
    vars_ = [f.get("var") for f in fx.findall(q(NS_DATA, "field"))]
    assert "muc#register_roomnick" in vars_
    submit = ("<query xmlns='%s'><x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>"
              "http://jabber.org/protocol/muc#register</value></field>"
              "<field var='muc#register_roomnick'><value>%%s</value></field></x></query>"
              % (NS_REGISTER, NS_DATA))
    assert b.iq(room, submit % "thirdwitch", "set").get("type") == "result"
    # Already registered: <registered/> with the nick.
    r = b.iq(room, "<query xmlns='%s'/>" % NS_REGISTER)
    qe = r.find(q(NS_REGISTER, "query"))
    assert qe.find(q(NS_REGISTER, "registered")) is not None
    assert qe.findtext(q(NS_REGISTER, "username")) == "thirdwitch"
    # §7.10.2 the reserved nick.
    r = b.iq(room, "<query xmlns='%s' node='x-roomuser-item'/>" % NS_DISCO_INFO)
    ident = r.find(q(NS_DISCO_INFO, "query")).find(q(NS_DISCO_INFO, "identity"))
    assert ident.get("name") == "thirdwitch"
    # Somebody else's nick: conflict; no form: bad-request.
    assert condition(c.iq(room, submit % "ThirdWitch", "set")) == "conflict"
    assert condition(c.iq(room, "<query xmlns='%s'/>" % NS_REGISTER, "set")) == "bad-request"
    # Bob is a member now (§9.5 list) and the nick is his when entering (§7.10.2).
    r = admin_get(a, room, "<item affiliation='member'/>")
    items = r.find(q(NS_MUC_ADMIN, "query")).findall(q(NS_MUC_ADMIN, "item"))
    assert [(i.get("jid"), i.get("nick")) for i in items] == [("bob@localhost", "thirdwitch")]
    c.join(room, "thirdwitch")
    assert x.stanza_error(c.presence_from(room + "/thirdwitch"))[1] == "conflict"
    b.join(room, "thirdwitch")
    p = b.presence_from(room + "/thirdwitch")
    assert item(p).get("affiliation") == "member"
