#include "router_env.hpp"

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "xmpp/namespaces.hpp"

namespace starling::microbench {
namespace {

[[noreturn]] void die(const char* why) {
  std::fprintf(stderr, "microbench: %s\n", why);
  std::abort();
}

}  // namespace

std::unique_ptr<storage::Storage> open_temp_storage(std::filesystem::path& dir) {
  char tmpl[] = "/tmp/starling-microbench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    die("mkdtemp failed");
  }
  dir = tmpl;
  auto backend = storage::open_sqlite(dir / "bench.db");
  if (!backend.ok()) {
    die("cannot open SQLite");
  }
  return std::make_unique<storage::Storage>(std::move(*backend));
}

void bind_available(router::Router& router, boost::asio::io_context& ctx, std::string_view full,
                    std::shared_ptr<session::LocalSession> session) {
  auto jid = xmpp::Jid::parse(full);
  if (!jid) {
    die("bad JID");
  }
  bool done = false;
  std::uint64_t id = 0;
  auto op = router.bind(*jid, session, 0);
  boost::asio::co_spawn(ctx, std::move(op),
                        [&](std::exception_ptr e, router::Router::BindResult r) {
                          if (e) {
                            die("bind failed");
                          }
                          id = r.id;
                          done = true;
                        });
  while (!done) {
    ctx.poll();
  }
  xml::Element presence("presence", std::string(ns::kClient));
  presence.set_attr("from", jid->str());
  router.set_presence(*jid, id, true, 0,
                      std::make_shared<const xml::Element>(std::move(presence)));
  ctx.poll();
}

}  // namespace starling::microbench
