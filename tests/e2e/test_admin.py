"""XEP-0133 Service Administration end to end: an administrator (the `admins` key) runs the
commands with slixmpp (xep_0050 and xep_0133 plugins) and aioxmpp's adhoc client; the users
affected are independent clients that observe the outcome (log in, are disconnected, receive the
announcement and the message of the day). Non-administrators get forbidden."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

import clients
from clients import Client, login, close_all, run, IqError
from adhoc_util import (ADMIN, ADMIN_CONFIG, NS_CMD, command, command_error, form_of, notes,
                        run_form_command, sasl_plain)
from xmpp_raw import q

PLUGINS = ("xep_0030", "xep_0004", "xep_0050", "xep_0133", "xep_0199")


@pytest.fixture
def admin_server(server_factory):
    """alice is an administrator; bob and carol are users."""
    s = server_factory(extra=ADMIN_CONFIG)
    for u in ("alice", "bob", "carol"):
        s.adduser(u + "@localhost", "secret")
    return s.start()


async def admin(port):
    return await login("alice@localhost/admin", port, plugins=PLUGINS)


async def wait_ended(c, timeout=10):
    """Waits until the server ends `c`'s stream; returns the stream error conditions seen."""
    await asyncio.wait_for(asyncio.shield(c.ended), timeout)
    return [e["condition"] for e in c.stream_errors]


def test_add_user_who_can_then_log_in(admin_server):
    async def body():
        a = await admin(admin_server.port)
        try:
            # §4.1 through slixmpp's xep_0050 request builder and xep_0004 forms.
            first = await a["xep_0050"].send_command("localhost", ADMIN + "add-user")
            assert first["command"]["status"] == "executing"
            form = first["command"]["form"]
            assert form["type"] == "form"
            # slixmpp reads a hidden field as multi-valued (XEP-0004 §3.3 lets hidden carry several).
            assert form.get_fields()["FORM_TYPE"]["value"] == ["http://jabber.org/protocol/admin"]
            assert form.get_fields()["accountjid"]["type"] == "jid-single"
            assert form.get_fields()["accountjid"]["required"]
            for var in ("password", "password-verify", "email", "given_name", "surname"):
                assert var in form.get_fields(), var
            submit = a["xep_0004"].make_form(ftype="submit")
            submit.add_field(var="FORM_TYPE", ftype="hidden",
                             value="http://jabber.org/protocol/admin")
            submit.add_field(var="accountjid", value="dave@localhost")
            submit.add_field(var="password", value="dave-pw")
            submit.add_field(var="password-verify", value="dave-pw")
            done = await a["xep_0050"].send_command(
                "localhost", ADMIN + "add-user", sessionid=first["command"]["sessionid"],
                payload=submit)
            assert done["command"]["status"] == "completed"
            dave = await login("dave@localhost/new", admin_server.port, password="dave-pw")
            await close_all(dave)
            # §5 conflict: the user exists.
            assert await command_error_after_form(a, "add-user", {
                "accountjid": "dave@localhost", "password": "x", "password-verify": "x"}) == (
                "cancel", "conflict", None)
            # Passwords that differ, and an account of another domain: bad-payload.
            assert await command_error_after_form(a, "add-user", {
                "accountjid": "erin@localhost", "password": "x", "password-verify": "y"}) == (
                "modify", "bad-request", "bad-payload")
            assert await command_error_after_form(a, "add-user", {
                "accountjid": "erin@elsewhere.example", "password": "x",
                "password-verify": "x"}) == ("modify", "bad-request", "bad-payload")
            assert sasl_plain(admin_server.port, "erin", "x") != "success"
        finally:
            await close_all(a)
    run(body())


async def command_error_after_form(c, name, fields):
    first = await command(c, ADMIN + name)
    try:
        cmd = await command(c, ADMIN + name, sessionid=first.get("sessionid"), fields=fields)
    except IqError as e:
        from adhoc_util import error_of
        return error_of(e)
    raise AssertionError("expected an error, got %s" % ET.tostring(cmd))


def test_add_user_with_aioxmpp(admin_server):
    import aioxmpp
    import aioxmpp.adhoc
    import aioxmpp.forms

    async def body():
        client = clients.aioxmpp_client("alice@localhost", admin_server.port)
        async with client.connected():
            adhoc = client.summon(aioxmpp.adhoc.AdHocClient)
            session = await adhoc.execute(aioxmpp.JID.fromstr("localhost"), ADMIN + "add-user")
            assert session.status == aioxmpp.adhoc.CommandStatus.EXECUTING
            form = session.first_payload
            assert isinstance(form, aioxmpp.forms.Data)
            values = {"accountjid": "frank@localhost", "password": "frank-pw",
                      "password-verify": "frank-pw"}
            form.type_ = aioxmpp.forms.DataType.SUBMIT
            for f in form.fields:
                if f.var in values:
                    f.values[:] = [values[f.var]]
            await session.proceed(action=aioxmpp.adhoc.ActionType.COMPLETE)
            assert session.status == aioxmpp.adhoc.CommandStatus.COMPLETED
            await session.close()
        assert sasl_plain(admin_server.port, "frank", "frank-pw") == "success"
    run(body())


