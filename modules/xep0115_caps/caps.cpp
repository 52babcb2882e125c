// XEP-0115 Entity Capabilities.
//
// The server's own caps: once every module has started, the server's disco#info (identities,
// features, XEP-0128 forms) is hashed per §5.1 and offered as a <c/> stream feature (§6.3);
// disco#info for the node "https://starling.im#<ver>" answers the same as without a node.
//
// Clients' caps: when a session's broadcast presence carries <c hash node ver/>, the server looks
// the 'ver' up; when it is not known it sends disco#info for node#ver to that full JID (§6.2),
// checks the result per §5.4 and caches verified vers; events::CapsVerified tells other modules
// when a client's caps become known. The same is done for the clients of federated contacts,
// whose presence reaches a local account (events::InboundPresence): XEP-0163 §4.4 filters
// notifications to them by their "+notify" features too. Presence from MUC occupants (with
// <x xmlns='http://jabber.org/protocol/muc#user'/>) is not followed: a room's occupants are no
// PEP contacts. Other modules ask through the CapsLookup
// the module provides ("what does this full JID support", "does it want +notify for node X").
//
// No locks on the stanza path: the state is per shard (DESIGN.md "shared nothing").
//  - Verified vers ("hash ver" -> EntityCaps) are replicated: each shard has its own map, and a
//    newly verified ver is posted to every shard, which inserts the same immutable shared_ptr.
//    Readers on a shard read their own map. Distinct vers are few (one per client version).
//  - What each full JID announced lives on the shard that owns its account's session-table
//    partition (the router's shard_of), where the disco#info response to it arrives too (the
//    router handles stanzas from an account on that shard) and where lookups are posted.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "base/log.hpp"
#include "base/random.hpp"
#include "module/module.hpp"
#include "modules/xep0115_caps/caps_hash.hpp"
#include "server/config/config.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

namespace asio = boost::asio;
using module::Target;

constexpr std::string_view kServerNode = "https://starling.im";
constexpr std::string_view kIdPrefix = "caps-";
// Bounds: distinct verified vers kept per shard (a client can mint any number of valid vers).
constexpr std::size_t kMaxVerified = 4096;
// Bounds: remote full JIDs followed per shard. A remote client whose server never sends its
// unavailable presence would stay otherwise; past the bound an arbitrary remote entry goes (its
// caps are learnt again at its next presence).
constexpr std::size_t kMaxRemote = 20000;
constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";

struct Announced {
  std::string key;   // "hash ver": the verified-map key
  std::string node;  // node#ver, the disco node queried
  std::string via;   // the local domain the disco#info query is sent from
  bool queried = false;
  bool remote = false;
};

struct Shard {
  std::unordered_map<std::string, module::CapsPtr> verified;
  std::unordered_map<std::string, Announced> jids;  // full JID -> its announcement
  std::size_t remote = 0;                           // entries of `jids` with `remote`
};

struct Announcement {
  xmpp::Jid jid;
  std::string hash, node, ver;
  std::string via;  // see Announced::via
  bool usable = false;
  bool remote = false;
};

class Caps final : public module::Module {
 public:
  std::string_view name() const override { return "xep0115_caps"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0115", "1.6.0", "complete",
             "the server's caps as a stream feature and its node#ver; the caps of local clients "
             "and of federated contacts' clients are queried and verified (§5.4, "
             "sha-1/sha-224/sha-256/sha-384/sha-512) and cached for other modules (CapsLookup); "
             "legacy caps without 'hash' are ignored",
             "tests/e2e/test_caps.py, tests/e2e/test_pep_federation.py, "
             "modules/xep0115_caps/caps_hash_test.cpp"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    shards_.resize(ctx.sink().shard_count());
    ctx.add_feature(Target::kServer, std::string(caps::kNs));  // §7
    ctx.on<events::PresenceBroadcast>([this](const events::PresenceBroadcast& e) { observe(e); });
    ctx.on<events::InboundPresence>(
        [this](const events::InboundPresence& e) { observe_remote(e); });
    ctx.on_iq_response(std::string(kIdPrefix),
                       [this](xmpp::StanzaPtr response) { answered(std::move(response)); });
    ctx.provide_caps([this](xmpp::Jid full) { return lookup(std::move(full)); });
  }

