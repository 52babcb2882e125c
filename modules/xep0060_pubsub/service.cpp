// XEP-0060 pubsub service on a domain of its own: routing of requests to the shard that owns the
// node, requests about no node gathered from every shard, the service's disco (§5.1), the
// node-creation policy, and persistence in the "pubsub_nodes" / "pubsub_items" key-value stores
// of the service domain.
#include "modules/xep0060_pubsub/service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>

#include "base/log.hpp"
#include "base/random.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0060_pubsub/pubsub_ns.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::pubsub {

namespace asio = boost::asio;
namespace xns = starling::ns;
using module::IqResult;
using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

namespace {

constexpr const char* kNodes = "pubsub_nodes";
constexpr const char* kItems = "pubsub_items";

// Item records are keyed "<node>\n<item id>": a node name cannot contain a newline (it is
// refused at creation), so a node's items are the keys with its prefix.
std::string item_key(std::string_view node, std::string_view id) {
  std::string k(node);
  k += '\n';
  k += id;
  return k;
}

NodeConfig defaults_from(const config::Config& cfg) {
  const auto& d = cfg.pubsub.defaults;
  NodeConfig c;
  c.access_model = parse_access_model(d.access_model).value_or(AccessModel::kOpen);
  c.publish_model = parse_publish_model(d.publish_model).value_or(PublishModel::kPublishers);
  c.max_items = std::min(d.max_items, cfg.pubsub.max_items);
  c.persist_items = d.persist_items;
  c.deliver_payloads = d.deliver_payloads;
  c.send_last_published_item = parse_send_last(d.send_last_published_item).value_or(SendLast::kOnSub);
  return c;
}

// The node a <pubsub/> request is about: the 'node' of its first child that has one.
std::string node_of(const Element& payload) {
  for (const Element* c : payload.elements()) {
    if (const std::string* n = c->attr("node")) {
      return *n;
    }
  }
  return {};
}

}  // namespace

class Service::ShardHost final : public Host {
 public:
  ShardHost(Service& service, std::size_t shard) : service_(service), shard_(shard) {}

  void send(Element stanza) override { service_.ctx_.send(std::move(stanza)); }

  asio::awaitable<RosterPtr> roster(Jid owner) override {
    const auto& domains = service_.ctx_.config().domains;
    if (owner.local().empty() ||
        std::find(domains.begin(), domains.end(), owner.domain()) == domains.end()) {
      co_return std::make_shared<const RosterView>();
    }
    std::string domain = owner.domain(), user = owner.local();
    auto op = service_.ctx_.storage().run([domain, user](storage::Backend& b) {
      RosterView view;
      for (auto& item : modules::roster::load(b, domain, user).items) {
        view[item.jid] = Contact{modules::roster::has_from(item.subscription), item.groups};
      }
      return view;
    });
    RosterView view = co_await std::move(op);
    co_return std::make_shared<const RosterView>(std::move(view));
  }

  asio::awaitable<std::vector<Jid>> implicit_recipients(std::string) override {
    co_return std::vector<Jid>{};
  }

  asio::awaitable<std::optional<bool>> is_available(Jid jid) override {
    const auto& domains = service_.ctx_.config().domains;
    if (jid.local().empty() ||
        std::find(domains.begin(), domains.end(), jid.domain()) == domains.end()) {
      co_return std::nullopt;  // not a local account: its presence is not known here
    }
    auto op = service_.ctx_.sink().available_resources(jid.bare());
    std::vector<module::AvailableResource> available = co_await std::move(op);
    if (jid.is_bare()) {
      co_return !available.empty();
    }
    co_return std::any_of(available.begin(), available.end(),
                          [&](const auto& r) { return r.resource == jid.resource(); });
  }

  std::optional<StanzaError> may_create(const Jid& requester) override {
    const config::Config& cfg = service_.ctx_.config();
    const std::string& policy = cfg.pubsub.create_nodes;
    bool allowed = service_.admins_.contains(requester.bare_str()) || policy == "anyone" ||
                   (policy == "local" && !requester.local().empty() &&
                    std::find(cfg.domains.begin(), cfg.domains.end(), requester.domain()) !=
                        cfg.domains.end());
    if (!allowed) {
      return StanzaError::forbidden();  // §8.1.3 #2: not allowed to create nodes
    }
    if (service_.node_count_.load() >= cfg.pubsub.max_nodes) {
      StanzaError e = StanzaError::resource_constraint();
      e.text = "this service has reached its limit of nodes";
      return e;
    }
    return std::nullopt;
  }

