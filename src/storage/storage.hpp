#pragma once
// The storage service: every backend call runs on the storage executor (its own thread), never on
// a network thread; the awaiting coroutine resumes on its own shard (DESIGN.md).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "storage/backend.hpp"

namespace starling::storage {

class Storage {
 public:
  explicit Storage(std::unique_ptr<Backend> backend) : backend_(std::move(backend)), pool_(1) {}
  ~Storage() { pool_.join(); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // auto op = storage.run([d, u](Backend& b) { return b.get_account(d, u); });
  // auto account = co_await std::move(op);
  //
  // GCC 12 destroys temporaries of a co_await full-expression twice (GCC PR 100611, fixed in
  // 13): never write a lambda or other temporary with a destructor inside a co_await expression.
  // Build the awaitable in its own statement, then co_await the named value.
  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F, Backend&>> {
    using R = std::invoke_result_t<F, Backend&>;
    Backend* b = backend_.get();
    auto body = [b, f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(*b); };
    auto op =
        boost::asio::co_spawn(pool_.get_executor(), std::move(body), boost::asio::use_awaitable);
    co_return co_await std::move(op);
  }

  // Runs `f` on the storage executor and waits for it. Only for start-up, before the shards run
  // (a module loading what the router needs from its first stanza); never on a network thread.
  template <class F>
  auto run_sync(F f) -> std::invoke_result_t<F, Backend&> {
    std::packaged_task<std::invoke_result_t<F, Backend&>()> task(
        [b = backend_.get(), f = std::move(f)]() mutable { return f(*b); });
    auto result = task.get_future();
    boost::asio::post(pool_, std::move(task));
    return result.get();
  }

  // Stops accepting work and waits for queued calls to finish.
  void stop() { pool_.join(); }

 private:
  std::unique_ptr<Backend> backend_;
  boost::asio::thread_pool pool_;
};

}  // namespace starling::storage
