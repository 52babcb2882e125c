"""XEP-0079 Advanced Message Processing between local accounts, end to end: raw sessions check
the exact replies (§2.2.5 events, §3.5 actions, §6 errors, §9 authorization), slixmpp's xep_0079
plugin sends rules and receives the events as an independent client."""
import xml.etree.ElementTree as ET

import pytest

from clients import login, run
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer, subscribe_mutually

AMP = "http://jabber.org/protocol/amp"
AMP_ERRORS = "http://jabber.org/protocol/amp#errors"
MESSAGE = q("jabber:client", "message")
PAST = "2004-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


def rule(action, condition, value):
    return "<rule action='%s' condition='%s' value='%s'/>" % (action, condition, value)


def send_amp(peer, to, mid, *rules, mtype="chat", body="hello", amp_attrs=""):
    peer.send("<message to='%s' id='%s' type='%s'><body>%s</body>"
              "<amp xmlns='%s'%s>%s</amp></message>" % (to, mid, mtype, body, AMP, amp_attrs,
                                                        "".join(rules)))


def wait_msg(peer, mid, what=None):
    return x.wait_element(peer.c, lambda e: e.tag == MESSAGE and e.get("id") == mid,
                          what=what or "message %s" % mid)


def no_msg(peer, mid):
    peer.sync()
    x.no_element(peer.c, lambda e: e.tag == MESSAGE and e.get("id") == mid)


def rules_in(el):
    return [(r.get("action"), r.get("condition"), r.get("value")) for r in el.findall(q(AMP, "rule"))]


@pytest.fixture
def pair(server):
    server.adduser("carol@localhost", "secret")
    a = Peer(server, "alice", "a")
    b = Peer(server, "bob", "b")
    subscribe_mutually(a, b)
    yield server, a, b
    a.close()
    b.close()


def test_stream_feature_and_disco(server):
    c = Raw(server.port)
    try:
        x.starttls(c)
        assert x.plain(c, "alice", "secret").tag == q(x.NS_SASL, "success")
        f = x.restart(c)
        assert f.find(q("http://jabber.org/features/amp", "amp")) is not None  # §8
    finally:
        c.close()
    a = Peer(server, "alice", roster=False, available=False)
    try:
        a.send("<iq type='get' id='d1' to='localhost'><query "
               "xmlns='http://jabber.org/protocol/disco#info' node='%s'/></iq>" % AMP)
        r = x.wait_id(a.c, "d1")
        feats = {f.get("var") for f in r.iter(q("http://jabber.org/protocol/disco#info",
                                                  "feature"))}
        for s in ("action=drop", "action=alert", "action=error", "action=notify",
                  "condition=deliver", "condition=expire-at", "condition=match-resource"):
            assert AMP + "?" + s in feats, (s, feats)
        a.send("<iq type='get' id='d2' to='localhost'><query "
               "xmlns='http://jabber.org/protocol/disco#info' node='%s?condition=deliver'/></iq>"
               % AMP)
        assert x.wait_id(a.c, "d2").get("type") == "result"
    finally:
        a.close()


