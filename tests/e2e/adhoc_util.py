"""Helpers shared by test_adhoc.py and test_admin.py: XEP-0050 requests sent through slixmpp's
stanza layer (for exact attributes such as a wrong sessionid or action) and login checks."""
import xml.etree.ElementTree as ET

from clients import WAIT, IqError
from conftest import Raw
import xmpp_raw as x
from xmpp_raw import q

NS_CMD = "http://jabber.org/protocol/commands"
NS_XDATA = "jabber:x:data"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
ADMIN = "http://jabber.org/protocol/admin#"

ADMIN_CONFIG = 'admins = ["alice@localhost"]\n'


def command_element(node, action=None, sessionid=None, fields=None, form_type="submit"):
    e = ET.Element(q(NS_CMD, "command"), node=node)
    if action is not None:
        e.set("action", action)
    if sessionid is not None:
        e.set("sessionid", sessionid)
    if fields is not None:
        xf = ET.SubElement(e, q(NS_XDATA, "x"), type=form_type)
        for var, vals in fields.items():
            f = ET.SubElement(xf, q(NS_XDATA, "field"), var=var)
            for v in (vals if isinstance(vals, list) else [vals]):
                ET.SubElement(f, q(NS_XDATA, "value")).text = v
    return e


async def command(c, node, to="localhost", **kw):
    """Sends one <command/>; returns the <command/> of the result (IqError on an error)."""
    iq = c.Iq()
    iq["type"] = "set"
    iq["to"] = to
    iq.append(command_element(node, **kw))
    reply = await iq.send(timeout=WAIT)
    cmd = reply.xml.find(q(NS_CMD, "command"))
    assert cmd is not None, str(reply)
    return cmd


def error_of(exc):
    """(type, defined condition, commands-namespace condition or None) of an IqError."""
    err = exc.iq.xml.find("{jabber:client}error")
    assert err is not None, str(exc.iq)
    defined = [ch.tag.split("}")[1] for ch in err if ch.tag.startswith("{%s}" % NS_STANZAS)
               and not ch.tag.endswith("}text")]
    specific = [ch.tag.split("}")[1] for ch in err if ch.tag.startswith("{%s}" % NS_CMD)]
    return err.get("type"), defined[0], (specific[0] if specific else None)


async def command_error(c, node, **kw):
    try:
        cmd = await command(c, node, **kw)
    except IqError as e:
        return error_of(e)
    raise AssertionError("expected an error, got %s" % ET.tostring(cmd))


def form_of(cmd):
    """{var: [values]} of the data form in a <command/>, and the form element."""
    xf = cmd.find(q(NS_XDATA, "x"))
    assert xf is not None, ET.tostring(cmd)
    fields = {}
    for f in xf.findall(q(NS_XDATA, "field")):
        fields[f.get("var")] = [v.text or "" for v in f.findall(q(NS_XDATA, "value"))]
    return fields, xf


def notes(cmd):
    return [(n.get("type"), n.text or "") for n in cmd.findall(q(NS_CMD, "note"))]


def actions(cmd):
    a = cmd.find(q(NS_CMD, "actions"))
    if a is None:
        return None
    return a.get("execute"), sorted(ch.tag.split("}")[1] for ch in a)


async def run_form_command(c, node, fields):
    """execute, then submit `fields` with the session id; returns the final <command/>."""
    first = await command(c, node)
    assert first.get("status") == "executing", ET.tostring(first)
    return await command(c, node, sessionid=first.get("sessionid"),
                         fields=dict({"FORM_TYPE": "http://jabber.org/protocol/admin"}, **fields))


def sasl_plain(port, user, password):
    """The SASL outcome element tag name of a PLAIN login attempt ("success" or the
    <failure/> child's name)."""
    c = Raw(port)
    try:
        x.starttls(c)
        r = x.plain(c, user, password)
        if r.tag == q(x.NS_SASL, "success"):
            return "success"
        children = [ch.tag.split("}")[1] for ch in r if not ch.tag.endswith("}text")]
        return children[0] if children else "failure"
    finally:
        c.close()
