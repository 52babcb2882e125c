"""Helpers for the XEP-0045 Multi-User Chat end-to-end tests (test_muc_*.py).

The clients are independent implementations: slixmpp (its xep_0045 / xep_0249 / xep_0004
plugins) and aioxmpp (aioxmpp.muc.MUCClient). `MucClient` is a slixmpp client that also records
every <presence/> and <message/> it receives, in order, so a test can check the order the
service sends things in (§7.2.3: occupants' presence, then the new occupant's own presence with
110, then history, then the subject) and wait for a stanza instead of sleeping.

`barrier(client, jid)` sends a disco#info query and waits for the answer: the service handles one
sender's stanzas in order and routes its answers in order, so everything the room sent to that
client because of earlier stanzas has arrived when the answer has. That is how a test shows that
something did NOT happen without a fixed wait.
"""
import asyncio
import xml.etree.ElementTree as ET

import clients
from clients import Client, IqError, close_all, run  # noqa: F401  (re-exported)

NS_MUC = "http://jabber.org/protocol/muc"
NS_USER = NS_MUC + "#user"
NS_ADMIN = NS_MUC + "#admin"
NS_OWNER = NS_MUC + "#owner"
NS_DATA = "jabber:x:data"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_PING = "urn:xmpp:ping"
NS_REGISTER = "jabber:iq:register"
NS_CONFERENCE = "jabber:x:conference"

WAIT = 10
PLUGINS = ("xep_0030", "xep_0004", "xep_0045", "xep_0092", "xep_0199", "xep_0203", "xep_0249")
USERS = ("alice", "bob", "carol", "dave", "eve")


def muc_server(server_factory, extra="", domain="localhost", users=USERS, **kw):
    """A started server for `domain` (MUC service conference.<domain>) with accounts `users`,
    password 'secret'. `extra` is top-level TOML (e.g. a [muc] table)."""
    s = server_factory(domains=(domain,), extra=extra, **kw)
    for u in users:
        s.adduser("%s@%s" % (u, domain), "secret")
    return s.start()


class MucClient(Client):
    """A slixmpp client with the MUC plugins that records every presence and message."""

    def __init__(self, jid, password=clients.PASSWORD, **kw):
        kw.setdefault("plugins", PLUGINS)
        super().__init__(jid, password, **kw)
        self.seen = []                     # every <presence/> and <message/>, in order
        self._arrived = asyncio.Event()
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        for kind in ("presence", "message"):
            self.register_handler(Callback("muc-e2e record " + kind,
                                           MatchXPath("{jabber:client}%s" % kind), self._record))

    def _record(self, stanza):
        self.seen.append(stanza)
        self._arrived.set()

    def mark(self):
        """A position in `seen`; `expect(..., since=mark)` looks only at what came after."""
        return len(self.seen)

    async def expect(self, pred, since=0, timeout=WAIT, what="a stanza"):
        """The first recorded stanza at or after `since` matching `pred`: (index, stanza)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = since
        while True:
            while i < len(self.seen):
                if pred(self.seen[i]):
                    return i, self.seen[i]
                i += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError("%s: no %s within %ss; got:\n%s" % (
                    self.boundjid, what, timeout, "\n".join(str(s) for s in self.seen[since:])))
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def found(self, pred, since=0):
        return [s for s in self.seen[since:] if pred(s)]

    async def iq(self, to, xml_payload, itype="get", timeout=WAIT):
        """Sends an iq with the payload (XML text) and returns the result (IqError raised)."""
        iq = self.Iq()
        iq["type"] = itype
        iq["to"] = to
        if xml_payload:
            iq.append(ET.fromstring(xml_payload))
        return await iq.send(timeout=timeout)

    async def iq_error(self, to, xml_payload, itype="get", timeout=WAIT):
        """Sends an iq that must fail; returns (condition, error type)."""
        try:
            r = await self.iq(to, xml_payload, itype, timeout)
        except IqError as e:
            return e.iq["error"]["condition"], e.iq["error"]["type"]
        raise AssertionError("expected an error, got %s" % r)


async def login(jid, port, presence=True, **kw):
    """A logged-in MucClient; with `presence` it has sent initial presence (so messages to its
    bare JID, such as invitations, reach it: RFC 6121 §8.5.2)."""
    c = MucClient(jid, **kw)
    c.connect_to(port)
    try:
        await c.wait_session()
        if presence:
            await c.presence()
    except BaseException:
        await c.close()
        raise
    return c


# ---- stanza inspection -----------------------------------------------------------------------

def xml(stanza):
    return stanza.xml if hasattr(stanza, "xml") else stanza


def user_x(stanza):
    return xml(stanza).find("{%s}x" % NS_USER)


def codes(stanza):
    x = user_x(stanza)
    if x is None:
        return set()
    return {int(s.get("code")) for s in x.findall("{%s}status" % NS_USER)}


def item(stanza):
    """The muc#user <item/> attributes (dict) of a presence, or {}."""
    x = user_x(stanza)
    it = None if x is None else x.find("{%s}item" % NS_USER)
    return {} if it is None else dict(it.attrib)