def test_change_user_password(admin_server):
    async def body():
        a = await admin(admin_server.port)
        try:
            done = await run_form_command(a, ADMIN + "change-user-password",
                                          {"accountjid": "bob@localhost", "password": "new-pw"})
            assert done.get("status") == "completed"
            assert sasl_plain(admin_server.port, "bob", "new-pw") == "success"
            assert sasl_plain(admin_server.port, "bob", "secret") == "not-authorized"
            # An account that does not exist.
            assert await command_error_after_form(a, "change-user-password", {
                "accountjid": "nobody@localhost", "password": "x"}) == (
                "cancel", "item-not-found", None)
        finally:
            await close_all(a)
    run(body())


def test_disable_and_reenable_user(admin_server):
    async def body():
        a = await admin(admin_server.port)
        bob = await login("bob@localhost/b", admin_server.port)
        try:
            done = await run_form_command(a, ADMIN + "disable-user",
                                          {"accountjids": "bob@localhost"})
            assert done.get("status") == "completed"
            # §4.3: the active sessions end, further logins are refused...
            assert "policy-violation" in await wait_ended(bob)
            assert sasl_plain(admin_server.port, "bob", "secret") == "account-disabled"
            # ...and nothing is destroyed: re-enabled, bob logs in with the same password.
            done = await run_form_command(a, ADMIN + "reenable-user",
                                          {"accountjids": "bob@localhost"})
            assert done.get("status") == "completed"
            bob2 = await login("bob@localhost/again", admin_server.port)
            await close_all(bob2)
        finally:
            await close_all(a, bob)
    run(body())


def test_delete_user_ends_sessions_and_removes_the_account(admin_server):
    async def body():
        a = await admin(admin_server.port)
        carol = await login("carol@localhost/c", admin_server.port)
        try:
            done = await run_form_command(a, ADMIN + "delete-user",
                                          {"accountjids": ["carol@localhost", "ghost@localhost"]})
            assert done.get("status") == "completed"
            assert ("info", "Deleted carol@localhost") in notes(done)
            assert ("error", "No such account: ghost@localhost") in notes(done)
            # As XEP-0077 §3.2 cancellation: the session ends with <not-authorized/>.
            assert "not-authorized" in await wait_ended(carol)
            assert sasl_plain(admin_server.port, "carol", "secret") == "not-authorized"
            count = await command(a, ADMIN + "get-registered-users-num")
            fields, _ = form_of(count)
            assert fields["registeredusersnum"] == ["2"]
        finally:
            await close_all(a, carol)
    run(body())


def test_end_user_session(admin_server):
    async def body():
        a = await admin(admin_server.port)
        b1 = await login("bob@localhost/one", admin_server.port)
        b2 = await login("bob@localhost/two", admin_server.port)
        try:
            # §4.5: a full JID ends only that session...
            await run_form_command(a, ADMIN + "end-user-session",
                                   {"accountjids": "bob@localhost/one"})
            assert "policy-violation" in await wait_ended(b1)
            await b2.ping_server()
            # ...a bare JID every session; the user may log in again.
            await run_form_command(a, ADMIN + "end-user-session",
                                   {"accountjids": "bob@localhost"})
            assert "policy-violation" in await wait_ended(b2)
            b3 = await login("bob@localhost/three", admin_server.port)
            await close_all(b3)
        finally:
            await close_all(a, b1, b2)
    run(body())


def test_user_counts_and_lists(admin_server):
    async def body():
        a = await admin(admin_server.port)
        bob = await login("bob@localhost/b", admin_server.port)
        try:
            fields, xf = form_of(await command(a, ADMIN + "get-registered-users-num"))
            assert xf.get("type") == "result"
            assert fields["FORM_TYPE"] == ["http://jabber.org/protocol/admin"]
            assert fields["registeredusersnum"] == ["3"]
            done = await run_form_command(a, ADMIN + "get-registered-users-list",
                                          {"max_items": "none"})
            fields, _ = form_of(done)
            assert fields["registereduserjids"] == [
                "alice@localhost", "bob@localhost", "carol@localhost"]
            fields, _ = form_of(await command(a, ADMIN + "get-online-users-num"))
            assert fields["onlineusersnum"] == ["2"]
            done = await run_form_command(a, ADMIN + "get-online-users-list",
                                          {"max_items": "25"})
            fields, _ = form_of(done)
            assert fields["onlineuserjids"] == ["alice@localhost", "bob@localhost"]
        finally:
            await close_all(a, bob)
    run(body())


