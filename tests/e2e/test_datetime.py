"""XEP-0082 DateTimes as clients send and read them: MUC history 'since' (XEP-0045 §7.2.15) and
pubsub subscription expiry (XEP-0060 §6.3, pubsub#expire) accept any time zone offset and
fractions; what the server writes is UTC; a malformed DateTime in a form is bad-request. The
stamps are read back with slixmpp's own XEP-0082 parser, not ours."""
import asyncio
import datetime

import pytest
from slixmpp.plugins import xep_0082

import muc_util as mu
from clients import close_all, run
import pubsub_util as pu
from muc_util import enter, create_instant, groupchat, is_message, is_presence
from pubsub_util import pubsub_factory  # noqa: F401  (fixture)
from pubsub_util import NS_PUBSUB, NS_DATA, SERVICE, barrier, is_event, has_item

UTC = datetime.timezone.utc
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
EST = datetime.timezone(datetime.timedelta(hours=-5))


def now():
    return datetime.datetime.now(UTC)


def xep0082(dt, tz):
    """`dt` written in the zone `tz`, with milliseconds: "2026-01-02T08:30:00.123+05:30"."""
    return dt.astimezone(tz).isoformat(timespec="milliseconds")


@pytest.fixture
def muc(server_factory):
    return mu.muc_server(server_factory)


def test_muc_history_since_with_offsets(muc):
    """§7.2.15: 'since' is a DateTime in any zone; the history <delay/> stamps are UTC."""
    async def body():
        alice, bob = await asyncio.gather(mu.login("alice@localhost/r", muc.port),
                                          mu.login("bob@localhost/r", muc.port))
        try:
            room = "dates@conference.localhost"
            await create_instant(alice, room, "alice")
            before = now() - datetime.timedelta(seconds=5)
            for i in range(2):
                groupchat(alice, room, "line %d" % i)
                await alice.expect(is_message(room + "/alice", "line %d" % i, "groupchat"))
            after = now() + datetime.timedelta(seconds=5)

            async def hist(since):
                r = await enter(bob, room + "/bob", history={"since": since})
                m = bob.mark()
                mu.leave(bob, room + "/bob")
                await bob.expect(is_presence(room + "/bob", "unavailable"), since=m)
                return r.history

            # Before the messages, written 5:30 east of UTC: its digits read as UTC would be
            # hours later, after the messages.
            h = await hist(xep0082(before, IST))
            assert [m["body"] for m in h] == ["line 0", "line 1"], h
            for m in h:
                stamp = mu.delay_of(m).get("stamp")
                assert stamp.endswith("Z") and len(stamp) == 20, stamp  # UTC, to the second
                t = xep_0082.parse(stamp)
                assert before - datetime.timedelta(seconds=1) <= t <= after, (stamp, before)
            # After them, written 5 hours west of UTC (digits read as UTC: before them).
            assert await hist(xep0082(after, EST)) == []
        finally:
            await close_all(alice, bob)
    run(body(), 60)


@pytest.fixture
def srv(pubsub_factory):
    return pubsub_factory()


async def set_options(c, node, fields):
    return await c.iq(SERVICE, "<pubsub xmlns='%s'><options node='%s' jid='%s'>%s</options>"
                      "</pubsub>" % (NS_PUBSUB, node, c.bare, pu.form_xml(
                          fields, NS_PUBSUB + "#subscribe_options")), "set")


async def get_options(c, node):
    r = await c.iq(SERVICE, "<pubsub xmlns='%s'><options node='%s' jid='%s'/></pubsub>"
                   % (NS_PUBSUB, node, c.bare), "get")
    return pu.read_form(r.xml.find("{%s}pubsub/{%s}options/{%s}x"
                                   % (NS_PUBSUB, NS_PUBSUB, NS_DATA)))


@pu.starling_only
def test_pubsub_subscription_expire(srv):
    """XEP-0060 §6.3 pubsub#expire: a DateTime with an offset is the instant it names (shown
    back in UTC); once past, the subscriber gets no notifications; a malformed one is
    bad-request."""
    async def body():
        alice, bob = await pu.logins(srv, "alice", "bob")
        try:
            await pu.create(alice, "expiring")
            await pu.subscribe(bob, "expiring")
            # An hour from now, written 5:30 east of UTC with milliseconds.
            soon = now().replace(microsecond=0) + datetime.timedelta(hours=1)
            await set_options(bob, "expiring", {"pubsub#expire": xep0082(soon, IST)})
            f = await get_options(bob, "expiring")
            assert f["pubsub#expire"] == [soon.strftime("%Y-%m-%dT%H:%M:%SZ")], f
            since = bob.mark()
            await pu.publish(alice, "expiring", "still", "s")
            await bob.expect(is_event(SERVICE, "expiring", pred=has_item("s", "still")),
                             since=since)
            # An hour ago, written 5:30 east of UTC: its local digits are 4.5 hours ahead, so a
            # server that ignored the offset would still deliver.
            ago = now() - datetime.timedelta(hours=1)
            await set_options(bob, "expiring", {"pubsub#expire": xep0082(ago, IST)})
            since = bob.mark()
            await pu.publish(alice, "expiring", "gone", "g")
            await barrier(bob, SERVICE)
            assert not bob.found(is_event(SERVICE, "expiring"), since=since), bob.seen[since:]
            # Not DateTimes: a day February lacks, an offset beyond ±14:00, no zone.
            for bad in ("2099-02-30T00:00:00Z", "2099-06-01T12:00:00+15:00",
                        "2099-06-01T12:00:00"):
                e = await bob.error(SERVICE, "<pubsub xmlns='%s'><options node='expiring' "
                                    "jid='%s'>%s</options></pubsub>" % (
                                        NS_PUBSUB, bob.bare, pu.form_xml(
                                            {"pubsub#expire": bad},
                                            NS_PUBSUB + "#subscribe_options")))
                e.check("bad-request", etype="modify")
        finally:
            await close_all(alice, bob)
    run(body(), 60)
