// XEP-0163 Personal Eventing Protocol: every local account is a pubsub service (§1 "every
// account a pubsub service") whose nodes live on the account's partition shard
// (StanzaSink::shard_of), where iq to the account's bare JID, presence to it
// (events::InboundPresence) and its private storage requests are handled. One NodeService per
// account, loaded from storage on first use and kept while the account has sessions (or a
// request uses it).
//
// §4.3 implicit recipients: the account's own available resources (events::PresenceBroadcast,
// posted to the partition shard) and the resources whose available presence reaches the
// account (events::InboundPresence), kept per account with the XEP-0115 caps each announced.
// Of the latter, only contacts whose roster item has subscription 'from' or 'both' ("shares
// presence"), as the roster says at the time of sending, get anything. A notification goes to
// those whose caps have "<node>+notify" (§4.4 filtered notifications). The last items (§4.3.2)
// go to a resource once: when it is available, its caps are known (the caps module verifies a
// new 'ver' by asking the client; events::CapsVerified says when) and it shares presence (a
// roster change tries again).
//
// Storage (key-value, per account, deleted with it): "pep_nodes" node name -> node_to_xml,
// "pep_items" item_key(node, id) -> item_to_xml.
#include "modules/xep0060_pubsub/pep.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include "base/log.hpp"
#include "base/random.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0060_pubsub/engine.hpp"
#include "modules/xep0060_pubsub/pep_store.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "server/config/config.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
using module::IqResult;
using module::Target;
using xmpp::Jid;
using xmpp::StanzaError;

namespace {
constexpr const char* kNodeStore = "pep_nodes";
constexpr const char* kItemStore = "pep_items";
// Contacts' resources tracked per account (§4.3): far more than any roster has online at once.
constexpr std::size_t kMaxTracked = 2000;
}  // namespace

struct Pep::Impl {
  class AccountHost;
  struct Account;

  // A resource that may receive the account's notifications (§4.3).
  struct Resource {
    std::uint64_t gen = 0;   // tells a later availability of the same full JID apart
    bool own = false;        // one of the account's own resources
    bool sent = false;       // the last items went out (§4.3.2: once per availability)
    module::CapsPtr caps;    // verified XEP-0115 caps, once known
  };

  struct Shard {
    std::unordered_map<std::string, std::shared_ptr<Account>> accounts;
    // account bare JID -> full JID -> resource
    std::unordered_map<std::string, std::map<std::string, Resource>> resources;
    // full JID -> the accounts tracking it (for CapsVerified)
    std::unordered_map<std::string, std::set<std::string>> watchers;
    std::unordered_map<std::string, RosterPtr> rosters;  // cached rosters of accounts
    std::unordered_map<std::string, std::uint64_t> roster_gen;  // bumped on RosterChanged
    std::uint64_t next_gen = 1;
  };

  explicit Impl(module::ModuleContext& c);

  Shard& shard(const Jid& jid) { return *shards_[ctx.sink().shard_of(jid) % shards_.size()]; }
  asio::any_io_executor executor(const Jid& jid) {
    return ctx.sink().shard_executor(ctx.sink().shard_of(jid) % shards_.size());
  }
  Options options_for(const Jid& bare) const;

  asio::awaitable<std::shared_ptr<Account>> account(Jid bare);
  asio::awaitable<RosterPtr> roster_of(Jid bare);
  asio::awaitable<module::CapsPtr> caps_of(Jid full);

  // Presence tracking (on the account's partition shard).
  void track(const Jid& bare, const Jid& full, bool own);
  void untrack(const Jid& bare, const Jid& full);
  Resource* find_resource(const Jid& bare, const Jid& full, std::uint64_t gen);
  asio::awaitable<void> start_resource(Jid bare, Jid full, std::uint64_t gen);
  asio::awaitable<void> refresh_caps(Jid bare, Jid full, std::uint64_t gen);
  void try_send(const Jid& bare, const Jid& full);
  asio::awaitable<void> send_if_contact(Jid bare, Jid full, std::uint64_t gen);
  void roster_changed(const Jid& bare);
  asio::awaitable<void> send_last(Jid bare, Jid full, module::CapsPtr caps);
  void caps_verified(const Jid& full, const module::CapsPtr& caps);
  void drop(const Jid& bare);
  void session_closed(const Jid& bare);

