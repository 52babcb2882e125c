#include "router/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/random.hpp"
#include "net/shards.hpp"
#include "storage/storage.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::router {

namespace asio = boost::asio;
using xmpp::Jid;
using xmpp::StanzaError;
using xmpp::StanzaKind;
using xmpp::StanzaPtr;

Router::Router(net::Shards& shards, std::vector<std::string> domains, module::Registry& registry,
               storage::Storage& storage)
    : shards_(shards),
      domains_(domains.begin(), domains.end()),
      domain_list_(std::move(domains)),
      registry_(registry),
      storage_(storage) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    partitions_.push_back(std::make_unique<session::Partition>());
  }
}

Router::~Router() = default;

std::size_t Router::partition_of(const std::string& bare) const {
  return std::hash<std::string>{}(bare) % partitions_.size();
}

void Router::route(StanzaPtr stanza) {
  const xml::Element& s = *stanza;
  StanzaKind kind = xmpp::kind_of(s);
  if (kind == StanzaKind::kOther) {
    log::warn("router: dropping a non-stanza <{}/>", s.name());
    return;
  }
  Jid from = Jid::parse(s.attr_or("from")).value_or(Jid());
  Jid to;
  if (const std::string* t = s.attr("to")) {
    auto parsed = Jid::parse(*t);
    if (!parsed) {
      // RFC 6120 §8.3.3.8
      bounce(s, StanzaError::jid_malformed());
      return;
    }
    to = std::move(*parsed);
  } else {
    // RFC 6120 §10.3: no 'to' means the sender's own account.
    to = from.bare();
  }
  if (to.empty()) {
    return;
  }
  if (!is_local_domain(to.domain())) {
    if (const module::ServiceHandler* service = registry_.find_service(to.domain())) {
      // A module's service (MUC): handled on the shard owning the addressed entity. The answer
      // to a ping of an s2s link from the service's domain goes to the link.
      if (remote_ != nullptr && kind == StanzaKind::kIq && to.local().empty() &&
          (s.attr_or("type") == "result" || s.attr_or("type") == "error") &&
          remote_->take_response(stanza)) {
        return;
      }
      std::size_t part = partition_of(to.bare_str());
      asio::post(shards_.executor(part), [service, stanza = std::move(stanza),
                                          to = std::move(to), from = std::move(from)]() mutable {
        (*service)(std::move(stanza), std::move(to), std::move(from));
      });
      return;
    }
    // RFC 6120 §10.4: a remote domain. Only stanzas from our own domains go out (we are no
    // relay); a peer's stanza addressed elsewhere was refused by its stream already.
    if (remote_ != nullptr && is_served_domain(from.domain())) {
      remote_->send_remote(std::move(stanza), from, to);
      return;
    }
    bounce(s, StanzaError::remote_server_not_found());
    return;
  }
  if (to.local().empty()) {
    // Keep the sender's stanzas in order: handle on the sender's partition shard.
    std::size_t shard = partition_of(from.bare_str());
    asio::post(shards_.executor(shard), [this, stanza = std::move(stanza), to = std::move(to),
                                         from = std::move(from), shard]() mutable {
      to_server(std::move(stanza), std::move(to), std::move(from), shard);
    });
    return;
  }
  std::size_t part = partition_of(to.bare_str());
  asio::post(shards_.executor(part), [this, stanza = std::move(stanza), to = std::move(to),
                                      from = std::move(from)]() mutable {
    route_on_partition(std::move(stanza), std::move(to), std::move(from));
  });
}

void Router::bounce(const xml::Element& stanza, StanzaError err) {
  // RFC 6120 §8.3.1: never answer an error with an error.
  if (stanza.attr_or("type") == "error") {
    return;
  }
  if (!stanza.attr("from")) {
    return;
  }
  route(std::make_shared<const xml::Element>(xmpp::make_error_reply(stanza, err)));
}

void Router::deliver_to(const session::ResourceEntry& e, StanzaPtr stanza) {
  asio::post(shards_.executor(e.shard), [weak = e.session, stanza = std::move(stanza)] {
    if (auto s = weak.lock()) {
      s->deliver(stanza);
    } else {
      log::debug("router: session gone before delivery");
    }
  });
}

