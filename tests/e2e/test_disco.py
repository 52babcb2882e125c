"""XEP-0030 Service Discovery (server items, accounts under §8), XEP-0128 forms and XEP-0157
contact addresses, end to end: slixmpp (xep_0030, xep_0128) and aioxmpp.disco walk the server;
raw sessions check the exact replies for accounts and unknown nodes."""
import xml.etree.ElementTree as ET

import pytest

from clients import IqError, aioxmpp_client, error_condition, login, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer, subscribe_mutually

INFO = "http://jabber.org/protocol/disco#info"
ITEMS = "http://jabber.org/protocol/disco#items"
AMP = "http://jabber.org/protocol/amp"
SERVERINFO = "http://jabber.org/network/serverinfo"

EXTRA = """
[disco]
items = [
  { jid = "localhost", node = "http://jabber.org/protocol/amp", name = "Message processing" },
  { jid = "conference.example.net", name = "Chatrooms" },
]
[contact]
abuse = ["mailto:abuse@localhost", "xmpp:abuse@localhost"]
support = ["https://localhost/support"]
"""


@pytest.fixture
def disco_server(server_factory):
    s = server_factory(extra=EXTRA)
    for u in ("alice", "bob", "carol"):
        s.adduser(u + "@localhost", "secret")
    return s.start()


def disco(peer, to, ns, iq_id, node=None):
    node_attr = " node='%s'" % node if node else ""
    peer.send("<iq type='get' id='%s' to='%s'><query xmlns='%s'%s/></iq>"
              % (iq_id, to, ns, node_attr))
    return x.wait_id(peer.c, iq_id)


def item_jids(reply):
    return [(i.get("jid"), i.get("node"), i.get("name"))
            for i in reply.find(q(ITEMS, "query")).findall(q(ITEMS, "item"))]


def test_slixmpp_walks_items_features_and_contact_form(disco_server):
    async def body():
        c = await login("alice@localhost/walk", disco_server.port,
                        plugins=("xep_0030", "xep_0128", "xep_0199"))
        try:
            items = await c["xep_0030"].get_items(jid="localhost", local=False, timeout=10)
            listed = list(items["disco_items"]["items"])
            assert ("localhost", AMP, "Message processing") in listed, listed
            assert ("conference.example.net", None, "Chatrooms") in listed, listed
            # The built-in MUC service (XEP-0045) on its subdomain.
            assert any(j == "conference.localhost" for j, _n, _name in listed), listed
            # Walk: every item on this server answers disco#info; the remote one cannot be reached
            # (no federation), which is the error a walker gets for it.
            for jid, node, _name in listed:
                if jid == "conference.localhost":
                    info = await c["xep_0030"].get_info(jid=jid, local=False, cached=False,
                                                        timeout=10)
                    assert ("conference", "text") in {
                        (i[0], i[1]) for i in info["disco_info"]["identities"]}
                elif jid == "localhost":
                    info = await c["xep_0030"].get_info(jid=jid, node=node, local=False,
                                                        cached=False, timeout=10)
                    assert info["disco_info"]["node"] == node
                    assert AMP + "?condition=expire-at" in info["disco_info"]["features"]
                elif jid == "conference.localhost":
                    # The built-in MUC service (XEP-0045 §6.1).
                    info = await c["xep_0030"].get_info(jid=jid, local=False, cached=False,
                                                        timeout=10)
                    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]
                elif jid == "pubsub.localhost":
                    # The built-in pubsub service (XEP-0060 §5.1).
                    info = await c["xep_0030"].get_info(jid=jid, local=False, cached=False,
                                                        timeout=10)
                    assert ("pubsub", "service") in {
                        (i[0], i[1]) for i in info["disco_info"]["identities"]}
                    assert "http://jabber.org/protocol/pubsub" in info["disco_info"]["features"]
                else:
                    with pytest.raises(IqError) as e:
                        await c["xep_0030"].get_info(jid=jid, local=False, cached=False,
                                                     timeout=10)
                    assert error_condition(e.value) == "remote-server-not-found"
            info = await c["xep_0030"].get_info(jid="localhost", local=False, cached=False,
                                                timeout=10)
            features = set(info["disco_info"]["features"])
            for f in (INFO, ITEMS, AMP, "http://jabber.org/protocol/caps"):
                assert f in features, (f, features)
            # XEP-0128 / XEP-0157: the serverinfo form with the configured addresses.
            form = info["disco_info"]["form"]
            fields = form.get_fields()
            assert fields["FORM_TYPE"]["type"] == "hidden"
            assert fields["FORM_TYPE"].get_value() in (SERVERINFO, [SERVERINFO])
            assert fields["abuse-addresses"].get_value() == ["mailto:abuse@localhost",
                                                              "xmpp:abuse@localhost"]
            assert fields["support-addresses"].get_value() == ["https://localhost/support"]
            assert "admin-addresses" not in fields
        finally:
            await c.close()
    run(body(), 60)