  bool is_admin(const Jid& bare) const override {
    return service_.admins_.contains(bare.bare_str());
  }

  std::int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  asio::awaitable<bool> store_node(Node node) override {
    if (stored_.insert(node.name).second) {
      ++service_.node_count_;
    }
    std::string domain = service_.domain_, key = node.name, value = xml::to_string(node_to_xml(node));
    auto op = service_.ctx_.storage().run([domain, key, value](storage::Backend& b) {
      return b.kv_set(domain, "", kNodes, key, value);
    });
    storage::Status st = co_await std::move(op);
    co_return st == storage::Status::kOk;
  }

  asio::awaitable<bool> store_item(std::string node, Item item) override {
    std::string domain = service_.domain_, key = item_key(node, item.id),
                value = xml::to_string(item_to_xml(item));
    auto op = service_.ctx_.storage().run([domain, key, value](storage::Backend& b) {
      return b.kv_set(domain, "", kItems, key, value);
    });
    storage::Status st = co_await std::move(op);
    co_return st == storage::Status::kOk;
  }

  asio::awaitable<bool> remove_items(std::string node, std::vector<std::string> ids) override {
    std::string domain = service_.domain_;
    std::vector<std::string> keys;
    for (const auto& id : ids) {
      keys.push_back(item_key(node, id));
    }
    auto op = service_.ctx_.storage().run([domain, keys](storage::Backend& b) {
      bool ok = true;
      for (const auto& k : keys) {
        auto st = b.kv_delete(domain, "", kItems, k);
        ok = ok && (st == storage::Status::kOk || st == storage::Status::kNotFound);
      }
      return ok;
    });
    co_return co_await std::move(op);
  }

  asio::awaitable<bool> remove_node(std::string node) override {
    if (stored_.erase(node) > 0) {
      --service_.node_count_;
    }
    std::string domain = service_.domain_;
    auto op = service_.ctx_.storage().run([domain, node](storage::Backend& b) {
      std::string prefix = item_key(node, "");
      bool ok = true;
      for (const auto& k : b.kv_keys(domain, "", kItems)) {
        if (k.starts_with(prefix)) {
          auto st = b.kv_delete(domain, "", kItems, k);
          ok = ok && (st == storage::Status::kOk || st == storage::Status::kNotFound);
        }
      }
      auto st = b.kv_delete(domain, "", kNodes, node);
      return ok && (st == storage::Status::kOk || st == storage::Status::kNotFound);
    });
    co_return co_await std::move(op);
  }

  // Names with a stored record, for the service's node count.
  std::set<std::string> stored_;

 private:
  Service& service_;
  [[maybe_unused]] std::size_t shard_;
};

struct Service::Shard {
  Shard(Service& service, std::size_t index, Options options)
      : host(service, index), engine(host, std::move(options)) {}
  ShardHost host;
  NodeService engine;
};

Service::Service(module::ModuleContext& ctx, std::string domain, std::string parent)
    : ctx_(ctx), domain_(std::move(domain)), parent_(std::move(parent)) {
  const config::Config& cfg = ctx.config();
  for (const auto* list : {&cfg.admins, &cfg.pubsub.admins}) {
    for (const std::string& a : *list) {
      if (auto j = Jid::parse(a)) {
        admins_.insert(j->bare_str());
      }
    }
  }
  Options o;
  o.jid = *Jid::parse(domain_);
  o.pep = false;
  o.defaults = defaults_from(cfg);
  o.limits.max_items = cfg.pubsub.max_items;
  o.limits.max_payload_size = cfg.pubsub.max_payload_size;
  o.limits.max_nodes = static_cast<std::size_t>(-1);  // counted for the whole service (may_create)
  std::size_t n = std::max<std::size_t>(1, ctx.sink().shard_count());
  for (std::size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(*this, i, o));
  }
}

Service::~Service() = default;

std::size_t Service::shard_of_node(std::string_view node) const {
  return std::hash<std::string_view>{}(node) % shards_.size();
}