bool Router::blocked_inbound(const xml::Element& s, const Jid& to, const Jid& from,
                             std::size_t part) {
  if (from.bare() == to.bare() || from.empty()) {
    return false;  // XEP-0191 §4: never between an account's own resources
  }
  const session::StanzaFilter* f =
      partitions_[part]->effective_filter(to.bare_str(), to.resource());
  if (f == nullptr || !f->blocks_inbound(s, from)) {
    return false;
  }
  std::string_view type = s.attr_or("type");
  switch (xmpp::kind_of(s)) {
    case StanzaKind::kMessage:
      // XEP-0191 §3.4, XEP-0016 §2.14: the user appears offline: service-unavailable.
      bounce(s, StanzaError::service_unavailable());
      break;
    case StanzaKind::kIq:
      if (type == "get" || type == "set") {
        bounce(s, StanzaError::service_unavailable());
      }
      break;
    case StanzaKind::kPresence:  // no answer and no error, whatever the type
    case StanzaKind::kOther:
      break;
  }
  return true;
}

void Router::route_on_partition(StanzaPtr stanza, Jid to, Jid from, bool hooked) {
  std::size_t part = partition_of(to.bare_str());
  if (blocked_inbound(*stanza, to, from, part)) {
    return;
  }
  // XEP-0079: a message carrying <amp/> goes to the module's hook first. For every other stanza
  // this costs one pointer test and, for messages, one child lookup.
  if (const module::MessageHookEntry* h = registry_.message_hook();
      h != nullptr && !hooked && xmpp::kind_of(*stanza) == StanzaKind::kMessage &&
      stanza->child(h->element, h->ns) != nullptr) {
    asio::co_spawn(shards_.executor(part),
                   hook_message(std::move(stanza), std::move(to), std::move(from)),
                   asio::detached);
    return;
  }
  if (to.is_bare()) {
    to_bare(std::move(stanza), std::move(to), std::move(from), part);
    return;
  }
  const session::Partition& p = *partitions_[part];
  const xml::Element& s = *stanza;
  std::string_view type = s.attr_or("type");
  const auto* e = p.find(to.bare_str(), to.resource());
  if (xmpp::kind_of(s) == StanzaKind::kPresence) {
    if (type == "probe") {
      // §8.5.3.1, §8.5.3.2.2: probes follow §4.3 whether or not the resource exists.
      inbound_presence(std::move(stanza), std::move(to), std::move(from), part);
      return;
    }
    if (type == "subscribe" || (e != nullptr && (type == "subscribed" || type == "unsubscribe" ||
                                                 type == "unsubscribed"))) {
      // §8.5.3.1: section 3 applies, which handles a full JID as the bare JID (§3.1.3).
      to_bare(std::move(stanza), to.bare(), std::move(from), part);
      return;
    }
    if (e != nullptr && (type.empty() || type == "unavailable" || type == "error")) {
      deliver_to(*e, std::move(stanza));  // §8.5.3.1
    }
    // §8.5.3.2.2: any other presence to a resource that does not exist is ignored.
    return;
  }
  if (e != nullptr) {
    deliver_to(*e, std::move(stanza));
    return;
  }
  // RFC 6121 §8.5.3.2: no resource matches the full JID.
  switch (xmpp::kind_of(s)) {
    case StanzaKind::kMessage:
      if (type == "chat") {
        to_bare(std::move(stanza), to.bare(), std::move(from), part);  // §8.5.3.2.1
      } else if (type != "error" && type != "headline") {
        // §8.5.3.2.1: "normal" and "groupchat" to a resource that does not exist get
        // service-unavailable; "headline" and "error" are silently ignored.
        bounce(s, StanzaError::service_unavailable());
      }
      return;
    case StanzaKind::kIq:
      if (type == "get" || type == "set") {
        bounce(s, StanzaError::service_unavailable());  // §8.5.3.2.3
      }
      return;
    case StanzaKind::kPresence:
    case StanzaKind::kOther:
      return;
  }
}

