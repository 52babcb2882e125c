"""XEP-0202 Entity Time for the server, end to end: raw sockets for the exact reply, slixmpp's
xep_0202 plugin as an independent client."""
import datetime
import re
import xml.etree.ElementTree as ET

from clients import login, close_all, run
import xmpp_raw as x
from xmpp_raw import q
from test_presence import Peer

NS_TIME = "urn:xmpp:time"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
# XEP-0082 §3.2 DateTime in UTC, and §3.1 TZD as XEP-0202 §3 uses it for <tzo/>.
UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
TZO = re.compile(r"^[+-]\d{2}:\d{2}$")


def parse_utc(s):
    s = s[:-1]
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in s else "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)


def test_server_time_as_in_the_xep(server):
    a = Peer(server, "alice", "a", available=False)
    try:
        before = datetime.datetime.now(datetime.timezone.utc)
        a.send("<iq type='get' id='time_1' to='localhost'><time xmlns='%s'/></iq>" % NS_TIME)
        r = x.wait_id(a.c, "time_1")
        after = datetime.datetime.now(datetime.timezone.utc)
        assert r.get("type") == "result" and r.get("from") == "localhost", ET.tostring(r)
        t = r.find(q(NS_TIME, "time"))
        assert t is not None, ET.tostring(r)
        utc, tzo = t.findtext(q(NS_TIME, "utc")), t.findtext(q(NS_TIME, "tzo"))
        assert UTC.match(utc), utc
        assert TZO.match(tzo), tzo
        # The machine's clock is the server's: the answer lies between our two readings.
        stamp = parse_utc(utc)
        assert before - datetime.timedelta(seconds=1) <= stamp <= after + datetime.timedelta(
            seconds=1), (before, stamp, after)
        # §4: the disco feature.
        a.send("<iq type='get' id='d' to='localhost'><query xmlns='%s'/></iq>" % NS_DISCO_INFO)
        info = x.wait_id(a.c, "d")
        assert NS_TIME in {f.get("var") for f in info.iter(q(NS_DISCO_INFO, "feature"))}
    finally:
        a.close()


def test_bad_time_requests(server):
    a = Peer(server, "alice", "a", available=False)
    try:
        # Only get is defined: a set has no handler (RFC 6120 §8.3.3.19 service-unavailable).
        a.send("<iq type='set' id='t1' to='localhost'><time xmlns='%s'/></iq>" % NS_TIME)
        assert x.stanza_error(x.wait_id(a.c, "t1")) == ("cancel", "service-unavailable")
        # An account's bare JID has no clock; the server does not answer for it.
        a.send("<iq type='get' id='t2' to='bob@localhost'><time xmlns='%s'/></iq>" % NS_TIME)
        assert x.stanza_error(x.wait_id(a.c, "t2")) == ("cancel", "service-unavailable")
        # Two payloads: RFC 6120 §8.2.3.
        a.send("<iq type='get' id='t3' to='localhost'><time xmlns='%s'/><time xmlns='%s'/></iq>"
               % (NS_TIME, NS_TIME))
        assert x.stanza_error(x.wait_id(a.c, "t3")) == ("modify", "bad-request")
        # Still answering.
        a.send("<iq type='get' id='t4' to='localhost'><time xmlns='%s'/></iq>" % NS_TIME)
        assert x.wait_id(a.c, "t4").get("type") == "result"
    finally:
        a.close()


def test_slixmpp_entity_time(server):
    """slixmpp's xep_0202 sends the query and xep_0082 parses the answer. (slixmpp 1.8.3's own
    EntityTime accessors cannot read a compliant answer: `utc` appends a second 'Z' and `tzo`
    asks xep_0082.parse for a time without a date; so the test reads the two elements.)"""
    async def body():
        from slixmpp.plugins import xep_0082
        alice = await login("alice@localhost/sx", server.port,
                            plugins=("xep_0030", "xep_0082", "xep_0202"))
        try:
            r = await alice["xep_0202"].get_entity_time("localhost", timeout=10)
            assert r["type"] == "result" and r["from"] == "localhost"
            utc = r.xml.findtext("{%s}time/{%s}utc" % (NS_TIME, NS_TIME))
            tzo = r.xml.findtext("{%s}time/{%s}tzo" % (NS_TIME, NS_TIME))
            got = xep_0082.parse(utc)
            assert got.utcoffset() == datetime.timedelta(0)
            now = datetime.datetime.now(datetime.timezone.utc)
            assert abs((got - now).total_seconds()) < 30, (got, now)
            assert TZO.match(tzo), tzo
            info = await alice["xep_0030"].get_info("localhost", timeout=10)
            assert NS_TIME in info["disco_info"]["features"]
        finally:
            await close_all(alice)
    run(body(), timeout=60)
