#include "net/shards.hpp"

#include "base/log.hpp"

namespace starling::net {

Shards::Shards(std::size_t n) {
  if (n == 0) {
    n = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  }
  for (std::size_t i = 0; i < n; ++i) {
    // concurrency hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

Shards::~Shards() {
  stop();
  join();
}

void Shards::start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] {
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          // A handler that throws is a bug; log it and keep the shard alive.
          log::error("shard: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

void Shards::stop() {
  guards_.clear();
  for (auto& ctx : contexts_) {
    ctx->stop();
  }
}

void Shards::join() {
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

}  // namespace starling::net
