// Group chat broadcast (modules/xep0045_muc): a real Room whose host routes through the real
// Router (one shard, run by the benchmark itself), with N occupants that are bound sessions
// counting deliveries. One iteration: a groupchat message from one occupant enters the room,
// which reflects it to every occupant (XEP-0045 §7.4): one copy per occupant session, each with
// its own 'to', routed and delivered.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "module/module.hpp"
#include "modules/xep0045_muc/room.hpp"
#include "net/shards.hpp"
#include "router/router.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"
#include "router_env.hpp"
#include "support.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::microbench {
namespace {

namespace asio = boost::asio;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "microbench: %s\n", why);
  std::abort();
}

class Occupant : public session::LocalSession {
 public:
  void deliver(xmpp::StanzaPtr) override { ++delivered; }
  void kick(std::string_view, std::string_view) override {}
  void set_filter(session::FilterPtr) override {}
  void set_audience(session::AudiencePtr) override {}
  void set_presence_states(session::PresenceStatesPtr) override {}
  std::size_t delivered = 0;
};

// The room's host: routes what the room sends, as the MUC service does (ModuleContext::send).
class Host : public muc::RoomHost {
 public:
  explicit Host(router::Router& r) : router_(r) {}
  void send(xml::Element stanza) override {
    router_.route(std::make_shared<const xml::Element>(std::move(stanza)));
  }
  void save(const muc::Room&) override {}
  void remove(const muc::Room&) override {}
  bool is_service_admin(const xmpp::Jid&) const override { return false; }
  std::int64_t now() const override { return 1'700'000'000; }
  std::size_t max_history() const override { return 50; }
  std::size_t max_occupants() const override { return 100000; }

 private:
  router::Router& router_;
};

class Env {
 public:
  explicit Env(std::size_t occupants)
      : shards_(1), storage_(open_temp_storage(dir_)), router_(shards_, {"example.com"}, registry_,
                                                         *storage_),
        host_(router_) {
    muc::RoomConfig config;
    config.max_users = 0;
    config.history_length = 20;
    room_ = std::make_unique<muc::Room>(host_, *xmpp::Jid::parse("room@conference.example.com"),
                                        config);
    for (std::size_t i = 0; i < occupants; ++i) {
      std::string user = "user" + std::to_string(i) + "@example.com/desk";
      auto s = bind(user);
      xml::Element p("presence", std::string(ns::kClient));
      p.set_attr("from", user);
      std::string to = "room@conference.example.com/nick" + std::to_string(i);
      p.set_attr("to", to);
      p.add_child("x", "http://jabber.org/protocol/muc");
      room_->handle(p, *xmpp::Jid::parse(to), *xmpp::Jid::parse(user));
      poll();
      sessions_.push_back(std::move(s));
    }
    if (room_->occupant_count() != occupants) {
      fail("occupants did not all enter");
    }
  }
  ~Env() {
    room_.reset();
    shards_.stop();
    storage_->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void poll() { shards_.context(0).poll(); }
  muc::Room& room() { return *room_; }
  std::size_t delivered() const {
    std::size_t n = 0;
    for (const auto& s : sessions_) {
      n += s->delivered;
    }
    return n;
  }

 private:
  std::shared_ptr<Occupant> bind(const std::string& full) {
    auto session = std::make_shared<Occupant>();
    bind_available(router_, shards_.context(0), full, session);
    return session;
  }

  std::filesystem::path dir_;
  net::Shards shards_;
  std::unique_ptr<storage::Storage> storage_;
  module::Registry registry_;
  router::Router router_;
  Host host_;
  std::unique_ptr<muc::Room> room_;
  std::vector<std::shared_ptr<Occupant>> sessions_;
};

void BM_MucBroadcast(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Env e(n);
  xml::Element m = parse_stanza(
      "<message type='groupchat' to='room@conference.example.com' id='m1'>"
      "<body>Art thou not Romeo, and a Montague?</body></message>");
  m.set_attr("from", "user0@example.com/desk");
  const auto to = *xmpp::Jid::parse("room@conference.example.com");
  const auto from = *xmpp::Jid::parse("user0@example.com/desk");
  const std::size_t before = e.delivered();
  for (auto _ : state) {
    e.room().handle(m, to, from);
    e.poll();
  }
  if (e.delivered() - before != n * static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("deliveries do not match");
    return;
  }
  // Items = deliveries: the time per item is the cost of one occupant's copy.
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.counters["occupants"] = static_cast<double>(n);
}
BENCHMARK(BM_MucBroadcast)->Arg(10)->Arg(100)->Arg(1000)->Apply(fixed_iterations);

}  // namespace
}  // namespace starling::microbench