// What route_on_partition would do with this message now (RFC 6121 §8.5), told to the hook,
// which may take the message over; otherwise it is routed as usual.
asio::awaitable<void> Router::hook_message(StanzaPtr stanza, Jid to, Jid from) {
  std::size_t part = partition_of(to.bare_str());
  std::string_view type = stanza->attr_or("type");
  const session::Partition::Resources* rs = partitions_[part]->resources(to.bare_str());
  module::MessageDelivery d;
  const session::ResourceEntry* exact = nullptr;
  if (!to.is_bare() && rs != nullptr) {
    exact = partitions_[part]->find(to.bare_str(), to.resource());
  }
  if (exact != nullptr) {
    d.kind = module::MessageDelivery::Kind::kDirect;
    d.resources.push_back(to.resource());
  } else if (to.is_bare() || type == "chat") {  // §8.5.3.2.1: chat falls back to the bare JID
    if (rs != nullptr && type != "groupchat") {
      if (type == "headline") {
        for (const auto& [r, e] : *rs) {
          if (e.available && e.priority >= 0) {
            d.resources.push_back(r);
          }
        }
      } else {
        for (const auto* e : session::highest_priority(*rs)) {
          for (const auto& [r, entry] : *rs) {
            if (&entry == e) {
              d.resources.push_back(r);
            }
          }
        }
      }
    }
    if (!d.resources.empty()) {
      d.kind = module::MessageDelivery::Kind::kDirect;
    } else if (type != "error" && type != "headline" && type != "groupchat" &&
               registry_.offline_handler() != nullptr &&
               (rs != nullptr || co_await account_exists(to))) {
      d.kind = module::MessageDelivery::Kind::kStored;  // §8.5.2.2.1
    }
  }
  const module::MessageHookEntry* h = registry_.message_hook();
  if (h == nullptr) {
    route_on_partition(std::move(stanza), std::move(to), std::move(from), true);
    co_return;
  }
  auto op = h->hook(stanza, to, from, std::move(d));
  StanzaPtr out = co_await std::move(op);
  if (out) {
    route_on_partition(std::move(out), std::move(to), std::move(from), true);
  }
}

void Router::inbound_presence(StanzaPtr stanza, Jid to, Jid from, std::size_t part) {
  const module::PresenceHandlers* h = registry_.presence_handlers();
  if (h == nullptr) {
    return;
  }
  auto op = h->inbound(std::move(stanza), std::move(to), std::move(from));
  asio::co_spawn(shards_.executor(part), std::move(op), asio::detached);
}

void Router::to_bare(StanzaPtr stanza, Jid to, Jid from, std::size_t part) {
  const xml::Element& s = *stanza;
  std::string_view type = s.attr_or("type");
  const session::Partition::Resources* rs = partitions_[part]->resources(to.bare_str());
  switch (xmpp::kind_of(s)) {
    case StanzaKind::kIq:
      if (type == "get" || type == "set") {
        asio::co_spawn(shards_.executor(part),
                       dispatch_iq(std::move(stanza), module::Target::kAccount, std::move(to),
                                   std::move(from), rs != nullptr, part),
                       asio::detached);
      }
      return;
    case StanzaKind::kMessage: {
      // RFC 6121 §8.5.2.1.1
      if (type == "groupchat") {
        bounce(s, StanzaError::service_unavailable());
        return;
      }
      std::vector<const session::ResourceEntry*> targets;
      if (rs != nullptr) {
        if (type == "headline") {
          for (const auto& [_, e] : *rs) {
            if (e.available && e.priority >= 0) {
              targets.push_back(&e);
            }
          }
        } else {
          targets = session::highest_priority(*rs);
        }
      }
      if (!targets.empty()) {
        for (const auto* e : targets) {
          deliver_to(*e, stanza);
        }
        return;
      }
      if (type == "error" || type == "headline") {
        return;  // §8.5.2.2.1: silently ignored when no resource is available
      }
      asio::co_spawn(shards_.executor(part),
                     to_bare_offline(std::move(stanza), std::move(to), rs != nullptr),
                     asio::detached);
      return;
    }
    case StanzaKind::kPresence:
      if (type == "probe" || type == "subscribe" || type == "subscribed" ||
          type == "unsubscribe" || type == "unsubscribed") {
        // §8.5.2.1.2: section 3 and §4.3, in the presence module.
        inbound_presence(std::move(stanza), std::move(to), std::move(from), part);
        return;
      }
      if (type.empty() || type == "unavailable") {
        registry_.fire(events::InboundPresence{to, from, stanza, type.empty(),
                                               shards_.executor(part)});
      }
      // §8.5.2.1.2: available and unavailable presence go to all available resources;
      // §8.5.2.2.2: with none, it is ignored.
      if (rs != nullptr) {
        for (const auto& [_, e] : *rs) {
          if (e.available) {
            deliver_to(e, stanza);
          }
        }
      }
      return;
    case StanzaKind::kOther:
      return;
  }
}

