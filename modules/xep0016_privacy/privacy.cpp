// XEP-0016 Privacy Lists and XEP-0191 Blocking Command, one mechanism beneath both (XEP-0191
// §5): the blocklist is the default privacy list's jid/deny items. Each list that applies is
// compiled, with the roster facts its 'group' and 'subscription' items need, into an immutable
// session::StanzaFilter that the router (inbound) and the c2s sessions (outbound) consult per
// stanza without locks or storage calls.
//
// Stores: "privacy_lists" (list name -> <list/>), "privacy_meta" ("default" -> list name).
// Active lists are per session and not stored (XEP-0016 §2.2).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>
#include <mutex>
#include <set>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0016_privacy/privacy_list.hpp"
#include "server/config/config.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules {
namespace {

namespace asio = boost::asio;
using privacy::PrivacyList;
using privacy::RosterView;
using xmpp::Jid;
using xmpp::StanzaError;

constexpr const char* kLists = "privacy_lists";
constexpr const char* kMeta = "privacy_meta";
constexpr const char* kBlockingNs = "urn:xmpp:blocking";
constexpr const char* kBlocklistName = "blocklist";  // the list a first <block/> creates

class CompiledFilter final : public session::StanzaFilter {
 public:
  CompiledFilter(PrivacyList list, RosterView roster)
      : list_(std::move(list)), roster_(std::move(roster)) {}

  bool blocks_inbound(const xml::Element& s, const Jid& from) const override {
    std::uint8_t kind = 0;
    if (s.name() == "message") {
      kind = privacy::kMessage;
    } else if (s.name() == "iq") {
      kind = privacy::kIq;
    } else if (s.name() == "presence") {
      kind = privacy::kPresenceIn;
    } else {
      return false;
    }
    return privacy::denies(list_, roster_, kind, from);
  }

  bool blocks_outbound(const xml::Element& s, const Jid& to) const override {
    if (s.name() == "presence") {
      return privacy::denies(list_, roster_, privacy::kPresenceOut, to);
    }
    return privacy::denies_outbound_other(list_, roster_, to);
  }

