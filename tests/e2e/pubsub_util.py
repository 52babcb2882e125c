"""Helpers for the XEP-0060 pubsub and XEP-0163 PEP end-to-end tests (test_pubsub_*.py,
test_pep*.py).

The clients are independent implementations: slixmpp (xep_0060, xep_0163, xep_0084, xep_0172,
xep_0048/0049, xep_0223, xep_0059, xep_0004, xep_0115) and aioxmpp (pubsub, pep, avatar,
bookmarks). `PubClient` is muc_util.MucClient (it records every <message/> and <presence/> in
order, `expect()` waits for one, `barrier()` shows something did NOT arrive) with the pubsub
plugins.

The server under test is Starling. For checking the TESTS themselves, setting
STARLING_E2E_AGAINST=prosody runs them against Prosody 0.12 (Debian) instead: its own process on
127.0.0.1 with mod_pep, mod_private, mod_bookmarks and `Component "pubsub.localhost" "pubsub"`.
This is opt-in and never used by CTest. Prosody lets only admins create nodes on its pubsub
component, so there alice (the node owner in these tests) is a Prosody admin; tests of
Starling-only configuration (create_nodes, max_items limits) are skipped there, and places
where Prosody departs from the XEPs are marked `prosody_differs` (xfail against Prosody only).
"""
import asyncio
import os
import xml.etree.ElementTree as ET

import pytest

import clients
import muc_util as mu
from muc_util import (Client, IqError, close_all, run, barrier, xml,  # noqa: F401
                      NS_DATA, NS_DISCO_INFO, NS_DISCO_ITEMS)

AGAINST = os.environ.get("STARLING_E2E_AGAINST", "starling")
PROSODY = AGAINST == "prosody"

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = NS_PUBSUB + "#event"
NS_OWNER = NS_PUBSUB + "#owner"
NS_ERRORS = NS_PUBSUB + "#errors"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_META = "urn:xmpp:avatar:metadata"
NS_NICK = "http://jabber.org/protocol/nick"
NS_BOOKMARKS2 = "urn:xmpp:bookmarks:1"
NS_BOOKMARKS_LEGACY = "storage:bookmarks"
NS_PRIVATE = "jabber:iq:private"
NS_OMEMO_DEVICELIST = "eu.siacs.conversations.axolotl.devicelist"
NS_OMEMO_LEGACY = "eu.siacs.conversations.axolotl"
NS_TUNE = "http://jabber.org/protocol/tune"
NS_MOOD = "http://jabber.org/protocol/mood"

WAIT = 10
DOMAIN = "localhost"
SERVICE = "pubsub.localhost"
USERS = ("alice", "bob", "carol", "dave")
PLUGINS = ("xep_0030", "xep_0004", "xep_0059", "xep_0060", "xep_0115", "xep_0163", "xep_0084",
           "xep_0172", "xep_0049", "xep_0048", "xep_0223", "xep_0199")
# Without xep_0084/0172/0048: a client that registers no +notify interest of its own.
BARE_PLUGINS = ("xep_0030", "xep_0004", "xep_0059", "xep_0060", "xep_0115", "xep_0163",
                "xep_0199")

starling_only = pytest.mark.skipif(PROSODY, reason="Starling configuration, not in Prosody")


def prosody_differs(why):
    """Marks a test Prosody 0.12 fails because it departs from the XEP (`why`)."""
    return pytest.mark.xfail(PROSODY, reason="Prosody 0.12 differs: " + why, strict=False)


# ---- the server under test ------------------------------------------------------------------

