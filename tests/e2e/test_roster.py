"""RFC 6121 §2 roster management and §2.6 roster versioning, end to end.

slixmpp (an independent client) for the ordinary flows; raw sockets where the exact stanzas
matter (pushes, errors, versioning)."""
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import Client, login, close_all, error_condition
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_ROSTER = "jabber:iq:roster"
NS_CLIENT = "jabber:client"


def roster_get(c, iq_id, ver=None):
    attr = "" if ver is None else " ver='%s'" % ver
    c.send("<iq type='get' id='%s'><query xmlns='%s'%s/></iq>" % (iq_id, NS_ROSTER, attr))
    return x.wait_id(c, iq_id)


def roster_set(c, iq_id, item_xml, to=None):
    to_attr = "" if to is None else " to='%s'" % to
    c.send("<iq type='set' id='%s'%s><query xmlns='%s'>%s</query></iq>"
           % (iq_id, to_attr, NS_ROSTER, item_xml))
    return x.wait_id(c, iq_id)


def items(reply):
    query = reply.find(q(NS_ROSTER, "query"))
    return {i.get("jid"): i for i in query.findall(q(NS_ROSTER, "item"))}


def is_push(el):
    return (el.tag == q(NS_CLIENT, "iq") and el.get("type") == "set"
            and el.find(q(NS_ROSTER, "query")) is not None)


def raw_login(server, resource, user="alice"):
    c = Raw(server.port)
    jid = x.login(c, user, "secret", resource)
    return c, jid


def test_stream_feature_announces_roster_versioning(server):
    # RFC 6121 §2.6.1
    c = Raw(server.port)
    try:
        x.starttls(c)
        x.plain(c, "alice", "secret")
        f = x.restart(c)
        assert f.find(q("urn:xmpp:features:rosterver", "ver")) is not None, ET.tostring(f)
    finally:
        c.close()


def test_slixmpp_adds_and_reads_back_an_item(server):
    async def scenario():
        alice = await login("alice@localhost/one", server.port, plugins=())
        try:
            roster = await alice.get_roster()
            assert list(roster["roster"]["items"].keys()) == []
            await alice.update_roster("bob@localhost", name="Bobby", groups=["Friends", "Work"])
            # slixmpp caches the version from the push, so this get is answered with an empty
            # result (RFC 6121 §2.6.3) and its roster comes from the push it applied.
            await alice.get_roster()
            item = alice.client_roster["bob@localhost"]
            assert item["name"] == "Bobby"
            assert sorted(item["groups"]) == ["Friends", "Work"]
            assert item["subscription"] == "none"
        finally:
            await close_all(alice)
    clients.run(scenario())


def test_set_pushes_to_interested_resources_only(server):
    setter, setter_jid = raw_login(server, "setter")
    watcher, watcher_jid = raw_login(server, "watcher")
    quiet, _ = raw_login(server, "quiet")
    try:
        roster_get(setter, "g1")
        roster_get(watcher, "g2")  # interested; 'quiet' never asks for the roster
        reply = roster_set(setter, "s1", "<item jid='nurse@example.com' name='Nurse'>"
                                         "<group>Servants</group></item>")
        assert reply.get("type") == "result"
        # §2.3.2: a push to every interested resource, the setter included.
        for c, jid in ((setter, setter_jid), (watcher, watcher_jid)):
            push = x.wait_element(c, is_push)
            assert push.get("to") == jid
            assert push.get("from") in (None, "alice@localhost")  # §2.1.6 rule 2
            pushed = items(push)
            assert list(pushed) == ["nurse@example.com"]
            assert pushed["nurse@example.com"].get("name") == "Nurse"
            assert push.find(q(NS_ROSTER, "query")).get("ver")
        x.no_element(quiet, is_push, timeout=0.5)
    finally:
        for c in (setter, watcher, quiet):
            c.close()


def test_update_keeps_item_and_remove_pushes_removal(server):
    c, _ = raw_login(server, "r")
    try:
        roster_get(c, "g")
        roster_set(c, "a", "<item jid='bob@localhost' name='B'><group>G1</group></item>")
        x.wait_element(c, is_push)
        # §2.4: an update replaces name and groups.
        roster_set(c, "u", "<item jid='bob@localhost' name='Bob'/>")
        push = x.wait_element(c, is_push)
        item = items(push)["bob@localhost"]
        assert item.get("name") == "Bob" and item.findall(q(NS_ROSTER, "group")) == []
        # §2.5: removal.
        assert roster_set(c, "d", "<item jid='bob@localhost' subscription='remove'/>")\
            .get("type") == "result"
        push = x.wait_element(c, is_push)
        assert items(push)["bob@localhost"].get("subscription") == "remove"
        assert items(roster_get(c, "g2")) == {}
        # §2.5.3: removing what is not there.
        err = roster_set(c, "d2", "<item jid='bob@localhost' subscription='remove'/>")
        assert x.stanza_error(err) == ("cancel", "item-not-found")
    finally:
        c.close()


@pytest.mark.parametrize("item_xml,expected", [
    # RFC 6121 §2.3.3, in the RFC's order.
    ("<item jid='a@b' name='N'/><item jid='c@d' name='M'/>", ("modify", "bad-request")),
    ("<item jid='a@b' name='%s'/>" % ("n" * 2000), ("modify", "not-acceptable")),
    ("<item jid='a@b'><group>X</group><group>X</group></item>", ("modify", "bad-request")),
    ("<item jid='a@b'><group></group></item>", ("modify", "not-acceptable")),
    ("<item jid='a@b'><group>%s</group></item>" % ("g" * 2000), ("modify", "not-acceptable")),
    ("<item jid='alice@localhost'/>", ("cancel", "not-allowed")),
    ("<item jid='a@b@c'/>", ("modify", "jid-malformed")),
    ("<item name='nojid'/>", ("modify", "bad-request")),
])
def test_roster_set_errors(server, item_xml, expected):
    c, _ = raw_login(server, "e")
    try:
        err = roster_set(c, "bad", item_xml)
        assert err.get("type") == "error"
        assert x.stanza_error(err) == expected
        assert items(roster_get(c, "g")) == {}  # nothing was stored
    finally:
        c.close()


