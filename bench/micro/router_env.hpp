#pragma once
// Set-up shared by the benchmarks that drive the real Router (router_bench, muc_bench): a
// throw-away SQLite store, and binding a fake session as available, as a client's bind and
// initial presence do. Aborts on failure: a benchmark of a broken set-up is worthless.
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string_view>

#include "router/router.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"

namespace starling::microbench {

// Opens a store in a new directory under /tmp, whose path goes to `dir` (remove it afterwards).
std::unique_ptr<storage::Storage> open_temp_storage(std::filesystem::path& dir);

// Binds `full` to `session` on shard 0 (whose io_context `ctx` the caller runs) and records an
// available presence at priority 0.
void bind_available(router::Router& router, boost::asio::io_context& ctx, std::string_view full,
                    std::shared_ptr<session::LocalSession> session);

}  // namespace starling::microbench
