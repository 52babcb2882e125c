#pragma once
// The composition root: configuration, storage, TLS, shards, router, modules, listeners and
// signals. Core code never includes a module header; the module list is generated.
#include <memory>

#include "base/result.hpp"
#include "server/config/config.hpp"

namespace starling::server {

class Server {
 public:
  static Result<std::unique_ptr<Server>> create(config::Config config);
  virtual ~Server() = default;
  // Runs until SIGTERM/SIGINT; returns the process exit code.
  virtual int run() = 0;
};

}  // namespace starling::server