def test_aioxmpp_disco_of_server(disco_server):
    import aioxmpp
    import aioxmpp.disco

    async def body():
        client = aioxmpp_client("bob@localhost/aio", disco_server.port)
        async with client.connected():
            dc = client.summon(aioxmpp.disco.DiscoClient)
            server = aioxmpp.JID.fromstr("localhost")
            info = await dc.query_info(server, require_fresh=True)
            assert ("server", "im") in {(i.category, i.type_) for i in info.identities}
            assert AMP in info.features and INFO in info.features
            forms = [f for f in info.exts if f.get_form_type() == SERVERINFO]
            assert len(forms) == 1
            values = {f.var: list(f.values) for f in forms[0].fields}
            assert values["abuse-addresses"] == ["mailto:abuse@localhost", "xmpp:abuse@localhost"]
            items = await dc.query_items(server, require_fresh=True)
            assert ("conference.example.net", None) in {(str(i.jid), i.node) for i in items.items}
            node_info = await dc.query_info(server, node=AMP, require_fresh=True)
            assert AMP + "?action=notify" in node_info.features
    run(body(), 60)


def test_no_contact_form_without_configuration(server):
    a = Peer(server, "alice")
    try:
        r = disco(a, "localhost", INFO, "i1")
        assert r.find("%s/%s" % (q(INFO, "query"), q("jabber:x:data", "x"))) is None
    finally:
        a.close()


def test_account_disco_follows_presence_authorization(disco_server):
    """XEP-0030 §8: only the account and its presence subscribers learn of it and its resources;
    anyone else gets service-unavailable (info) or an empty result (items), as for an account
    that does not exist."""
    a = Peer(disco_server, "alice", "a")
    b = Peer(disco_server, "bob", "b")
    carol = Peer(disco_server, "carol", "c")
    try:
        subscribe_mutually(a, b)
        r = disco(a, "bob@localhost", INFO, "i1")
        assert r.get("type") == "result", ET.tostring(r)
        assert r.get("from") == "bob@localhost"
        ids = [(i.get("category"), i.get("type"))
               for i in r.find(q(INFO, "query")).findall(q(INFO, "identity"))]
        # XEP-0163: every account is a PEP service.
        assert ids == [("account", "registered"), ("pubsub", "pep")]
        r = disco(a, "bob@localhost", ITEMS, "t1")
        assert r.get("type") == "result", ET.tostring(r)
        assert item_jids(r) == [("bob@localhost/b", None, None)]
        # The account itself.
        r = disco(b, "bob@localhost", ITEMS, "t2")
        assert item_jids(r) == [("bob@localhost/b", None, None)]
        # Not subscribed: as if there were no such account.
        r = disco(carol, "bob@localhost", INFO, "i2")
        assert x.stanza_error(r) == ("cancel", "service-unavailable"), ET.tostring(r)
        r = disco(carol, "bob@localhost", ITEMS, "t3")
        assert r.get("type") == "result" and item_jids(r) == [], ET.tostring(r)
        # No such account: service-unavailable for info, an empty result for items (§8).
        r = disco(carol, "nobody@localhost", INFO, "i3")
        assert x.stanza_error(r) == ("cancel", "service-unavailable"), ET.tostring(r)
        r = disco(carol, "nobody@localhost", ITEMS, "t4")
        assert r.get("type") == "result" and item_jids(r) == [], ET.tostring(r)
        r = disco(carol, "nobody@localhost", ITEMS, "t5", node="x")
        assert r.get("type") == "result", ET.tostring(r)
        assert r.find(q(ITEMS, "query")).get("node") == "x"
        # Unknown nodes of the server and of an account: item-not-found (§7).
        for ns, iq_id in ((INFO, "n1"), (ITEMS, "n2")):
            r = disco(a, "localhost", ns, iq_id, node="no-such-node")
            assert x.stanza_error(r) == ("cancel", "item-not-found"), ET.tostring(r)
        r = disco(a, "bob@localhost", ITEMS, "n3", node="no-such-node")
        assert x.stanza_error(r) == ("cancel", "item-not-found"), ET.tostring(r)
    finally:
        for p in (a, b, carol):
            p.close()


def test_bad_disco_configuration_is_refused(tmp_path):
    import subprocess
    from conftest import STARLING
    cfg = tmp_path / "bad.toml"
    cfg.write_text('data_dir = "%s"\n[contact]\nabuse = ["not a uri"]\n'
                   '[disco]\nitems = [{ name = "no jid" }]\n' % (tmp_path / "data"))
    r = subprocess.run([STARLING, "--config", str(cfg)], capture_output=True, text=True,
                       timeout=60)
    text = r.stdout + r.stderr
    assert r.returncode != 0, text
    assert "bad.toml:3: key 'contact.abuse'" in text and "is not a URI" in text, text
    assert "key 'disco.items'" in text and "needs a 'jid'" in text, text