class ProsodyTarget:
    """Prosody 0.12 on 127.0.0.1 serving `localhost` with PEP and a pubsub component; the same
    interface the tests use of conftest.Server (port, stop, start, restart, log)."""

    def __init__(self, users):
        import federation
        self.world_dir = federation.workdir("starling-pubsub-prosody-")
        self.ca = federation.CA(os.path.join(self.world_dir, "ca"))
        extra = ('admins = { "alice@localhost" }\n'
                 'Component "pubsub.localhost" "pubsub"\n    pubsub_max_items = 1000\n')

        class Peer(federation.Prosody):
            def write_config(peer):
                # federation.Prosody's module list plus PEP, private XML storage and the
                # bookmarks bridge (an option may be set only once in a Prosody config).
                super().write_config()
                with open(peer.config) as f:
                    text = f.read()
                text = text.replace('"posix" }', '"posix"; "pep"; "private"; "bookmarks" }', 1)
                with open(peer.config, "w") as f:
                    f.write(text)
        self.peer = Peer("localhost", "127.0.0.1", ca=self.ca,
                                       users={u: clients.PASSWORD for u in users},
                                       workdir=os.path.join(self.world_dir, "prosody"),
                                       extra=extra)
        self.port = self.peer.c2s_port
        self.kind = "prosody"

    def start(self):
        self.peer.start()
        return self

    def stop(self):
        return self.peer.stop()

    def log(self):
        return self.peer.log()


def make_target(server_factory, users=USERS, extra=""):
    """A started server for `localhost` with accounts `users` (password 'secret'): Starling
    (with `extra` top-level TOML), or Prosody when STARLING_E2E_AGAINST=prosody."""
    if PROSODY:
        t = ProsodyTarget(users)
        server_factory.prosody.append(t)
        return t.start()
    s = server_factory(extra=extra)
    for u in users:
        s.adduser("%s@%s" % (u, DOMAIN), clients.PASSWORD)
    s.kind = "starling"
    return s.start()


def restart(target):
    rc = target.stop()
    if not PROSODY:
        assert rc == 0, "starling exited with %s:\n%s" % (rc, target.log()[-3000:])
    target.start()


@pytest.fixture
def pubsub_factory(server_factory):
    """make(users=..., extra=...) -> a started target; Prosody targets are stopped at the end."""
    server_factory.prosody = []

    def make(**kw):
        return make_target(server_factory, **kw)
    yield make
    for t in server_factory.prosody:
        t.stop()
        if not os.environ.get("STARLING_E2E_KEEP"):
            import shutil
            shutil.rmtree(t.world_dir, ignore_errors=True)


# ---- clients --------------------------------------------------------------------------------

class PubClient(mu.MucClient):
    """A slixmpp client with the pubsub/PEP plugins that records presences and messages."""

    def __init__(self, jid, password=clients.PASSWORD, plugins=PLUGINS, **kw):
        super().__init__(jid, password, plugins=plugins, **kw)
        # Never ask the server for bookmarks or join rooms by itself.
        if "xep_0048" in plugins:
            self["xep_0048"].auto_join = False

    async def iq(self, to, xml_payload, itype="get", timeout=WAIT):
        """Sends an iq with the payload (XML text) to `to` (None: no 'to', the own account)
        and returns the result (IqError raised)."""
        iq = self.Iq()
        iq["type"] = itype
        if to is not None:
            iq["to"] = to
        if xml_payload:
            iq.append(ET.fromstring(xml_payload))
        return await iq.send(timeout=timeout)

    @property
    def bare(self):
        return self.boundjid.bare

    async def error(self, to, xml_payload, itype="set", timeout=WAIT):
        """Sends an iq that must fail; returns PubsubError."""
        try:
            r = await self.iq(to, xml_payload, itype, timeout)
        except IqError as e:
            return PubsubError(e.iq)
        raise AssertionError("expected an error, got %s" % r)

    async def fails(self, fut):
        """Awaits a slixmpp request that must fail; returns PubsubError."""
        try:
            r = await fut
        except IqError as e:
            return PubsubError(e.iq)
        raise AssertionError("expected an error, got %s" % r)