def test_xep0133_plugin_flow(admin_server):
    """slixmpp's xep_0133 plugin drives the session through xep_0050's workflow callbacks."""
    async def body():
        a = await admin(admin_server.port)
        try:
            loop = asyncio.get_running_loop()
            got = loop.create_future()

            def on_result(iq, session):
                got.set_result(iq)
                return session

            def on_error(iq, session):
                got.set_exception(AssertionError(str(iq)))

            a["xep_0133"].get_registered_users_num(
                session={"next": on_result, "error": on_error})
            iq = await asyncio.wait_for(got, 10)
            assert iq["command"]["status"] == "completed"
            assert iq["command"]["form"].get_fields()["registeredusersnum"]["value"] == "3"
        finally:
            await close_all(a)
    run(body())


def test_announcement_reaches_every_online_user(admin_server):
    async def body():
        a = await admin(admin_server.port)
        bob = await login("bob@localhost/b", admin_server.port)
        carol = await login("carol@localhost/c", admin_server.port)
        try:
            done = await run_form_command(a, ADMIN + "announce", {
                "announcement": ["Maintenance at noon.", "Please log off."]})
            assert done.get("status") == "completed"
            for c in (bob, carol, a):
                m = await c.next_message(pred=lambda m: m["body"])
                assert m["from"].full == "localhost"
                assert m["body"] == "Maintenance at noon.\nPlease log off."
        finally:
            await close_all(a, bob, carol)
    run(body())


def test_message_of_the_day(admin_server):
    async def body():
        a = await admin(admin_server.port)
        try:
            await a.presence()
            done = await run_form_command(a, ADMIN + "set-motd",
                                          {"motd": ["Welcome back!", "-- the admins"]})
            assert done.get("status") == "completed"
            # §4.24 note: sent at once to the online users...
            m = await a.next_message(pred=lambda m: m["body"])
            assert m["body"] == "Welcome back!\n-- the admins"
            # ...and to a user logging in afterwards, at initial presence, once per session.
            bob = await login("bob@localhost/b", admin_server.port)
            try:
                await bob.no_message(0.5)
                await bob.presence()
                m = await bob.next_message(pred=lambda m: m["body"])
                assert m["from"].full == "localhost"
                assert m["body"] == "Welcome back!\n-- the admins"
                await bob.presence(priority=5)
                await bob.no_message(1.0)
            finally:
                await close_all(bob)
            # §4.25: the edit form carries the current message.
            first = await command(a, ADMIN + "edit-motd")
            fields, _ = form_of(first)
            assert fields["motd"] == ["Welcome back!", "-- the admins"]
            await command(a, ADMIN + "edit-motd", sessionid=first.get("sessionid"),
                          fields={"motd": "Edited."})
            carol = await login("carol@localhost/c", admin_server.port)
            try:
                await carol.presence()
                m = await carol.next_message(pred=lambda m: m["body"])
                assert m["body"] == "Edited."
            finally:
                await close_all(carol)
            # §4.26: deleted, nobody gets it any more.
            done = await command(a, ADMIN + "delete-motd")
            assert done.get("status") == "completed"
            bob = await login("bob@localhost/b2", admin_server.port)
            try:
                await bob.presence()
                await bob.no_message(1.0)
            finally:
                await close_all(bob)
        finally:
            await close_all(a)
    run(body())


def test_motd_survives_a_restart(server_factory):
    s = server_factory(extra=ADMIN_CONFIG)
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()

    async def set_it():
        a = await admin(s.port)
        try:
            await run_form_command(a, ADMIN + "set-motd", {"motd": "Stored."})
        finally:
            await close_all(a)
    run(set_it())
    assert s.stop() == 0
    s.start()

    async def check():
        bob = await login("bob@localhost/b", s.port)
        try:
            await bob.presence()
            m = await bob.next_message(pred=lambda m: m["body"])
            assert m["body"] == "Stored."
        finally:
            await close_all(bob)
    run(check())


def test_non_admin_is_forbidden(admin_server):
    async def body():
        bob = await login("bob@localhost/b", admin_server.port, plugins=PLUGINS)
        try:
            for name in ("add-user", "delete-user", "disable-user", "announce", "set-motd",
                         "get-online-users-list", "delete-motd", "get-registered-users-num"):
                assert await command_error(bob, ADMIN + name) == ("cancel", "forbidden", None)
            with pytest.raises(IqError) as e:
                await bob["xep_0050"].send_command("localhost", ADMIN + "delete-user")
            assert clients.error_condition(e.value) == "forbidden"
            # Nothing happened: carol can still log in.
            assert sasl_plain(admin_server.port, "carol", "secret") == "success"
        finally:
            await close_all(bob)
    run(body())