 private:
  PrivacyList list_;
  RosterView roster_;
};

bool needs_roster(const PrivacyList& l) {
  for (const auto& i : l.items) {
    if (i.type == privacy::PrivacyItem::Type::kGroup ||
        i.type == privacy::PrivacyItem::Type::kSubscription) {
      return true;
    }
  }
  return false;
}

// ---- storage (runs on the storage executor) ---------------------------------------------------

std::optional<PrivacyList> load_list(storage::Backend& b, const std::string& d,
                                     const std::string& u, const std::string& name) {
  auto v = b.kv_get(d, u, kLists, name);
  if (!v) {
    return std::nullopt;
  }
  xml::Element e;
  if (!xml::parse_element(*v, e)) {
    return std::nullopt;
  }
  auto parsed = privacy::parse_list(e);
  if (auto* l = std::get_if<PrivacyList>(&parsed)) {
    return std::move(*l);
  }
  return std::nullopt;
}

void store_list(storage::Backend& b, const std::string& d, const std::string& u,
                const PrivacyList& l) {
  b.kv_set(d, u, kLists, l.name, xml::to_string(privacy::to_element(l)));
}

RosterView load_roster(storage::Backend& b, const std::string& d, const std::string& u) {
  RosterView view;
  for (auto& item : roster::load(b, d, u).items) {
    view[item.jid] = {item.subscription, item.groups};
  }
  return view;
}

std::optional<std::string> default_name(storage::Backend& b, const std::string& d,
                                        const std::string& u) {
  return b.kv_get(d, u, kMeta, "default");
}

// The filter for a list (nullptr for no list).
module::FilterPtr compile(storage::Backend& b, const std::string& d, const std::string& u,
                          std::optional<PrivacyList> list) {
  if (!list) {
    return nullptr;
  }
  RosterView roster = needs_roster(*list) ? load_roster(b, d, u) : RosterView{};
  return std::make_shared<const CompiledFilter>(std::move(*list), std::move(roster));
}

// A push: an iq set from the account's bare JID carrying `payload`.
xml::Element push_iq(const std::string& bare, xml::Element payload) {
  xml::Element iq("iq", "jabber:client");
  iq.set_attr("type", "set");
  iq.set_attr("from", bare);
  iq.add_child(std::move(payload));
  return iq;
}

// XEP-0016 §2.6: a privacy list push names the list only.
xml::Element list_push(const std::string& bare, const std::string& name) {
  xml::Element q("query", std::string(privacy::kPrivacyNs));
  q.add_child("list", std::string(privacy::kPrivacyNs)).set_attr("name", name);
  return push_iq(bare, std::move(q));
}

class Privacy final : public module::Module {
 public:
  std::string_view name() const override { return "xep0016_privacy"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0016", "1.7", "complete",
             "lists with jid, group, subscription and fall-through items per stanza kind, "
             "active (per session) and default lists, pushes, conflict rules",
             "tests/e2e/test_blocking.py, modules/xep0016_privacy/privacy_list_test.cpp"},
            {"XEP-0191", "1.3", "complete",
             "block, unblock, unblock all, pushes, <blocked/> errors; stored as the default "
             "privacy list (XEP-0191 §5)",
             "tests/e2e/test_blocking.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_feature(module::Target::kServer, std::string(privacy::kPrivacyNs));
    ctx.add_feature(module::Target::kServer, kBlockingNs);
    using module::IqType;
    using module::Target;
    ctx.on_iq({IqType::kGet, Target::kAccount, std::string(privacy::kPrivacyNs), "query"},
              [this](const module::Iq& iq) { return privacy_get(iq); });
    ctx.on_iq({IqType::kSet, Target::kAccount, std::string(privacy::kPrivacyNs), "query"},
              [this](const module::Iq& iq) { return privacy_set(iq); });
    ctx.on_iq({IqType::kGet, Target::kAccount, kBlockingNs, "blocklist"},
              [this](const module::Iq& iq) { return blocklist(iq); });
    ctx.on_iq({IqType::kSet, Target::kAccount, kBlockingNs, "block"},
              [this](const module::Iq& iq) { return block(iq, true); });
    ctx.on_iq({IqType::kSet, Target::kAccount, kBlockingNs, "unblock"},
              [this](const module::Iq& iq) { return block(iq, false); });
    ctx.on<events::SessionBound>([this](const events::SessionBound& e) {
      std::lock_guard lock(mu_);
      sessions_[e.jid.bare_str()][e.jid.resource()] = "";
    });
    ctx.on<events::SessionClosed>([this](const events::SessionClosed& e) {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(e.jid.bare_str());
      if (it != sessions_.end()) {
        it->second.erase(e.jid.resource());
        if (it->second.empty()) {
          sessions_.erase(it);
        }
      }
    });
    ctx.on<events::RosterChanged>([this](const events::RosterChanged& e) {
      {
        std::lock_guard lock(mu_);
        if (!roster_dependent_.contains(e.jid.bare_str())) {
          return;
        }
      }
      // XEP-0016 §2.2: a changed group or subscription is taken into account at once.
      asio::co_spawn(e.executor, reinstall(e.jid.bare()), asio::detached);
    });
    // A deleted account leaves no policy behind in the router (module::remove_account).
    ctx.on_account_removal([this](xmpp::Jid bare) -> asio::awaitable<void> {
      {
        std::lock_guard lock(mu_);
        roster_dependent_.erase(bare.bare_str());
      }
      ctx_->sink().set_account_filter(bare, nullptr);
      co_return;
    });
    load_defaults();
  }

 private:
  // Before the server accepts connections: the default list of every account that has one.
  void load_defaults() {
    for (const auto& domain : ctx_->config().domains) {
      auto filters = ctx_->storage().run_sync([domain](storage::Backend& b) {
        std::vector<std::pair<std::string, std::pair<module::FilterPtr, bool>>> out;
        for (auto& row : b.kv_scan(domain, kMeta)) {
          if (row.key != "default") {
            continue;
          }
          auto list = load_list(b, domain, row.username, row.value);
          bool dependent = list && needs_roster(*list);
          out.push_back({row.username, {compile(b, domain, row.username, std::move(list)),
                                        dependent}});
        }
        return out;
      });
      for (auto& [user, f] : filters) {
        Jid bare = *Jid::parse(user + "@" + domain);
        if (f.second) {
          roster_dependent_.insert(bare.bare_str());
        }
        ctx_->sink().set_account_filter(bare, std::move(f.first));
      }
      if (!filters.empty()) {
        log::info("privacy: {} default lists loaded for {}", filters.size(), domain);
      }
    }
  }