class PubsubError:
    """An error reply: condition, type, the pubsub#errors element name (or None) and its
    'feature' attribute."""

    def __init__(self, iq):
        self.iq = iq
        e = xml(iq).find("{jabber:client}error")
        assert e is not None, "no <error/> in %s" % iq
        self.type = e.get("type")
        self.condition = None
        self.app = None
        self.feature = None
        for c in e:
            ns, _, name = c.tag[1:].partition("}")
            if ns == NS_STANZAS and name != "text" and self.condition is None:
                self.condition = name
            elif ns == NS_ERRORS:
                self.app = name
                self.feature = c.get("feature")

    def __repr__(self):
        return "PubsubError(%s, %s, %s, feature=%s)" % (self.condition, self.type, self.app,
                                                        self.feature)

    def check(self, condition, app=None, feature=None, etype=None, prosody=None):
        """Asserts the XEP's error. `prosody`: the (different) condition Prosody 0.12 answers
        with, checked instead when running against Prosody (documents the difference)."""
        if PROSODY and prosody is not None:
            assert self.condition == prosody, self
            return self
        assert self.condition == condition, self
        if app is not None:
            assert self.app == app, self
        if feature is not None:
            assert self.feature == feature, self
        if etype is not None:
            assert self.type == etype, self
        return self


async def login(target, user, resource="r", presence=True, plugins=PLUGINS):
    c = PubClient("%s@%s/%s" % (user, DOMAIN, resource), plugins=plugins)
    c.connect_to(target.port)
    try:
        await c.wait_session()
        if presence:
            await c.presence()
    except BaseException:
        await c.close()
        raise
    return c


async def logins(target, *users, **kw):
    return await asyncio.gather(*(login(target, u, **kw) for u in users))


async def befriend(a, b):
    """Mutual presence subscription between two logged-in, available PubClients: each asks and
    the other approves explicitly (RFC 6121 §3.1); waits until both rosters say 'both'."""
    for x, y in ((a, b), (b, a)):
        x.send_presence(pto=y.bare, ptype="subscribe")
        await barrier(x, DOMAIN)
        y.send_presence(pto=x.bare, ptype="subscribed")
        await barrier(y, DOMAIN)
    await roster_both(a, b.bare)
    await roster_both(b, a.bare)


async def roster_both(c, contact, timeout=WAIT):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await c.iq(None, "<query xmlns='jabber:iq:roster'/>")
        subs = {i.get("jid"): i.get("subscription")
                for i in r.xml.iter("{jabber:iq:roster}item")}
        if subs.get(contact) == "both":
            return
        if loop.time() > deadline:
            raise AssertionError("%s: roster subscription with %s is %s" % (c.bare, contact,
                                                                            subs.get(contact)))
        await barrier(c, DOMAIN)


# ---- stanzas --------------------------------------------------------------------------------

def payload(text):
    """An ET element from XML text (a raw pubsub payload)."""
    return ET.fromstring(text)


def entry(text, ns="urn:example:e2e"):
    return payload("<entry xmlns='%s'>%s</entry>" % (ns, text))


def form(fields, ftype="submit", form_type=None):
    """A jabber:x:data form (ET) from {var: str | bool | list}."""
    x = ET.Element("{%s}x" % NS_DATA, type=ftype)
    if form_type:
        f = ET.SubElement(x, "{%s}field" % NS_DATA, var="FORM_TYPE", type="hidden")
        ET.SubElement(f, "{%s}value" % NS_DATA).text = form_type
    for var, v in fields.items():
        if isinstance(v, bool):
            v = ["1" if v else "0"]
        elif not isinstance(v, (list, tuple)):
            v = [str(v)]
        f = ET.SubElement(x, "{%s}field" % NS_DATA, var=var)
        for val in v:
            ET.SubElement(f, "{%s}value" % NS_DATA).text = val
    return x


def form_xml(fields, form_type, ftype="submit"):
    return ET.tostring(form(fields, ftype, form_type), encoding="unicode")