void Service::load() {
  std::string domain = domain_;
  auto nodes = ctx_.storage().run_sync(
      [domain](storage::Backend& b) { return b.kv_get_all(domain, "", kNodes); });
  auto items = ctx_.storage().run_sync(
      [domain](storage::Backend& b) { return b.kv_get_all(domain, "", kItems); });
  std::map<std::string, Node> loaded;
  for (const auto& [key, value] : nodes) {
    Element e;
    std::optional<Node> node;
    if (xml::parse_element(value, e)) {
      node = node_from_xml(e);
    }
    if (!node || node->name != key) {
      log::warn("pubsub: ignoring unreadable stored node '{}' of {}", key, domain_);
      continue;
    }
    loaded.emplace(key, std::move(*node));
  }
  std::size_t item_count = 0;
  for (const auto& [key, value] : items) {
    auto nl = key.find('\n');
    auto it = nl == std::string::npos ? loaded.end() : loaded.find(key.substr(0, nl));
    Element e;
    std::optional<Item> item;
    if (it != loaded.end() && xml::parse_element(value, e)) {
      item = item_from_xml(e);
    }
    if (!item) {
      log::warn("pubsub: ignoring unreadable stored item '{}' of {}", key, domain_);
      continue;
    }
    it->second.items.push_back(std::move(*item));
    ++item_count;
  }
  for (auto& [name, node] : loaded) {
    Shard& sh = *shards_[shard_of_node(name)];
    sh.host.stored_.insert(name);
    sh.engine.restore(std::move(node));
  }
  node_count_ = loaded.size();
  if (!loaded.empty()) {
    log::info("pubsub: {} loaded {} nodes with {} items", domain_, loaded.size(), item_count);
  }
}

namespace {

void send_result(module::ModuleContext& ctx, const Element& request, IqResult result) {
  if (auto* err = std::get_if<StanzaError>(&result)) {
    ctx.send(xmpp::make_error_reply(request, *err));
    return;
  }
  const Element* payload = std::get_if<Element>(&result);
  ctx.send(xmpp::make_iq_result(request, payload));
}

}  // namespace

// One request handled by one shard's engine, on that shard.
asio::awaitable<void> Service::on_shard(Service* self, std::size_t shard, xmpp::StanzaPtr stanza,
                                        Jid from) {
  NodeService& engine = self->shards_[shard]->engine;
  std::vector<Element> after_reply;
  auto op = engine.handle(*stanza, from, &after_reply);
  IqResult result = co_await std::move(op);
  send_result(self->ctx_, *stanza, std::move(result));
  for (Element& e : after_reply) {  // e.g. §6.1.7: the last item after the subscribe result
    self->ctx_.send(std::move(e));
  }
}

asio::awaitable<IqResult> Service::part_of(Service* self, std::size_t shard, Element iq,
                                           Jid from) {
  auto op = self->shards_[shard]->engine.handle(std::move(iq), std::move(from));
  co_return co_await std::move(op);
}

asio::awaitable<module::DiscoItemsResult> Service::items_of(Service* self, std::size_t shard,
                                                            std::string node, Jid from) {
  auto op = self->shards_[shard]->engine.disco_items(std::move(node), std::move(from));
  co_return co_await std::move(op);
}

asio::awaitable<module::DiscoInfoResult> Service::info_of(Service* self, std::size_t shard,
                                                          std::string node, Jid from) {
  auto op = self->shards_[shard]->engine.disco_info(std::move(node), std::move(from));
  co_return co_await std::move(op);
}

// §5.6 / §5.7 without a node: every shard's part, merged into one <subscriptions/> or
// <affiliations/>. The first error wins.
asio::awaitable<void> Service::gather(Service* self, xmpp::StanzaPtr stanza, Jid from) {
  std::optional<Element> merged;
  for (std::size_t i = 0; i < self->shards_.size(); ++i) {
    auto op = asio::co_spawn(self->ctx_.sink().shard_executor(i),
                             part_of(self, i, *stanza, from), asio::use_awaitable);
    IqResult r = co_await std::move(op);
    if (auto* err = std::get_if<StanzaError>(&r)) {
      self->ctx_.send(xmpp::make_error_reply(*stanza, *err));
      co_return;
    }
    auto* payload = std::get_if<Element>(&r);
    if (payload == nullptr) {
      continue;
    }
    if (!merged) {
      merged = *payload;
      continue;
    }
    // <pubsub><subscriptions>...</subscriptions></pubsub>: append this part's entries.
    Element* into = nullptr;
    for (Element& c : merged->nodes()) {
      if (!c.is_text()) {
        into = &c;
        break;
      }
    }
    auto theirs = payload->elements();
    if (into != nullptr && !theirs.empty()) {
      for (const Element* e : theirs.front()->elements()) {
        into->add_child(*e);
      }
    }
  }
  send_result(self->ctx_, *stanza,
              merged ? IqResult(std::move(*merged)) : IqResult(module::Empty{}));
}

