#include "net/dns.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstring>
#include <random>
#include <unordered_map>

#include "base/log.hpp"

namespace starling::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// c-ares keeps process-wide state that must be set up once before the first channel.
void ensure_ares_library() {
  struct Library {
    Library() { ares_library_init(ARES_LIB_INIT_ALL); }
    ~Library() { ares_library_cleanup(); }
  };
  static Library library;
}

// What one query came back with.
enum class Outcome { kPending, kRecords, kNoRecords, kNxdomain, kTimeout, kFailed };

Outcome outcome_of(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return Outcome::kRecords;
    case ARES_ENODATA:
      return Outcome::kNoRecords;
    case ARES_ENOTFOUND:
      return Outcome::kNxdomain;
    case ARES_ETIMEOUT:
      return Outcome::kTimeout;
    default:  // SERVFAIL, REFUSED, FORMERR, a malformed answer, a bad name, ...
      return Outcome::kFailed;
  }
}

// ADDRESS, ADDRESS:PORT or [IPV6]:PORT.
struct DnsServer {
  int family = AF_INET;
  std::array<unsigned char, 16> addr{};
  int port = 53;
};

Result<DnsServer> parse_dns_server(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return make_error("bad DNS server \"" + std::string(s) + "\": " + std::string(why) +
                      " (expected ADDRESS:PORT, e.g. 127.0.0.1:53 or [::1]:53)");
  };
  std::string_view host = s;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) {
      return bad("no closing ']'");
    }
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return bad("text after ']'");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return bad("empty port");
      }
    }
  } else if (auto colon = s.find(':'); colon != std::string_view::npos) {
    if (s.find(':', colon + 1) != std::string_view::npos) {
      return bad("write an IPv6 address in brackets");
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) {
      return bad("empty port");
    }
  }
  DnsServer out;
  std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), out.addr.data()) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, h.c_str(), out.addr.data()) == 1) {
    out.family = AF_INET6;
  } else {
    return bad("not an IP address");
  }
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535) {
      return bad("port must be 1-65535");
    }
    out.port = p;
  }
  return out;
}

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

