#pragma once
// Worker threads, each with its own io_context (DESIGN.md "shared nothing"). Every live entity is
// owned by exactly one shard for its whole life; others reach it with asio::post.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace starling::net {

class Shards {
 public:
  explicit Shards(std::size_t n);  // 0 = one per core
  ~Shards();
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t i) { return *contexts_[i]; }
  boost::asio::any_io_executor executor(std::size_t i) { return contexts_[i]->get_executor(); }
  // Round robin choice for a new connection.
  std::size_t next() { return rr_.fetch_add(1, std::memory_order_relaxed) % size(); }

  void start();  // one thread per shard
  void stop();   // stops every io_context
  void join();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> rr_{0};
};

}  // namespace starling::net
