// XEP-0045 Multi-User Chat: one service domain. Stanzas to the domain itself (§6.1 service
// disco, §6.3 the public rooms), room creation (§10.1), rooms on their shards, persistence.
#include "modules/xep0045_muc/service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "base/log.hpp"
#include "modules/xep0045_muc/muc_ns.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::muc {

namespace asio = boost::asio;
using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

namespace {

constexpr const char* kStore = "muc_rooms";

asio::awaitable<void> store_room(storage::Storage* storage, std::string domain, std::string key,
                                 std::string value) {
  auto op = storage->run([domain, key, value](storage::Backend& b) {
    return b.kv_set(domain, "", kStore, key, value);
  });
  storage::Status st = co_await std::move(op);
  if (st != storage::Status::kOk) {
    log::error("muc: storing room {}@{} failed", key, domain);
  }
}

asio::awaitable<void> delete_room(storage::Storage* storage, std::string domain,
                                  std::string key) {
  auto op = storage->run([domain, key](storage::Backend& b) {
    return b.kv_delete(domain, "", kStore, key);
  });
  co_await std::move(op);
}

}  // namespace

class Service::Host final : public RoomHost {
 public:
  Host(Service& service, std::size_t shard) : service_(service), shard_(shard) {}
  void send(Element stanza) override { service_.ctx_.send(std::move(stanza)); }
  void save(const Room& room) override;
  void remove(const Room& room) override;
  bool is_service_admin(const Jid& bare) const override {
    return service_.admins_.contains(bare.bare_str());
  }
  std::int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::size_t shard() const { return shard_; }
  std::size_t max_history() const override { return service_.ctx_.config().muc.max_history; }
  std::size_t max_occupants() const override {
    return service_.ctx_.config().muc.max_occupants;
  }

 private:
  Service& service_;
  std::size_t shard_;
};

struct Service::Shard {
  Shard(Service& service, std::size_t index) : host(service, index) {}
  Host host;
  std::map<std::string, std::unique_ptr<Room>> rooms;  // by localpart
  std::set<std::string> stored;                        // localparts with a stored copy
  std::vector<std::string> removals;                   // asked for during the current call
};

void Service::Host::save(const Room& room) {
  Shard& sh = *service_.shards_[shard_];
  const std::string& key = room.jid().local();
  auto ex = service_.ctx_.sink().shard_executor(shard_);
  if (room.config().persistent && !room.locked()) {
    sh.stored.insert(key);
    asio::co_spawn(ex,
                   store_room(&service_.ctx_.storage(), service_.domain_, key,
                              xml::to_string(room.serialize())),
                   asio::detached);
  } else if (sh.stored.erase(key) > 0) {
    asio::co_spawn(ex, delete_room(&service_.ctx_.storage(), service_.domain_, key),
                   asio::detached);
  }
}

void Service::Host::remove(const Room& room) {
  service_.shards_[shard_]->removals.push_back(room.jid().local());
}

Service::Service(module::ModuleContext& ctx, std::string domain, std::string parent)
    : ctx_(ctx), domain_(std::move(domain)), parent_(std::move(parent)) {
  const config::Config& cfg = ctx.config();
  for (const std::string& a : cfg.admins) {
    if (auto j = Jid::parse(a)) {
      admins_.insert(j->bare_str());
    }
  }
  for (const std::string& a : cfg.muc.admins) {
    if (auto j = Jid::parse(a)) {
      admins_.insert(j->bare_str());
    }
  }
  defaults_ = default_config(cfg);
  std::size_t n = std::max<std::size_t>(1, ctx.sink().shard_count());
  for (std::size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(*this, i));
  }
}

Service::~Service() = default;

RoomConfig Service::default_config(const config::Config& cfg) {
  const auto& d = cfg.muc.defaults;
  RoomConfig c;
  c.persistent = d.persistent;
  c.public_room = d.public_room;
  c.members_only = d.members_only;
  c.moderated = d.moderated;
  c.whois = parse_whois(d.whois).value_or(WhoIs::kModerators);
  c.max_users = std::min(d.max_users, cfg.muc.max_occupants);
  c.history_length = std::min(d.history_length, cfg.muc.max_history);
  c.change_subject = d.change_subject;
  c.allow_invites = d.allow_invites;
  c.allow_pm = parse_pm(d.allow_pm).value_or(PmPolicy::kAnyone);  // checked by the config
  c.allow_voice_requests = d.allow_voice_requests;
  return c;
}