Result<void> check_dns_server(std::string_view server) {
  auto r = parse_dns_server(server);
  if (!r) {
    return r.error();
  }
  return {};
}

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records,
                                 const std::function<std::uint32_t(std::uint32_t)>& random) {
  // RFC 2782, "Usage rules": lowest priority first; within a priority, weighted random choice.
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  auto begin = records.begin();
  while (begin != records.end()) {
    auto end = std::find_if(begin, records.end(),
                            [&](const SrvRecord& r) { return r.priority != begin->priority; });
    std::vector<SrvRecord> group(std::make_move_iterator(begin), std::make_move_iterator(end));
    // "all those with weight 0 are placed at the beginning of the list"
    std::stable_partition(group.begin(), group.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
      std::uint32_t sum = 0;
      for (const auto& r : group) {
        sum += r.weight;
      }
      std::uint32_t pick = std::min(random(sum), sum);
      std::uint32_t running = 0;
      std::size_t chosen = group.size() - 1;
      for (std::size_t i = 0; i < group.size(); ++i) {
        running += group[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      out.push_back(std::move(group[chosen]));
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    begin = end;
  }
  return out;
}

// The c-ares channel and the asio objects that drive it: one descriptor watch per c-ares socket
// (told by the socket-state callback) and one timer for c-ares' own retransmissions and timeouts.
struct Resolver::Impl {
  struct Watch {
    Impl* impl;
    int fd;
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;
    bool released = false;
  };

  struct Lookup;

  Impl(asio::any_io_executor ex, ResolverOptions opts)
      : executor(std::move(ex)), options(std::move(opts)), timer(executor) {}
  ~Impl() {
    if (channel != nullptr) {
      // Completes every query still running with ARES_EDESTRUCTION (their lookups end) and closes
      // the sockets, which the socket-state callback releases from their watches first.
      ares_destroy(channel);
    }
    for (auto& [fd, watch] : watches) {
      watch->released = true;
      watch->descriptor.release();
    }
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->socket_state(fd, readable != 0, writable != 0);
  }

  void socket_state(int fd, bool readable, bool writable) {
    auto it = watches.find(fd);
    if (!readable && !writable) {
      // c-ares is about to close the socket: asio must forget the descriptor first (release
      // cancels the waits; their handlers see `released`).
      if (it != watches.end()) {
        it->second->released = true;
        it->second->descriptor.release();
        watches.erase(it);
      }
      return;
    }
    if (it == watches.end()) {
      auto watch =
          std::make_shared<Watch>(Watch{this, fd, asio::posix::stream_descriptor(executor)});
      error_code ec;
      watch->descriptor.assign(fd, ec);
      if (ec) {
        log::warn("dns: cannot watch a c-ares socket: {}", ec.message());
        return;  // its queries end by c-ares' timeout
      }
      it = watches.emplace(fd, std::move(watch)).first;
    }
    it->second->want_read = readable;
    it->second->want_write = writable;
    arm(it->second);
  }

  void arm(const std::shared_ptr<Watch>& w) {
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                               [weak = std::weak_ptr<Watch>(w)](error_code ec) {
                                 if (auto w = weak.lock()) {
                                   w->impl->ready(w, ec, true);
                                 }
                               });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                               [weak = std::weak_ptr<Watch>(w)](error_code ec) {
                                 if (auto w = weak.lock()) {
                                   w->impl->ready(w, ec, false);
                                 }
                               });
    }
  }

  void ready(const std::shared_ptr<Watch>& w, error_code ec, bool read) {
    (read ? w->reading : w->writing) = false;
    if (w->released || ec == asio::error::operation_aborted) {
      return;
    }
    process(read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
    if (read) {
      // c-ares drains a UDP socket but reads a TCP answer piecewise, and asio's epoll is
      // edge-triggered: while the socket still holds data, process it now (bounded).
      for (int i = 0; i < 64 && !w->released && w->want_read; ++i) {
        pollfd p{w->fd, POLLIN, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLIN) == 0) {
          break;
        }
        process(w->fd, ARES_SOCKET_BAD);
      }
    }
    // A failed wait is not retried (it would spin); c-ares' timeout ends the queries instead.
    if (!w->released && !ec) {
      arm(w);
    }
    update_timer();
  }

  void process(ares_socket_t read_fd, ares_socket_t write_fd) {
    ++in_process;
    ares_process_fd(channel, read_fd, write_fd);
    --in_process;
  }

  // Points the timer at c-ares' next deadline (retransmission or timeout), if a query is running.
  void update_timer() {
    if (in_process > 0 || channel == nullptr) {
      return;  // the outer call updates it
    }
    timeval tv{};
    timeval* next = ares_timeout(channel, nullptr, &tv);
    if (next == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(next->tv_sec) +
                        std::chrono::microseconds(next->tv_usec));
    timer.async_wait([this, weak = std::weak_ptr<int>(alive)](error_code ec) {
      if (ec || weak.expired()) {
        return;
      }
      process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      update_timer();
    });
  }

  // Starts a query; `callback` gets `arg` exactly once (possibly before this returns).
  void query(const std::string& name, int type, ares_callback callback, void* arg) {
    ares_query(channel, name.c_str(), 1 /* C_IN */, type, callback, arg);
    update_timer();
  }

  asio::any_io_executor executor;
  ResolverOptions options;
  ares_channel channel = nullptr;
  std::string setup_error;  // not empty: every lookup fails with it
  std::unordered_map<int, std::shared_ptr<Watch>> watches;
  asio::steady_timer timer;
  int in_process = 0;
  std::mt19937 rng{std::random_device{}()};
  // Handlers that outlive the Impl (the timer's, after its destruction) see this expire.
  std::shared_ptr<int> alive = std::make_shared<int>(0);
};

namespace {

constexpr int kTypeA = 1;
constexpr int kTypeAaaa = 28;
constexpr int kTypeSrv = 33;

}  // namespace

// One resolve_s2s: SRV of both services in parallel, then A and AAAA of every target in
// parallel (or of the domain itself, RFC 6120 §3.2.2). Shared by the coroutine and the
// c-ares callbacks; the callbacks use `impl` only while the lookup is unfinished (a destroyed
// Impl finishes every lookup first, through ARES_EDESTRUCTION).
struct Resolver::Impl::Lookup : std::enable_shared_from_this<Lookup> {
  struct Host {
    std::string name;
    std::vector<asio::ip::address> v6, v4;
    Outcome a = Outcome::kPending, aaaa = Outcome::kPending;
  };
  enum Kind { kXmpps = 0, kXmpp = 1, kA, kAaaa };
  struct Query {
    std::shared_ptr<Lookup> lookup;
    Kind kind;
    std::size_t host = 0;
  };