  // Recompiles and installs the default list and every session's active list of an account.
  asio::awaitable<void> reinstall(Jid bare) {
    std::map<std::string, std::string> actives;  // resource -> list
    {
      std::lock_guard lock(mu_);
      if (auto it = sessions_.find(bare.bare_str()); it != sessions_.end()) {
        actives = it->second;
      }
    }
    std::string d = bare.domain(), u = bare.local();
    struct Out {
      module::FilterPtr def;
      bool dependent = false;
      std::map<std::string, module::FilterPtr> active;
    };
    auto op = ctx_->storage().run([d, u, actives](storage::Backend& b) {
      Out o;
      if (auto name = default_name(b, d, u)) {
        auto l = load_list(b, d, u, *name);
        o.dependent = l && needs_roster(*l);
        o.def = compile(b, d, u, std::move(l));
      }
      for (const auto& [resource, name] : actives) {
        if (!name.empty()) {
          auto l = load_list(b, d, u, name);
          o.dependent = o.dependent || (l && needs_roster(*l));
          o.active[resource] = compile(b, d, u, std::move(l));
        }
      }
      return o;
    });
    Out o = co_await std::move(op);
    {
      std::lock_guard lock(mu_);
      if (o.dependent) {
        roster_dependent_.insert(bare.bare_str());
      } else {
        roster_dependent_.erase(bare.bare_str());
      }
    }
    ctx_->sink().set_account_filter(bare, o.def);
    for (auto& [resource, f] : o.active) {
      ctx_->sink().set_resource_filter(*Jid::parse(bare.bare_str() + "/" + resource), f);
    }
  }

  // Another connected resource uses `list` (as its active list, or as the default when
  // `is_default` and it has no active list): XEP-0016 §2.2's conflict rule (§2.5, §2.8).
  bool used_elsewhere(const Jid& sender, const std::string& list, bool is_default) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(sender.bare_str());
    if (it == sessions_.end()) {
      return false;
    }
    for (const auto& [resource, active] : it->second) {
      if (resource == sender.resource()) {
        continue;
      }
      if ((!list.empty() && active == list) || (is_default && active.empty())) {
        return true;
      }
    }
    return false;
  }