  // `after_reply`: see NodeService::handle (the router's follow-ups, or nullptr).
  asio::awaitable<IqResult> handle_iq(xml::Element stanza, Jid from, Jid bare,
                                      std::vector<xml::Element>* after_reply);

  // module::Pep for other modules (XEP-0411 / XEP-0402 compatibility in xep0049_private).
  class Provider final : public module::Pep {
   public:
    explicit Provider(Impl* impl) : impl_(impl) {}
    asio::awaitable<IqResult> request(Jid from, xml::Element pubsub) override;

   private:
    Impl* impl_;
  };

  module::ModuleContext& ctx;
  std::vector<std::unique_ptr<Shard>> shards_;
};

class Pep::Impl::AccountHost final : public Host {
 public:
  AccountHost(Impl& impl, Jid bare) : impl_(impl), bare_(std::move(bare)) {}

  // Notifications, last items and authorization forms. To anyone but the account itself they
  // go only where the account's privacy policy (XEP-0016 default list, XEP-0191 blocking)
  // lets its messages go: they are the account's stanzas, from its bare JID (XEP-0163 §4.2).
  void send(xml::Element stanza) override {
    auto to = Jid::parse(stanza.attr_or("to"));
    if (!to || to->bare_str() == bare_.bare_str()) {
      impl_.ctx.send(std::move(stanza));
      return;
    }
    asio::co_spawn(impl_.executor(bare_), send_unless_blocked(&impl_, bare_, std::move(*to),
                                                               std::move(stanza)),
                   asio::detached);
  }

  asio::awaitable<RosterPtr> roster(Jid owner) override {
    auto op = impl_.roster_of(owner.bare());
    co_return co_await std::move(op);
  }

  asio::awaitable<std::vector<Jid>> implicit_recipients(std::string node) override {
    auto op = impl_.roster_of(bare_);
    RosterPtr roster = co_await std::move(op);
    std::vector<Jid> out;
    // Looked up after the wait: resources may have come and gone meanwhile.
    Shard& sh = impl_.shard(bare_);
    auto it = sh.resources.find(bare_.bare_str());
    if (it == sh.resources.end()) {
      co_return out;
    }
    for (const auto& [full, r] : it->second) {
      if (!r.caps || !r.caps->wants_notify(node)) {
        continue;  // §4.4: only resources that asked for <node>+notify
      }
      if (!r.own) {
        // §4.3: contacts that share presence with the account, as the roster says now.
        auto parsed = Jid::parse(full);
        auto c = parsed ? roster->find(parsed->bare_str()) : roster->end();
        if (c == roster->end() || !c->second.from) {
          continue;
        }
      }
      if (auto j = Jid::parse(full)) {
        out.push_back(std::move(*j));
      }
    }
    co_return out;
  }

  // pubsub#presence_based_delivery for explicit subscribers: local accounts' presence from the
  // session table; nullopt (unknown) for other servers' users (engine.cpp notify).
  asio::awaitable<std::optional<bool>> is_available(Jid jid) override {
    const auto& domains = impl_.ctx.config().domains;
    if (jid.local().empty() ||
        std::find(domains.begin(), domains.end(), jid.domain()) == domains.end()) {
      co_return std::nullopt;
    }
    auto op = impl_.ctx.sink().available_resources(jid.bare());
    std::vector<module::AvailableResource> available = co_await std::move(op);
    auto same = [&](const module::AvailableResource& r) { return r.resource == jid.resource(); };
    co_return jid.is_bare() ? !available.empty()
                            : std::any_of(available.begin(), available.end(), same);
  }

  std::optional<StanzaError> may_create(const Jid& requester) override {
    if (requester.bare_str() != bare_.bare_str()) {
      return StanzaError::forbidden();  // §1 "one publisher per node": only the account
    }
    return std::nullopt;
  }

