"""XEP-0049 Private XML Storage and XEP-0048 legacy bookmarks stored there, end to end.

Raw sockets check the exact stanzas of the XEP's examples; slixmpp (xep_0049, xep_0048) and
aioxmpp (aioxmpp.private_xml, aioxmpp.bookmarks), independent clients, check the flows."""
import xml.etree.ElementTree as ET

import clients
from clients import login, close_all, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer

NS_PRIVATE = "jabber:iq:private"
NS_BOOKMARKS = "storage:bookmarks"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

EXODUS = ("<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick>"
          "<window x='1' y='2'/></exodus>")


def private(peer, iq_type, inner, to=None):
    peer.n += 1
    iq_id = "p%d" % peer.n
    to_attr = " to='%s'" % to if to else ""
    peer.send("<iq type='%s' id='%s'%s><query xmlns='%s'>%s</query></iq>"
              % (iq_type, iq_id, to_attr, NS_PRIVATE, inner))
    return x.wait_id(peer.c, iq_id)


def fragments(reply):
    assert reply.get("type") == "result", ET.tostring(reply)
    query = reply.find(q(NS_PRIVATE, "query"))
    assert query is not None, ET.tostring(reply)
    return list(query)


def test_store_and_retrieve_as_in_the_xep(server):
    """§2.3 Examples 1 and 2; several fragments, replacing one, an empty answer for nothing
    stored, the own bare JID as 'to', and the fragments of one user are not another's."""
    a = Peer(server, "alice", "a", available=False)
    b = Peer(server, "bob", "b", available=False)
    try:
        # Nothing stored yet: the requested element comes back empty.
        got = fragments(private(a, "get", "<exodus xmlns='exodus:prefs'/>"))
        assert len(got) == 1 and got[0].tag == q("exodus:prefs", "exodus") and len(got[0]) == 0
        r = private(a, "set", EXODUS)
        assert r.get("type") == "result" and len(list(r)) == 0, ET.tostring(r)
        got = fragments(private(a, "get", "<exodus xmlns='exodus:prefs'/>"))
        assert len(got) == 1
        assert got[0].findtext(q("exodus:prefs", "defaultnick")) == "Hamlet"
        assert got[0].find(q("exodus:prefs", "window")).get("y") == "2"
        # Two fragments in one set (one replaced), read back one namespace at a time.
        r = private(a, "set", "<exodus xmlns='exodus:prefs'><defaultnick>Horatio</defaultnick>"
                              "</exodus><notes xmlns='urn:example:notes'>n1</notes>")
        assert r.get("type") == "result", ET.tostring(r)
        got = fragments(private(a, "get", "<exodus xmlns='exodus:prefs'/>", to="alice@localhost"))
        assert got[0].findtext(q("exodus:prefs", "defaultnick")) == "Horatio"
        got = fragments(private(a, "get", "<notes xmlns='urn:example:notes'/>"))
        assert got[0].text == "n1"
        # Same namespace, other element name: a different fragment.
        got = fragments(private(a, "get", "<other xmlns='exodus:prefs'/>"))
        assert len(got) == 1 and len(got[0]) == 0
        # bob's storage is his own.
        got = fragments(private(b, "get", "<exodus xmlns='exodus:prefs'/>"))
        assert len(got[0]) == 0
        # The server lists the feature.
        a.send("<iq type='get' id='disco' to='localhost'><query xmlns='%s'/></iq>" % NS_DISCO_INFO)
        r = x.wait_id(a.c, "disco")
        assert NS_PRIVATE in {f.get("var") for f in r.iter(q(NS_DISCO_INFO, "feature"))}
    finally:
        a.close()
        b.close()