asio::awaitable<void> Service::disco(Service* self, xmpp::StanzaPtr stanza, Jid from) {
  const Element& s = *stanza;
  const Element& q = *s.elements().front();
  std::string node(q.attr_or("node"));
  bool info = q.xmlns() == xns::kDiscoInfo;
  if (node.empty() && info) {
    // §5.1: the service's identity and features.
    Element result("query", std::string(xns::kDiscoInfo));
    Element& id = result.add_child("identity", std::string(xns::kDiscoInfo));
    id.set_attr("category", "pubsub");
    id.set_attr("type", "service");
    id.set_attr("name", "Publish-Subscribe");
    std::vector<std::string> features = NodeService::features(false);
    for (std::string_view f : {xns::kDiscoInfo, xns::kDiscoItems, xns::kPing, xns::kVersion}) {
      features.emplace_back(f);
    }
    std::sort(features.begin(), features.end());
    features.erase(std::unique(features.begin(), features.end()), features.end());
    for (const auto& f : features) {
      result.add_child("feature", std::string(xns::kDiscoInfo)).set_attr("var", f);
    }
    self->ctx_.send(xmpp::make_iq_result(s, &result));
    co_return;
  }
  Element result("query", std::string(info ? xns::kDiscoInfo : xns::kDiscoItems));
  if (!node.empty()) {
    result.set_attr("node", node);
  }
  std::size_t home = self->shard_of_node(node);
  if (info) {
    auto op = asio::co_spawn(self->ctx_.sink().shard_executor(home),
                             info_of(self, home, node, from), asio::use_awaitable);
    module::DiscoInfoResult r = co_await std::move(op);
    if (auto* err = std::get_if<StanzaError>(&r)) {
      self->ctx_.send(xmpp::make_error_reply(s, *err));
      co_return;
    }
    const auto& di = std::get<module::DiscoInfo>(r);
    for (const auto& i : di.identities) {
      Element& e = result.add_child("identity", std::string(xns::kDiscoInfo));
      e.set_attr("category", i.category);
      e.set_attr("type", i.type);
      if (!i.name.empty()) {
        e.set_attr("name", i.name);
      }
    }
    for (const auto& f : di.features) {
      result.add_child("feature", std::string(xns::kDiscoInfo)).set_attr("var", f);
    }
    for (const auto& f : di.forms) {
      result.add_child(f);
    }
    self->ctx_.send(xmpp::make_iq_result(s, &result));
    co_return;
  }
  // disco#items: of one node (its items), or of the service (every shard's nodes).
  std::vector<module::DiscoItem> items;
  std::size_t first = node.empty() ? 0 : home;
  std::size_t last = node.empty() ? self->shards_.size() : home + 1;
  for (std::size_t i = first; i < last; ++i) {
    auto op = asio::co_spawn(self->ctx_.sink().shard_executor(i), items_of(self, i, node, from),
                             asio::use_awaitable);
    module::DiscoItemsResult r = co_await std::move(op);
    if (auto* err = std::get_if<StanzaError>(&r)) {
      self->ctx_.send(xmpp::make_error_reply(s, *err));
      co_return;
    }
    auto& part = std::get<std::vector<module::DiscoItem>>(r);
    items.insert(items.end(), part.begin(), part.end());
  }
  if (node.empty()) {
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.node < b.node; });
  }
  for (const auto& it : items) {
    Element& e = result.add_child("item", std::string(xns::kDiscoItems));
    e.set_attr("jid", it.jid);
    if (!it.node.empty()) {
      e.set_attr("node", it.node);
    }
    if (!it.name.empty()) {
      e.set_attr("name", it.name);
    }
  }
  self->ctx_.send(xmpp::make_iq_result(s, &result));
}

asio::awaitable<void> Service::on_message(Service* self, std::size_t shard, xmpp::StanzaPtr stanza,
                                          Jid from) {
  auto op = self->shards_[shard]->engine.handle_message(*stanza, std::move(from));
  co_await std::move(op);
}