asio::awaitable<bool> Router::account_exists(const Jid& account) {
  std::string domain = account.domain(), user = account.local();
  auto op = storage_.run(
      [domain, user](storage::Backend& b) { return b.get_account(domain, user).has_value(); });
  co_return co_await std::move(op);
}

asio::awaitable<void> Router::to_bare_offline(StanzaPtr stanza, Jid to, bool account_known) {
  // RFC 6121 §8.5.1: no such account -> service-unavailable.
  bool exists = account_known || co_await account_exists(to);
  if (exists) {
    // §8.5.2.2.1: an existing account with no available resource: offline storage, if a module
    // provides it and accepts the message (quota), else service-unavailable.
    if (const module::OfflineHandler* store = registry_.offline_handler()) {
      auto stored_op = (*store)(stanza, to);
      if (co_await std::move(stored_op)) {
        co_return;
      }
    }
  }
  bounce(*stanza, StanzaError::service_unavailable());
}

void Router::to_server(StanzaPtr stanza, Jid to, Jid from, std::size_t shard) {
  const xml::Element& s = *stanza;
  std::string_view type = s.attr_or("type");
  switch (xmpp::kind_of(s)) {
    case StanzaKind::kIq:
      if (type == "get" || type == "set") {
        asio::co_spawn(shards_.executor(shard),
                       dispatch_iq(std::move(stanza), module::Target::kServer, std::move(to),
                                   std::move(from), true, shard),
                       asio::detached);
      } else if (remote_ != nullptr && remote_->take_response(stanza)) {
        return;
      } else if (const module::IqResponseHandler* h =
                     registry_.find_iq_response(s.attr_or("id"))) {
        (*h)(std::move(stanza));  // the answer to a module's request (e.g. XEP-0115 disco#info)
      }
      return;
    case StanzaKind::kMessage:
      if (type != "error" && type != "headline" && type != "groupchat") {
        bounce(s, StanzaError::service_unavailable());
      }
      return;
    case StanzaKind::kPresence:
    case StanzaKind::kOther:
      return;
  }
}