def test_errors_of_the_xep(server_factory):
    """§2.3 Examples 3 to 5 and §3: another user's storage, an empty query, reserved namespaces,
    a get of two namespaces, the quota; none of them stores anything."""
    s = server_factory(extra="[private_storage]\nmax_size = 4096\n")
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    s.start()
    a = Peer(s, "alice", "a", available=False)
    b = Peer(s, "bob", "b", available=False)
    try:
        assert private(b, "set", EXODUS).get("type") == "result"
        # Example 3: another user's data, get or set: forbidden; bob's data is untouched.
        r = private(a, "set", "<exodus xmlns='exodus:prefs'><defaultnick>Macbeth</defaultnick>"
                              "</exodus>", to="bob@localhost")
        assert x.stanza_error(r) == ("auth", "forbidden"), ET.tostring(r)
        r = private(a, "get", "<exodus xmlns='exodus:prefs'/>", to="bob@localhost")
        assert x.stanza_error(r) == ("auth", "forbidden"), ET.tostring(r)
        got = fragments(private(b, "get", "<exodus xmlns='exodus:prefs'/>"))
        assert got[0].findtext(q("exodus:prefs", "defaultnick")) == "Hamlet"
        # Example 4: no child element.
        for t in ("get", "set"):
            r = private(a, t, "")
            assert x.stanza_error(r) == ("modify", "not-acceptable"), ET.tostring(r)
        # Example 5: reserved namespaces (jabber:*, http://jabber.org/*, vcard-temp), also a child
        # that inherits jabber:iq:private.
        for inner in ("<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>",
                      "<query xmlns='jabber:iq:roster'/>",
                      "<query xmlns='http://jabber.org/protocol/disco#info'/>",
                      "<foo>bar</foo>"):
            for t in ("get", "set"):
                r = private(a, t, inner)
                assert x.stanza_error(r) == ("modify", "not-acceptable"), (t, ET.tostring(r))
        # A reserved fragment next to a good one: nothing is stored.
        r = private(a, "set", "<good xmlns='urn:example:good'>1</good><vCard xmlns='vcard-temp'/>")
        assert x.stanza_error(r) == ("modify", "not-acceptable")
        assert len(fragments(private(a, "get", "<good xmlns='urn:example:good'/>"))[0]) == 0
        # §2.3: a get names one namespace.
        r = private(a, "get", "<a xmlns='urn:example:a'/><b xmlns='urn:example:b'/>")
        assert x.stanza_error(r) == ("modify", "bad-request"), ET.tostring(r)
        # The quota (private_storage.max_size = 4096 bytes per account).
        big = "<blob xmlns='urn:example:blob'>%s</blob>" % ("z" * 3000)
        assert private(a, "set", big).get("type") == "result"
        r = private(a, "set", "<blob2 xmlns='urn:example:blob'>%s</blob2>" % ("y" * 3000))
        assert x.stanza_error(r) == ("modify", "not-acceptable"), ET.tostring(r)
        # Replacing the big fragment with a smaller one is fine (it does not count twice).
        assert private(a, "set", big.replace("z" * 3000, "w" * 3500)).get("type") == "result"
        got = fragments(private(a, "get", "<blob2 xmlns='urn:example:blob'/>"))
        assert len(got[0]) == 0 and not got[0].text
        # The session carries on.
        got = fragments(private(a, "get", "<blob xmlns='urn:example:blob'/>"))
        assert got[0].text == "w" * 3500
    finally:
        a.close()
        b.close()


BOOKMARKS = ("<storage xmlns='storage:bookmarks'>"
             "<conference name='Council of Oberon' autojoin='true' jid='council@conference.localhost'>"
             "<nick>Puck</nick><password>titania</password></conference>"
             "<url name='Complete Works of Shakespeare' url='http://the-tech.mit.edu/Shakespeare/'/>"
             "</storage>")


def test_bookmarks_survive_restart_and_go_with_the_account(server):
    """XEP-0048 §3 Example 1 stored in private XML storage, read back after a restart; deleting
    the account deletes it."""
    a = Peer(server, "alice", "a", available=False)
    assert private(a, "set", BOOKMARKS).get("type") == "result"
    a.close()
    assert server.stop() == 0
    server.start()
    a = Peer(server, "alice", "a", available=False)
    try:
        got = fragments(private(a, "get", "<storage xmlns='storage:bookmarks'/>"))
        conf = got[0].find(q(NS_BOOKMARKS, "conference"))
        assert conf.get("jid") == "council@conference.localhost" and conf.get("autojoin") == "true"
        assert conf.findtext(q(NS_BOOKMARKS, "nick")) == "Puck"
        assert got[0].find(q(NS_BOOKMARKS, "url")).get("name") == "Complete Works of Shakespeare"
    finally:
        a.close()
    r = server.ctl("deluser", "alice@localhost")
    assert r.returncode == 0, r.stderr
    server.adduser("alice@localhost", "secret")
    a = Peer(server, "alice", "a", available=False)
    try:
        got = fragments(private(a, "get", "<storage xmlns='storage:bookmarks'/>"))
        assert len(got[0]) == 0
    finally:
        a.close()