  Lookup(Impl* i, std::string d) : impl(i), domain(std::move(d)), wake(i->executor) {}

  static void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    Lookup& l = *q->lookup;
    --l.pending;
    if (l.finished) {
      return;  // the deadline passed; this answer is no longer wanted
    }
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
      l.finish(ResolveResult::Error::kTimeout, "DNS resolver shut down");
      return;
    }
    switch (q->kind) {
      case kXmpps:
      case kXmpp:
        l.take_srv(q->kind, status, abuf, alen);
        break;
      case kA:
      case kAaaa:
        l.take_addresses(q->kind, q->host, status, abuf, alen);
        break;
    }
    if (l.pending == 0 && !l.issuing) {
      l.advance();
    }
  }

  void take_srv(Kind kind, int status, const unsigned char* abuf, int alen) {
    Outcome o = outcome_of(status);
    if (o == Outcome::kRecords) {
      ares_srv_reply* reply = nullptr;
      int r = ares_parse_srv_reply(abuf, alen, &reply);
      if (r != ARES_SUCCESS) {
        log::debug("dns: bad SRV answer for {}: {}", domain, ares_strerror(r));
        o = r == ARES_ENODATA ? Outcome::kNoRecords : Outcome::kFailed;
      } else {
        std::vector<SrvRecord> list;
        for (ares_srv_reply* s = reply; s != nullptr; s = s->next) {
          list.push_back(SrvRecord{s->host != nullptr ? s->host : "", s->port, s->priority,
                                   s->weight, kind == kXmpps});
        }
        ares_free_data(reply);
        auto is_root = [](const SrvRecord& r) { return r.target.empty() || r.target == "."; };
        // RFC 2782 / RFC 6120 §3.2.1 step 3: a single record with target "." means the service
        // is decidedly not available (XEP-0368 §5 for _xmpps-server). A "." among other records
        // means nothing; it is skipped.
        if (list.size() == 1 && is_root(list.front())) {
          no_service[kind] = true;
        }
        std::erase_if(list, is_root);
        srv.insert(srv.end(), list.begin(), list.end());
      }
    }
    srv_outcome[kind] = o;
  }

  void take_addresses(Kind kind, std::size_t host, int status, const unsigned char* abuf,
                      int alen) {
    Host& h = hosts[host];
    Outcome o = outcome_of(status);
    if (o == Outcome::kRecords) {
      int r;
      if (kind == kA) {
        std::array<ares_addrttl, 32> out{};
        int n = static_cast<int>(out.size());
        r = ares_parse_a_reply(abuf, alen, nullptr, out.data(), &n);
        for (int i = 0; r == ARES_SUCCESS && i < n; ++i) {
          asio::ip::address_v4::bytes_type b;
          std::memcpy(b.data(), &out[static_cast<std::size_t>(i)].ipaddr, b.size());
          h.v4.emplace_back(asio::ip::address_v4(b));
        }
      } else {
        std::array<ares_addr6ttl, 32> out{};
        int n = static_cast<int>(out.size());
        r = ares_parse_aaaa_reply(abuf, alen, nullptr, out.data(), &n);
        for (int i = 0; r == ARES_SUCCESS && i < n; ++i) {
          asio::ip::address_v6::bytes_type b;
          std::memcpy(b.data(), &out[static_cast<std::size_t>(i)].ip6addr, b.size());
          h.v6.emplace_back(asio::ip::address_v6(b));
        }
      }
      if (r != ARES_SUCCESS) {
        log::debug("dns: bad {} answer for {}: {}", kind == kA ? "A" : "AAAA", h.name,
                   ares_strerror(r));
        o = r == ARES_ENODATA ? Outcome::kNoRecords : Outcome::kFailed;
      }
    }
    (kind == kA ? h.a : h.aaaa) = o;
  }

  void issue(const std::string& name, int type, Kind kind, std::size_t host) {
    ++pending;
    auto q = std::make_unique<Query>(Query{shared_from_this(), kind, host});
    impl->query(name, type, &Lookup::on_answer, q.release());
  }

  void start() {
    issuing = true;
    issue("_xmpps-server._tcp." + domain, kTypeSrv, kXmpps, 0);
    if (!finished) {
      issue("_xmpp-server._tcp." + domain, kTypeSrv, kXmpp, 0);
    }
    issuing = false;
    if (pending == 0 && !finished) {
      advance();
    }
  }

  // Called when every query of the current phase has come back.
  void advance() {
    if (!resolving_addresses) {
      decide_after_srv();
    } else {
      finish_with_addresses();
    }
  }

  void decide_after_srv() {
    if (!srv.empty()) {
      std::vector<SrvRecord> records = std::move(srv);
      ordered = order_srv(std::move(records), [this](std::uint32_t n) {
        return std::uniform_int_distribution<std::uint32_t>(0, n)(impl->rng);
      });
      for (const auto& r : ordered) {
        if (std::none_of(hosts.begin(), hosts.end(),
                         [&](const Host& h) { return h.name == r.target; })) {
          hosts.push_back(Host{r.target, {}, {}});
        }
      }
    } else if (no_service[kXmpps] || no_service[kXmpp]) {
      // No A/AAAA fallback once a "." record says SRV is in use (XEP-0368 §5).
      finish(ResolveResult::Error::kNotFound,
             domain + " offers no XMPP server-to-server service (SRV target \".\")");
      return;
    } else if (srv_outcome[kXmpp] == Outcome::kTimeout) {
      finish(ResolveResult::Error::kTimeout, "DNS timeout looking up SRV records of " + domain);
      return;
    } else {
      // No SRV records (NXDOMAIN, no data, or a failed query): RFC 6120 §3.2.2.
      fallback = true;
      hosts.push_back(Host{domain, {}, {}});
    }
    resolving_addresses = true;
    issuing = true;
    for (std::size_t i = 0; i < hosts.size() && !finished; ++i) {
      // An SRV target written as an address literal ("192.0.2.1." - not a host name as RFC 2782
      // wants, but seen in private set-ups and test rigs): used as it is, no lookup.
      boost::system::error_code lit_ec;
      std::string_view lit = hosts[i].name;
      if (!lit.empty() && lit.back() == '.') {
        lit.remove_suffix(1);
      }
      auto literal = asio::ip::make_address(std::string(lit), lit_ec);
      if (!lit_ec) {
        (literal.is_v6() ? hosts[i].v6 : hosts[i].v4).push_back(literal);
        hosts[i].a = hosts[i].aaaa = Outcome::kRecords;
        continue;
      }
      issue(hosts[i].name, kTypeAaaa, kAaaa, i);
      if (!finished) {
        issue(hosts[i].name, kTypeA, kA, i);
      }
    }
    issuing = false;
    if (pending == 0 && !finished) {
      advance();
    }
  }

  // RFC 8305 §4: alternate the families, IPv6 first.
  static std::vector<asio::ip::address> interleave(const Host& h) {
    std::vector<asio::ip::address> out;
    for (std::size_t i = 0; i < std::max(h.v6.size(), h.v4.size()); ++i) {
      if (i < h.v6.size()) {
        out.push_back(h.v6[i]);
      }
      if (i < h.v4.size()) {
        out.push_back(h.v4[i]);
      }
    }
    return out;
  }

  // The candidates from what has been resolved so far (all of it, or what the deadline left).
  void finish_with_addresses() {
    ResolveResult r;
    auto host_of = [&](const std::string& name) -> const Host& {
      return *std::find_if(hosts.begin(), hosts.end(),
                           [&](const Host& h) { return h.name == name; });
    };
    if (fallback) {
      if (auto a = interleave(hosts.front()); !a.empty()) {
        r.candidates.push_back(S2sCandidate{domain, 5269, false, std::move(a)});
      }
    } else {
      for (const auto& rec : ordered) {
        if (auto a = interleave(host_of(rec.target)); !a.empty()) {
          r.candidates.push_back(S2sCandidate{rec.target, rec.port, rec.direct_tls, std::move(a)});
        }
      }
    }
    if (!r.candidates.empty()) {
      finish(std::move(r));
      return;
    }
    bool timed_out = std::any_of(hosts.begin(), hosts.end(), [](const Host& h) {
      return h.a == Outcome::kTimeout || h.aaaa == Outcome::kTimeout || h.a == Outcome::kPending ||
             h.aaaa == Outcome::kPending;
    });
    if (timed_out) {
      finish(ResolveResult::Error::kTimeout,
             "DNS timeout looking up the addresses of " +
                 (fallback ? domain : "the SRV targets of " + domain));
    } else if (fallback) {
      finish(ResolveResult::Error::kNotFound, "no SRV or A/AAAA records for " + domain);
    } else {
      finish(ResolveResult::Error::kNotFound, "no SRV target of " + domain + " has an address");
    }
  }

  // The deadline passed before every answer came.
  void expire() {
    if (resolving_addresses) {
      finish_with_addresses();
    } else {
      finish(ResolveResult::Error::kTimeout, "DNS timeout looking up SRV records of " + domain);
    }
  }

  void finish(ResolveResult::Error e, std::string message) {
    ResolveResult r;
    r.error = e;
    r.message = std::move(message);
    finish(std::move(r));
  }
  void finish(ResolveResult r) {
    if (finished) {
      return;
    }
    finished = true;
    result = std::move(r);
    wake.cancel();
  }

  Impl* impl;
  std::string domain;
  asio::steady_timer wake;  // the coroutine waits on it; cancelled when the lookup ends
  int pending = 0;
  bool issuing = false;
  bool finished = false;
  bool resolving_addresses = false;
  bool fallback = false;
  std::array<Outcome, 2> srv_outcome{Outcome::kPending, Outcome::kPending};
  std::array<bool, 2> no_service{false, false};
  std::vector<SrvRecord> srv;      // both services, "." records removed
  std::vector<SrvRecord> ordered;  // after order_srv
  std::vector<Host> hosts;         // distinct targets (or the domain for the fallback)
  ResolveResult result;
};