  bool is_admin(const Jid&) const override { return false; }

  // On the account's shard, where its policy is kept: the stanzas sent one after the other
  // keep their order (each waits for the same shard once).
  static asio::awaitable<void> send_unless_blocked(Impl* impl, Jid bare, Jid to,
                                                   xml::Element stanza) {
    auto op = impl->ctx.sink().filter_of(bare);
    module::FilterPtr filter = co_await std::move(op);
    if (filter && filter->blocks_outbound(stanza, to)) {
      co_return;
    }
    impl->ctx.send(std::move(stanza));
  }

  std::int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  asio::awaitable<bool> store_node(Node node) override {
    std::string value = xml::to_string(node_to_xml(node));
    std::string domain = bare_.domain(), local = bare_.local(), name = std::move(node.name);
    auto op = impl_.ctx.storage().run([domain, local, name, value](storage::Backend& b) {
      return b.kv_set(domain, local, kNodeStore, name, value) != storage::Status::kError;
    });
    co_return co_await std::move(op);
  }

  asio::awaitable<bool> store_item(std::string node, Item item) override {
    std::string value = xml::to_string(item_to_xml(item));
    std::string key = pep_item_key(node, item.id);
    std::string domain = bare_.domain(), local = bare_.local();
    auto op = impl_.ctx.storage().run([domain, local, key, value](storage::Backend& b) {
      return b.kv_set(domain, local, kItemStore, key, value) != storage::Status::kError;
    });
    co_return co_await std::move(op);
  }

  asio::awaitable<bool> remove_items(std::string node, std::vector<std::string> ids) override {
    std::vector<std::string> keys;
    for (const auto& id : ids) {
      keys.push_back(pep_item_key(node, id));
    }
    std::string domain = bare_.domain(), local = bare_.local();
    auto op = impl_.ctx.storage().run([domain, local, keys](storage::Backend& b) {
      for (const auto& k : keys) {
        if (b.kv_delete(domain, local, kItemStore, k) == storage::Status::kError) {
          return false;
        }
      }
      return true;
    });
    co_return co_await std::move(op);
  }

  asio::awaitable<bool> remove_node(std::string node) override {
    std::string prefix = pep_item_key(node, "");
    std::string domain = bare_.domain(), local = bare_.local();
    auto op = impl_.ctx.storage().run([domain, local, node, prefix](storage::Backend& b) {
      if (b.kv_delete(domain, local, kNodeStore, node) == storage::Status::kError) {
        return false;
      }
      for (const auto& k : b.kv_keys(domain, local, kItemStore)) {
        if (k.starts_with(prefix) &&
            b.kv_delete(domain, local, kItemStore, k) == storage::Status::kError) {
          return false;
        }
      }
      return true;
    });
    co_return co_await std::move(op);
  }

 private:
  Impl& impl_;
  Jid bare_;
};

struct Pep::Impl::Account {
  Account(Impl& impl, const Jid& bare) : host(impl, bare), service(host, impl.options_for(bare)) {}
  AccountHost host;
  NodeService service;
};

