#include "server/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/module_list.hpp"
#include "net/shards.hpp"
#include "net/tls.hpp"
#include "router/router.hpp"
#include "storage/storage.hpp"
#include "stream/c2s/c2s_stream.hpp"
#include "stream/s2s/s2s.hpp"
#include "base/random.hpp"

namespace starling::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(config::Config c) : config_(std::move(c)) {}
  ~ServerImpl() override {
    // Order: stop threads before the objects they use go away.
    if (shards_) {
      shards_->stop();
      shards_->join();
    }
    if (storage_) {
      storage_->stop();
    }
  }

  Result<void> init() {
    info_.version = STARLING_VERSION;
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec) {
      return make_error(config_.data_dir.string() +
                        ": cannot create data directory: " + ec.message());
    }
    auto backend = storage::open_sqlite(config_.data_dir / "starling.db");
    if (!backend) {
      return backend.error();
    }
    storage_ = std::make_unique<storage::Storage>(std::move(*backend));
    // Anonymous domains (RFC 4505) are virtual hosts like the others, after them.
    std::vector<std::string> hosts = config_.domains;
    hosts.insert(hosts.end(), config_.anonymous_domains.begin(), config_.anonymous_domains.end());
    auto tls = net::TlsManager::create(config_.tls.certificate, config_.tls.key, config_.data_dir,
                                       hosts);
    if (!tls) {
      return tls.error();
    }
    tls_ = *tls;
    if (auto r = tls_->set_s2s_ca_file(config_.s2s.ca_file); !r) {
      return r.error();
    }
    shards_ = std::make_unique<net::Shards>(config_.workers);
    info_.shards = shards_->size();
    router_ = std::make_unique<router::Router>(*shards_, hosts, registry_, *storage_);
    tracker_ = std::make_unique<stream::StreamTracker>(shards_->size());
    // XEP-0185: the dialback secret; a random one per start unless configured (a cluster's
    // nodes must share it).
    std::string secret = config_.s2s.dialback_secret.empty() ? random_id(32)
                                                             : config_.s2s.dialback_secret;
    s2s_ = std::make_unique<stream::s2s::S2sManager>(config_, *tls_, *router_, *shards_,
                                                      std::move(secret));
    router_->set_remote(s2s_.get());
    env_ = std::make_unique<stream::C2sEnv>(
        stream::C2sEnv{config_, *tls_, *router_, *storage_, *tracker_, registry_});
    for (auto& m : modules::create_all()) {
      auto ctx = std::make_unique<module::ModuleContext>(std::string(m->name()), registry_,
                                                         *router_, config_, *storage_, info_);
      m->start(*ctx);
      contexts_.push_back(std::move(ctx));
      modules_.push_back(std::move(m));
    }
    for (std::size_t i = 0; i < modules_.size(); ++i) {
      modules_[i]->all_started(*contexts_[i]);  // e.g. XEP-0115: the server's 'ver' from all of it
    }
    for (const auto& ep : config_.c2s.listen) {
      if (auto r = listen(ep, Kind::kC2s); !r) {
        return r;
      }
    }
    for (const auto& ep : config_.c2s.direct_tls) {
      if (auto r = listen(ep, Kind::kC2sDirectTls); !r) {
        return r;
      }
    }
    for (const auto& ep : config_.s2s.listen) {
      if (auto r = listen(ep, Kind::kS2s); !r) {
        return r;
      }
    }
    for (const auto& ep : config_.s2s.direct_tls) {
      if (auto r = listen(ep, Kind::kS2sDirectTls); !r) {
        return r;
      }
    }
    return {};
  }

  int run() override {
    // OpenSSL writes TLS records to the sockets itself (net::Transport): a peer that has gone
    // must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    shards_->start();
    remove_anonymous_leftovers();
    for (auto& l : listeners_) {
      asio::co_spawn(main_, accept_loop(*l.acceptor, l.kind, l.compression), asio::detached);
    }
    asio::signal_set stop_signals(main_, SIGTERM, SIGINT);
    asio::signal_set hup(main_, SIGHUP);
    std::function<void()> wait_hup = [&] {
      hup.async_wait([&](boost::system::error_code ec, int) {
        if (ec) {
          return;
        }
        // SIGHUP: reload certificates; running streams keep theirs.
        if (auto r = tls_->reload(); r) {
          log::info("tls: certificates reloaded from {}", tls_->paths().certificate.string());
        } else {
          log::error("tls: reload failed, keeping the old certificates: {}", r.error().message);
        }
        wait_hup();
      });
    };
    wait_hup();
    stop_signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (!ec) {
        log::info("received signal {}, shutting down", sig);
        asio::co_spawn(main_, shutdown(), asio::detached);
        hup.cancel();
      }
    });
    log::info("Starling {} serving {} with {} worker threads", info_.version,
              fmt::join(config_.domains, ", "), shards_->size());
    if (!config_.anonymous_domains.empty()) {
      log::info("anonymous domains (SASL ANONYMOUS only): {}",
                fmt::join(config_.anonymous_domains, ", "));
    }
    main_.run();
    shards_->stop();
    shards_->join();
    storage_->stop();
    log::info("stopped");
    return 0;
  }

 private:
  enum class Kind { kC2s, kC2sDirectTls, kS2s, kS2sDirectTls };
  static const char* kind_name(Kind k) {
    switch (k) {
      case Kind::kC2s:
        return "c2s";
      case Kind::kC2sDirectTls:
        return "c2s-direct-tls";
      case Kind::kS2s:
        return "s2s";
      case Kind::kS2sDirectTls:
        return "s2s-direct-tls";
    }
    return "?";
  }
  struct Listener {
    std::unique_ptr<tcp::acceptor> acceptor;
    Kind kind;
    bool compression;  // XEP-0138 offered on this listener
  };

  // Accounts of anonymous domains live only as long as their session (RFC 4505 logins). Any
  // found at start-up were left by a crash: each is deleted through the one deletion path
  // (module::remove_account: contacts are told, then all its data goes), on the shards, while
  // the server already accepts connections (new anonymous accounts get fresh names).
  void remove_anonymous_leftovers() {
    for (const auto& domain : config_.anonymous_domains) {
      auto users = storage_->run_sync([domain](storage::Backend& b) { return b.list_users(domain); });
      if (users.empty()) {
        continue;
      }
      log::info("removing {} anonymous account(s) of {} left by an earlier run", users.size(),
                domain);
      for (const auto& user : users) {
        auto jid = xmpp::Jid::make(user, domain);
        if (!jid) {
          continue;
        }
        auto body = [](const module::Registry& registry, storage::Storage& store,
                       xmpp::Jid bare) -> asio::awaitable<void> {
          auto op = module::remove_account(registry, store, bare);
          co_await std::move(op);
        };
        std::size_t shard = shards_->next();
        asio::co_spawn(shards_->executor(shard), body(registry_, *storage_, *jid), asio::detached);
      }
    }
  }

  Result<void> listen(const config::Endpoint& ep, Kind kind) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(ep.host, ec);
    if (ec) {
      return make_error(std::string(kind_name(kind)) + ": bad listen address " + ep.str());
    }
    auto acc = std::make_unique<tcp::acceptor>(main_);
    tcp::endpoint endpoint(addr, ep.port);
    acc->open(endpoint.protocol(), ec);
    if (!ec) {
      acc->set_option(tcp::acceptor::reuse_address(true), ec);
      acc->bind(endpoint, ec);
    }
    if (!ec) {
      acc->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return make_error(std::string(kind_name(kind)) + ": cannot listen on " + ep.str() + ": " +
                        ec.message());
    }
    auto local = acc->local_endpoint();
    // Tests read the actual port from this line when the configured port is 0.
    log::info("listening {} on {}:{}{}", kind_name(kind), local.address().to_string(),
              local.port(), ep.compression ? " (stream compression offered)" : "");
    listeners_.push_back({std::move(acc), kind, ep.compression});
    return {};
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acc, Kind kind, bool compression) {
    while (acc.is_open()) {
      std::size_t shard = shards_->next();
      auto [ec, socket] =
          co_await acc.async_accept(shards_->context(shard), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acc.is_open()) {
          co_return;
        }
        log::warn("accept failed: {}", ec.message());
        asio::steady_timer t(main_, std::chrono::milliseconds(100));  // e.g. EMFILE: back off
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::post(shards_->executor(shard),
                 [this, shard, kind, compression, s = std::move(socket)]() mutable {
                   if (kind == Kind::kS2s || kind == Kind::kS2sDirectTls) {
                     s2s_->accept(std::move(s), shard, kind == Kind::kS2sDirectTls);
                     return;
                   }
                   std::make_shared<stream::C2sStream>(*env_, std::move(s), shard,
                                                       kind == Kind::kC2sDirectTls, compression)
                       ->start();
                 });
    }
  }

  asio::awaitable<void> shutdown() {
    for (auto& l : listeners_) {
      boost::system::error_code ec;
      l.acceptor->close(ec);
    }
    for (std::size_t i = 0; i < shards_->size(); ++i) {
      asio::post(shards_->executor(i), [this, i] {
        for (auto& s : tracker_->streams(i)) {
          s->shutdown();
        }
      });
    }
    s2s_->shutdown();
    // Wait (bounded) for every stream to send <system-shutdown/> and close.
    asio::steady_timer t(main_);
    std::size_t live = 0;
    for (int i = 0; i < 100; ++i) {
      live = 0;
      for (std::size_t s = 0; s < shards_->size(); ++s) {
        auto body = [this, s]() -> asio::awaitable<std::size_t> {
          co_return tracker_->count(s) + s2s_->live(s);
        };
        auto op = asio::co_spawn(shards_->executor(s), std::move(body), asio::use_awaitable);
        live += co_await std::move(op);
      }
      if (live == 0) {
        break;
      }
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (live > 0) {
      log::warn("shutdown: {} stream(s) still open after 5 s, stopping anyway", live);
    }
    main_.stop();
  }

  config::Config config_;
  module::ServerInfo info_;
  asio::io_context main_{1};
  std::unique_ptr<storage::Storage> storage_;
  std::shared_ptr<net::TlsManager> tls_;
  std::unique_ptr<net::Shards> shards_;
  module::Registry registry_;
  std::unique_ptr<router::Router> router_;
  std::unique_ptr<stream::StreamTracker> tracker_;
  std::unique_ptr<stream::C2sEnv> env_;
  std::unique_ptr<stream::s2s::S2sManager> s2s_;
  std::vector<std::unique_ptr<module::Module>> modules_;
  std::vector<std::unique_ptr<module::ModuleContext>> contexts_;
  std::vector<Listener> listeners_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::create(config::Config config) {
  auto s = std::make_unique<ServerImpl>(std::move(config));
  if (auto r = s->init(); !r) {
    return r.error();
  }
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace starling::server
