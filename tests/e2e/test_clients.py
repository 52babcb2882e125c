"""Independent clients against the real server: slixmpp logs in with every SASL mechanism over
STARTTLS and direct TLS, aioxmpp exchanges messages with slixmpp, and the server's own
services (disco, version, ping) answer."""
import asyncio
import xml.etree.ElementTree as ET

import pytest

from clients import Client, IqError, aioxmpp_client, close_all, error_condition, login, run

# (sasl_mech passed to slixmpp, channel binding visible to slixmpp, mechanism that must be used,
#  expected gs2 header prefix)
MECHANISMS = [
    pytest.param(None, True, "SCRAM-SHA-256-PLUS", b"p=tls-unique,", id="default-SCRAM-SHA-256-PLUS"),
    pytest.param("SCRAM-SHA-256", False, "SCRAM-SHA-256", b"n,", id="SCRAM-SHA-256-n"),
    pytest.param("SCRAM-SHA-1", False, "SCRAM-SHA-1", b"n,", id="SCRAM-SHA-1-n"),
    pytest.param("PLAIN", True, "PLAIN", None, id="PLAIN"),
]


@pytest.mark.parametrize("direct_tls", [False, True], ids=["starttls", "direct-tls"])
@pytest.mark.parametrize("mech,cb,used,gs2", MECHANISMS)
def test_slixmpp_login(server, mech, cb, used, gs2, direct_tls):
    async def body():
        port = server.tls_port if direct_tls else server.port
        c = await login("alice@localhost/e2e-res", port, sasl_mech=mech, channel_binding=cb,
                        direct_tls=direct_tls)
        try:
            m = c["feature_mechanisms"].mech
            assert m.name == used
            if gs2 is not None:
                assert m.gs2_header.startswith(gs2), m.gs2_header
            assert str(c.boundjid) == "alice@localhost/e2e-res"
            # The session is usable: the server answers a ping.
            r = await c.ping_server()
            assert r["type"] == "result"
        finally:
            await c.close()
    run(body(), 40)


def test_slixmpp_login_server_generated_resource(server):
    async def body():
        c = await login("alice@localhost", server.port)
        try:
            assert c.boundjid.bare == "alice@localhost"
            assert c.boundjid.resource  # RFC 6120 §7.6.2.1: the server picks one
        finally:
            await c.close()
    run(body(), 30)