Pep::Impl::Impl(module::ModuleContext& c) : ctx(c) {
  std::size_t n = std::max<std::size_t>(1, ctx.sink().shard_count());
  for (std::size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

Options Pep::Impl::options_for(const Jid& bare) const {
  const config::Config& cfg = ctx.config();
  Options o;
  o.jid = bare.bare();
  o.pep = true;
  // XEP-0163 §1 "smart defaults", §8: presence access model, deliver notifications, last item
  // on subscription and presence.
  o.defaults.access_model = AccessModel::kPresence;
  o.defaults.send_last_published_item = SendLast::kOnSubAndPresence;
  o.defaults.deliver_notifications = true;
  // A PEP node carries the account's current state (mood, avatar, device list); clients that
  // keep more ask for it with publish-options (XEP-0223, XEP-0402: pubsub#max_items).
  o.defaults.max_items = 1;
  o.limits.max_items = cfg.pep.max_items;
  o.limits.max_nodes = cfg.pep.max_nodes;
  o.limits.max_payload_size = cfg.pep.max_payload_size;
  return o;
}

asio::awaitable<std::shared_ptr<Pep::Impl::Account>> Pep::Impl::account(Jid bare) {
  std::string key = bare.bare_str();
  {
    Shard& sh = shard(bare);
    if (auto it = sh.accounts.find(key); it != sh.accounts.end()) {
      co_return it->second;
    }
  }
  std::string domain = bare.domain(), local = bare.local();
  auto op = ctx.storage().run([domain, local, key](storage::Backend& b) {
    return pep_restore(b.kv_get_all(domain, local, kNodeStore),
                       b.kv_get_all(domain, local, kItemStore), key);
  });
  std::vector<Node> nodes = co_await std::move(op);
  Shard& sh = shard(bare);
  // Another request may have loaded it meanwhile: the first one inserted is the one used.
  if (auto it = sh.accounts.find(key); it != sh.accounts.end()) {
    co_return it->second;
  }
  auto acc = std::make_shared<Account>(*this, bare);
  for (auto& n : nodes) {
    acc->service.restore(std::move(n));
  }
  sh.accounts.emplace(key, acc);
  co_return acc;
}

asio::awaitable<RosterPtr> Pep::Impl::roster_of(Jid bare) {
  std::string key = bare.bare_str();
  std::uint64_t gen = 0;
  {
    Shard& sh = shard(bare);
    if (auto it = sh.rosters.find(key); it != sh.rosters.end()) {
      co_return it->second;
    }
    if (auto g = sh.roster_gen.find(key); g != sh.roster_gen.end()) {
      gen = g->second;
    }
  }
  std::string domain = bare.domain(), local = bare.local();
  auto op = ctx.storage().run([domain, local](storage::Backend& b) {
    auto view = std::make_shared<RosterView>();
    for (auto& item : modules::roster::load(b, domain, local).items) {
      Contact c;
      c.from = modules::roster::has_from(item.subscription);
      c.groups = std::move(item.groups);
      view->emplace(std::move(item.jid), std::move(c));
    }
    return view;
  });
  std::shared_ptr<RosterView> view = co_await std::move(op);
  RosterPtr out = std::move(view);
  Shard& sh = shard(bare);
  auto g = sh.roster_gen.find(key);
  // Cached unless it changed while loading; empty rosters (also of addresses that are no
  // account) are not kept.
  if ((g == sh.roster_gen.end() ? 0 : g->second) == gen && !out->empty()) {
    sh.rosters.insert_or_assign(key, out);
  }
  co_return out;
}

asio::awaitable<module::CapsPtr> Pep::Impl::caps_of(Jid full) {
  const module::CapsLookup* lookup = ctx.registry().caps_lookup();
  if (lookup == nullptr) {
    co_return nullptr;
  }
  auto op = (*lookup)(std::move(full));
  co_return co_await std::move(op);
}

Pep::Impl::Resource* Pep::Impl::find_resource(const Jid& bare, const Jid& full,
                                              std::uint64_t gen) {
  Shard& sh = shard(bare);
  auto a = sh.resources.find(bare.bare_str());
  if (a == sh.resources.end()) {
    return nullptr;
  }
  auto r = a->second.find(full.str());
  if (r == a->second.end() || (gen != 0 && r->second.gen != gen)) {
    return nullptr;
  }
  return &r->second;
}

void Pep::Impl::track(const Jid& bare, const Jid& full, bool own) {
  Shard& sh = shard(bare);
  auto& resources = sh.resources[bare.bare_str()];
  if (!own && resources.size() >= kMaxTracked && !resources.contains(full.str())) {
    // A contact's resource whose unavailable presence never came (a federated server that went
    // away) would stay: past the bound, the first contact resource (in name order) makes room.
    // It is tracked again at its next presence.
    for (const auto& [f, r] : resources) {
      if (!r.own) {
        if (auto j = Jid::parse(f)) {
          untrack(bare, *j);
        }
        break;
      }
    }
  }
  auto [it, added] = sh.resources[bare.bare_str()].try_emplace(full.str());
  Resource& r = it->second;
  auto ex = executor(bare);
  if (!added) {
    // §4.3.2: a later available presence of the same resource sends nothing again, but it
    // may announce other caps.
    asio::co_spawn(ex, refresh_caps(bare, full, r.gen), asio::detached);
    return;
  }
  r.gen = sh.next_gen++;
  r.own = own;
  sh.watchers[full.str()].insert(bare.bare_str());
  asio::co_spawn(ex, start_resource(bare, full, r.gen), asio::detached);
}

void Pep::Impl::untrack(const Jid& bare, const Jid& full) {
  Shard& sh = shard(bare);
  std::string key = bare.bare_str(), fkey = full.str();
  if (auto a = sh.resources.find(key); a != sh.resources.end()) {
    a->second.erase(fkey);
    if (a->second.empty()) {
      sh.resources.erase(a);
    }
  }
  if (auto w = sh.watchers.find(fkey); w != sh.watchers.end()) {
    w->second.erase(key);
    if (w->second.empty()) {
      sh.watchers.erase(w);
    }
  }
}

asio::awaitable<void> Pep::Impl::start_resource(Jid bare, Jid full, std::uint64_t gen) {
  Resource* r = find_resource(bare, full, gen);
  if (r == nullptr) {
    co_return;
  }
  if (!r->caps) {
    auto op = caps_of(full);
    module::CapsPtr caps = co_await std::move(op);
    r = find_resource(bare, full, gen);
    if (r == nullptr) {
      co_return;
    }
    if (caps && !r->caps) {
      r->caps = std::move(caps);
    }
  }
  try_send(bare, full);
}

asio::awaitable<void> Pep::Impl::refresh_caps(Jid bare, Jid full, std::uint64_t gen) {
  auto op = caps_of(full);
  module::CapsPtr caps = co_await std::move(op);
  Resource* r = find_resource(bare, full, gen);
  if (r != nullptr && caps) {
    r->caps = std::move(caps);
    try_send(bare, full);
  }
}

void Pep::Impl::try_send(const Jid& bare, const Jid& full) {
  Resource* r = find_resource(bare, full, 0);
  if (r == nullptr || r->sent || !r->caps) {
    return;
  }
  if (!r->own) {
    asio::co_spawn(executor(bare), send_if_contact(bare, full, r->gen), asio::detached);
    return;
  }
  r->sent = true;
  asio::co_spawn(executor(bare), send_last(bare, full, r->caps), asio::detached);
}

// A contact's resource gets the last items once the account's roster says it shares presence
// (§4.3: subscription 'from' or 'both'); if not yet (the subscription is being set up), a later
// roster change tries again.
asio::awaitable<void> Pep::Impl::send_if_contact(Jid bare, Jid full, std::uint64_t gen) {
  auto op = roster_of(bare);
  RosterPtr roster = co_await std::move(op);
  Resource* r = find_resource(bare, full, gen);
  if (r == nullptr || r->sent || !r->caps) {
    co_return;
  }
  auto c = roster->find(full.bare_str());
  if (c == roster->end() || !c->second.from) {
    co_return;
  }
  r->sent = true;
  auto send = send_last(std::move(bare), std::move(full), r->caps);
  co_await std::move(send);
}

void Pep::Impl::roster_changed(const Jid& bare) {
  Shard& sh = shard(bare);
  std::string key = bare.bare_str();
  sh.rosters.erase(key);
  ++sh.roster_gen[key];
  auto a = sh.resources.find(key);
  if (a == sh.resources.end()) {
    return;
  }
  std::vector<Jid> waiting;
  for (const auto& [full, r] : a->second) {
    if (!r.own && !r.sent && r.caps) {
      if (auto j = Jid::parse(full)) {
        waiting.push_back(std::move(*j));
      }
    }
  }
  for (const auto& full : waiting) {
    try_send(bare, full);
  }
}

asio::awaitable<void> Pep::Impl::send_last(Jid bare, Jid full, module::CapsPtr caps) {
  auto op = account(bare);
  std::shared_ptr<Account> acc = co_await std::move(op);
  // §4.3.2: the last item of each node the resource asked for (§4.4 "+notify").
  auto send = acc->service.send_last_items(
      full, [caps](std::string_view node) { return caps->wants_notify(node); });
  co_await std::move(send);
}

void Pep::Impl::caps_verified(const Jid& full, const module::CapsPtr& caps) {
  // Every shard may hold accounts that track this resource.
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    asio::post(ctx.sink().shard_executor(i), [this, i, full, caps] {
      Shard& sh = *shards_[i];
      auto w = sh.watchers.find(full.str());
      if (w == sh.watchers.end()) {
        return;
      }
      std::vector<std::string> accounts(w->second.begin(), w->second.end());
      for (const auto& a : accounts) {
        auto bare = Jid::parse(a);
        if (!bare) {
          continue;
        }
        if (Resource* r = find_resource(*bare, full, 0)) {
          r->caps = caps;
          try_send(*bare, full);
        }
      }
    });
  }
}

void Pep::Impl::drop(const Jid& bare) {
  Shard& sh = shard(bare);
  std::string key = bare.bare_str();
  sh.accounts.erase(key);
  sh.rosters.erase(key);
  ++sh.roster_gen[key];
  if (auto a = sh.resources.find(key); a != sh.resources.end()) {
    for (const auto& [full, _] : a->second) {
      if (auto w = sh.watchers.find(full); w != sh.watchers.end()) {
        w->second.erase(key);
        if (w->second.empty()) {
          sh.watchers.erase(w);
        }
      }
    }
    sh.resources.erase(a);
  }
}

// An account's state stays in memory while it is in use; once its last own session ends and no
// request holds it, it is dropped (loaded again on next use). This bounds the memory to the
// accounts in use and picks up changes made behind the server's back (starlingctl deluser).
void Pep::Impl::session_closed(const Jid& bare) {
  Shard& sh = shard(bare);
  std::string key = bare.bare_str();
  if (auto a = sh.resources.find(key); a != sh.resources.end()) {
    for (const auto& [_, r] : a->second) {
      if (r.own) {
        return;
      }
    }
  }
  if (auto it = sh.accounts.find(key); it != sh.accounts.end() && it->second.use_count() == 1) {
    sh.accounts.erase(it);
  }
  sh.rosters.erase(key);
}

asio::awaitable<IqResult> Pep::Impl::handle_iq(xml::Element stanza, Jid from, Jid bare,
                                               std::vector<xml::Element>* after_reply) {
  auto op = account(bare);
  std::shared_ptr<Account> acc = co_await std::move(op);
  auto h = acc->service.handle(std::move(stanza), std::move(from), after_reply);
  co_return co_await std::move(h);
}

asio::awaitable<IqResult> Pep::Impl::Provider::request(Jid from, xml::Element pubsub) {
  const xml::Element* first = pubsub.elements().empty() ? nullptr : pubsub.elements().front();
  bool get = first != nullptr && (first->name() == "items" || first->name() == "subscriptions" ||
                                  first->name() == "affiliations" || first->name() == "default");
  Jid bare = from.bare();
  xml::Element iq("iq", "jabber:client");
  iq.set_attr("type", get ? "get" : "set");
  iq.set_attr("id", random_id(12));
  iq.set_attr("from", from.str());
  iq.set_attr("to", bare.bare_str());
  iq.add_child(std::move(pubsub));
  auto op = impl_->handle_iq(std::move(iq), std::move(from), std::move(bare), nullptr);
  co_return co_await std::move(op);
}

Pep::Pep(module::ModuleContext& ctx) : impl_(std::make_unique<Impl>(ctx)) {
  Impl* impl = impl_.get();
  for (auto type : {module::IqType::kGet, module::IqType::kSet}) {
    for (std::string_view ns : {ns::kPubsub, ns::kOwner}) {
      ctx.on_iq({type, Target::kAccount, std::string(ns), "pubsub"},
                [impl](const module::Iq& iq) -> asio::awaitable<IqResult> {
                  xml::Element stanza = iq.stanza;
                  Jid from = iq.from, bare = iq.to.bare();
                  // §6.1.7: the last item follows the subscribe result (router follow-ups).
                  auto op = impl->handle_iq(std::move(stanza), std::move(from), std::move(bare),
                                            iq.follow_ups);
                  co_return co_await std::move(op);
                });
    }
  }
  ctx.add_identity(Target::kAccount, {"pubsub", "pep", ""});  // XEP-0163 §9
  for (auto& f : NodeService::features(true)) {
    ctx.add_feature(Target::kAccount, std::move(f));
  }
  // XEP-0030 on the account's nodes (XEP-0060 §5.1-§5.5; the bare JID is the root, §8).
  ctx.on_other_disco_nodes(
      Target::kAccount,
      {[impl](const module::Iq& iq) -> asio::awaitable<module::DiscoInfoResult> {
         std::string node(iq.payload.attr_or("node"));
         Jid from = iq.from, bare = iq.to.bare();
         auto op = impl->account(bare);
         auto acc = co_await std::move(op);
         auto info = acc->service.disco_info(std::move(node), std::move(from));
         co_return co_await std::move(info);
       },
       [impl](const module::Iq& iq) -> asio::awaitable<module::DiscoItemsResult> {
         std::string node(iq.payload.attr_or("node"));
         Jid from = iq.from, bare = iq.to.bare();
         auto op = impl->account(bare);
         auto acc = co_await std::move(op);
         auto items = acc->service.disco_items(std::move(node), std::move(from));
         co_return co_await std::move(items);
       }});
  ctx.add_disco_items_provider(
      Target::kAccount,
      [impl](const module::Iq& iq) -> asio::awaitable<std::vector<module::DiscoItem>> {
        Jid from = iq.from, bare = iq.to.bare();
        auto op = impl->account(bare);
        auto acc = co_await std::move(op);
        auto items = acc->service.disco_items("", std::move(from));
        module::DiscoItemsResult r = co_await std::move(items);
        if (auto* list = std::get_if<std::vector<module::DiscoItem>>(&r)) {
          co_return std::move(*list);
        }
        co_return std::vector<module::DiscoItem>{};
      });

  // §4.3: contacts' resources, on the account's partition shard.
  ctx.on<events::InboundPresence>([impl](const events::InboundPresence& e) {
    Jid bare = e.to.bare();
    if (e.from.resource().empty() || e.from.bare() == bare) {
      return;  // a full JID is needed for caps; own resources come from PresenceBroadcast
    }
    if (e.available) {
      impl->track(bare, e.from, false);
    } else {
      impl->untrack(bare, e.from);
    }
  });
  // §4.3.2: the account's own resources, "including the account owner itself".
  ctx.on<events::PresenceBroadcast>([impl](const events::PresenceBroadcast& e) {
    Jid bare = e.jid.bare();
    asio::post(impl->executor(bare), [impl, bare, full = e.jid, available = e.available] {
      if (available) {
        impl->track(bare, full, true);
      } else {
        impl->untrack(bare, full);
      }
    });
  });
  ctx.on<events::SessionClosed>([impl](const events::SessionClosed& e) {
    Jid bare = e.jid.bare();
    asio::post(impl->executor(bare), [impl, bare] { impl->session_closed(bare); });
  });
  ctx.on<events::CapsVerified>(
      [impl](const events::CapsVerified& e) { impl->caps_verified(e.jid, e.caps); });
  ctx.on<events::RosterChanged>([impl](const events::RosterChanged& e) {
    Jid bare = e.jid.bare();
    asio::post(impl->executor(bare), [impl, bare] { impl->roster_changed(bare); });
  });
  ctx.on_account_removal([impl](Jid bare) -> asio::awaitable<void> {
    // Stored nodes and items go with the account (Backend::delete_account); the cached state
    // is dropped on the account's shard. Not awaited: removal may run while shards stop.
    asio::post(impl->executor(bare), [impl, bare] { impl->drop(bare); });
    co_return;
  });
  ctx.provide_pep(std::make_shared<Impl::Provider>(impl));
}

Pep::~Pep() = default;

}  // namespace starling::pubsub