def test_expire_at_in_the_past(pair):
    _, a, b = pair
    # drop: nothing to anyone.
    send_amp(a, "bob@localhost", "e1", rule("drop", "expire-at", PAST))
    no_msg(b, "e1")
    no_msg(a, "e1")
    # alert: the sender is told, the message is dropped (§3.5.1), without its body (§2.2.5).
    send_amp(a, "bob@localhost", "e2", rule("alert", "expire-at", PAST))
    ev = wait_msg(a, "e2")
    assert ev.get("from") == "localhost" and ev.get("to") == a.jid
    assert ev.find(q("jabber:client", "body")) is None
    amp = ev.find(q(AMP, "amp"))
    assert amp.get("status") == "alert"
    assert amp.get("from") == a.jid and amp.get("to") == "bob@localhost"
    assert rules_in(amp) == [("alert", "expire-at", PAST)]
    no_msg(b, "e2")
    # error: type error, undefined-condition with <failed-rules/> (§3.5.3).
    send_amp(a, "bob@localhost", "e3", rule("error", "expire-at", PAST))
    err = wait_msg(a, "e3")
    assert err.get("type") == "error"
    assert x.stanza_error(err) == ("modify", "undefined-condition")
    failed = err.find("%s/%s" % (q("jabber:client", "error"), q(AMP_ERRORS, "failed-rules")))
    assert failed is not None and len(failed) == 1
    assert err.find(q(AMP, "amp")).get("status") == "error"
    no_msg(b, "e3")
    # Not yet expired: delivered, with the original addresses in <amp/> (§4.1).
    send_amp(a, "bob@localhost", "e4", rule("drop", "expire-at", FUTURE))
    got = wait_msg(b, "e4")
    assert got.findtext(q("jabber:client", "body")) == "hello"
    assert got.find(q(AMP, "amp")).get("from") == a.jid
    assert got.find(q(AMP, "amp")).get("to") == "bob@localhost"


def test_rules_in_order_and_notify(pair):
    _, a, b = pair
    # The first met rule acts: deliver=stored is not met (bob is online), deliver=direct is.
    send_amp(a, "bob@localhost", "n1", rule("drop", "deliver", "stored"),
             rule("notify", "deliver", "direct"), rule("drop", "expire-at", PAST))
    ev = wait_msg(a, "n1")
    assert ev.find(q(AMP, "amp")).get("status") == "notify"
    assert rules_in(ev.find(q(AMP, "amp"))) == [("notify", "deliver", "direct")]
    assert wait_msg(b, "n1").findtext(q("jabber:client", "body")) == "hello"  # then delivered


def test_match_resource(pair):
    _, a, b = pair
    # A chat to a resource that does not exist would go to bob/b: "other" is met.
    send_amp(a, "bob@localhost/gone", "m1", rule("error", "match-resource", "other"))
    err = wait_msg(a, "m1")
    assert x.stanza_error(err) == ("modify", "undefined-condition")
    no_msg(b, "m1")
    # To the exact resource: "other" is not met, the message is delivered.
    send_amp(a, "bob@localhost/b", "m2", rule("drop", "match-resource", "other"))
    assert wait_msg(b, "m2") is not None
    # "exact" met: dropped.
    send_amp(a, "bob@localhost/b", "m3", rule("drop", "match-resource", "exact"))
    no_msg(b, "m3")


def test_deliver_stored_is_transient(pair):
    """§5.3 transient messages: deliver=stored with drop/alert never reaches offline storage."""
    server, a, b = pair
    b.end()
    a.sync()
    send_amp(a, "bob@localhost", "t1", rule("alert", "deliver", "stored"))
    ev = wait_msg(a, "t1")
    assert ev.find(q(AMP, "amp")).get("status") == "alert"
    send_amp(a, "bob@localhost", "t2", rule("drop", "deliver", "stored"))
    # deliver=direct is not met for an offline account: stored as usual.
    send_amp(a, "bob@localhost", "t3", rule("drop", "deliver", "direct"))
    a.sync()
    b2 = Peer(server, "bob", "b2")
    try:
        got = wait_msg(b2, "t3", what="the stored message t3")
        assert got.findtext(q("jabber:client", "body")) == "hello"
        no_msg(b2, "t1")
        no_msg(b2, "t2")
    finally:
        b2.close()


def test_unauthorized_sender_is_not_acceptable(pair):
    server, a, b = pair
    carol = Peer(server, "carol", "c")
    try:
        # §9: a reply would tell carol whether bob is online: not acceptable.
        send_amp(carol, "bob@localhost", "u1", rule("alert", "deliver", "direct"))
        err = wait_msg(carol, "u1")
        assert x.stanza_error(err) == ("modify", "not-acceptable"), ET.tostring(err)
        invalid = err.find("%s/%s" % (q("jabber:client", "error"), q(AMP, "invalid-rules")))
        assert rules_in(invalid) == [("alert", "deliver", "direct")]
        no_msg(b, "u1")
        # drop reveals nothing, and expire-at depends on the clock only: allowed.
        send_amp(carol, "bob@localhost", "u2", rule("drop", "deliver", "none"),
                 rule("notify", "expire-at", FUTURE))
        assert wait_msg(b, "u2") is not None
    finally:
        carol.close()