  // §5.1 over the server's final disco#info, then the stream feature and the node (§6.3).
  void all_started(module::ModuleContext& ctx) override {
    const module::Registry& reg = ctx.registry();
    module::DiscoInfo info{reg.identities(Target::kServer), reg.features(Target::kServer),
                           reg.disco_forms(Target::kServer)};
    xml::Element q("query", std::string(ns::kDiscoInfo));
    for (const auto& id : info.identities) {
      auto& e = q.add_child("identity", std::string(ns::kDiscoInfo));
      e.set_attr("category", id.category);
      e.set_attr("type", id.type);
      e.set_attr("name", id.name);
    }
    for (const auto& f : info.features) {
      q.add_child("feature", std::string(ns::kDiscoInfo)).set_attr("var", f);
    }
    for (const auto& form : info.forms) {
      q.add_child(form);
    }
    std::string why;
    auto s = caps::verification_string(q, &why);
    if (!s) {
      throw std::logic_error("xep0115_caps: the server's disco#info is ill-formed: " + why);
    }
    std::string ver = *caps::hash_ver("sha-1", *s);
    xml::Element c("c", std::string(caps::kNs));
    c.set_attr("hash", "sha-1");
    c.set_attr("node", std::string(kServerNode));
    c.set_attr("ver", ver);
    ctx.add_stream_feature(std::move(c));
    ctx.on_disco_node(
        Target::kServer, std::string(kServerNode) + "#" + ver,
        {[info](const module::Iq&) -> asio::awaitable<module::DiscoInfoResult> { co_return info; },
         nullptr});
    log::debug("caps: server ver {}", ver);
  }

 private:
  // What an available presence announces (§5.4 1: no 'hash' is the legacy format, not
  // supported); nothing usable for unavailable presence.
  static Announcement announcement(const xmpp::Jid& jid, const xml::Element& presence,
                                   bool available) {
    Announcement a;
    a.jid = jid;
    if (available) {
      if (const xml::Element* c = presence.child("c", caps::kNs)) {
        a.hash = c->attr_or("hash");
        a.node = c->attr_or("node");
        a.ver = c->attr_or("ver");
      }
    }
    a.usable = !a.hash.empty() && !a.node.empty() && !a.ver.empty() &&
               caps::hash_ver(a.hash, "").has_value();
    return a;
  }

  // On the session's shard: hand the announcement to the account's partition shard.
  void observe(const events::PresenceBroadcast& e) {
    Announcement a = announcement(e.jid, *e.stanza, e.available);
    a.via = e.jid.domain();
    post_announcement(std::move(a));
  }

  // A federated contact's client, seen through its presence to a local account (on that
  // account's shard): handed to the shard that owns the remote JID, where its disco#info
  // answer is handled (the router handles stanzas to a served domain on the sender's shard).
  void observe_remote(const events::InboundPresence& e) {
    if (e.from.resource().empty() || is_local(e.from.domain()) ||
        e.stanza->child("x", kMucUserNs) != nullptr) {
      return;
    }
    Announcement a = announcement(e.from, *e.stanza, e.available);
    a.via = e.to.domain();
    a.remote = true;
    post_announcement(std::move(a));
  }

  bool is_local(const std::string& domain) const {
    const auto& domains = ctx_->config().domains;
    return std::find(domains.begin(), domains.end(), domain) != domains.end() ||
           ctx_->registry().find_service(domain) != nullptr;
  }

  void post_announcement(Announcement a) {
    std::size_t shard = ctx_->sink().shard_of(a.jid);
    asio::post(ctx_->sink().shard_executor(shard),
               [this, shard, a = std::move(a)] { announce(shard, a); });
  }

  // On the shard owning a.jid.
  void announce(std::size_t shard, const Announcement& in) {
    Shard& sh = shards_[shard];
    std::string full = in.jid.str();
    if (!in.usable) {
      forget(sh, full);  // unavailable, or no (usable) caps any more
      return;
    }
    std::string key = in.hash + " " + in.ver;
    auto found = sh.jids.find(full);
    if (found == sh.jids.end()) {
      if (in.remote && sh.remote >= kMaxRemote) {
        for (auto it = sh.jids.begin(); it != sh.jids.end(); ++it) {
          if (it->second.remote) {
            forget(sh, it->first);
            break;
          }
        }
      }
      found = sh.jids.emplace(full, Announced{}).first;
      found->second.remote = in.remote;
      sh.remote += in.remote ? 1 : 0;
    }
    Announced& a = found->second;
    bool changed = a.key != key;
    if (changed) {
      a.key = key;
      a.node = in.node + "#" + in.ver;
      a.via = in.via;
      a.queried = false;
    }
    if (auto v = sh.verified.find(key); v != sh.verified.end()) {
      if (changed) {  // a ver already verified: known at once
        ctx_->fire(events::CapsVerified{in.jid, v->second, ctx_->sink().shard_executor(shard)});
      }
      return;
    }
    if (a.queried) {
      return;
    }
    // §6.2: ask the generating entity, at its full JID, for node#ver.
    a.queried = true;
    xml::Element iq("iq", std::string(ns::kClient));
    iq.set_attr("type", "get");
    iq.set_attr("from", a.via);
    iq.set_attr("to", full);
    iq.set_attr("id", std::string(kIdPrefix) + random_id(12));
    iq.add_child("query", std::string(ns::kDiscoInfo)).set_attr("node", a.node);
    ctx_->send(std::move(iq));
  }