def node_config_form(fields):
    return form(fields, form_type=NS_PUBSUB + "#node_config")


def publish_options(fields):
    return form(fields, form_type=NS_PUBSUB + "#publish-options")


def slix_form(client, fields, form_type):
    """The same as a slixmpp Form stanza (what the slixmpp API takes)."""
    f = client["xep_0004"].make_form(ftype="submit")
    f.add_field(var="FORM_TYPE", ftype="hidden", value=form_type)
    for var, v in fields.items():
        if isinstance(v, bool):
            f.add_field(var=var, value=v, ftype="boolean")
        elif isinstance(v, (list, tuple)):
            f.add_field(var=var, value=list(v), ftype="list-multi")
        else:
            f.add_field(var=var, value=str(v))
    return f


def read_form(x):
    """{var: [values]} of a data form element."""
    out = {}
    if x is None:
        return out
    for f in x.findall("{%s}field" % NS_DATA):
        out[f.get("var")] = [v.text or "" for v in f.findall("{%s}value" % NS_DATA)]
    return out


def form_types(x):
    return {f.get("var"): f.get("type") for f in x.findall("{%s}field" % NS_DATA)}


def items_of(iq):
    """[(id, payload element or None)] of an items result (or event)."""
    root = xml(iq)
    items = root.find(".//{%s}items" % NS_PUBSUB)
    if items is None:
        items = root.find(".//{%s}items" % NS_EVENT)
    assert items is not None, "no <items/> in %s" % ET.tostring(root, encoding="unicode")
    out = []
    for it in items:
        if it.tag.endswith("}item"):
            kids = list(it)
            out.append((it.get("id"), kids[0] if kids else None))
    return out


def entry_text(el):
    return None if el is None else el.text


def is_event(frm=None, node=None, kind="items", pred=None):
    """A pubsub#event message (from `frm`, bare compare), whose event child is `kind` (items,
    purge, delete, configuration, subscription) for `node`."""
    def p(s):
        if s.name != "message":
            return False
        if frm is not None and str(s["from"]) != frm and s["from"].bare != frm:
            return False
        ev = xml(s).find("{%s}event" % NS_EVENT)
        if ev is None:
            return False
        k = ev.find("{%s}%s" % (NS_EVENT, kind))
        if k is None:
            return False
        if node is not None and k.get("node") != node:
            return False
        return pred is None or pred(k, s)
    return p


def has_item(item_id=None, text=None):
    """For is_event(kind='items'): an <item/> with that id (and payload text)."""
    def p(k, _s):
        for it in k.findall("{%s}item" % NS_EVENT):
            if item_id is not None and it.get("id") != item_id:
                continue
            kids = list(it)
            if text is not None and (not kids or kids[0].text != text):
                continue
            return True
        return False
    return p


def has_retract(item_id):
    return lambda k, _s: any(r.get("id") == item_id
                             for r in k.findall("{%s}retract" % NS_EVENT))


def event_items(s):
    """[(id, payload)] of an event message's <items/>."""
    k = xml(s).find("{%s}event/{%s}items" % (NS_EVENT, NS_EVENT))
    return [(it.get("id"), (list(it) or [None])[0]) for it in k.findall("{%s}item" % NS_EVENT)]


async def create(c, node, config=None, to=SERVICE):
    """Creates `node` with an optional node_config {var: value}; returns the result iq."""
    cfg = ""
    if config:
        cfg = "<configure>%s</configure>" % form_xml(config, NS_PUBSUB + "#node_config")
    return await c.iq(to, "<pubsub xmlns='%s'><create node='%s'/>%s</pubsub>"
                      % (NS_PUBSUB, node, cfg), "set")


