"""XEP-0050 Ad-Hoc Commands on the server JID, driven by slixmpp's xep_0050 plugin and aioxmpp's
adhoc client: the command list per requester, command node info, the `ping` command every user
has, sessions across stages (sessionid, actions, cancel) and the §4.6 errors."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import login, close_all, run, IqError
from adhoc_util import (ADMIN, ADMIN_CONFIG, NS_CMD, actions, command, command_error, form_of,
                        notes)
from xmpp_raw import q

PLUGINS = ("xep_0030", "xep_0004", "xep_0050", "xep_0199")


@pytest.fixture
def admin_server(server_factory):
    """alice is an administrator, bob is not."""
    s = server_factory(extra=ADMIN_CONFIG)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


def test_command_list_depends_on_the_requester(admin_server):
    async def body():
        alice = await login("alice@localhost/a", admin_server.port, plugins=PLUGINS)
        bob = await login("bob@localhost/b", admin_server.port, plugins=PLUGINS)
        try:
            # §2.1: the server announces the protocol.
            info = await bob["xep_0030"].get_info(jid="localhost")
            assert NS_CMD in info["disco_info"]["features"]
            # §2.2: the list is a disco#items query on the commands node; each item is one of
            # the server's own command nodes.
            items = (await bob["xep_0050"].get_commands("localhost"))["disco_items"]["items"]
            assert {(str(j), n, name) for j, n, name in items} == {("localhost", "ping", "Ping")}
            items = (await alice["xep_0050"].get_commands("localhost"))["disco_items"]["items"]
            nodes = {n for _, n, _ in items}
            assert "ping" in nodes
            for name in ("add-user", "delete-user", "disable-user", "reenable-user",
                         "end-user-session", "change-user-password", "get-registered-users-num",
                         "get-registered-users-list", "get-online-users-num",
                         "get-online-users-list", "announce", "set-motd", "edit-motd",
                         "delete-motd"):
                assert ADMIN + name in nodes, name
            assert all(str(j) == "localhost" for j, _, _ in items)
            # The commands node itself: automation/command-list.
            info = await bob["xep_0030"].get_info(jid="localhost", node=NS_CMD)
            assert ("automation", "command-list") in {
                (i[0], i[1]) for i in info["disco_info"]["identities"]}
        finally:
            await close_all(alice, bob)
    run(body())


def test_command_node_info(admin_server):
    async def body():
        alice = await login("alice@localhost/a", admin_server.port, plugins=PLUGINS)
        bob = await login("bob@localhost/b", admin_server.port, plugins=PLUGINS)
        try:
            # §2.2: identity automation/command-node and the commands feature (and x:data).
            info = await bob["xep_0030"].get_info(jid="localhost", node="ping")
            ids = info["disco_info"]["identities"]
            assert ("automation", "command-node", None, "Ping") in ids
            assert NS_CMD in info["disco_info"]["features"]
            assert "jabber:x:data" in info["disco_info"]["features"]
            info = await alice["xep_0030"].get_info(jid="localhost", node=ADMIN + "add-user")
            assert NS_CMD in info["disco_info"]["features"]
            # §2.2: a command not available to the requester: forbidden.
            with pytest.raises(IqError) as e:
                await bob["xep_0030"].get_info(jid="localhost", node=ADMIN + "add-user")
            assert clients.error_condition(e.value) == "forbidden"
        finally:
            await close_all(alice, bob)
    run(body())


def test_ping_command_for_every_user(admin_server):
    async def body():
        bob = await login("bob@localhost/b", admin_server.port, plugins=PLUGINS)
        try:
            # §3.4 simple execution through slixmpp's own request builder.
            reply = await bob["xep_0050"].send_command("localhost", "ping")
            assert reply["command"]["status"] == "completed"
            assert reply["command"]["node"] == "ping"
            assert reply["command"]["sessionid"]
            assert any("alive" in text for _, text in reply["command"]["notes"])
            # A completed session is over (§4.3): its id now gets session-expired.
            sid = reply["command"]["sessionid"]
            assert await command_error(bob, "ping", sessionid=sid, action="complete") == (
                "cancel", "not-allowed", "session-expired")
        finally:
            await close_all(bob)
    run(body())


def test_ping_command_with_aioxmpp(admin_server):
    import aioxmpp
    import aioxmpp.adhoc

    async def body():
        client = clients.aioxmpp_client("bob@localhost", admin_server.port)
        async with client.connected():
            adhoc = client.summon(aioxmpp.adhoc.AdHocClient)
            server = aioxmpp.JID.fromstr("localhost")
            assert await adhoc.supports_commands(server)
            cmds = await adhoc.get_commands(server)
            assert [c.node for c in cmds] == ["ping"]
            session = await adhoc.execute(server, "ping")
            assert session.status == aioxmpp.adhoc.CommandStatus.COMPLETED
            assert any("alive" in n.body for n in session.response.notes)
            await session.close()
    run(body())


def test_stages_sessionid_and_cancel(admin_server):
    async def body():
        alice = await login("alice@localhost/a", admin_server.port, plugins=PLUGINS)
        try:
            node = ADMIN + "get-registered-users-list"
            first = await command(alice, node, action="execute")
            assert first.get("status") == "executing"
            sid = first.get("sessionid")
            assert sid
            # §3.4, §4.4: one stage left: complete is the way forward, prev is not offered.
            assert actions(first) == ("complete", ["complete"])
            fields, _ = form_of(first)
            assert "max_items" in fields
            # §4.4: an action not offered at this stage: bad-action; the session survives.
            assert await command_error(alice, node, sessionid=sid, action="prev") == (
                "modify", "bad-request", "bad-action")
            assert await command_error(alice, node, sessionid=sid, action="next") == (
                "modify", "bad-request", "bad-action")
            # §3.5: cancel ends the session with status canceled...
            canceled = await command(alice, node, sessionid=sid, action="cancel")
            assert canceled.get("status") == "canceled"
            assert canceled.get("sessionid") == sid
            # ...and it is no longer active (§4.6 session-expired).
            assert await command_error(alice, node, sessionid=sid,
                                       fields={"max_items": "25"}) == (
                "cancel", "not-allowed", "session-expired")
            # Two stages through: 'execute' (the default) submits and completes.
            first = await command(alice, node)
            done = await command(alice, node, sessionid=first.get("sessionid"),
                                 fields={"max_items": "none"})
            assert done.get("status") == "completed"
            assert done.get("sessionid") == first.get("sessionid")
            assert done.find(q(NS_CMD, "actions")) is None
        finally:
            await close_all(alice)
    run(body())


def test_sessions_are_bound_to_the_full_jid(admin_server):
    async def body():
        a1 = await login("alice@localhost/one", admin_server.port, plugins=PLUGINS)
        a2 = await login("alice@localhost/two", admin_server.port, plugins=PLUGINS)
        try:
            node = ADMIN + "get-registered-users-list"
            sid = (await command(a1, node)).get("sessionid")
            # §4.3: valid only between one requester and the responder.
            assert await command_error(a2, node, sessionid=sid,
                                       fields={"max_items": "25"}) == (
                "modify", "bad-request", "bad-sessionid")
            # The same id with another command's node is not that session either.
            assert await command_error(a1, ADMIN + "get-online-users-list", sessionid=sid,
                                       fields={"max_items": "25"}) == (
                "modify", "bad-request", "bad-sessionid")
            # The owner can still finish it.
            done = await command(a1, node, sessionid=sid, fields={"max_items": "25"})
            assert done.get("status") == "completed"
        finally:
            await close_all(a1, a2)
    run(body())


def test_execution_errors(admin_server):
    async def body():
        alice = await login("alice@localhost/a", admin_server.port, plugins=PLUGINS)
        bob = await login("bob@localhost/b", admin_server.port, plugins=PLUGINS)
        try:
            # §4.6 malformed-action: an action the protocol does not define.
            assert await command_error(bob, "ping", action="jump") == (
                "modify", "bad-request", "malformed-action")
            # §4.6 bad-sessionid: a sessionid this responder never gave out.
            assert await command_error(bob, "ping", sessionid="made-up", action="complete") == (
                "modify", "bad-request", "bad-sessionid")
            # A new session starts with execute.
            assert await command_error(alice, ADMIN + "announce", action="complete") == (
                "modify", "bad-request", "bad-action")
            # §4.6 item-not-found: no such command node.
            assert await command_error(bob, "no-such-command") == (
                "cancel", "item-not-found", None)
            # §4.6 forbidden: a command the requester may not execute.
            assert await command_error(bob, ADMIN + "add-user") == ("cancel", "forbidden", None)
            # Nothing was listed or run for bob, and the server still answers.
            await bob.ping_server()
        finally:
            await close_all(alice, bob)
    run(body())


def test_invalid_form_values_are_bad_payload(admin_server):
    async def body():
        alice = await login("alice@localhost/a", admin_server.port, plugins=PLUGINS)
        try:
            node = ADMIN + "get-registered-users-list"
            sid = (await command(alice, node)).get("sessionid")
            # XEP-0122 regex on max_items (an open list): neither an option nor a count.
            assert await command_error(alice, node, sessionid=sid,
                                       fields={"max_items": "lots"}) == (
                "modify", "bad-request", "bad-payload")
            # XEP-0004 §3.3: list-single takes one value.
            assert await command_error(alice, node, sessionid=sid,
                                       fields={"max_items": ["25", "50"]}) == (
                "modify", "bad-request", "bad-payload")
            # No form at all.
            assert await command_error(alice, node, sessionid=sid, action="complete") == (
                "modify", "bad-request", "bad-payload")
            # A form that is not a submission.
            assert await command_error(alice, node, sessionid=sid, fields={"max_items": "25"},
                                       form_type="result") == (
                "modify", "bad-request", "bad-payload")
            # The session survived the bad submissions; a count not among the options is
            # accepted (the regex opens the list) and limits the list.
            done = await command(alice, node, sessionid=sid, fields={"max_items": "1"})
            assert done.get("status") == "completed"
            fields, _ = form_of(done)
            assert fields["registereduserjids"] == ["alice@localhost"]

            # Required field missing / invalid JID in a jid-multi (XEP-0004 §3.3).
            node = ADMIN + "disable-user"
            sid = (await command(alice, node)).get("sessionid")
            assert await command_error(alice, node, sessionid=sid, fields={}) == (
                "modify", "bad-request", "bad-payload")
            assert await command_error(alice, node, sessionid=sid,
                                       fields={"accountjids": "not a jid@@"}) == (
                "modify", "bad-request", "bad-payload")
            # §4.5.1: a form of type cancel counts as a submission.
            done = await command(alice, node, sessionid=sid, form_type="cancel",
                                 fields={"accountjids": "nobody@localhost"})
            assert done.get("status") == "completed"
            assert ("error", "No such account: nobody@localhost") in notes(done)
        finally:
            await close_all(alice)
    run(body())


def test_sessions_per_user_are_bounded(server_factory):
    s = server_factory(extra=ADMIN_CONFIG + "[adhoc]\nmax_sessions = 2\n")
    s.adduser("alice@localhost", "secret")
    s.start()

    async def body():
        alice = await login("alice@localhost/a", s.port, plugins=PLUGINS)
        try:
            node = ADMIN + "announce"
            sids = [(await command(alice, node)).get("sessionid") for _ in range(3)]
            assert len(set(sids)) == 3
            # The third session ended the oldest.
            assert await command_error(alice, node, sessionid=sids[0],
                                       fields={"announcement": "x"}) == (
                "cancel", "not-allowed", "session-expired")
            for sid in sids[1:]:
                canceled = await command(alice, node, sessionid=sid, action="cancel")
                assert canceled.get("status") == "canceled"
        finally:
            await close_all(alice)
    run(body())


def test_bad_adhoc_configuration_is_refused(tmp_path):
    import subprocess
    from conftest import STARLING
    cfg = tmp_path / "starling.toml"
    cfg.write_text('data_dir = "%s"\nadmins = ["alice@localhost"]\n[adhoc]\n'
                   'session_timeout = 1\n' % (tmp_path / "data"))
    r = subprocess.run([STARLING, "--config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "starling.toml:4" in r.stderr and "adhoc.session_timeout" in r.stderr, r.stderr
    cfg.write_text('data_dir = "%s"\nadmins = ["alice@localhost/laptop"]\n'
                   % (tmp_path / "data"))
    r = subprocess.run([STARLING, "--config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "starling.toml:2" in r.stderr and "admins" in r.stderr, r.stderr