def test_slixmpp_private_storage_and_bookmarks(server):
    async def body():
        from slixmpp.plugins.xep_0048.stanza import Bookmarks
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0049", "xep_0060", "xep_0163", "xep_0223",
                                     "xep_0048"))
        try:
            bm = Bookmarks()
            bm.add_conference("council@conference.localhost", "Puck", name="Council",
                              autojoin=True, password="titania")
            bm.add_url("http://the-tech.mit.edu/Shakespeare/", name="Shakespeare")
            await alice["xep_0048"].set_bookmarks(bm, method="xep_0049", timeout=10)
            r = await alice["xep_0048"].get_bookmarks(method="xep_0049", timeout=10)
            got = r["private"]["bookmarks"]
            confs = list(got["conferences"])
            assert len(confs) == 1
            assert confs[0]["jid"] == "council@conference.localhost"
            assert confs[0]["nick"] == "Puck" and confs[0]["autojoin"] is True
            assert confs[0]["password"] == "titania"
            assert [u["url"] for u in got["urls"]] == ["http://the-tech.mit.edu/Shakespeare/"]
        finally:
            await close_all(alice)
    run(body(), timeout=60)
    assert server.stop() == 0
    server.start()

    async def after_restart():
        alice = await login("alice@localhost/sx2", server.port,
                            plugins=("xep_0030", "xep_0049", "xep_0060", "xep_0163", "xep_0223",
                                     "xep_0048"))
        try:
            r = await alice["xep_0048"].get_bookmarks(method="xep_0049", timeout=10)
            confs = list(r["private"]["bookmarks"]["conferences"])
            assert [c["jid"] for c in confs] == ["council@conference.localhost"]
        finally:
            await close_all(alice)
    run(after_restart(), timeout=60)


def test_aioxmpp_private_xml_and_bookmarks(server):
    import aioxmpp
    import aioxmpp.bookmarks
    import aioxmpp.private_xml

    async def body():
        client = clients.aioxmpp_client("alice@localhost/aio", server.port)
        async with client.connected():
            bookmarks = client.summon(aioxmpp.bookmarks.BookmarkClient)
            conf = aioxmpp.bookmarks.Conference(
                "Coven", aioxmpp.JID.fromstr("coven@chat.localhost"), autojoin=True,
                nick="Macbeth")
            url = aioxmpp.bookmarks.URL("Globe", "http://globe.example/")
            await bookmarks.set_bookmarks([conf, url])
            got = await bookmarks.get_bookmarks()
            assert conf in got and url in got and len(got) == 2
            # The same data through the raw private XML service.
            pxml = client.summon(aioxmpp.private_xml.PrivateXMLService)
            res = await pxml.get_private_xml(aioxmpp.bookmarks.xso.Storage())
            assert len(res.registered_payload.bookmarks) == 2
            # Other users' storage is refused.
            iq = aioxmpp.IQ(type_=aioxmpp.IQType.GET, to=aioxmpp.JID.fromstr("bob@localhost"),
                            payload=aioxmpp.private_xml.xso.Query(aioxmpp.bookmarks.xso.Storage()))
            try:
                await client.send(iq)
                raise AssertionError("bob's storage must be refused")
            except aioxmpp.XMPPAuthError as e:
                assert e.condition == aioxmpp.ErrorCondition.FORBIDDEN
        # A fresh connection reads the same bookmarks.
        client = clients.aioxmpp_client("alice@localhost/aio2", server.port)
        async with client.connected():
            bookmarks = client.summon(aioxmpp.bookmarks.BookmarkClient)
            got = await bookmarks.get_bookmarks()
            assert {b.name for b in got} == {"Coven", "Globe"}
    run(body(), timeout=60)