void Service::load() {
  std::string domain = domain_;
  auto rows = ctx_.storage().run_sync(
      [domain](storage::Backend& b) { return b.kv_get_all(domain, "", kStore); });
  std::size_t loaded = 0;
  for (const auto& [key, value] : rows) {
    auto jid = Jid::make(key, domain_);
    Element stored;
    if (!jid || !xml::parse_element(value, stored)) {
      log::warn("muc: ignoring unreadable stored room '{}' of {}", key, domain_);
      continue;
    }
    Shard& sh = *shards_[ctx_.sink().shard_of(*jid) % shards_.size()];
    auto room = Room::deserialize(sh.host, *jid, stored);
    if (!room) {
      log::warn("muc: ignoring unreadable stored room '{}' of {}", key, domain_);
      continue;
    }
    sh.stored.insert(key);
    sh.rooms[key] = std::move(room);
    ++loaded;
  }
  room_count_ = loaded;
  if (loaded > 0) {
    log::info("muc: {} loaded {} persistent rooms", domain_, loaded);
  }
}

void Service::reply(const Element& request, const StanzaError& err) {
  if (request.attr_or("type") == "error") {
    return;
  }
  ctx_.send(xmpp::make_error_reply(request, err));
}

void Service::handle(xmpp::StanzaPtr stanza, Jid to, Jid from) {
  if (from.empty() || stanza == nullptr) {
    return;
  }
  std::size_t s = ctx_.sink().shard_of(to) % shards_.size();
  Shard& sh = *shards_[s];
  if (to.local().empty()) {
    handle_domain(*stanza, to, from, s);
    return;
  }
  auto it = sh.rooms.find(to.local());
  if (it == sh.rooms.end()) {
    handle_new_room(*stanza, to, from, sh);
    collect(sh);
    return;
  }
  Room& room = *it->second;
  room.handle(*stanza, to, from);
  bool going = std::find(sh.removals.begin(), sh.removals.end(), to.local()) != sh.removals.end();
  if (!going && room.config().persistent && !room.locked() && !sh.stored.contains(to.local())) {
    sh.host.save(room);  // e.g. an instant room (§10.1.2) with persistent defaults
  }
  if (!going && room.empty() && (room.locked() || !room.config().persistent)) {
    sh.host.remove(room);
  }
  collect(sh);
}

void Service::collect(Shard& sh) {
  std::vector<std::string> removals;
  removals.swap(sh.removals);
  for (const std::string& key : removals) {
    auto it = sh.rooms.find(key);
    if (it == sh.rooms.end()) {
      continue;
    }
    sh.rooms.erase(it);
    --room_count_;
    if (sh.stored.erase(key) > 0) {
      auto ex = ctx_.sink().shard_executor(sh.host.shard());
      asio::co_spawn(ex, delete_room(&ctx_.storage(), domain_, key), asio::detached);
    }
  }
}

bool Service::may_create(const Jid& from) const {
  const config::Config& cfg = ctx_.config();
  const std::string& policy = cfg.muc.create_rooms;
  if (admins_.contains(from.bare_str()) || policy == "anyone") {
    return true;
  }
  if (policy == "local") {
    return std::find(cfg.domains.begin(), cfg.domains.end(), from.domain()) != cfg.domains.end();
  }
  return false;  // "admins"
}

void Service::handle_new_room(const Element& s, const Jid& to, const Jid& from, Shard& sh) {
  std::string type(s.attr_or("type"));
  if (type == "error") {
    return;
  }
  if (xmpp::kind_of(s) == xmpp::StanzaKind::kPresence) {
    if (type == "unavailable" || type == "probe") {
      return;
    }
    if (!type.empty()) {
      reply(s, StanzaError::service_unavailable());
      return;
    }
    if (to.resource().empty()) {
      reply(s, StanzaError::jid_malformed());  // §7.2.1
      return;
    }
    if (s.child("x", kMucNs) == nullptr) {
      // Not a MUC join (groupchat 1.0 or a stale client): no room is created for it.
      reply(s, StanzaError::item_not_found());
      return;
    }
    // §10.1.1 creating a room.
    if (!may_create(from)) {
      reply(s, StanzaError::not_allowed());
      return;
    }
    if (room_count_ >= ctx_.config().muc.max_rooms) {
      reply(s, StanzaError::resource_constraint());
      return;
    }
    auto room = std::make_unique<Room>(sh.host, to.bare(), defaults_);
    room->set_creator(from);
    Room& r = *room;
    sh.rooms[to.local()] = std::move(room);
    ++room_count_;
    r.handle(s, to, from);
    if (r.empty()) {
      sh.host.remove(r);  // the creator could not enter (bad nick ...)
    }
    return;
  }
  if (xmpp::kind_of(s) == xmpp::StanzaKind::kIq && (type == "result")) {
    return;
  }
  if (xmpp::kind_of(s) == xmpp::StanzaKind::kMessage && type == "headline") {
    return;
  }
  reply(s, StanzaError::item_not_found());
}

