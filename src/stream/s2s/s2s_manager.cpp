// S2sManager: the outgoing links by domain pair, the incoming streams, dialback verification
// between them, and the router's route to remote domains.
#include <boost/asio/post.hpp>

#include "base/log.hpp"
#include "net/dns.hpp"
#include "net/shards.hpp"
#include "server/config/config.hpp"
#include "stream/s2s/dialback.hpp"
#include "stream/s2s/s2s.hpp"

namespace starling::stream::s2s {

namespace asio = boost::asio;

S2sManager::S2sManager(const config::Config& config, net::TlsManager& tls, router::Router& router,
                       net::Shards& shards, std::string dialback_secret)
    : config_(config), tls_(tls), router_(router), shards_(shards),
      secret_(std::move(dialback_secret)) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    per_shard_.push_back(std::make_unique<PerShard>());
  }
}

S2sManager::~S2sManager() = default;

std::size_t S2sManager::owner_of(std::string_view local, std::string_view remote) const {
  std::string key;
  key.reserve(local.size() + remote.size() + 1);
  key.append(local).append(" ").append(remote);
  return std::hash<std::string>{}(key) % shards_.size();
}

net::Resolver& S2sManager::resolver(std::size_t shard) {
  auto& r = per_shard_[shard]->resolver;
  if (!r) {
    net::ResolverOptions opts;
    opts.dns_server = config_.s2s.dns_server;
    r = std::make_unique<net::Resolver>(shards_.executor(shard), opts);
  }
  return *r;
}

std::string S2sManager::key(std::string_view receiving, std::string_view originating,
                            std::string_view stream_id) const {
  return dialback_key(secret_, receiving, originating, stream_id);
}

std::shared_ptr<S2sOut> S2sManager::link(std::size_t shard, const std::string& local,
                                         const std::string& remote) {
  auto& links = per_shard_[shard]->links;
  std::string k = local + ' ' + remote;
  auto it = links.find(k);
  if (it != links.end() && it->second->usable()) {
    return it->second;
  }
  if (it != links.end()) {
    links.erase(it);  // closing; its successor takes the pair
  }
  if (outgoing >= config_.s2s.max_links) {
    return nullptr;
  }
  auto l = std::make_shared<S2sOut>(*this, shard, local, remote);
  ++outgoing;
  links.emplace(std::move(k), l);
  add_stream(shard, l);
  return l;
}

void S2sManager::link_gone(std::size_t shard, const std::string& local, const std::string& remote,
                           S2sOut* l) {
  auto& links = per_shard_[shard]->links;
  auto it = links.find(local + ' ' + remote);
  if (it != links.end() && it->second.get() == l) {
    links.erase(it);
  }
  --outgoing;
  remove_stream(shard, l);
}

void S2sManager::send_remote(xmpp::StanzaPtr stanza, const xmpp::Jid& from, const xmpp::Jid& to) {
  std::string local(from.domain());
  std::string remote(to.domain());
  if (!config_.s2s.allowed(remote)) {
    // Policy (s2s.allow_domains / s2s.deny_domains).
    router_.bounce(*stanza, xmpp::StanzaError{xmpp::ErrorType::kCancel, "not-allowed",
                                              "Federation with " + remote +
                                                  " is not allowed by this server"});
    return;
  }
  std::size_t shard = owner_of(local, remote);
  asio::post(shards_.executor(shard), [this, shard, stanza = std::move(stanza),
                                       local = std::move(local), remote = std::move(remote)] {
    auto l = link(shard, local, remote);
    if (!l) {
      router_.bounce(*stanza, xmpp::StanzaError{xmpp::ErrorType::kWait, "resource-constraint",
                                                "Too many server-to-server links"});
      return;
    }
    l->enqueue(stanza);
  });
}

bool S2sManager::take_response(const xmpp::StanzaPtr& iq) {
  std::string_view id = iq->attr_or("id");
  constexpr std::string_view kPrefix = "s2sping-";
  if (id.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  // "s2sping-SHARD-RANDOM": the link's shard, then the link by its domain pair.
  std::string_view rest = id.substr(kPrefix.size());
  std::size_t shard = 0;
  auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0) {
    return true;
  }
  for (char c : rest.substr(0, dash)) {
    if (c < '0' || c > '9' || shard > shards_.size()) {
      return true;
    }
    shard = shard * 10 + static_cast<std::size_t>(c - '0');
  }
  if (shard >= shards_.size()) {
    return true;
  }
  auto from = xmpp::Jid::parse(iq->attr_or("from"));
  auto to = xmpp::Jid::parse(iq->attr_or("to"));
  if (!from || !to) {
    return true;
  }
  asio::post(shards_.executor(shard), [this, shard, local = std::string(to->domain()),
                                       remote = std::string(from->domain()), id = std::string(id)] {
    auto& links = per_shard_[shard]->links;
    if (auto it = links.find(local + ' ' + remote); it != links.end()) {
      it->second->pong(id);
    }
  });
  return true;
}

void S2sManager::accept(boost::asio::ip::tcp::socket socket, std::size_t shard, bool direct_tls) {
  std::make_shared<S2sIn>(*this, shard, std::move(socket), direct_tls)->start();
}

void S2sManager::verify(std::string receiving, std::string originating, std::string stream_id,
                        std::string key, std::size_t reply_shard, std::weak_ptr<S2sIn> in) {
  std::size_t shard = owner_of(receiving, originating);
  asio::post(shards_.executor(shard), [this, shard, receiving = std::move(receiving),
                                       originating = std::move(originating),
                                       stream_id = std::move(stream_id), key = std::move(key),
                                       reply_shard, in = std::move(in)]() mutable {
    auto answer = [this, reply_shard, in, receiving, originating](VerifyOutcome o,
                                                                  std::string condition) {
      asio::post(shards_.executor(reply_shard),
                 [in, o, condition = std::move(condition), receiving, originating] {
                   if (auto s = in.lock()) {
                     s->verified(originating, receiving, static_cast<int>(o), condition);
                   }
                 });
    };
    auto l = link(shard, receiving, originating);
    if (!l) {
      answer(VerifyOutcome::kError, "resource-constraint");
      return;
    }
    l->verify(S2sOut::Verify{std::move(stream_id), std::move(key), std::move(answer)});
  });
}

void S2sManager::add_stream(std::size_t shard, const std::shared_ptr<S2sStream>& s) {
  per_shard_[shard]->streams.emplace(s.get(), s);
}

void S2sManager::remove_stream(std::size_t shard, S2sStream* s) {
  per_shard_[shard]->streams.erase(s);
}

std::size_t S2sManager::live(std::size_t shard) const { return per_shard_[shard]->streams.size(); }

void S2sManager::shutdown() {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    asio::post(shards_.executor(i), [this, i] {
      std::vector<std::shared_ptr<S2sStream>> live;
      for (auto& [_, w] : per_shard_[i]->streams) {
        if (auto s = w.lock()) {
          live.push_back(std::move(s));
        }
      }
      for (auto& s : live) {
        s->shutdown();
      }
    });
  }
}

}  // namespace starling::stream::s2s