def item_child_text(stanza, child):
    x = user_x(stanza)
    it = None if x is None else x.find("{%s}item" % NS_USER)
    c = None if it is None else it.find("{%s}%s" % (NS_USER, child))
    return None if c is None else (c.text or "")


def boolean(values):
    """A data-form boolean field's values as True/False (XEP-0004 §3.3: "1"/"true"; no value
    counts as false)."""
    return bool(values) and values[0] in ("1", "true")


def error_of(stanza):
    """(condition, type) of an error stanza."""
    e = xml(stanza).find("{jabber:client}error")
    assert e is not None, "no <error/> in %s" % stanza
    conds = [c.tag.split("}")[1] for c in e if c.tag.startswith("{%s}" % NS_STANZAS)
             and c.tag.split("}")[1] != "text"]
    return (conds[0] if conds else None), e.get("type")


def is_presence(frm=None, ptype=None, code=None):
    def pred(s):
        if s.name != "presence":
            return False
        if frm is not None and str(s["from"]) != frm:
            return False
        if ptype is not None and s["type"] != ptype:
            return False
        if ptype is None and s["type"] in ("error",):
            return False
        if code is not None and code not in codes(s):
            return False
        return True
    return pred


def is_error_presence(frm):
    return lambda s: s.name == "presence" and s["type"] == "error" and \
        str(s["from"]) == frm


def is_message(frm=None, body=None, mtype=None, subject=False):
    def pred(s):
        if s.name != "message":
            return False
        if frm is not None and str(s["from"]) != frm and s["from"].bare != frm:
            return False
        if mtype is not None and s["type"] != mtype:
            return False
        if body is not None and s["body"] != body:
            return False
        if subject and (xml(s).find("{jabber:client}subject") is None or s["body"]):
            return False
        return True
    return pred


def is_subject(room, text=None):
    """A subject message of `room` (with `text` when given): <subject/> and no <body/>."""
    return lambda s: (s.name == "message" and s["type"] == "groupchat"
                      and s["from"].bare == room
                      and xml(s).find("{jabber:client}subject") is not None
                      and not s["body"]
                      and (text is None or s["subject"] == text))


def delay_of(stanza):
    return xml(stanza).find("{%s}delay" % NS_DELAY)


# ---- actions ---------------------------------------------------------------------------------

def join_xml(occupant, password=None, history=None, extra=""):
    h = ""
    if history:
        h = "<history %s/>" % " ".join("%s='%s'" % kv for kv in history.items())
    p = "<password>%s</password>" % password if password is not None else ""
    return ("<presence xmlns='jabber:client' to='%s'><x xmlns='%s'>%s%s</x>%s</presence>"
            % (occupant, NS_MUC, h, p, extra))


class Entered:
    """What a join brought: the presences before the self-presence, the self-presence, the
    history messages and the subject message, with their positions in client.seen."""

    def __init__(self):
        self.others = []
        self.self_presence = None
        self.history = []
        self.subject = None


async def enter(c, occupant, password=None, history=None, extra="", subject=True,
                timeout=WAIT):
    """Sends a MUC join presence to `occupant` (room@service/nick) and waits for the
    self-presence (status 110, from the occupant JID) and then (if `subject`) the subject.
    Raises AssertionError on an error presence, naming its condition."""
    room = occupant.split("/")[0]
    start = c.mark()
    c.send_raw(join_xml(occupant, password, history, extra))

    def done(s):
        return (s.name == "presence" and s["from"].bare == room and
                (s["type"] == "error" or (110 in codes(s) and s["type"] != "unavailable")))
    i, p = await c.expect(done, since=start, timeout=timeout, what="self-presence from " + room)
    if p["type"] == "error":
        raise AssertionError("join %s refused: %s" % (occupant, error_of(p)))
    r = Entered()
    r.self_presence = p
    r.others = [s for s in c.seen[start:i] if s.name == "presence" and s["from"].bare == room]
    if subject:
        j, m = await c.expect(is_subject(room), since=i, timeout=timeout,
                              what="subject from " + room)
        r.subject = m
        r.history = [s for s in c.seen[i:j] if s.name == "message" and s["from"].bare == room]
    return r


async def enter_error(c, occupant, password=None, history=None, extra="", timeout=WAIT):
    """Sends a join that must fail; returns (condition, type) of the error presence."""
    room = occupant.split("/")[0]
    start = c.mark()
    c.send_raw(join_xml(occupant, password, history, extra))

    def done(s):
        return (s.name == "presence" and s["from"].bare == room and
                (s["type"] == "error" or 110 in codes(s)))
    _, p = await c.expect(done, since=start, timeout=timeout, what="answer from " + room)
    assert p["type"] == "error", "join %s was accepted: %s" % (occupant, p)
    assert str(p["from"]) == occupant, p
    return error_of(p)


