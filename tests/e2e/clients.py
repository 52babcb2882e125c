"""Client helpers for the end-to-end tests: slixmpp clients (and an aioxmpp one) that connect to a
test server with bounded waits, so every test finishes by itself.

Everything here is asyncio; a test body is an `async def` run with `run(coro, timeout)`, which
makes a fresh event loop and fails the test when the whole body takes longer than `timeout`.
"""
import asyncio
import logging
import ssl
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError  # noqa: F401  (re-exported for tests)
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

# slixmpp logs every failed connection attempt and parse problem at ERROR/WARNING; keep pytest's
# captured output readable.
logging.getLogger("slixmpp").setLevel(logging.CRITICAL)
logging.getLogger("aioxmpp").setLevel(logging.CRITICAL)

PASSWORD = "secret"
LOGIN_TIMEOUT = 20
WAIT = 10


def run(coro, timeout=60):
    """Runs `coro` to completion in a new event loop; raises TimeoutError after `timeout` s."""
    async def main():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that records what happens to it.

    channel_binding=False hides the TLS channel-binding data from slixmpp's SASL layer, so a
    non-PLUS SCRAM mechanism sends the gs2 flag 'n' (client does not support channel binding)
    instead of 'y' (client supports it but thinks the server does not), which a server that
    offers -PLUS must refuse (RFC 5802 §6).
    """

    def __init__(self, jid, password=PASSWORD, *, sasl_mech=None, channel_binding=True,
                 plugins=("xep_0030", "xep_0092", "xep_0199")):
        super().__init__(jid, password, sasl_mech=sasl_mech)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for p in plugins:
            self.register_plugin(p)
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()       # session_start
        self.auth_failed = loop.create_future()   # failed_all_auth
        self.auth_failures = []                   # every failed_auth event (<failure/> elements)
        self.ended = loop.create_future()         # first 'disconnected' after connecting
        self.session_starts = 0
        self.inbox = asyncio.Queue()              # every <message/>, errors included
        self.received_raw = []                    # raw stanzas, for stream error checks
        self.stream_errors = []
        self.register_handler(Callback("e2e all messages", MatchXPath("{jabber:client}message"),
                                       self.inbox.put_nowait))
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("stream_error", self.stream_errors.append)
        if not channel_binding:
            mechs = self["feature_mechanisms"]
            base = mechs.sasl_callback

            def no_cb(required, optional):
                creds = base(required, optional)
                if "channel_binding" in creds:
                    creds["channel_binding"] = None
                return creds
            mechs.sasl_callback = no_cb

    # -- events
    def _on_start(self, _event):
        self.session_starts += 1
        if not self.started.done():
            self.started.set_result(True)

    def _on_failed_auth(self, event):
        self.auth_failures.append(event)

    def _on_failed_all_auth(self, _event):
        if not self.auth_failed.done():
            self.auth_failed.set_result(True)

    def _on_disconnected(self, reason):
        if not self.ended.done():
            self.ended.set_result(reason)

    # -- actions
    def connect_to(self, port, direct_tls=False):
        self.connect(("127.0.0.1", port), use_ssl=direct_tls)

    async def wait_session(self, timeout=LOGIN_TIMEOUT):
        """Waits for session_start; raises AssertionError when auth fails or the stream ends."""
        done, _ = await asyncio.wait({self.started, self.auth_failed, self.ended}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.started in done:
            return self
        if self.auth_failed in done:
            raise AssertionError("%s: authentication failed: %r" % (self.requested_jid,
                                                                    self.auth_failures))
        if self.ended in done:
            raise AssertionError("%s: disconnected before session start: %r"
                                 % (self.requested_jid, self.ended.result()))
        raise AssertionError("%s: no session within %ss" % (self.requested_jid, timeout))

    async def next_message(self, timeout=WAIT, pred=None):
        """The next message (matching `pred`); AssertionError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError("%s: no message within %ss" % (self.boundjid, timeout))
            try:
                msg = await asyncio.wait_for(self.inbox.get(), remaining)
            except asyncio.TimeoutError:
                raise AssertionError("%s: no message within %ss" % (self.boundjid, timeout))
            if pred is None or pred(msg):
                return msg

    async def no_message(self, wait=1.0):
        """Asserts that nothing arrives for `wait` seconds."""
        try:
            msg = await asyncio.wait_for(self.inbox.get(), wait)
        except asyncio.TimeoutError:
            return
        raise AssertionError("%s: unexpected message %s" % (self.boundjid, msg))

    def say(self, to, body, mtype="chat"):
        self.send_message(mto=to, mbody=body, mtype=mtype)

    async def presence(self, priority=None):
        """Sends initial presence (optionally with a priority) and lets the server apply it."""
        self.send_presence(ppriority=priority)
        # The server handles a client's stanzas in order, so a ping answered after the presence
        # proves the presence has been processed.
        await self.ping_server()

    async def ping_server(self, timeout=WAIT):
        iq = self.Iq()
        iq["type"] = "get"
        iq["to"] = self.boundjid.domain
        iq.append(ET.Element("{urn:xmpp:ping}ping"))
        return await iq.send(timeout=timeout)

    async def iq_get(self, to, payload, timeout=WAIT):
        """Sends <iq type='get'/> with `payload` (an Element); returns the result or raises
        IqError with the error reply."""
        iq = self.Iq()
        iq["type"] = "get"
        if to is not None:
            iq["to"] = to
        iq.append(payload)
        return await iq.send(timeout=timeout)

    async def close(self):
        if self.transport is None:
            return
        try:
            await asyncio.wait_for(self.disconnect(wait=1), 3)
        except (asyncio.TimeoutError, Exception):
            pass
        self.abort()