void Service::handle_domain(const Element& s, const Jid& to, const Jid& from, std::size_t shard) {
  std::string type(s.attr_or("type"));
  auto kind = xmpp::kind_of(s);
  if (type == "error" || type == "result") {
    return;
  }
  if (kind == xmpp::StanzaKind::kPresence) {
    return;  // nothing to subscribe to at the service itself
  }
  if (kind == xmpp::StanzaKind::kMessage) {
    if (type != "headline") {
      reply(s, StanzaError::service_unavailable());
    }
    return;
  }
  if (kind != xmpp::StanzaKind::kIq) {
    return;
  }
  if (type != "get" && type != "set") {
    reply(s, StanzaError::bad_request());
    return;
  }
  std::vector<const Element*> children = s.elements();
  if (children.size() != 1) {
    reply(s, StanzaError::bad_request());
    return;
  }
  if (!to.resource().empty()) {
    reply(s, StanzaError::service_unavailable());
    return;
  }
  const Element& q = *children.front();
  if (type == "get" && q.name() == "query" && q.xmlns() == ns::kDiscoInfo) {
    if (q.attr("node") != nullptr) {
      reply(s, StanzaError::item_not_found());
      return;
    }
    // §6.1 discovering the features of the service.
    Element info("query", std::string(ns::kDiscoInfo));
    Element& id = info.add_child("identity", std::string(ns::kDiscoInfo));
    id.set_attr("category", "conference");
    id.set_attr("name", "Chatrooms");
    id.set_attr("type", "text");
    for (std::string_view f : {ns::kDiscoInfo, ns::kDiscoItems, kMucNs, ns::kPing, ns::kVersion}) {
      info.add_child("feature", std::string(ns::kDiscoInfo)).set_attr("var", std::string(f));
    }
    ctx_.send(xmpp::make_iq_result(s, &info));
    return;
  }
  if (type == "get" && q.name() == "query" && q.xmlns() == ns::kDiscoItems) {
    if (q.attr("node") != nullptr) {
      reply(s, StanzaError::item_not_found());
      return;
    }
    public_rooms(s, shard);
    return;
  }
  if (type == "get" && q.name() == "ping" && q.xmlns() == ns::kPing) {
    ctx_.send(xmpp::make_iq_result(s));  // XEP-0199 §4.2
    return;
  }
  if (type == "get" && q.name() == "query" && q.xmlns() == ns::kVersion) {
    Element v("query", std::string(ns::kVersion));
    v.add_child("name", std::string(ns::kVersion)).add_text(ctx_.server_info().name);
    v.add_child("version", std::string(ns::kVersion)).add_text(ctx_.server_info().version);
    ctx_.send(xmpp::make_iq_result(s, &v));
    return;
  }
  (void)from;
  reply(s, StanzaError::service_unavailable());
}

namespace {

struct Listed {
  std::string jid, name;
};

}  // namespace

void Service::public_rooms(Element iq, std::size_t shard) {
  // §6.3: the public rooms of every shard, gathered by visiting each shard in turn.
  auto gather = [](Service* self, Element request) -> asio::awaitable<void> {
    std::vector<Listed> all;
    for (std::size_t i = 0; i < self->shards_.size(); ++i) {
      auto list = [](Service* svc, std::size_t idx) -> asio::awaitable<std::vector<Listed>> {
        std::vector<Listed> out;
        for (const auto& [key, room] : svc->shards_[idx]->rooms) {
          if (room->config().public_room && !room->locked()) {
            out.push_back({room->jid().str(), room->config().name});
          }
        }
        co_return out;
      };
      auto op = asio::co_spawn(self->ctx_.sink().shard_executor(i), list(self, i),
                               asio::use_awaitable);
      std::vector<Listed> part = co_await std::move(op);
      for (auto& l : part) {
        all.push_back(std::move(l));
      }
    }
    std::sort(all.begin(), all.end(),
              [](const Listed& a, const Listed& b) { return a.jid < b.jid; });
    Element q("query", std::string(ns::kDiscoItems));
    for (const Listed& l : all) {
      Element& item = q.add_child("item", std::string(ns::kDiscoItems));
      item.set_attr("jid", l.jid);
      if (!l.name.empty()) {
        item.set_attr("name", l.name);
      }
    }
    self->ctx_.send(xmpp::make_iq_result(request, &q));
  };
  asio::co_spawn(ctx_.sink().shard_executor(shard), gather(this, std::move(iq)), asio::detached);
}

}  // namespace starling::muc