Resolver::Resolver(asio::any_io_executor executor, ResolverOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {
  ensure_ares_library();
  ares_options opts{};
  opts.sock_state_cb = &Impl::on_socket_state;
  opts.sock_state_cb_data = impl_.get();
  // Two tries per server; c-ares doubles the wait for the second round, so the first gets a third
  // of the lookup's time. The lookup's own deadline bounds the whole anyway.
  auto total = static_cast<int>(
      std::max<std::chrono::milliseconds::rep>(impl_->options.timeout.count(), 30));
  opts.timeout = std::max(10, total / 3);
  opts.tries = 2;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int r = ares_init_options(&impl_->channel, &opts, mask); r != ARES_SUCCESS) {
    impl_->channel = nullptr;
    impl_->setup_error = std::string("cannot set up the DNS resolver: ") + ares_strerror(r);
    log::error("dns: {}", impl_->setup_error);
    return;
  }
  if (!impl_->options.dns_server.empty()) {
    auto server = parse_dns_server(impl_->options.dns_server);
    if (!server) {
      impl_->setup_error = server.error().message;
      log::error("dns: {}", impl_->setup_error);
      return;
    }
    ares_addr_port_node node{};
    node.next = nullptr;
    node.family = server->family;
    std::memcpy(&node.addr, server->addr.data(),
                server->family == AF_INET ? sizeof(in_addr) : sizeof(ares_in6_addr));
    node.udp_port = server->port;
    node.tcp_port = server->port;
    if (int r = ares_set_servers_ports(impl_->channel, &node); r != ARES_SUCCESS) {
      impl_->setup_error = impl_->options.dns_server + ": " + ares_strerror(r);
      log::error("dns: {}", impl_->setup_error);
    }
  }
}

Resolver::~Resolver() = default;

asio::awaitable<ResolveResult> Resolver::resolve_s2s(std::string domain) {
  while (!domain.empty() && domain.back() == '.') {
    domain.pop_back();
  }
  if (!impl_->setup_error.empty()) {
    co_return ResolveResult{ResolveResult::Error::kNotFound, impl_->setup_error, {}};
  }
  if (domain.empty()) {
    co_return ResolveResult{ResolveResult::Error::kNotFound, "empty domain name", {}};
  }
  auto lookup = std::make_shared<Impl::Lookup>(impl_.get(), std::move(domain));
  lookup->wake.expires_after(impl_->options.timeout);
  lookup->start();
  if (!lookup->finished) {
    // Ends when the lookup cancels it (done) or at the deadline. After this point nothing of
    // the Resolver is touched: it may be gone.
    auto op = lookup->wake.async_wait(use_tuple);
    co_await std::move(op);
  }
  if (!lookup->finished) {
    lookup->expire();
  }
  co_return std::move(lookup->result);
}

}  // namespace starling::net