def test_unsupported_and_invalid_rules(pair):
    _, a, b = pair
    cases = [
        ("x1", rule("explode", "deliver", "direct"), "bad-request", AMP, "unsupported-actions"),
        ("x2", rule("drop", "sunny", "yes"), "bad-request", AMP, "unsupported-conditions"),
        ("x3", rule("drop", "deliver", "somewhere"), "bad-request", AMP, "invalid-rules"),
        ("x4", rule("drop", "expire-at", "tomorrow"), "bad-request", AMP, "invalid-rules"),
        ("x5", "<rule action='drop' condition='deliver'/>", "bad-request", AMP, "invalid-rules"),
    ]
    for mid, r, cond, ns, child in cases:
        send_amp(a, "bob@localhost", mid, r, rule("drop", "expire-at", FUTURE))
        err = wait_msg(a, mid)
        assert err.get("type") == "error" and err.get("from") == "localhost", ET.tostring(err)
        assert x.stanza_error(err) == ("modify", cond), ET.tostring(err)
        el = err.find("%s/%s" % (q("jabber:client", "error"), q(ns, child)))
        assert el is not None, ET.tostring(err)
        assert len(el.findall(q(AMP, "rule"))) == 1  # only the rule at issue
        assert err.find(q(AMP, "amp")) is not None  # the original semantics come back
        no_msg(b, mid)
    # A client may not set 'status'; <amp/> needs a rule; the message needs an id.
    send_amp(a, "bob@localhost", "x6", rule("drop", "expire-at", PAST), amp_attrs=" status='alert'")
    assert x.stanza_error(wait_msg(a, "x6")) == ("modify", "bad-request")
    send_amp(a, "bob@localhost", "x7")
    assert x.stanza_error(wait_msg(a, "x7")) == ("modify", "bad-request")
    a.send("<message to='bob@localhost'><body>no id</body><amp xmlns='%s'>%s</amp></message>"
           % (AMP, rule("drop", "expire-at", PAST)))
    e = x.wait_element(a.c, lambda e: e.tag == MESSAGE and e.get("type") == "error")
    assert x.stanza_error(e) == ("modify", "bad-request")
    no_msg(b, "x6")


def test_slixmpp_amp_alert_and_error(server):
    async def body():
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0079", "xep_0199"))
        try:
            info = await alice["xep_0079"].discover_support(timeout=10)
            assert AMP + "?condition=expire-at" in info["disco_info"]["features"]
            import asyncio
            alerts, errors = asyncio.Queue(), asyncio.Queue()
            alice.add_event_handler("amp_alert", alerts.put_nowait)
            alice.add_event_handler("amp_error", errors.put_nowait)
            # To her own other resource: the account itself may use every rule.
            m = alice.make_message(mto="alice@localhost", mbody="late", mtype="chat")
            m["id"] = "sx1"
            m["amp"].add_rule("alert", "expire-at", PAST)
            m.send()
            ev = await asyncio.wait_for(alerts.get(), 10)
            assert ev["id"] == "sx1" and ev["amp"]["status"] == "alert"
            m = alice.make_message(mto="alice@localhost", mbody="x", mtype="chat")
            m["id"] = "sx2"
            m["amp"].add_rule("explode", "expire-at", PAST)
            m.send()
            err = await asyncio.wait_for(errors.get(), 10)
            assert err["id"] == "sx2" and err["error"]["condition"] == "bad-request"
        finally:
            await alice.close()
    run(body(), 60)