async def publish(c, node, text, item_id=None, to=SERVICE, options=None, ns="urn:example:e2e"):
    """Publishes <entry xmlns=ns>text</entry>; returns the published item id (from the result,
    or the one asked for)."""
    i = " id='%s'" % item_id if item_id is not None else ""
    opts = ""
    if options:
        opts = "<publish-options>%s</publish-options>" % form_xml(options,
                                                                 NS_PUBSUB + "#publish-options")
    r = await c.iq(to, "<pubsub xmlns='%s'><publish node='%s'><item%s><entry xmlns='%s'>%s"
                   "</entry></item></publish>%s</pubsub>" % (NS_PUBSUB, node, i, ns, text, opts),
                   "set")
    it = r.xml.find("{%s}pubsub/{%s}publish/{%s}item" % (NS_PUBSUB, NS_PUBSUB, NS_PUBSUB))
    if it is not None and it.get("id"):
        return it.get("id")
    assert item_id is not None, "no item id in the publish result %s" % r
    return item_id


async def get_items(c, node, to=SERVICE, max_items=None, ids=None, rsm=""):
    m = " max_items='%d'" % max_items if max_items is not None else ""
    its = "".join("<item id='%s'/>" % i for i in (ids or ()))
    return await c.iq(to, "<pubsub xmlns='%s'><items node='%s'%s>%s</items>%s</pubsub>"
                      % (NS_PUBSUB, node, m, its, rsm), "get")


async def get_config(c, node, to=SERVICE):
    r = await c.iq(to, "<pubsub xmlns='%s'><configure node='%s'/></pubsub>" % (NS_OWNER, node))
    x = r.xml.find("{%s}pubsub/{%s}configure/{%s}x" % (NS_OWNER, NS_OWNER, NS_DATA))
    assert x is not None, "no form in %s" % r
    return read_form(x), x


async def set_config(c, node, fields, to=SERVICE):
    return await c.iq(to, "<pubsub xmlns='%s'><configure node='%s'>%s</configure></pubsub>"
                      % (NS_OWNER, node, form_xml(fields, NS_PUBSUB + "#node_config")), "set")


async def subscribe(c, node, to=SERVICE, jid=None):
    """Subscribes c's bare JID; returns the <subscription/> attributes."""
    r = await c.iq(to, "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/></pubsub>"
                   % (NS_PUBSUB, node, jid or c.bare), "set")
    s = r.xml.find("{%s}pubsub/{%s}subscription" % (NS_PUBSUB, NS_PUBSUB))
    assert s is not None, "no <subscription/> in %s" % r
    return dict(s.attrib)


async def owner_list(c, node, what, to=SERVICE):
    """Owner's affiliations or subscriptions list: {jid: affiliation or subscription}."""
    r = await c.iq(to, "<pubsub xmlns='%s'><%s node='%s'/></pubsub>" % (NS_OWNER, what, node))
    el = r.xml.find("{%s}pubsub/{%s}%s" % (NS_OWNER, NS_OWNER, what))
    assert el is not None, r
    attr = "affiliation" if what == "affiliations" else "subscription"
    return {i.get("jid"): i.get(attr) for i in el}


async def disco_info(c, jid, node=None):
    n = " node='%s'" % node if node else ""
    r = await c.iq(jid, "<query xmlns='%s'%s/>" % (NS_DISCO_INFO, n))
    q = r.xml.find("{%s}query" % NS_DISCO_INFO)
    ids = [(i.get("category"), i.get("type")) for i in q.findall("{%s}identity" % NS_DISCO_INFO)]
    feats = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
    forms = {}
    for x in q.findall("{%s}x" % NS_DATA):
        vals = read_form(x)
        forms[(vals.get("FORM_TYPE") or [""])[0]] = vals
    return ids, feats, forms


async def disco_items(c, jid, node=None):
    n = " node='%s'" % node if node else ""
    r = await c.iq(jid, "<query xmlns='%s'%s/>" % (NS_DISCO_ITEMS, n))
    return [dict(i.attrib) for i in r.xml.findall("{%s}query/{%s}item" % (NS_DISCO_ITEMS,
                                                                          NS_DISCO_ITEMS))]
