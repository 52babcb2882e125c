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
#include <vector>

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
  // networks); empty: the system's.
  std::string dns_server;
  std::chrono::milliseconds timeout{5000};  // whole lookup, all queries together
};

class Resolver {
 public:
  Resolver(boost::asio::any_io_executor executor, ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The candidates for connecting to `domain` (an ASCII/A-label domain name), in order.
  boost::asio::awaitable<ResolveResult> resolve_s2s(std::string domain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 2782 ordering, exposed for unit tests: ascending priority; within one priority, repeated
// weighted random choice (weight 0 records first in the running sum, as the RFC says).
// `random(n)` returns a uniform integer in [0, n]. Records of _xmpps-server and _xmpp-server are
// ordered together (XEP-0368 §3.?: see the XEP for ties).
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