  asio::awaitable<module::IqResult> privacy_get(const module::Iq& iq) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();
    }
    auto children = iq.payload.elements();
    if (children.size() > 1) {
      co_return StanzaError::bad_request("Only one list at a time");  // §2.3
    }
    std::string d = iq.to.domain(), u = iq.to.local();
    if (children.size() == 1) {
      if (children[0]->name() != "list") {
        co_return StanzaError::bad_request();
      }
      std::string name(children[0]->attr_or("name"));
      auto op = ctx_->storage().run(
          [d, u, name](storage::Backend& b) { return load_list(b, d, u, name); });
      auto list = co_await std::move(op);
      if (!list) {
        co_return StanzaError::item_not_found();
      }
      xml::Element q("query", std::string(privacy::kPrivacyNs));
      q.add_child(privacy::to_element(*list));
      co_return q;
    }
    auto op = ctx_->storage().run([d, u](storage::Backend& b) {
      return std::make_pair(b.kv_keys(d, u, kLists), default_name(b, d, u));
    });
    auto [names, def] = co_await std::move(op);
    std::string active;
    {
      std::lock_guard lock(mu_);
      if (auto it = sessions_.find(iq.from.bare_str()); it != sessions_.end()) {
        if (auto r = it->second.find(iq.from.resource()); r != it->second.end()) {
          active = r->second;
        }
      }
    }
    xml::Element q("query", std::string(privacy::kPrivacyNs));
    auto& a = q.add_child("active", std::string(privacy::kPrivacyNs));
    if (!active.empty()) {
      a.set_attr("name", active);
    }
    auto& df = q.add_child("default", std::string(privacy::kPrivacyNs));
    if (def) {
      df.set_attr("name", *def);
    }
    for (const auto& n : names) {
      q.add_child("list", std::string(privacy::kPrivacyNs)).set_attr("name", n);
    }
    co_return q;
  }

  asio::awaitable<module::IqResult> privacy_set(const module::Iq& iq) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();
    }
    auto children = iq.payload.elements();
    if (children.size() != 1) {
      co_return StanzaError::bad_request("Exactly one of active, default or list");  // §2.1
    }
    const xml::Element& c = *children[0];
    const std::string* name_attr = c.attr("name");
    std::string name = name_attr ? *name_attr : std::string();
    std::string d = iq.to.domain(), u = iq.to.local();
    Jid bare = iq.to.bare();
    if (c.name() == "active") {
      // §2.4: the sending session's active list, applied before the result is sent.
      module::FilterPtr filter;
      if (!name.empty()) {
        auto op = ctx_->storage().run([d, u, name](storage::Backend& b) {
          auto l = load_list(b, d, u, name);
          bool found = l.has_value();
          return std::make_pair(found, compile(b, d, u, std::move(l)));
        });
        auto [found, f] = co_await std::move(op);
        if (!found) {
          co_return StanzaError::item_not_found();
        }
        filter = std::move(f);
      }
      {
        std::lock_guard lock(mu_);
        sessions_[bare.bare_str()][iq.from.resource()] = name;
      }
      ctx_->sink().set_resource_filter(iq.from, filter);
      co_return module::Empty{};
    }
    if (c.name() == "default") {
      auto cur_op =
          ctx_->storage().run([d, u](storage::Backend& b) { return default_name(b, d, u); });
      auto current = co_await std::move(cur_op);
      if (current && current != name && used_elsewhere(iq.from, "", true)) {
        co_return StanzaError::conflict();  // §2.5
      }
      auto op = ctx_->storage().run([d, u, name](storage::Backend& b) -> bool {
        if (name.empty()) {
          b.kv_delete(d, u, kMeta, "default");
          return true;
        }
        if (!b.kv_get(d, u, kLists, name)) {
          return false;
        }
        b.kv_set(d, u, kMeta, "default", name);
        return true;
      });
      if (!co_await std::move(op)) {
        co_return StanzaError::item_not_found();
      }
      auto re = reinstall(bare);
      co_await std::move(re);
      co_return module::Empty{};
    }
    if (c.name() != "list") {
      co_return StanzaError::bad_request();
    }
    if (c.elements().empty()) {
      // §2.8: removal.
      auto op = ctx_->storage().run([d, u, name](storage::Backend& b) {
        return std::make_pair(b.kv_get(d, u, kLists, name).has_value(),
                              default_name(b, d, u) == name);
      });
      auto [exists, is_default] = co_await std::move(op);
      if (!exists) {
        co_return StanzaError::item_not_found();
      }
      if (used_elsewhere(iq.from, name, is_default)) {
        co_return StanzaError::conflict();
      }
      auto del = ctx_->storage().run([d, u, name, is_default](storage::Backend& b) {
        b.kv_delete(d, u, kLists, name);
        if (is_default) {
          b.kv_delete(d, u, kMeta, "default");
        }
      });
      co_await std::move(del);
    } else {
      auto parsed = privacy::parse_list(c);
      if (auto* err = std::get_if<StanzaError>(&parsed)) {
        co_return *err;
      }
      PrivacyList list = std::get<PrivacyList>(std::move(parsed));
      auto op = ctx_->storage().run([d, u, list](storage::Backend& b) -> std::optional<StanzaError> {
        if (needs_roster(list)) {
          // §2.1: a group that is not in the roster is item-not-found.
          std::set<std::string> groups;
          for (auto& [_, info] : load_roster(b, d, u)) {
            groups.insert(info.groups.begin(), info.groups.end());
          }
          for (const auto& i : list.items) {
            if (i.type == privacy::PrivacyItem::Type::kGroup && !groups.contains(i.value)) {
              return StanzaError{xmpp::ErrorType::kCancel, "item-not-found",
                                 "No roster group " + i.value};
            }
          }
        }
        store_list(b, d, u, list);
        return std::nullopt;
      });
      if (auto err = co_await std::move(op)) {
        co_return *err;
      }
    }
    // §2.6: a privacy list push with only the name, to every connected resource.
    ctx_->push_to_interested(bare, list_push(bare.bare_str(), name), module::Interest::kAll);
    auto re = reinstall(bare);
    co_await std::move(re);
    co_return module::Empty{};
  }

  asio::awaitable<module::IqResult> blocklist(const module::Iq& iq) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();
    }
    ctx_->set_roster_interested(iq.from, module::Interest::kBlocklist);
    std::string d = iq.to.domain(), u = iq.to.local();
    auto op = ctx_->storage().run([d, u](storage::Backend& b) {
      std::vector<std::string> out;
      if (auto name = default_name(b, d, u)) {
        if (auto l = load_list(b, d, u, *name)) {
          out = privacy::blocked_jids(*l);
        }
      }
      return out;
    });
    auto jids = co_await std::move(op);
    xml::Element list("blocklist", kBlockingNs);
    for (const auto& j : jids) {
      list.add_child("item", kBlockingNs).set_attr("jid", j);
    }
    co_return list;
  }

  // XEP-0191 §3.3 (block) and §3.4 (unblock).
  asio::awaitable<module::IqResult> block(const module::Iq& iq, bool blocking) {
    if (iq.from.bare() != iq.to.bare()) {
      co_return StanzaError::forbidden();
    }
    std::vector<std::string> jids;
    for (const xml::Element* i : iq.payload.elements()) {
      if (i->name() != "item") {
        co_return StanzaError::bad_request("Unexpected element");
      }
      auto j = Jid::parse(i->attr_or("jid"));
      if (!j) {
        co_return StanzaError::jid_malformed();
      }
      jids.push_back(j->str());
    }
    if (blocking && jids.empty()) {
      co_return StanzaError::bad_request("A block needs at least one item");  // §3.3
    }
    std::string d = iq.to.domain(), u = iq.to.local();
    Jid bare = iq.to.bare();
    struct Out {
      std::string list_name;
      std::vector<std::string> changed;  // newly blocked or unblocked JIDs
      RosterView roster;
    };
    auto op = ctx_->storage().run([d, u, jids, blocking](storage::Backend& b) {
      Out o;
      auto name = default_name(b, d, u);
      std::optional<PrivacyList> list;
      if (name) {
        list = load_list(b, d, u, *name);
      }
      if (!list) {
        if (!blocking) {
          return o;
        }
        list = PrivacyList{name.value_or(kBlocklistName), {}};
      }
      o.list_name = list->name;
      auto before = privacy::blocked_jids(*list);
      if (blocking) {
        privacy::block(*list, jids);
      } else {
        privacy::unblock(*list, jids);
      }
      auto after = privacy::blocked_jids(*list);
      const auto& bigger = blocking ? after : before;
      const auto& smaller = blocking ? before : after;
      for (const auto& j : bigger) {
        if (std::find(smaller.begin(), smaller.end(), j) == smaller.end()) {
          o.changed.push_back(j);
        }
      }
      if (list->items.empty()) {
        // An empty list cannot exist (XEP-0016 §2.8): the default list goes away.
        b.kv_delete(d, u, kLists, list->name);
        b.kv_delete(d, u, kMeta, "default");
      } else {
        store_list(b, d, u, *list);
        b.kv_set(d, u, kMeta, "default", list->name);
      }
      o.roster = load_roster(b, d, u);
      return o;
    });
    Out o = co_await std::move(op);
    auto re = reinstall(bare);
    co_await std::move(re);
    // Pushes to the resources that asked for the blocklist (§3.3, §3.4), and a privacy list
    // push for the default list to every resource (XEP-0016 §2.6).
    xml::Element change(blocking ? "block" : "unblock", kBlockingNs);
    for (const auto& j : jids) {
      change.add_child("item", kBlockingNs).set_attr("jid", j);
    }
    ctx_->push_to_interested(bare, push_iq(bare.bare_str(), std::move(change)),
                             module::Interest::kBlocklist);
    if (!o.list_name.empty()) {
      ctx_->push_to_interested(bare, list_push(bare.bare_str(), o.list_name),
                               module::Interest::kAll);
    }
    // §3.3: unavailable presence to a newly blocked JID allowed to see the user's presence;
    // §3.4: the current presence to an unblocked one.
    auto rop = ctx_->sink().available_resources(bare);
    auto resources = co_await std::move(rop);
    if (blocking) {
      // XEP-0016 §2.10 (presence-in): the user's clients stop showing the blocked contact as
      // available; unavailable from the bare JID covers every resource (RFC 6121 §4.5.4).
      for (const auto& j : o.changed) {
        xml::Element p("presence", "jabber:client");
        p.set_attr("from", j);
        p.set_attr("to", bare.bare_str());
        p.set_attr("type", "unavailable");
        ctx_->sink().deliver_to_available(bare,
                                          std::make_shared<const xml::Element>(std::move(p)));
      }
    }
    for (const auto& j : o.changed) {
      auto jid = Jid::parse(j);
      auto it = o.roster.find(jid ? jid->bare_str() : j);
      if (it == o.roster.end() || !roster::has_from(it->second.subscription)) {
        continue;
      }
      for (const auto& r : resources) {
        xml::Element p("presence", "jabber:client");
        if (!blocking && r.last_presence) {
          p = *r.last_presence;
        } else if (blocking) {
          p.set_attr("type", "unavailable");
        }
        p.set_attr("from", bare.bare_str() + "/" + r.resource);
        p.set_attr("to", j);
        ctx_->send(std::move(p));
      }
    }
    co_return module::Empty{};
  }

  module::ModuleContext* ctx_ = nullptr;
  // Bound sessions and their active list ("" for none), from SessionBound/SessionClosed, which
  // fire on the sessions' shards: guarded by a mutex, never touched per stanza.
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> sessions_;
  std::set<std::string> roster_dependent_;  // accounts whose lists use group or subscription
};

}  // namespace

std::unique_ptr<module::Module> make_xep0016_privacy() { return std::make_unique<Privacy>(); }
}  // namespace starling::modules