void Service::handle(xmpp::StanzaPtr stanza, Jid to, Jid from) {
  if (from.empty() || stanza == nullptr) {
    return;
  }
  const Element& s = *stanza;
  std::string type(s.attr_or("type"));
  if (type == "error" || type == "result") {
    return;
  }
  auto reply = [&](const StanzaError& err) { ctx_.send(xmpp::make_error_reply(s, err)); };
  auto spawn_on = [&](std::size_t shard, asio::awaitable<void> work) {
    asio::co_spawn(ctx_.sink().shard_executor(shard), std::move(work), asio::detached);
  };
  switch (xmpp::kind_of(s)) {
    case xmpp::StanzaKind::kPresence:
      return;  // nothing to subscribe to at the service's presence
    case xmpp::StanzaKind::kMessage: {
      if (!to.local().empty() || !to.resource().empty()) {
        if (type != "headline" && type != "groupchat") {
          reply(StanzaError::service_unavailable());
        }
        return;
      }
      // §8.6: an owner's answer to an authorization request names the node in the form.
      const Element* x = s.child("x", ns::kData);
      std::string node;
      if (x != nullptr) {
        for (const Element* f : x->elements()) {
          if (f->name() == "field" && f->attr_or("var") == "pubsub#node") {
            if (const Element* v = f->child("value", ns::kData)) {
              node = v->text();
            }
          }
        }
      }
      if (node.empty()) {
        if (type != "headline" && type != "groupchat") {
          reply(StanzaError::service_unavailable());
        }
        return;
      }
      std::size_t home = shard_of_node(node);
      spawn_on(home, on_message(this, home, std::move(stanza), std::move(from)));
      return;
    }
    case xmpp::StanzaKind::kOther:
      return;
    case xmpp::StanzaKind::kIq:
      break;
  }
  if (type != "get" && type != "set") {
    reply(StanzaError::bad_request("an iq must be of type get, set, result or error"));
    return;
  }
  std::vector<const Element*> children = s.elements();
  if (children.size() != 1) {
    reply(StanzaError::bad_request("an iq of type get or set must have exactly one child"));
    return;
  }
  if (!to.local().empty() || !to.resource().empty()) {
    reply(StanzaError::service_unavailable());  // nothing lives at other addresses
    return;
  }
  const Element& q = *children.front();
  if (q.name() == "query" && (q.xmlns() == xns::kDiscoInfo || q.xmlns() == xns::kDiscoItems)) {
    if (type != "get") {
      reply(StanzaError::bad_request());
      return;
    }
    std::size_t here = ctx_.sink().shard_of(to) % shards_.size();
    spawn_on(here, disco(this, std::move(stanza), std::move(from)));
    return;
  }
  if (type == "get" && q.name() == "ping" && q.xmlns() == xns::kPing) {
    ctx_.send(xmpp::make_iq_result(s));  // XEP-0199 §4.2
    return;
  }
  if (type == "get" && q.name() == "query" && q.xmlns() == xns::kVersion) {
    Element v("query", std::string(xns::kVersion));
    v.add_child("name", std::string(xns::kVersion)).add_text(ctx_.server_info().name);
    v.add_child("version", std::string(xns::kVersion)).add_text(ctx_.server_info().version);
    ctx_.send(xmpp::make_iq_result(s, &v));
    return;
  }
  if (q.name() != "pubsub" || (q.xmlns() != ns::kPubsub && q.xmlns() != ns::kOwner)) {
    reply(StanzaError::service_unavailable());
    return;
  }
  std::string node = node_of(q);
  if (node.find_first_of(std::string_view("\0\n\r\t", 4)) != std::string::npos) {
    // Node names are kept in storage keys "<node>\n<item>"; no client needs control characters.
    reply(pubsub_error("bad-request", "", "a node name must not contain control characters"));
    return;
  }
  if (node.empty() && q.xmlns() == ns::kPubsub) {
    const Element* create = q.child("create", ns::kPubsub);
    if (create != nullptr && type == "set") {
      // §8.1.2 instant node: the name is chosen here, so the request can go to its shard.
      Element rewritten = s;
      node = random_id(16);
      rewritten.child("pubsub", ns::kPubsub)->child("create", ns::kPubsub)->set_attr("node", node);
      std::size_t home = shard_of_node(node);
      spawn_on(home, on_shard(this, home, std::make_shared<const Element>(std::move(rewritten)),
                              std::move(from)));
      return;
    }
    bool listing = type == "get" && (q.child("subscriptions", ns::kPubsub) != nullptr ||
                                     q.child("affiliations", ns::kPubsub) != nullptr);
    if (listing) {
      std::size_t here = ctx_.sink().shard_of(to) % shards_.size();
      spawn_on(here, gather(this, std::move(stanza), std::move(from)));
      return;
    }
  }
  std::size_t home = shard_of_node(node);
  spawn_on(home, on_shard(this, home, std::move(stanza), std::move(from)));
}

}  // namespace starling::pubsub
