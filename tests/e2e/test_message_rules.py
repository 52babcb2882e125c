"""RFC 6121 §8.5: the server's handling of each message type to a bare JID, a full JID that
matches, a full JID that does not, an account without available resources and an account that
does not exist. Raw sockets, so that every reply (or its absence) is seen exactly."""
import pytest

import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer

NS_CLIENT = "jabber:client"
MESSAGE = q(NS_CLIENT, "message")


def send(peer, to, mtype, body, mid):
    peer.send("<message to='%s' type='%s' id='%s'><body>%s</body></message>"
              % (to, mtype, mid, body))


def got_body(peer, body, timeout=5):
    return x.wait_element(peer.c, lambda e: e.tag == MESSAGE
                          and e.findtext(q(NS_CLIENT, "body")) == body, timeout,
                          what="message %r" % body)


def no_body(peer, body, timeout=0.7):
    x.no_element(peer.c, lambda e: e.tag == MESSAGE
                 and e.findtext(q(NS_CLIENT, "body")) == body, timeout)


def error_of(peer, mid, timeout=5):
    el = x.wait_id(peer.c, mid, timeout)
    assert el.get("type") == "error", el
    return x.stanza_error(el)[1]


def no_reply(peer, mid, timeout=0.7):
    x.no_element(peer.c, lambda e: e.get("id") == mid, timeout)


@pytest.mark.parametrize("mtype", ["chat", "normal"])
def test_bare_jid_goes_to_the_available_resource(server, mtype):
    # §8.5.2.1.1
    a = Peer(server, "alice")
    b = Peer(server, "bob", "desk")
    try:
        send(a, "bob@localhost", mtype, "hi " + mtype, "m1")
        got = got_body(b, "hi " + mtype)
        assert got.get("to") == "bob@localhost" and got.get("from") == "alice@localhost/r"
    finally:
        a.close()
        b.close()


def test_headline_to_bare_jid_goes_to_every_non_negative_resource(server):
    # §8.5.2.1.1: headline to all available resources with non-negative priority.
    a = Peer(server, "alice")
    b1 = Peer(server, "bob", "one", priority=1)
    b2 = Peer(server, "bob", "two", priority=0)
    b3 = Peer(server, "bob", "three", priority=-1)
    try:
        send(a, "bob@localhost", "headline", "news", "m1")
        got_body(b1, "news")
        got_body(b2, "news")
        no_body(b3, "news")
    finally:
        for p in (a, b1, b2, b3):
            p.close()


def test_groupchat_to_a_user_is_service_unavailable(server):
    # §8.5.2.1.1 (bare) and §8.5.3.2.1 (full JID without resource).
    a = Peer(server, "alice")
    b = Peer(server, "bob")
    try:
        send(a, "bob@localhost", "groupchat", "g1", "m1")
        assert error_of(a, "m1") == "service-unavailable"
        send(a, "bob@localhost/gone", "groupchat", "g2", "m2")
        assert error_of(a, "m2") == "service-unavailable"
        no_body(b, "g1")
    finally:
        a.close()
        b.close()


def test_full_jid_that_matches_gets_every_type(server):
    # §8.5.3.1: delivered to the resource, even one with a negative priority.
    a = Peer(server, "alice")
    b = Peer(server, "bob", "low", priority=-5)
    try:
        for mtype in ("chat", "normal", "headline"):
            send(a, "bob@localhost/low", mtype, "direct " + mtype, "m-" + mtype)
            got_body(b, "direct " + mtype)
    finally:
        a.close()
        b.close()


def test_full_jid_that_does_not_match(server):
    """§8.5.3.2.1: chat is handled as for the bare JID (delivered or stored); normal gets
    service-unavailable; headline and error are silently dropped."""
    a = Peer(server, "alice")
    b = Peer(server, "bob", "here")
    try:
        send(a, "bob@localhost/elsewhere", "chat", "chat to gone", "m1")
        got_body(b, "chat to gone")
        send(a, "bob@localhost/elsewhere", "normal", "normal to gone", "m2")
        assert error_of(a, "m2") == "service-unavailable"
        no_body(b, "normal to gone")
        send(a, "bob@localhost/elsewhere", "headline", "headline to gone", "m3")
        no_reply(a, "m3")
        no_body(b, "headline to gone")
    finally:
        a.close()
        b.close()


def test_chat_to_gone_resource_of_offline_user_is_stored(server):
    # §8.5.3.2.1 then §8.5.2.2.1: no resource at all: stored offline (XEP-0160).
    a = Peer(server, "alice")
    try:
        send(a, "bob@localhost/phone", "chat", "for later", "m1")
        no_reply(a, "m1")
        b = Peer(server, "bob", "laptop")
        got = got_body(b, "for later")
        assert got.find(q("urn:xmpp:delay", "delay")) is not None
        b.close()
    finally:
        a.close()


def test_connected_but_unavailable_resource(server):
    """A bound resource that has not sent presence is "connected", not available: bare-JID
    chat is stored for later; its full JID still gets messages (§8.5.3.1)."""
    a = Peer(server, "alice")
    b = Peer(server, "bob", "quiet", available=False)
    try:
        send(a, "bob@localhost", "chat", "to the account", "m1")
        no_body(b, "to the account")
        send(a, "bob@localhost/quiet", "chat", "to the resource", "m2")
        got_body(b, "to the resource")
        b.available()
        got_body(b, "to the account")  # the stored one, on initial presence
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("mtype", ["chat", "normal", "headline", "groupchat"])
def test_no_such_user(server, mtype):
    # §8.5.1: service-unavailable (our choice of the two the RFC allows), never delivered.
    a = Peer(server, "alice")
    try:
        send(a, "nobody@localhost", mtype, "void", "m1")
        if mtype == "headline":
            no_reply(a, "m1")  # headline errors are not generated (§8.5.2.2.1)
        else:
            assert error_of(a, "m1") == "service-unavailable"
    finally:
        a.close()


def test_error_messages_never_bounce(server):
    # RFC 6120 §8.3.1: an error is never answered with an error.
    a = Peer(server, "alice")
    try:
        a.send("<message to='nobody@localhost' type='error' id='m1'><error type='cancel'>"
               "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
        no_reply(a, "m1")
        a.sync()
    finally:
        a.close()