asio::awaitable<void> Router::dispatch_iq(StanzaPtr stanza, module::Target target, Jid to, Jid from,
                                          bool account_known, std::size_t shard) {
  const xml::Element& s = *stanza;
  // RFC 6120 §8.2.3: a get or set carries exactly one payload element.
  auto children = s.elements();
  if (children.size() != 1) {
    bounce(s, StanzaError::bad_request("an iq of type get or set must have exactly one child"));
    co_return;
  }
  const xml::Element& payload = *children.front();
  module::IqKey key{s.attr_or("type") == "get" ? module::IqType::kGet : module::IqType::kSet,
                    target, payload.xmlns(), payload.name()};
  if (target == module::Target::kAccount && !account_known && from.bare() != to.bare() &&
      !registry_.answers_missing_accounts(key)) {
    if (!co_await account_exists(to)) {
      bounce(s, StanzaError::service_unavailable());  // RFC 6121 §8.5.1
      co_return;
    }
  }
  const module::IqHandler* handler = registry_.find_iq(key);
  if (handler == nullptr) {
    bounce(s, StanzaError::service_unavailable());
    co_return;
  }
  module::IqResult result;
  std::vector<xml::Element> follow_ups;
  std::vector<std::function<void()>> after_reply;
  bool error_without_payload = false;
  try {
    module::Iq iq{s, payload, from, to, &follow_ups, &after_reply, &error_without_payload, shard};
    result = co_await (*handler)(iq);
  } catch (const std::exception& e) {
    log::error("router: iq handler for {{{}}}{} failed: {}", key.ns, key.element, e.what());
    result = StanzaError::internal_server_error();
  }
  if (auto* err = std::get_if<StanzaError>(&result)) {
    if (error_without_payload) {
      xml::Element head = s;
      head.nodes().clear();
      bounce(head, *err);
    } else {
      bounce(s, *err);
    }
    for (auto& action : after_reply) {
      action();
    }
    co_return;
  }
  const xml::Element* p = std::get_if<xml::Element>(&result);
  xml::Element reply = xmpp::make_iq_result(s, p);
  reply.set_attr("from", s.attr("to") ? to.str() : to.bare_str());
  if (!s.attr("to")) {
    // RFC 6120 §8.1.2.1: the reply to a stanza without 'to' comes from the account itself;
    // omit 'from' so the client treats it as from its own account.
    reply.remove_attr("from");
  }
  route(std::make_shared<const xml::Element>(std::move(reply)));
  for (auto& f : follow_ups) {
    route(std::make_shared<const xml::Element>(std::move(f)));
  }
  for (auto& action : after_reply) {
    action();
  }
}

void Router::push_to_interested(const Jid& bare, xml::Element stanza, module::Interest interest) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part), [this, part, b = bare.bare_str(), stanza = std::move(stanza),
                                      interest]() mutable {
    const auto* rs = partitions_[part]->resources(b);
    if (rs == nullptr) {
      return;
    }
    for (const auto& [resource, e] : *rs) {
      bool wanted = interest == module::Interest::kAll ||
                    (interest == module::Interest::kRoster && e.roster_interested) ||
                    (interest == module::Interest::kBlocklist && e.blocklist_interested);
      if (!wanted) {
        continue;
      }
      auto copy = std::make_shared<xml::Element>(stanza);
      copy->set_attr("to", b + "/" + resource);
      copy->set_attr("id", "push-" + random_id(12));
      deliver_to(e, std::move(copy));
    }
  });
}

void Router::set_roster_interested(const Jid& full, module::Interest interest) {
  std::size_t part = partition_of(full.bare_str());
  asio::post(shards_.executor(part),
             [this, part, b = full.bare_str(), r = full.resource(), interest] {
               if (interest == module::Interest::kBlocklist) {
                 partitions_[part]->set_blocklist_interested(b, r);
               } else {
                 partitions_[part]->set_roster_interested(b, r);
               }
             });
}

void Router::post_filter(const session::ResourceEntry& e, module::FilterPtr filter) {
  asio::post(shards_.executor(e.shard), [weak = e.session, filter = std::move(filter)] {
    if (auto s = weak.lock()) {
      s->set_filter(filter);
    }
  });
}

void Router::set_account_filter(const Jid& bare, module::FilterPtr filter) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part), [this, part, b = bare.bare_str(), filter = std::move(filter)] {
    partitions_[part]->set_filter(b, filter);
    if (const auto* rs = partitions_[part]->resources(b)) {
      for (const auto& [_, e] : *rs) {
        if (!e.active_filter) {
          post_filter(e, filter);
        }
      }
    }
  });
}

void Router::set_resource_filter(const Jid& full, module::FilterPtr filter) {
  std::size_t part = partition_of(full.bare_str());
  asio::post(shards_.executor(part), [this, part, b = full.bare_str(), r = full.resource(),
                                      filter = std::move(filter)] {
    if (auto* e = partitions_[part]->find_mutable(b, r)) {
      e->active_filter = filter;
      post_filter(*e, filter ? filter : partitions_[part]->filter(b));
    }
  });
}