  static void forget(Shard& sh, const std::string& full) {
    auto it = sh.jids.find(full);
    if (it == sh.jids.end()) {
      return;
    }
    sh.remote -= it->second.remote ? 1 : 0;
    sh.jids.erase(it);
  }

  // On the responder's partition shard (the router handles a stanza from an account there).
  void answered(xmpp::StanzaPtr response) {
    auto from = xmpp::Jid::parse(response->attr_or("from"));
    if (!from) {
      return;
    }
    Shard& sh = shards_[ctx_->sink().shard_of(*from)];
    auto it = sh.jids.find(from->str());
    if (it == sh.jids.end() || !it->second.queried || sh.verified.contains(it->second.key)) {
      return;  // not asked, or no longer needed
    }
    const Announced& a = it->second;
    const xml::Element* q = response->child("query", ns::kDiscoInfo);
    if (response->attr_or("type") != "result" || q == nullptr || q->attr_or("node") != a.node) {
      log::debug("caps: {} did not answer disco#info for {}", from->str(), a.node);
      return;
    }
    auto space = a.key.find(' ');
    std::string hash = a.key.substr(0, space), ver = a.key.substr(space + 1);
    std::string why = "hash mismatch";
    auto s = caps::verification_string(*q, &why);
    auto computed = s ? caps::hash_ver(hash, *s) : std::nullopt;
    if (!computed || *computed != ver) {
      // §5.4 3.9: invalid: not cached; another entity announcing this ver will be asked.
      log::info("caps: {} announced {} ver {} but its disco#info does not verify ({})", from->str(),
                hash, ver, why);
      return;
    }
    auto caps = std::make_shared<const module::EntityCaps>(caps::caps_of(*q));
    log::debug("caps: verified {} ver {} from {}", hash, ver, from->str());
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      asio::post(ctx_->sink().shard_executor(i), [this, i, key = a.key, caps] {
        auto& verified = shards_[i].verified;
        if (verified.size() >= kMaxVerified && !verified.contains(key)) {
          verified.erase(verified.begin());
        }
        verified.emplace(key, caps);
        // Every client of this shard that announced the ver (the responder and any that
        // announced it while the query was out) now has known caps. New vers are rare.
        std::vector<xmpp::Jid> known;
        for (const auto& [jid, announced] : shards_[i].jids) {
          if (announced.key == key) {
            if (auto parsed = xmpp::Jid::parse(jid)) {
              known.push_back(std::move(*parsed));
            }
          }
        }
        for (auto& jid : known) {
          ctx_->fire(events::CapsVerified{std::move(jid), caps, ctx_->sink().shard_executor(i)});
        }
      });
    }
  }

  asio::awaitable<module::CapsPtr> lookup(xmpp::Jid full) {
    std::size_t shard = ctx_->sink().shard_of(full);
    auto body = [this, shard, full]() -> asio::awaitable<module::CapsPtr> {
      const Shard& sh = shards_[shard];
      auto it = sh.jids.find(full.str());
      if (it == sh.jids.end()) {
        co_return nullptr;
      }
      auto v = sh.verified.find(it->second.key);
      co_return v == sh.verified.end() ? nullptr : v->second;
    };
    auto op =
        asio::co_spawn(ctx_->sink().shard_executor(shard), std::move(body), asio::use_awaitable);
    co_return co_await std::move(op);
  }

  module::ModuleContext* ctx_ = nullptr;
  std::vector<Shard> shards_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0115_caps() { return std::make_unique<Caps>(); }
}  // namespace starling::modules
