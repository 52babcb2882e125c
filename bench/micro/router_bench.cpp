// Routing (src/router, src/session): the real Router with one shard, whose io_context the
// benchmark runs itself (route, then poll until every post has run), and fake sessions that
// count deliveries. A message from romeo@example.com/orchard goes to a bare JID with one
// resource, a bare JID with three (all at priority 0, so each gets a copy, RFC 6121 §8.5.2.1.1),
// or a full JID.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "module/module.hpp"
#include "net/shards.hpp"
#include "router/router.hpp"
#include "session/session_table.hpp"
#include "stanzas.hpp"
#include "storage/storage.hpp"
#include "router_env.hpp"
#include "support.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::microbench {
namespace {

namespace asio = boost::asio;

// A bound client session as the router sees it. With `serialize`, it also writes the stanza as
// C2sStream::deliver does (xml::to_string), so a pipeline benchmark includes that cost.
class CountingSession : public session::LocalSession {
 public:
  void deliver(xmpp::StanzaPtr stanza) override {
    ++delivered;
    if (serialize) {
      std::string out = xml::to_string(*stanza, ns::kClient);
      bytes += out.size();
      benchmark::DoNotOptimize(out.data());
    }
  }
  void kick(std::string_view, std::string_view) override { ++kicked; }
  void set_filter(session::FilterPtr) override {}
  void set_audience(session::AudiencePtr) override {}
  void set_presence_states(session::PresenceStatesPtr) override {}

  std::size_t delivered = 0;
  std::size_t kicked = 0;
  std::size_t bytes = 0;
  bool serialize = false;
};

// One router with one shard and a few bound, available sessions; built once, shared by the
// routing benchmarks.
class Env {
 public:
  Env()
      : shards_(1),
        storage_(open_temp_storage(dir_)),
        router_(shards_, {"example.com"}, registry_, *storage_) {
    romeo_ = bind("romeo@example.com/orchard");
    juliet_ = bind("juliet@example.com/balcony");
    for (const char* r :
         {"nurse@example.com/kitchen", "nurse@example.com/garden", "nurse@example.com/chapel"}) {
      nurse_.push_back(bind(r));
    }
  }
  ~Env() {
    shards_.stop();
    storage_->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  router::Router& router() { return router_; }
  // Runs every handler that is ready, including those posted while running.
  void poll() { shards_.context(0).poll(); }
  asio::io_context& context() { return shards_.context(0); }

  CountingSession& romeo() { return *romeo_; }
  CountingSession& juliet() { return *juliet_; }
  std::size_t nurse_delivered() const {
    std::size_t n = 0;
    for (const auto& s : nurse_) {
      n += s->delivered;
    }
    return n;
  }
  void set_serialize(bool on) {
    romeo_->serialize = juliet_->serialize = on;
    for (auto& s : nurse_) {
      s->serialize = on;
    }
  }

 private:
  std::shared_ptr<CountingSession> bind(const char* full) {
    auto session = std::make_shared<CountingSession>();
    bind_available(router_, context(), full, session);
    sessions_.push_back(session);
    return session;
  }

  std::filesystem::path dir_;
  net::Shards shards_;
  std::unique_ptr<storage::Storage> storage_;
  module::Registry registry_;
  router::Router router_;
  std::shared_ptr<CountingSession> romeo_, juliet_;
  std::vector<std::shared_ptr<CountingSession>> nurse_;
  std::vector<std::shared_ptr<CountingSession>> sessions_;
};

Env& env() {
  static Env e;
  return e;
}

// The chat message as the sender's stream hands it to the router: 'from' stamped, 'to' set.
xmpp::StanzaPtr message_to(std::string_view to) {
  xml::Element e = parse_stanza(chat_message());
  e.set_attr("to", std::string(to));
  e.set_attr("from", "romeo@example.com/orchard");
  return std::make_shared<const xml::Element>(std::move(e));
}

// Router::route of one immutable stanza, then the shard's handlers: the partition lookup and
// the delivery post to the session's shard.
void route(benchmark::State& state, std::string_view to, std::size_t recipients,
           std::size_t (*delivered)(Env&)) {
  Env& e = env();
  e.set_serialize(false);
  const xmpp::StanzaPtr stanza = message_to(to);
  const std::size_t before = delivered(e);
  for (auto _ : state) {
    e.router().route(stanza);
    e.poll();
  }
  if (delivered(e) - before != recipients * static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("deliveries do not match");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deliveries"] = static_cast<double>(recipients);
}

void BM_RouteBare1(benchmark::State& state) {
  route(state, "juliet@example.com", 1, [](Env& e) { return e.juliet().delivered; });
}
void BM_RouteBare3(benchmark::State& state) {
  route(state, "nurse@example.com", 3, [](Env& e) { return e.nurse_delivered(); });
}
void BM_RouteFull(benchmark::State& state) {
  route(state, "juliet@example.com/balcony", 1, [](Env& e) { return e.juliet().delivered; });
}
BENCHMARK(BM_RouteBare1)->Apply(fixed_iterations);
BENCHMARK(BM_RouteBare3)->Apply(fixed_iterations);
BENCHMARK(BM_RouteFull)->Apply(fixed_iterations);

// The floor under routing: one empty asio::post to the shard and the poll that runs it (a
// routed message takes two: to the partition's shard, then to the session's).
void BM_PostPoll(benchmark::State& state) {
  Env& e = env();
  std::size_t n = 0;
  for (auto _ : state) {
    asio::post(e.context(), [&n] { ++n; });
    e.poll();
  }
  if (n != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("posts lost");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PostPoll)->Apply(fixed_iterations);

// Everything a chat message costs in-process, minus TLS, sockets and the writer coroutine: the
// sender's parser gets the bytes (one stanza per read), the stream stamps 'from' and makes the
// StanzaPtr, the router routes it to a bare JID with one resource, and the recipient's session
// serializes it.
void BM_PipelineMessage(benchmark::State& state) {
  Env& e = env();
  e.set_serialize(true);
  std::string stanza = chat_message();
  xml::StreamParser parser;
  std::vector<xml::StreamEvent> events;
  if (parser.feed(kStreamHeader, events) != xml::ParseError::kNone) {
    state.SkipWithError("stream header refused");
    return;
  }
  const auto romeo = xmpp::Jid::parse("romeo@example.com/orchard");
  const std::size_t before = e.juliet().delivered;
  for (auto _ : state) {
    events.clear();
    parser.feed(stanza, events);
    for (auto& ev : events) {
      if (auto* el = std::get_if<xml::Element>(&ev)) {
        el->set_attr("from", romeo->str());
        e.router().route(std::make_shared<const xml::Element>(std::move(*el)));
      }
    }
    e.poll();
  }
  e.set_serialize(false);
  if (e.juliet().delivered - before != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("deliveries do not match");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(stanza.size()) * state.iterations());
}
BENCHMARK(BM_PipelineMessage)->Apply(fixed_iterations);

}  // namespace
}  // namespace starling::microbench