void Router::set_audience(const Jid& bare, module::AudiencePtr audience) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part),
             [this, part, b = bare.bare_str(), audience = std::move(audience)] {
               partitions_[part]->set_audience(b, audience);
               if (const auto* rs = partitions_[part]->resources(b)) {
                 for (const auto& [_, e] : *rs) {
                   asio::post(shards_.executor(e.shard), [weak = e.session, audience] {
                     if (auto s = weak.lock()) {
                       s->set_audience(audience);
                     }
                   });
                 }
               }
             });
}

void Router::set_presence_state(const Jid& bare, std::size_t slot, module::PresenceStatePtr state) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part),
             [this, part, b = bare.bare_str(), slot, state = std::move(state)]() mutable {
               auto states = partitions_[part]->set_presence_state(b, slot, std::move(state));
               if (!states) {
                 return;
               }
               for (const auto& [_, e] : *partitions_[part]->resources(b)) {
                 asio::post(shards_.executor(e.shard), [weak = e.session, states] {
                   if (auto s = weak.lock()) {
                     s->set_presence_states(states);
                   }
                 });
               }
             });
}

asio::awaitable<module::FilterPtr> Router::filter_of(Jid jid) {
  std::size_t part = partition_of(jid.bare_str());
  auto body = [this, part, b = jid.bare_str(), r = jid.resource()]()
      -> asio::awaitable<module::FilterPtr> {
    if (!r.empty()) {
      if (const auto* e = partitions_[part]->find(b, r); e != nullptr && e->active_filter) {
        co_return e->active_filter;
      }
    }
    co_return partitions_[part]->filter(b);
  };
  auto op = asio::co_spawn(shards_.executor(part), std::move(body), asio::use_awaitable);
  co_return co_await std::move(op);
}

asio::awaitable<Router::BindResult> Router::bind(Jid full, std::weak_ptr<session::LocalSession> s,
                                                 std::size_t shard) {
  std::uint64_t id = next_bind_id_.fetch_add(1, std::memory_order_relaxed);
  std::size_t part = partition_of(full.bare_str());
  auto body = [this, part, full, s, shard, id]() -> asio::awaitable<BindResult> {
    session::ResourceEntry e;
    e.session = s;
    e.shard = shard;
    e.id = id;
    auto old = partitions_[part]->bind(full.bare_str(), full.resource(), std::move(e));
    if (old) {
      // RFC 6120 §7.7.2.2: the older session is terminated with <conflict/>.
      asio::post(shards_.executor(old->shard), [weak = old->session] {
        if (auto o = weak.lock()) {
          o->kick("conflict", "Replaced by a new session with the same resource");
        }
      });
    }
    co_return BindResult{id, partitions_[part]->filter(full.bare_str()),
                         partitions_[part]->audience(full.bare_str()),
                         partitions_[part]->presence_states(full.bare_str())};
  };
  auto op = asio::co_spawn(shards_.executor(part), std::move(body), asio::use_awaitable);
  co_return co_await std::move(op);
}

void Router::unbind(const Jid& full, std::uint64_t id) {
  std::size_t part = partition_of(full.bare_str());
  asio::post(shards_.executor(part), [this, part, bare = full.bare_str(), r = full.resource(), id] {
    partitions_[part]->unbind(bare, r, id);
  });
}

void Router::set_presence(const Jid& full, std::uint64_t id, bool available, int priority,
                          StanzaPtr presence) {
  std::size_t part = partition_of(full.bare_str());
  asio::post(shards_.executor(part), [this, part, bare = full.bare_str(), r = full.resource(), id,
                                      available, priority, presence = std::move(presence)] {
    partitions_[part]->set_presence(bare, r, id, available, priority, presence);
  });
}

asio::awaitable<std::vector<module::AvailableResource>> Router::available_resources(
    Jid bare) {
  std::size_t part = partition_of(bare.bare_str());
  auto body = [this, part, b = bare.bare_str()]() -> asio::awaitable<
                                                      std::vector<module::AvailableResource>> {
    std::vector<module::AvailableResource> out;
    if (const auto* rs = partitions_[part]->resources(b)) {
      for (const auto& [resource, e] : *rs) {
        if (e.available) {
          out.push_back({resource, e.priority, e.last_presence});
        }
      }
    }
    co_return out;
  };
  auto op = asio::co_spawn(shards_.executor(part), std::move(body), asio::use_awaitable);
  co_return co_await std::move(op);
}