async def create_instant(c, room, nick):
    """§10.1.2: enters a new room (201) and unlocks it with an empty submitted form."""
    r = await enter(c, "%s/%s" % (room, nick), subject=False)
    assert 201 in codes(r.self_presence), "room %s was not new: %s" % (room, r.self_presence)
    await c.iq(room, "<query xmlns='%s'><x xmlns='%s' type='submit'/></query>"
               % (NS_OWNER, NS_DATA), "set")
    return r


async def barrier(c, jid, timeout=WAIT):
    """disco#info to `jid` and its answer (result or error): see the module doc."""
    try:
        await c.iq(jid, "<query xmlns='%s'/>" % NS_DISCO_INFO, "get", timeout)
    except IqError:
        pass


def leave(c, occupant, status=None):
    s = "<status>%s</status>" % status if status else ""
    c.send_raw("<presence xmlns='jabber:client' to='%s' type='unavailable'>%s</presence>"
               % (occupant, s))


def groupchat(c, room, body, mid=None):
    i = " id='%s'" % mid if mid else ""
    c.send_raw("<message xmlns='jabber:client' to='%s' type='groupchat'%s><body>%s</body>"
               "</message>" % (room, i, body))


async def get_config_form(c, room):
    """The muc#owner configuration form: {var: (type, [values])} plus the raw <x/>."""
    r = await c.iq(room, "<query xmlns='%s'/>" % NS_OWNER, "get")
    x = r.xml.find("{%s}query/{%s}x" % (NS_OWNER, NS_DATA))
    assert x is not None, "no form in %s" % r
    fields = {}
    for f in x.findall("{%s}field" % NS_DATA):
        fields[f.get("var")] = (f.get("type"), [v.text or "" for v in f.findall("{%s}value" % NS_DATA)])
    return fields, x


async def submit_config(c, room, values):
    """Submits a muc#roomconfig form with `values` ({var: str | bool | list})."""
    parts = ["<field var='FORM_TYPE' type='hidden'><value>%s#roomconfig</value></field>" % NS_MUC]
    for var, v in values.items():
        if isinstance(v, bool):
            v = ["1" if v else "0"]
        elif not isinstance(v, (list, tuple)):
            v = [str(v)]
        parts.append("<field var='%s'>%s</field>" % (
            var, "".join("<value>%s</value>" % x for x in v)))
    return await c.iq(room, "<query xmlns='%s'><x xmlns='%s' type='submit'>%s</x></query>"
                      % (NS_OWNER, NS_DATA, "".join(parts)), "set")


async def admin_set(c, room, items, reason=None):
    """muc#admin set with items [{attr: value}] (a reason in each when given)."""
    rs = "<reason>%s</reason>" % reason if reason else ""
    its = "".join("<item %s>%s</item>" % (" ".join("%s='%s'" % kv for kv in it.items()), rs)
                  for it in items)
    return await c.iq(room, "<query xmlns='%s'>%s</query>" % (NS_ADMIN, its), "set")


async def admin_list(c, room, **attr):
    """muc#admin get of a list (affiliation= or role=): [item attrs]."""
    a = " ".join("%s='%s'" % kv for kv in attr.items())
    r = await c.iq(room, "<query xmlns='%s'><item %s/></query>" % (NS_ADMIN, a), "get")
    return [dict(i.attrib) for i in r.xml.findall("{%s}query/{%s}item" % (NS_ADMIN, NS_ADMIN))]


async def disco_items(c, jid, node=None):
    n = " node='%s'" % node if node else ""
    r = await c.iq(jid, "<query xmlns='%s'%s/>" % (NS_DISCO_ITEMS, n))
    return [dict(i.attrib) for i in r.xml.findall("{%s}query/{%s}item" % (NS_DISCO_ITEMS,
                                                                          NS_DISCO_ITEMS))]


async def disco_info(c, jid):
    """(identities [(category, type, name)], features set, {form FORM_TYPE: {var: [values]}})."""
    r = await c.iq(jid, "<query xmlns='%s'/>" % NS_DISCO_INFO)
    q = r.xml.find("{%s}query" % NS_DISCO_INFO)
    ids = [(i.get("category"), i.get("type"), i.get("name"))
           for i in q.findall("{%s}identity" % NS_DISCO_INFO)]
    feats = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
    forms = {}
    for x in q.findall("{%s}x" % NS_DATA):
        vals = {}
        for f in x.findall("{%s}field" % NS_DATA):
            vals[f.get("var")] = [v.text or "" for v in f.findall("{%s}value" % NS_DATA)]
        forms[(vals.get("FORM_TYPE") or [""])[0]] = vals
    return ids, feats, forms
