#pragma once
// Asynchronous DNS for server-to-server connections through c-ares, driven by the io_context of
// the shard that owns the resolver (one Resolver per shard; use it only on that shard).
//
// RFC 6120 §3.2.1: look up SRV "_xmpp-server._tcp.DOMAIN" (STARTTLS) and, per XEP-0368,
// "_xmpps-server._tcp.DOMAIN" (TLS from the first byte, ALPN "xmpp-server"); order the records by
// priority and, within a priority, by RFC 2782 weighted random selection; a single record whose
// target is "." means the domain offers no XMPP service. With no SRV records at all, fall back to
// the domain's own A/AAAA records on port 5269 (§3.2.2).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace starling::net {

// One place to try, in order.
struct S2sCandidate {
  std::string host;  // the SRV target (or the domain itself for the A/AAAA fallback)
  std::uint16_t port = 5269;
  bool direct_tls = false;  // from _xmpps-server (XEP-0368)
  // The host's addresses (AAAA and A), in the order to try them.
  std::vector<boost::asio::ip::address> addresses;
};

struct ResolveResult {
  enum class Error {
    kNone,
    kNotFound,  // NXDOMAIN, no address, or SRV "." (no service): remote-server-not-found
    kTimeout,   // the DNS servers did not answer in time: remote-server-timeout
  };
  Error error = Error::kNone;
  std::string message;  // for logs, e.g. "no SRV or A/AAAA records for example.net"
  std::vector<S2sCandidate> candidates;  // non-empty when error == kNone
};

struct ResolverOptions {
  // "ADDRESS:PORT" of a DNS server to ask instead of those of /etc/resolv.conf (tests, private
  // networks): "127.0.0.1:5353", "[::1]:53", or an address alone (port 53); empty: the system's.
  std::string dns_server;
  std::chrono::milliseconds timeout{5000};  // whole lookup, all queries together
};

// Checks a ResolverOptions::dns_server value (for configuration): the error says what is wrong.
Result<void> check_dns_server(std::string_view server);

// Lookups may run concurrently on one Resolver. Destroying the Resolver ends the lookups still
// running (they complete with kTimeout, "resolver shut down"); a resolve_s2s coroutine touches
// nothing of the Resolver after it suspends. A bad options.dns_server (see check_dns_server) or
// a failing c-ares set-up is logged, and every lookup then fails with kNotFound saying why.
class Resolver {
 public:
  Resolver(boost::asio::any_io_executor executor, ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The candidates for connecting to `domain` (an ASCII/A-label domain name), in order: SRV
  // records of both services ordered together (order_srv), each with the addresses of its target
  // (targets that resolve to no address are left out); or the A/AAAA fallback. When
  // options.timeout runs out with some targets resolved and others not, the resolved ones are
  // returned; with none, kTimeout.
  boost::asio::awaitable<ResolveResult> resolve_s2s(std::string domain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 2782 ordering, exposed for unit tests: ascending priority; within one priority, repeated
// weighted random choice (weight 0 records first in the running sum, as the RFC says).
// `random(n)` returns a uniform integer in [0, n]. Records of _xmpps-server and _xmpp-server are
// ordered together, "all priorities and weights are mixed" (XEP-0368 §3, rule 1). Within the
// running sum, records keep their input order (after the weight-0 ones): resolve_s2s passes the
// _xmpps-server records first, so at an exact tie a draw at the boundary prefers direct TLS,
// which saves the STARTTLS round trips.
struct SrvRecord {
  std::string target;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  bool direct_tls = false;
};
std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records,
                                 const std::function<std::uint32_t(std::uint32_t)>& random);

}  // namespace starling::net