void Router::deliver_to_available(const Jid& bare, StanzaPtr stanza) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part), [this, part, b = bare.bare_str(), stanza = std::move(stanza)] {
    if (const auto* rs = partitions_[part]->resources(b)) {
      for (const auto& [_, e] : *rs) {
        if (e.available) {
          deliver_to(e, stanza);
        }
      }
    }
  });
}

void Router::deliver_to_resource(const Jid& full, StanzaPtr stanza) {
  std::size_t part = partition_of(full.bare_str());
  asio::post(shards_.executor(part),
             [this, part, b = full.bare_str(), r = full.resource(), stanza = std::move(stanza)] {
               if (const auto* e = partitions_[part]->find(b, r)) {
                 deliver_to(*e, stanza);
               }
             });
}

asio::awaitable<bool> Router::is_bound(Jid full) {
  std::size_t part = partition_of(full.bare_str());
  auto body = [this, part, full]() -> asio::awaitable<bool> {
    co_return partitions_[part]->find(full.bare_str(), full.resource()) != nullptr;
  };
  auto op = asio::co_spawn(shards_.executor(part), std::move(body), asio::use_awaitable);
  co_return co_await std::move(op);
}

std::size_t Router::shard_count() const { return partitions_.size(); }

asio::any_io_executor Router::shard_executor(std::size_t shard) {
  return shards_.executor(shard);
}

// Ends every session of an account (XEP-0077 §3.2 cancellation), or one session when given a
// full JID (XEP-0133 §4.5). On the partition's shard, so it runs after whatever was routed to
// the account before it; each entry is removed from the table here (kick() leaves unbinding to
// the router) and each session is told on its own shard.
void Router::end_sessions(const Jid& bare, std::string condition, std::string text) {
  std::size_t part = partition_of(bare.bare_str());
  asio::post(shards_.executor(part), [this, part, b = bare.bare_str(), only = bare.resource(),
                                      condition = std::move(condition), text = std::move(text)] {
    const auto* rs = partitions_[part]->resources(b);
    if (rs == nullptr) {
      return;
    }
    std::vector<std::pair<std::string, session::ResourceEntry>> ended;
    for (const auto& [resource, e] : *rs) {
      if (only.empty() || resource == only) {
        ended.emplace_back(resource, e);
      }
    }
    for (const auto& [resource, e] : ended) {
      partitions_[part]->unbind(b, resource, e.id);
      asio::post(shards_.executor(e.shard), [weak = e.session, condition, text] {
        if (auto session = weak.lock()) {
          session->kick(condition, text);
        }
      });
    }
  });
}

// Administration queries (XEP-0133 online users): each partition is read on its own shard, one
// after the other, so no partition is touched from another thread.
asio::awaitable<std::vector<module::OnlineAccount>> Router::online_accounts(std::string domain,
                                                                           std::size_t limit) {
  std::vector<module::OnlineAccount> out;
  const std::string suffix = "@" + domain;
  for (std::size_t part = 0; part < partitions_.size() && out.size() < limit; ++part) {
    std::size_t room = limit - out.size();
    auto body = [this, part, suffix, room]() -> asio::awaitable<std::vector<module::OnlineAccount>> {
      std::vector<module::OnlineAccount> found;
      for (const auto& [bare, resources] : partitions_[part]->accounts()) {
        if (found.size() >= room) {
          break;
        }
        if (resources.empty() || !bare.ends_with(suffix)) {
          continue;
        }
        module::OnlineAccount a{bare, {}};
        for (const auto& [resource, _] : resources) {
          a.resources.push_back(resource);
        }
        found.push_back(std::move(a));
      }
      co_return found;
    };
    auto op = asio::co_spawn(shards_.executor(part), std::move(body), asio::use_awaitable);
    auto found = co_await std::move(op);
    for (auto& a : found) {
      out.push_back(std::move(a));
    }
  }
  co_return out;
}

}  // namespace starling::router