def test_roster_of_another_user_is_forbidden(server):
    # §2.3.3: only the account itself may read or change its roster.
    c, _ = raw_login(server, "f")
    try:
        err = roster_set(c, "s", "<item jid='x@y'/>", to="bob@localhost")
        assert x.stanza_error(err) == ("auth", "forbidden")
        c.send("<iq type='get' id='g' to='bob@localhost'><query xmlns='%s'/></iq>" % NS_ROSTER)
        assert x.stanza_error(x.wait_id(c, "g")) == ("auth", "forbidden")
    finally:
        c.close()


def test_get_with_items_is_bad_request(server):
    c, _ = raw_login(server, "gi")
    try:
        c.send("<iq type='get' id='g'><query xmlns='%s'><item jid='a@b'/></query></iq>"
               % NS_ROSTER)
        assert x.stanza_error(x.wait_id(c, "g")) == ("modify", "bad-request")
    finally:
        c.close()


def test_roster_size_limit(server_factory):
    s = server_factory(extra="[roster]\nmax_items = 2")
    s.adduser("alice@localhost", "secret")
    s.start()
    c, _ = raw_login(s, "lim")
    try:
        assert roster_set(c, "1", "<item jid='a@x'/>").get("type") == "result"
        assert roster_set(c, "2", "<item jid='b@x'/>").get("type") == "result"
        err = roster_set(c, "3", "<item jid='c@x'/>")
        assert x.stanza_error(err) == ("cancel", "not-allowed")
        # Updating an existing item is still allowed at the limit.
        assert roster_set(c, "4", "<item jid='a@x' name='A'/>").get("type") == "result"
    finally:
        c.close()


def test_versioning_sends_only_the_changes(server):
    c, jid = raw_login(server, "v1")
    try:
        full = roster_get(c, "g0", ver="")  # §2.6.2: bootstrap with ver=''
        v0 = full.find(q(NS_ROSTER, "query")).get("ver")
        assert v0 is not None and items(full) == {}
        for i, contact in enumerate(["a@x", "b@x", "c@x"]):
            roster_set(c, "s%d" % i, "<item jid='%s'/>" % contact)
        roster_set(c, "rm", "<item jid='b@x' subscription='remove'/>")
        current = roster_get(c, "g1", ver="")
        v_now = current.find(q(NS_ROSTER, "query")).get("ver")
        assert set(items(current)) == {"a@x", "c@x"}
    finally:
        c.close()

    # A new session that cached version v0 gets an empty result, then one push per change.
    c2, jid2 = raw_login(server, "v2")
    try:
        reply = roster_get(c2, "g2", ver=v0)
        assert reply.get("type") == "result" and len(list(reply)) == 0  # §2.6.3 empty result
        pushes = [x.wait_element(c2, is_push) for _ in range(3)]
        changes = {}
        for p in pushes:
            assert p.get("to") == jid2
            for j, item in items(p).items():
                changes[j] = item.get("subscription")
        assert changes == {"a@x": "none", "b@x": "remove", "c@x": "none"}
        x.no_element(c2, is_push, timeout=0.3)
        # Up to date: an empty result and no pushes at all.
        reply = roster_get(c2, "g3", ver=v_now)
        assert len(list(reply)) == 0
        x.no_element(c2, is_push, timeout=0.3)
        # An unknown version gets the full roster with the current version.
        reply = roster_get(c2, "g4", ver="not-a-version")
        assert set(items(reply)) == {"a@x", "c@x"}
        assert reply.find(q(NS_ROSTER, "query")).get("ver") == v_now
    finally:
        c2.close()


def test_roster_survives_restart(server):
    c, _ = raw_login(server, "p")
    try:
        roster_set(c, "s", "<item jid='keeper@example.org' name='Keep'><group>G</group></item>")
    finally:
        c.close()
    assert server.stop() == 0
    server.start()
    c, _ = raw_login(server, "p2")
    try:
        got = items(roster_get(c, "g"))
        assert got["keeper@example.org"].get("name") == "Keep"
        assert [g.text for g in got["keeper@example.org"].findall(q(NS_ROSTER, "group"))] == ["G"]
    finally:
        c.close()


def test_aioxmpp_sees_the_roster(server):
    """A second independent client reads what slixmpp stored."""
    import asyncio
    import aioxmpp
    import aioxmpp.roster

    async def scenario():
        alice = await login("alice@localhost/s", server.port, plugins=())
        try:
            await alice.update_roster("carol@example.org", name="Carol", groups=["Ext"])
        finally:
            await close_all(alice)
        client = clients.aioxmpp_client("alice@localhost", server.port)
        roster = client.summon(aioxmpp.roster.RosterClient)
        async with client.connected():
            for _ in range(100):
                if roster.items:
                    break
                await asyncio.sleep(0.05)
            item = roster.items[aioxmpp.JID.fromstr("carol@example.org")]
            assert item.name == "Carol"
            assert item.groups == {"Ext"}
            assert item.subscription == "none"
    clients.run(scenario())
