#include "modules/rfc6121_roster/presence.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <algorithm>
#include <chrono>
#include <set>

#include "base/log.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0160_offline/delay.hpp"
#include "session/session_table.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/datetime.hpp"

namespace starling::modules::roster {

namespace asio = boost::asio;
using xmpp::Jid;
using xmpp::StanzaError;
using xmpp::StanzaPtr;

namespace {

constexpr const char* kClientNs = "jabber:client";

SubState state_of(const std::optional<RosterItem>& item, bool pending_in) {
  SubState s;
  s.pending_in = pending_in;
  if (item) {
    s.sub = item->subscription;
    s.pending_out = item->ask;
    s.approved = item->approved;
  }
  return s;
}

void apply(RosterItem& item, const SubState& s) {
  item.subscription = s.sub;
  item.ask = s.pending_out;
  item.approved = s.approved;
}

xml::Element make_presence(const std::string& from, const std::string& to, std::string_view type) {
  xml::Element p("presence", kClientNs);
  p.set_attr("from", from);
  p.set_attr("to", to);
  if (!type.empty()) {
    p.set_attr("type", std::string(type));
  }
  return p;
}

// What one subscription stanza did to the roster, computed on the storage executor.
struct Change {
  std::optional<StanzaError> error;
  SubOutcome outcome;
  SubState before;
  std::optional<xml::Element> push;  // the changed item for a roster push
  std::uint64_t ver = 0;
};

}  // namespace

void Presence::start(module::ModuleContext& ctx) {
  ctx_ = &ctx;
  // §3.4: subscription pre-approval is supported and announced.
  ctx.add_stream_feature(xml::Element("sub", "urn:xmpp:features:pre-approval"));
  ctx.on_presence(module::PresenceHandlers{
      [this](StanzaPtr s, Jid from, Jid to) {
        return outbound(std::move(s), std::move(from), std::move(to));
      },
      [this](StanzaPtr s, Jid to, Jid from) {
        return inbound(std::move(s), std::move(to), std::move(from));
      }});
  ctx.on<events::PresenceBroadcast>([this](const events::PresenceBroadcast& e) {
    asio::co_spawn(e.executor, broadcast(e), asio::detached);
  });
  // §8.5.3.1: the sessions learn who shares the account's presence, at bind and on changes.
  ctx.on<events::SessionBound>([this](const events::SessionBound& e) {
    if (e.executor) {
      asio::co_spawn(e.executor, refresh_audience(e.jid.bare()), asio::detached);
    }
  });
  ctx.on<events::RosterChanged>([this](const events::RosterChanged& e) {
    asio::co_spawn(e.executor, refresh_audience(e.jid), asio::detached);
  });
  // A deleted account (module::remove_account): the contacts learn that it is gone.
  ctx.on_account_removal([this](Jid bare) { return account_removed(std::move(bare)); });
}

// The contacts of a deleted account learn that it is gone as if the user had removed each of
// them from the roster (§2.5.2): unavailable presence and "unsubscribed" to those who see the
// user's presence or asked to, "unsubscribe" to those whose presence the user sees or asked to
// see. Their servers (this one, for local contacts) update their rosters accordingly.
asio::awaitable<void> Presence::account_removed(Jid user) {
  std::string domain = user.domain(), local = user.local();
  struct Removed {
    std::vector<RosterItem> items;
    std::vector<std::string> pending_in;  // contacts whose subscription request is stored
  };
  auto op = ctx_->storage().run([domain, local](storage::Backend& b) {
    Removed r;
    r.items = load(b, domain, local).items;
    for (auto& [jid, value] : b.kv_get_all(domain, local, kPendingIn)) {
      r.pending_in.push_back(jid);
    }
    return r;
  });
  Removed r = co_await std::move(op);
  auto res_op = ctx_->sink().available_resources(user);
  auto resources = co_await std::move(res_op);
  auto pending = [&](const std::string& jid) {
    return std::find(r.pending_in.begin(), r.pending_in.end(), jid) != r.pending_in.end();
  };
  for (const auto& item : r.items) {
    send_cancellation(*ctx_, user, item, pending(item.jid), resources);
  }
  for (const auto& jid : r.pending_in) {
    if (std::none_of(r.items.begin(), r.items.end(),
                     [&](const RosterItem& i) { return i.jid == jid; })) {
      RosterItem none;
      none.jid = jid;
      send_cancellation(*ctx_, user, none, true, resources);  // §3.2.1: deny the request
    }
  }
}

asio::awaitable<void> Presence::refresh_audience(Jid user) {
  std::string domain = user.domain(), local = user.local();
  auto op = ctx_->storage().run([domain, local](storage::Backend& b) {
    auto audience = std::make_shared<std::unordered_set<std::string>>();
    for (auto& [jid, value] : b.kv_get_all(domain, local, kItems)) {
      if (auto item = parse_stored(value); item && has_from(item->subscription)) {
        audience->insert(jid);
      }
    }
    return audience;
  });
  auto audience = co_await std::move(op);
  ctx_->sink().set_audience(user, std::move(audience));
}

void Presence::route_copy(const xml::Element& stanza, const std::string& from,
                          const std::string& to) {
  xml::Element copy = stanza;
  copy.set_attr("from", from);
  copy.set_attr("to", to);
  ctx_->send(std::move(copy));
}

asio::awaitable<void> Presence::presence_from_resources(Jid user, std::string contact,
                                                        std::string type) {
  auto op = ctx_->sink().available_resources(user);
  auto resources = co_await std::move(op);
  for (const auto& r : resources) {
    std::string from = user.bare_str() + "/" + r.resource;
    if (type.empty() && r.last_presence) {
      route_copy(*r.last_presence, from, contact);
    } else {
      ctx_->send(make_presence(from, contact, type));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Outbound: the user's client sent subscription presence or a probe (§3.1.2, §3.1.5, §3.2.2,
// §3.3.2, §3.4.2; Appendix A.2).

asio::awaitable<void> Presence::outbound(StanzaPtr stanza, Jid from, Jid to) {
  const xml::Element& s = *stanza;
  std::string_view type = s.attr_or("type");
  Jid user = from.bare();
  if (type == "probe") {
    // §4.3: a client SHOULD NOT probe, but the server processes it as its own, from the bare
    // JID of the user.
    route_copy(s, user.bare_str(), to.str());
    co_return;
  }
  auto t = parse_sub_type(type);
  if (!t) {
    co_return;
  }
  // §3.1.2 #1: a full JID is treated as the contact's bare JID.
  std::string contact = to.bare_str();
  auto reply_error = [&](const StanzaError& err) {
    xml::Element e = xmpp::make_error_reply(s, err);
    e.set_attr("from", to.str());
    e.set_attr("to", from.str());
    ctx_->send(std::move(e));
  };
  if (to.local().empty() || contact == user.bare_str()) {
    // Subscriptions are between accounts; one's own presence is shared implicitly (§4.2.2).
    reply_error(StanzaError::bad_request("A subscription needs another user's address"));
    co_return;
  }
  std::string domain = user.domain(), local = user.local();
  std::size_t max_items = ctx_->config().roster.max_items;
  SubType st = *t;
  auto op = ctx_->storage().run([domain, local, contact, st, max_items](storage::Backend& b) {
    Change c;
    auto item = get_item(b, domain, local, contact);
    bool pending_in = b.kv_get(domain, local, kPendingIn, contact).has_value();
    c.before = state_of(item, pending_in);
    c.outcome = roster::outbound(st, c.before);
    const SubState& next = c.outcome.next;
    if (c.before.pending_in && !next.pending_in) {
      b.kv_delete(domain, local, kPendingIn, contact);
    }
    bool wanted = item || next.sub != Subscription::kNone || next.pending_out || next.approved;
    SubState old = c.before;
    old.pending_in = next.pending_in;  // pending_in is not part of the item
    if (!wanted || (item && old == next)) {
      return c;
    }
    if (!item) {
      if (item_count(b, domain, local) >= max_items) {
        c.error = StanzaError{xmpp::ErrorType::kWait, "resource-constraint",
                              "The roster is full (" + std::to_string(max_items) + " items)"};
        return c;
      }
      item = RosterItem{};
      item->jid = contact;
    }
    apply(*item, next);
    if (!put_item(b, domain, local, *item)) {
      c.error = StanzaError::internal_server_error();
      return c;
    }
    c.push = to_wire(*item);
    c.ver = item->ver;
    return c;
  });
  Change c = co_await std::move(op);
  if (c.error) {
    reply_error(*c.error);
    co_return;
  }
  if (c.outcome.forward) {
    if (st == SubType::kUnsubscribed && has_from(c.before.sub)) {
      // §3.2.2: while the contact is still subscribed, unavailable from every resource first.
      auto u = presence_from_resources(user, contact, "unavailable");
      co_await std::move(u);
    }
    // §3.1.2, §3.1.5, §3.2.2, §3.3.2: stamped with the user's bare JID, to the bare JID.
    route_copy(s, user.bare_str(), contact);
    if (st == SubType::kSubscribed) {
      // §3.1.5: then the current presence of each available resource.
      auto p = presence_from_resources(user, contact, "");
      co_await std::move(p);
    }
  }
  if (c.push) {
    ctx_->push_to_interested(user, push_for(*c.push, c.ver, user.bare_str()));
    auto ex = co_await asio::this_coro::executor;
    ctx_->fire(events::RosterChanged{user, ex});
  }
}

// ---------------------------------------------------------------------------------------------
// Inbound: subscription presence or a probe for a local account (§3.1.3, §3.1.6, §3.2.3,
// §3.3.3; Appendix A.3). Runs on the account's partition shard.

asio::awaitable<void> Presence::inbound(StanzaPtr stanza, Jid to, Jid from) {
  const xml::Element& s = *stanza;
  std::string_view type = s.attr_or("type");
  if (type == "probe") {
    auto p = probe(std::move(stanza), std::move(to), std::move(from));
    co_await std::move(p);
    co_return;
  }
  auto t = parse_sub_type(type);
  if (!t || from.empty() || from.local().empty()) {
    co_return;  // subscriptions come from accounts
  }
  Jid user = to.bare();
  std::string contact = from.bare_str();
  if (contact == user.bare_str()) {
    co_return;
  }
  std::string domain = user.domain(), local = user.local();
  SubType st = *t;
  std::string request = st == SubType::kSubscribe ? xml::to_string(s) : std::string();
  auto op = ctx_->storage().run([domain, local, contact, st, request](storage::Backend& b) {
    Change c;
    if (!b.get_account(domain, local)) {
      return c;  // §8.5.1: silently ignored for an account that does not exist
    }
    auto item = get_item(b, domain, local, contact);
    bool pending_in = b.kv_get(domain, local, kPendingIn, contact).has_value();
    c.before = state_of(item, pending_in);
    c.outcome = roster::inbound(st, c.before);
    const SubState& next = c.outcome.next;
    if (!c.before.pending_in && next.pending_in) {
      // §3.1.3 #4: the complete request is kept and delivered at every login until answered.
      b.kv_set(domain, local, kPendingIn, contact, request);
    } else if (c.before.pending_in && !next.pending_in) {
      b.kv_delete(domain, local, kPendingIn, contact);
    }
    if (!item) {
      // §3.1.3 security warning: no roster item until the user approves; §3.3.3: an unknown
      // contact's unsubscribe only removes the pending request.
      if (st != SubType::kSubscribe) {
        c.outcome.forward = false;
        c.outcome.auto_reply.reset();
      }
      return c;
    }
    SubState old = c.before;
    old.pending_in = next.pending_in;
    if (old == next) {
      return c;
    }
    apply(*item, next);
    if (!put_item(b, domain, local, *item)) {
      return c;
    }
    c.push = to_wire(*item);
    c.ver = item->ver;
    return c;
  });
  Change c = co_await std::move(op);
  if (c.outcome.forward) {
    // §3.1.6 #1, §3.2.3 #1, §3.3.3 #1: the stanza first, then the roster push; 'to' stays the
    // bare JID (§8.5.2.1.2).
    xml::Element copy = s;
    copy.set_attr("from", contact);
    copy.set_attr("to", user.bare_str());
    ctx_->sink().deliver_to_available(user, std::make_shared<const xml::Element>(std::move(copy)));
  }
  if (c.push) {
    ctx_->push_to_interested(user, push_for(*c.push, c.ver, user.bare_str()));
    auto ex = co_await asio::this_coro::executor;
    ctx_->fire(events::RosterChanged{user, ex});
  }
  if (c.outcome.auto_reply) {
    SubType reply = *c.outcome.auto_reply;
    if (reply == SubType::kUnsubscribed && has_from(c.before.sub)) {
      // §3.3.3 #3: the contact no longer receives the user's presence.
      auto u = presence_from_resources(user, contact, "unavailable");
      co_await std::move(u);
    }
    xml::Element r = make_presence(user.bare_str(), contact, to_string(reply));
    if (const std::string* id = s.attr("id")) {
      r.set_attr("id", *id);
    }
    ctx_->send(std::move(r));
    if (reply == SubType::kSubscribed) {
      // §3.1.5 applies to an approval sent on the user's behalf too.
      auto p = presence_from_resources(user, contact, "");
      co_await std::move(p);
    }
  } else if (st == SubType::kUnsubscribe && c.outcome.forward && has_from(c.before.sub)) {
    auto u = presence_from_resources(user, contact, "unavailable");
    co_await std::move(u);
  }
}

// §4.3.2: a probe for a local account, from a contact's server or a local user.
asio::awaitable<void> Presence::probe(StanzaPtr stanza, Jid to, Jid from) {
  const xml::Element& s = *stanza;
  if (from.empty()) {
    co_return;
  }
  Jid user = to.bare();
  std::string prober = from.str();
  auto reply = [&](std::string_view type, const std::string& reply_from) {
    xml::Element r = make_presence(reply_from, prober, type);
    if (const std::string* id = s.attr("id")) {
      r.set_attr("id", *id);  // §4.3.2.1: mirrored when there is no presence to preserve
    }
    return r;
  };
  bool own = from.bare() == user;
  struct Facts {
    bool exists = false;
    bool subscribed = false;
    std::optional<std::string> last_stamp, last_stanza;
  };
  std::string domain = user.domain(), local = user.local(), contact = from.bare_str();
  auto op = ctx_->storage().run([domain, local, contact](storage::Backend& b) {
    Facts f;
    f.exists = b.get_account(domain, local).has_value();
    if (!f.exists) {
      return f;
    }
    if (auto item = get_item(b, domain, local, contact)) {
      f.subscribed = has_from(item->subscription);
    }
    f.last_stamp = b.kv_get(domain, local, kLast, "stamp");
    f.last_stanza = b.kv_get(domain, local, kLast, "stanza");
    return f;
  });
  Facts f = co_await std::move(op);
  if (!f.exists) {
    co_return;  // §8.5.1: a probe to no such user may be silently ignored
  }
  if (!f.subscribed && !own) {
    // §4.3.2 #1: not subscribed: "unsubscribed" from the bare JID (no presence leak).
    ctx_->send(reply("unsubscribed", user.bare_str()));
    co_return;
  }
  if (!own) {
    // A policy that blocks presence to the prober (XEP-0016 presence-out): no answer at all.
    auto fop = ctx_->sink().filter_of(to);
    module::FilterPtr filter = co_await std::move(fop);
    if (filter && filter->blocks_outbound(make_presence(to.str(), prober, ""), from)) {
      co_return;
    }
  }
  auto rop = ctx_->sink().available_resources(user);
  auto resources = co_await std::move(rop);
  bool answered = false;
  for (const auto& r : resources) {
    if (own && r.resource == from.resource()) {
      continue;  // the prober knows its own presence
    }
    std::string rfrom = user.bare_str() + "/" + r.resource;
    if (!to.is_bare()) {
      // A probe to a full JID: only that resource, and only the fact that it is available.
      if (r.resource == to.resource()) {
        ctx_->send(reply("", rfrom));
        answered = true;
      }
      continue;
    }
    if (r.last_presence) {
      route_copy(*r.last_presence, rfrom, prober);  // §4.3.2 #4: the full XML, its own id
      answered = true;
    }
  }
  if (answered || (own && to.is_bare())) {
    co_return;
  }
  // §4.3.2 #3: no available resource: unavailable from the bare JID, with the time of (and
  // the status in) the last unavailable presence.
  xml::Element u = reply("unavailable", to.is_bare() ? user.bare_str() : to.str());
  if (f.last_stanza) {
    xml::Element last;
    if (xml::parse_element(*f.last_stanza, last)) {
      for (const auto* child : last.elements()) {
        if (child->name() == "status") {
          u.add_child(*child);
        }
      }
    }
  }
  if (f.last_stamp) {
    xml::Element delay("delay", std::string(offline::kDelayNs));
    delay.set_attr("from", user.bare_str());
    delay.set_attr("stamp", *f.last_stamp);
    u.add_child(std::move(delay));
  }
  ctx_->send(std::move(u));
}

// ---------------------------------------------------------------------------------------------
// Broadcast presence (§4.2.2, §4.4.2, §4.5.2, §4.6.3). Runs on the session's shard.

asio::awaitable<void> Presence::broadcast(events::PresenceBroadcast e) {
  Jid user = e.jid.bare();
  std::string domain = user.domain(), local = user.local();
  bool initial = e.initial;
  bool available = e.available;
  std::string last_value =
      available ? std::string() : xml::to_string(*e.stanza);  // with its xmlns
  std::string stamp = xmpp::format_datetime_ms(
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now())
          .time_since_epoch()
          .count());
  struct Roster {
    std::vector<std::string> subscribers;  // "from" or "both": get broadcasts
    std::vector<std::string> publishers;   // "to" or "both": probed on initial presence
    std::vector<std::string> pending_in;   // stored subscription requests
  };
  auto op = ctx_->storage().run(
      [domain, local, initial, available, last_value, stamp](storage::Backend& b) {
        Roster r;
        for (auto& [jid, value] : b.kv_get_all(domain, local, kItems)) {
          auto item = parse_stored(value);
          if (!item) {
            continue;
          }
          if (has_from(item->subscription)) {
            r.subscribers.push_back(jid);
          }
          if (has_to(item->subscription)) {
            r.publishers.push_back(jid);
          }
        }
        if (initial) {
          for (auto& [jid, value] : b.kv_get_all(domain, local, kPendingIn)) {
            r.pending_in.push_back(std::move(value));
          }
        }
        if (!available) {
          // §4.3.2 #3 and XEP-0012: when and how the user last went unavailable.
          // Bookkeeping, written on every logout: not worth an fsync of its own.
          b.relaxed([&] {
            b.kv_set(domain, local, kLast, "stamp", stamp);
            b.kv_set(domain, local, kLast, "stanza", last_value);
          });
        }
        return r;
      });
  Roster r = co_await std::move(op);
  const xml::Element& p = *e.stanza;
  std::string from = e.jid.str();
  // XEP-0016 presence-out, XEP-0191: no presence to a blocked contact.
  auto blocked = [&](const std::string& to) {
    if (!e.filter) {
      return false;
    }
    auto j = Jid::parse(to);
    return j && e.filter->blocks_outbound(p, *j);
  };
  for (const auto& contact : r.subscribers) {
    if (!blocked(contact)) {
      route_copy(p, from, contact);
    }
  }
  // The user's own available resources, including this one when available (§4.2.2, §4.4.2).
  route_copy(p, from, user.bare_str());
  if (!available) {
    // §4.6.3 #2: entities that got directed presence and are not subscribers.
    std::set<std::string> covered(r.subscribers.begin(), r.subscribers.end());
    for (const auto& to : e.directed) {
      auto j = Jid::parse(to);
      if (j && !covered.contains(j->bare_str()) && j->bare() != user && !blocked(to)) {
        route_copy(p, from, to);
      }
    }
    co_return;
  }
  if (!initial) {
    co_return;
  }
  // §4.2.2, §4.3.1: probes to the contacts the user is subscribed to, from the bare JID.
  for (const auto& contact : r.publishers) {
    xml::Element probe = make_presence(user.bare_str(), contact, "probe");
    ctx_->send(std::move(probe));
  }
  // The user's other resources, as an answer to an implicit probe of one's own account.
  auto rop = ctx_->sink().available_resources(user);
  auto resources = co_await std::move(rop);
  for (const auto& res : resources) {
    if (res.resource == e.jid.resource() || !res.last_presence) {
      continue;
    }
    auto copy = std::make_shared<xml::Element>(*res.last_presence);
    copy->set_attr("from", user.bare_str() + "/" + res.resource);
    copy->set_attr("to", from);
    ctx_->sink().deliver_to_resource(e.jid, std::move(copy));
  }
  // §3.1.3 #4: pending subscription requests, at every new presence session until answered.
  for (const auto& value : r.pending_in) {
    auto request = std::make_shared<xml::Element>();
    if (!xml::parse_element(value, *request)) {
      log::error("presence: dropping a corrupt stored subscription request of {}",
                 user.bare_str());
      continue;
    }
    request->set_attr("to", user.bare_str());
    ctx_->sink().deliver_to_resource(e.jid, std::move(request));
  }
}

// §2.5.2: removing an item cancels the subscriptions in both directions.
void send_cancellation(module::ModuleContext& ctx, const Jid& user, const RosterItem& item,
                       bool pending_in, const std::vector<module::AvailableResource>& resources) {
  std::string bare = user.bare_str();
  if (has_from(item.subscription) || pending_in) {
    if (has_from(item.subscription)) {
      // §3.2.2: unavailable while the contact is still subscribed, then the cancellation.
      for (const auto& r : resources) {
        ctx.send(make_presence(bare + "/" + r.resource, item.jid, "unavailable"));
      }
    }
    ctx.send(make_presence(bare, item.jid, "unsubscribed"));
  }
  if (has_to(item.subscription) || item.ask) {
    ctx.send(make_presence(bare, item.jid, "unsubscribe"));
  }
}

asio::awaitable<void> Presence::after_removal(Jid user, RosterItem old, bool pending_in) {
  std::vector<module::AvailableResource> resources;
  if (has_from(old.subscription)) {
    auto op = ctx_->sink().available_resources(user);
    resources = co_await std::move(op);
  }
  send_cancellation(*ctx_, user, old, pending_in, resources);
}

}  // namespace starling::modules::roster