def test_scram_y_flag_refused_when_plus_offered(server):
    """RFC 5802 §6: a client that supports channel binding but believes the server does not
    sends 'y'; since the server advertises -PLUS this indicates a downgrade and must fail."""
    async def body():
        c = Client("alice@localhost/y", "secret", sasl_mech="SCRAM-SHA-1")
        c.connect_to(server.port)
        try:
            done, _ = await asyncio.wait({c.started, c.auth_failed}, timeout=15,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert c.auth_failed in done and not c.started.done()
            assert c["feature_mechanisms"].mech.gs2_header.startswith(b"y,")
        finally:
            await c.close()
    run(body(), 30)


@pytest.mark.parametrize("mech,cb", [(None, True), ("SCRAM-SHA-256", False), ("PLAIN", True)],
                         ids=["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"])
def test_wrong_password_fails_auth(server, mech, cb):
    async def body():
        c = Client("alice@localhost/x", "not-the-password", sasl_mech=mech, channel_binding=cb)
        c.connect_to(server.port)
        try:
            done, _ = await asyncio.wait({c.started, c.auth_failed}, timeout=15,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert c.auth_failed in done, "failed_all_auth not reported"
            assert c.auth_failures, "failed_auth not reported"
            # RFC 6120 §6.5.10: wrong credentials are <not-authorized/>.
            assert all(f["condition"] == "not-authorized" for f in c.auth_failures), c.auth_failures
            await asyncio.sleep(0.5)
            assert not c.started.done() and c.session_starts == 0
        finally:
            await c.close()
    run(body(), 30)


def test_unknown_user_fails_auth(server):
    async def body():
        c = Client("nobody@localhost/x", "secret")
        c.connect_to(server.port)
        try:
            done, _ = await asyncio.wait({c.started, c.auth_failed}, timeout=15,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert c.auth_failed in done and c.session_starts == 0
        finally:
            await c.close()
    run(body(), 30)


def test_aioxmpp_and_slixmpp_exchange_messages(server):
    import aioxmpp
    import aioxmpp.dispatcher
    import aioxmpp.ping

    async def body():
        bob = await login("bob@localhost/sli", server.port)
        await bob.presence()
        client = aioxmpp_client("alice@localhost/aio", server.port)
        received = asyncio.Queue()
        disp = client.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
        disp.register_callback(aioxmpp.MessageType.CHAT, None, received.put_nowait)
        try:
            async with client.connected():
                assert str(client.local_jid) == "alice@localhost/aio"
                # Initial presence makes alice/aio available for bare-JID delivery; a ping
                # answered afterwards proves the server has processed it.
                await client.send(aioxmpp.Presence(type_=aioxmpp.PresenceType.AVAILABLE))
                await aioxmpp.ping.ping(client, aioxmpp.JID.fromstr("localhost"))
                # aioxmpp → slixmpp
                msg = aioxmpp.Message(to=aioxmpp.JID.fromstr("bob@localhost/sli"),
                                      type_=aioxmpp.MessageType.CHAT)
                msg.body[None] = "hello from aioxmpp"
                await client.send(msg)
                got = await bob.next_message()
                assert got["body"] == "hello from aioxmpp"
                assert str(got["from"]) == "alice@localhost/aio"
                assert got["type"] == "chat"
                # slixmpp → aioxmpp, to the full JID and to the bare JID
                bob.say("alice@localhost/aio", "hello from slixmpp")
                back = await asyncio.wait_for(received.get(), 10)
                assert back.body.any() == "hello from slixmpp"
                assert str(back.from_) == "bob@localhost/sli"
                bob.say("alice@localhost", "to the bare JID")
                back = await asyncio.wait_for(received.get(), 10)
                assert back.body.any() == "to the bare JID"
        finally:
            await bob.close()
    run(body(), 60)


# ---- the server's own services -----------------------------------------------------------------

def test_disco_info_of_server(server):
    async def body():
        c = await login("alice@localhost/d", server.port)
        try:
            iq = await c["xep_0030"].get_info(jid="localhost", local=False, cached=False, timeout=10)
            assert iq["type"] == "result"
            assert str(iq["from"]) == "localhost"
            info = iq["disco_info"]
            ids = {(cat, typ) for (cat, typ, _lang, _name) in info["identities"]}
            assert ("server", "im") in ids
            features = set(info["features"])
            for f in ("urn:xmpp:ping", "jabber:iq:version", "http://jabber.org/protocol/disco#info",
                      "http://jabber.org/protocol/disco#items"):
                assert f in features, (f, features)
        finally:
            await c.close()
    run(body(), 30)


def test_disco_items_of_server(server):
    async def body():
        c = await login("alice@localhost/d", server.port)
        try:
            iq = await c["xep_0030"].get_items(jid="localhost", local=False, timeout=10)
            assert iq["type"] == "result"
        finally:
            await c.close()
    run(body(), 30)


def test_disco_info_unknown_node_is_item_not_found(server):
    async def body():
        c = await login("alice@localhost/d", server.port)
        try:
            with pytest.raises(IqError) as e:
                await c["xep_0030"].get_info(jid="localhost", node="no-such-node", local=False,
                                             cached=False, timeout=10)
            assert error_condition(e.value) == "item-not-found"
            assert e.value.iq["error"]["type"] == "cancel"
        finally:
            await c.close()
    run(body(), 30)


def test_software_version(server):
    async def body():
        c = await login("alice@localhost/v", server.port)
        try:
            iq = await c["xep_0092"].get_version("localhost", timeout=10)
            assert iq["type"] == "result"
            assert iq["software_version"]["name"] == "Starling"
            assert iq["software_version"]["version"]
        finally:
            await c.close()
    run(body(), 30)


def test_ping_server(server):
    async def body():
        c = await login("alice@localhost/p", server.port)
        try:
            r = await c.iq_get("localhost", ET.Element("{urn:xmpp:ping}ping"))
            assert r["type"] == "result"
            assert str(r["from"]) == "localhost"
            assert len(r.xml) == 0  # XEP-0199 §4.3: an empty result
        finally:
            await c.close()
    run(body(), 30)


def test_unknown_iq_to_server_is_service_unavailable(server):
    async def body():
        c = await login("alice@localhost/p", server.port)
        try:
            with pytest.raises(IqError) as e:
                await c.iq_get("localhost", ET.Element("{urn:example:nothing}query"))
            assert error_condition(e.value) == "service-unavailable"
        finally:
            await close_all(c)
    run(body(), 30)