async def login(jid, port, password=PASSWORD, *, direct_tls=False, timeout=LOGIN_TIMEOUT, **kw):
    """A connected, bound slixmpp Client."""
    c = Client(jid, password, **kw)
    c.connect_to(port, direct_tls)
    try:
        await c.wait_session(timeout)
    except BaseException:
        await c.close()
        raise
    return c


async def close_all(*clients):
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def error_condition(stanza):
    """The defined condition of an error stanza (slixmpp stanza or IqError)."""
    if isinstance(stanza, IqError):
        stanza = stanza.iq
    return stanza["error"]["condition"]


# -- aioxmpp -----------------------------------------------------------------------------------

def aioxmpp_client(jid, port, password=PASSWORD):
    """An aioxmpp Client connecting over STARTTLS to 127.0.0.1:port and accepting the
    self-signed certificate. Use `async with client.connected()`; it sends no presence itself."""
    import aioxmpp
    import aioxmpp.connector
    return aioxmpp.Client(
        aioxmpp.JID.fromstr(jid),
        aioxmpp.make_security_layer(password, no_verify=True),
        override_peer=[("127.0.0.1", port, aioxmpp.connector.STARTTLSConnector())],
        max_initial_attempts=1,
    )


# -- raw sessions ------------------------------------------------------------------------------

def raw_session(port, user="alice", password=PASSWORD, resource="raw", domain="localhost",
                direct_tls=False, timeout=10):
    """A conftest.Raw connection that has done STARTTLS (or direct TLS), SASL PLAIN and resource
    binding; its buffer is empty afterwards. Returns (raw, full_jid)."""
    import base64
    import re
    from conftest import Raw
    header = ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
              "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % domain)
    r = Raw(port, timeout=timeout)
    if direct_tls:
        r.starttls(domain)
    else:
        r.send(header)
        r.recv_until(r"</stream:features>")
        r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        r.recv_until(r"<proceed")
        r.starttls(domain)
    r.send(header)
    r.recv_until(r"</stream:features>")
    r.buf = b""
    cred = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % cred)
    text = r.recv_until(r"<success|<failure")
    assert "<success" in text, text
    r.buf = b""
    r.send(header)
    r.recv_until(r"</stream:features>")
    r.buf = b""
    r.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           "<resource>%s</resource></bind></iq>" % resource)
    text = r.recv_until(r"</iq>")
    m = re.search(r"<jid>([^<]+)</jid>", text)
    assert m, text
    r.buf = b""
    return r, m.group(1)
