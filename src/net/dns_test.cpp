#include "net/dns.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace starling::net {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using Error = ResolveResult::Error;

// ---- order_srv --------------------------------------------------------------------------------

SrvRecord rec(std::string target, std::uint16_t prio, std::uint16_t weight, bool tls = false) {
  return SrvRecord{std::move(target), static_cast<std::uint16_t>(tls ? 5270 : 5269), prio, weight,
                   tls};
}

std::vector<std::string> targets(const std::vector<SrvRecord>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) {
    out.push_back(r.target);
  }
  return out;
}

// A "random" function that returns the given draws in turn and records the sums it was asked for.
struct Draws {
  Draws() = default;
  Draws(std::initializer_list<std::uint32_t> v) : values(v) {}
  std::vector<std::uint32_t> values;
  std::vector<std::uint32_t> sums;
  std::size_t next = 0;
  std::function<std::uint32_t(std::uint32_t)> fn() {
    return [this](std::uint32_t n) {
      sums.push_back(n);
      return next < values.size() ? values[next++] : 0;
    };
  }
};

TEST(OrderSrv, AscendingPriority) {
  Draws d;
  auto out = order_srv({rec("c", 30, 0), rec("a", 10, 0), rec("b", 20, 0)}, d.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(OrderSrv, WeightedChoiceFollowsTheRunningSum) {
  // RFC 2782: running sums 10 (x), 30 (y), 60 (z) for weights 10, 20, 30. A draw of 11 selects
  // y (first running sum >= 11); then x, z remain with sums 10, 40: a draw of 40 selects z.
  Draws d{11, 40, 0};
  auto out = order_srv({rec("x", 0, 10), rec("y", 0, 20), rec("z", 0, 30)}, d.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"y", "z", "x"}));
  EXPECT_EQ(d.sums, (std::vector<std::uint32_t>{60, 40, 10}));
}

TEST(OrderSrv, DrawAtTheBoundaryPicksTheEarlierRecord) {
  Draws d{10};
  auto out = order_srv({rec("x", 0, 10), rec("y", 0, 20)}, d.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"x", "y"}));
}

TEST(OrderSrv, WeightZeroRecordsComeFirstInTheRunningSum) {
  // "all those with weight 0 are placed at the beginning of the list": a draw of 0 selects the
  // weight-0 record even though it was listed last; any draw above 0 skips it.
  Draws zero{0};
  auto out = order_srv({rec("heavy", 0, 50), rec("light", 0, 0)}, zero.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"light", "heavy"}));
  Draws one{1};
  out = order_srv({rec("heavy", 0, 50), rec("light", 0, 0)}, one.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"heavy", "light"}));
}

TEST(OrderSrv, AllWeightsZeroKeepsTheListOrderAndAsksForZero) {
  Draws d;
  auto out = order_srv({rec("a", 5, 0), rec("b", 5, 0), rec("c", 5, 0)}, d.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.sums, (std::vector<std::uint32_t>{0, 0, 0}));
}

TEST(OrderSrv, DirectTlsAndStarttlsRecordsAreMixed) {
  // XEP-0368 §3 rule 1: xmpps- and xmpp- records form one RFC 2782 set. A STARTTLS record with a
  // lower priority value comes before a direct-TLS one, and within one priority the weights
  // decide, whichever service a record came from.
  Draws d{0, 25, 0};
  auto out = order_srv({rec("tls-hi", 10, 10, true), rec("tls", 0, 5, true), rec("plain", 0, 30),
                        rec("plain-hi", 10, 10)},
                       d.fn());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(targets(out), (std::vector<std::string>{"tls", "plain", "tls-hi", "plain-hi"}));
  EXPECT_TRUE(out[0].direct_tls);
  EXPECT_FALSE(out[1].direct_tls);
  EXPECT_EQ(out[0].port, 5270);
}

TEST(OrderSrv, ExactTieGoesToTheEarlierListedRecordAtTheBoundary) {
  // resolve_s2s lists the _xmpps-server records first, so a draw at the boundary of an exact tie
  // prefers direct TLS; the other draws still pick STARTTLS half the time.
  Draws low{5};
  auto out = order_srv({rec("tls", 0, 5, true), rec("plain", 0, 5)}, low.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"tls", "plain"}));
  Draws high{6};
  out = order_srv({rec("tls", 0, 5, true), rec("plain", 0, 5)}, high.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"plain", "tls"}));
}

TEST(OrderSrv, OutOfRangeDrawIsClamped) {
  Draws d{1000};
  auto out = order_srv({rec("a", 0, 1), rec("b", 0, 1)}, d.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"b", "a"}));
}

TEST(OrderSrv, WeightsAreRoughlyProportional) {
  std::mt19937 rng(42);
  auto random = [&](std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, n)(rng);
  };
  int first_heavy = 0;
  for (int i = 0; i < 2000; ++i) {
    auto out = order_srv({rec("light", 0, 1), rec("heavy", 0, 3)}, random);
    first_heavy += out.front().target == "heavy" ? 1 : 0;
  }
  // P(heavy first) = 3/5 (draws 2..4 of 0..4 when light comes first in the list).
  EXPECT_GT(first_heavy, 1050);
  EXPECT_LT(first_heavy, 1350);
}

TEST(CheckDnsServer, Forms) {
  EXPECT_TRUE(check_dns_server("127.0.0.1:5353").ok());
  EXPECT_TRUE(check_dns_server("127.0.0.1").ok());
  EXPECT_TRUE(check_dns_server("[::1]:53").ok());
  EXPECT_TRUE(check_dns_server("[::1]").ok());
  EXPECT_TRUE(check_dns_server("::1").ok() == false);  // ambiguous without brackets
  EXPECT_FALSE(check_dns_server("localhost:53").ok());
  EXPECT_FALSE(check_dns_server("127.0.0.1:").ok());
  EXPECT_FALSE(check_dns_server("127.0.0.1:0").ok());
  EXPECT_FALSE(check_dns_server("127.0.0.1:65536").ok());
  EXPECT_FALSE(check_dns_server("127.0.0.1:53x").ok());
  EXPECT_FALSE(check_dns_server("[::1:53").ok());
  EXPECT_FALSE(check_dns_server("[::1]x53").ok());
  EXPECT_FALSE(check_dns_server("").ok());
  auto r = check_dns_server("dns.example:53");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("dns.example:53"), std::string::npos);
}

// ---- a fake DNS server on loopback ------------------------------------------------------------

constexpr std::uint16_t kA = 1, kAaaa = 28, kSrv = 33;

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

std::vector<std::uint8_t> encode_name(const std::string& name) {
  std::vector<std::uint8_t> out;
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

struct Rr {
  std::uint16_t type;
  std::vector<std::uint8_t> rdata;
};

Rr srv_rr(std::uint16_t prio, std::uint16_t weight, std::uint16_t port, const std::string& target) {
  Rr r{kSrv, {}};
  put16(r.rdata, prio);
  put16(r.rdata, weight);
  put16(r.rdata, port);
  auto n = encode_name(target == "." ? "" : target);
  r.rdata.insert(r.rdata.end(), n.begin(), n.end());
  return r;
}
Rr a_rr(const std::string& addr) {
  auto b = asio::ip::make_address_v4(addr).to_bytes();
  return Rr{kA, {b.begin(), b.end()}};
}
Rr aaaa_rr(const std::string& addr) {
  auto b = asio::ip::make_address_v6(addr).to_bytes();
  return Rr{kAaaa, {b.begin(), b.end()}};
}

struct Reply {
  int rcode = 0;  // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN
  std::vector<Rr> answers;
  bool silent = false;
  // Raw bytes for the answer section, with this answer count (malformed answers).
  std::optional<std::pair<std::uint16_t, std::vector<std::uint8_t>>> raw;
  // Over UDP, answer with the TC bit and no records: the full answer comes over TCP.
  bool truncate_udp = false;
};

class FakeDns {
 public:
  FakeDns(asio::io_context& io, const std::string& address) : socket_(io), acceptor_(io) {
    // UDP on a free port, and TCP on the same one for truncated answers (RFC 7766); that port
    // may be taken for TCP (TIME_WAIT of an earlier test's connection): then another.
    for (int attempt = 0; attempt < 20 && !ok_; ++attempt) {
      boost::system::error_code ec;
      socket_.close(ec);
      acceptor_.close(ec);
      udp::endpoint ep(asio::ip::make_address(address), 0);
      socket_.open(ep.protocol(), ec);
      if (!ec) {
        socket_.bind(ep, ec);
      }
      if (ec) {
        return;  // no such address here (IPv6)
      }
      tcp::endpoint tep(ep.address(), socket_.local_endpoint().port());
      acceptor_.open(tep.protocol(), ec);
      if (!ec) {
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        acceptor_.bind(tep, ec);
      }
      if (!ec) {
        acceptor_.listen(8, ec);
      }
      ok_ = !ec;
    }
    if (ok_) {
      asio::co_spawn(io, serve(), asio::detached);
      asio::co_spawn(io, accept(), asio::detached);
    }
  }
  bool ok() const { return ok_; }
  std::string server() const {
    auto ep = socket_.local_endpoint();
    if (ep.address().is_v6()) {
      return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    }
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  void set(const std::string& name, std::uint16_t type, Reply r) {
    zone_[{name, type}] = std::move(r);
  }
  // A name with no entry for a type: NOERROR without answers when the name has other entries,
  // NXDOMAIN when it has none.
  int asked(const std::string& name, std::uint16_t type) const {
    auto it = asked_.find({name, type});
    return it == asked_.end() ? 0 : it->second;
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
    acceptor_.close(ec);
  }

 private:
  asio::awaitable<void> serve() {
    std::vector<std::uint8_t> buf(4096);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from,
                                                         asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !socket_.is_open()) {
        co_return;
      }
      if (ec || n < 12) {
        continue;
      }
      std::vector<std::uint8_t> q(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      auto out = answer(q, false);
      if (!out) {
        continue;
      }
      co_await socket_.async_send_to(asio::buffer(*out), from, asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      asio::co_spawn(acceptor_.get_executor(), serve_tcp(std::move(s)), asio::detached);
    }
  }

  // RFC 7766 §8: each message with a two-byte length in front.
  asio::awaitable<void> serve_tcp(tcp::socket s) {
    for (;;) {
      std::array<std::uint8_t, 2> len{};
      auto [ec, n] =
          co_await asio::async_read(s, asio::buffer(len), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      std::vector<std::uint8_t> q(static_cast<std::size_t>(len[0] << 8 | len[1]));
      auto [ec2, n2] =
          co_await asio::async_read(s, asio::buffer(q), asio::as_tuple(asio::use_awaitable));
      if (ec2) {
        co_return;
      }
      ++tcp_queries_;
      auto out = answer(q, true);
      if (!out) {
        continue;
      }
      std::vector<std::uint8_t> framed;
      put16(framed, static_cast<std::uint16_t>(out->size()));
      framed.insert(framed.end(), out->begin(), out->end());
      co_await asio::async_write(s, asio::buffer(framed), asio::as_tuple(asio::use_awaitable));
    }
  }

 public:
  int tcp_queries() const { return tcp_queries_; }

 private:
  std::optional<std::vector<std::uint8_t>> answer(const std::vector<std::uint8_t>& q, bool tcp) {
    if (q.size() < 12) {
      return std::nullopt;
    }
    // The question: labels, then QTYPE and QCLASS.
    std::size_t p = 12;
    std::string name;
    while (p < q.size() && q[p] != 0) {
      std::size_t len = q[p];
      if (!name.empty()) {
        name += '.';
      }
      for (std::size_t i = 1; i <= len && p + i < q.size(); ++i) {
        name += static_cast<char>(std::tolower(q[p + i]));
      }
      p += len + 1;
    }
    p += 1;
    if (p + 4 > q.size()) {
      return std::nullopt;
    }
    std::uint16_t type = static_cast<std::uint16_t>(q[p] << 8 | q[p + 1]);
    std::size_t question_end = p + 4;
    ++asked_[{name, type}];
    Reply reply;
    if (auto it = zone_.find({name, type}); it != zone_.end()) {
      reply = it->second;
    } else {
      bool known = std::any_of(zone_.begin(), zone_.end(),
                               [&](const auto& e) { return e.first.first == name; });
      reply.rcode = known ? 0 : 3;
    }
    if (reply.silent) {
      return std::nullopt;
    }
    bool truncated = reply.truncate_udp && !tcp;
    if (truncated) {
      reply.answers.clear();
    }
    std::vector<std::uint8_t> out{
        q[0], q[1],
        static_cast<std::uint8_t>(truncated ? 0x87 : 0x85),  // QR AA (TC) RD
        static_cast<std::uint8_t>(0x80 | reply.rcode)};
    put16(out, 1);
    put16(out, reply.raw ? reply.raw->first : static_cast<std::uint16_t>(reply.answers.size()));
    put16(out, 0);
    put16(out, 0);
    out.insert(out.end(), q.begin() + 12, q.begin() + static_cast<std::ptrdiff_t>(question_end));
    if (reply.raw) {
      out.insert(out.end(), reply.raw->second.begin(), reply.raw->second.end());
      return out;
    }
    for (const auto& rr : reply.answers) {
      put16(out, 0xC00C);  // the question's name
      put16(out, rr.type);
      put16(out, 1);  // IN
      put16(out, 0);
      put16(out, 300);  // TTL
      put16(out, static_cast<std::uint16_t>(rr.rdata.size()));
      out.insert(out.end(), rr.rdata.begin(), rr.rdata.end());
    }
    return out;
  }

  udp::socket socket_;
  tcp::acceptor acceptor_;
  int tcp_queries_ = 0;
  bool ok_ = false;
  std::map<std::pair<std::string, std::uint16_t>, Reply> zone_;
  std::map<std::pair<std::string, std::uint16_t>, int> asked_;
};

Reply answers(std::vector<Rr> rrs) { return Reply{0, std::move(rrs), false, std::nullopt, false}; }
Reply rcode(int rc) { return Reply{rc, {}, false, std::nullopt, false}; }
Reply silent() { return Reply{0, {}, true, std::nullopt, false}; }
Reply raw(std::uint16_t count, std::vector<std::uint8_t> bytes) {
  return Reply{0, {}, false, std::pair{count, std::move(bytes)}, false};
}
Reply truncated(std::vector<Rr> rrs) { return Reply{0, std::move(rrs), false, std::nullopt, true}; }

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok());
    // srv.test: direct TLS at priority 5, two STARTTLS targets at 10, one dead target at 20.
    dns_.set("_xmpps-server._tcp.srv.test", kSrv, answers({srv_rr(5, 0, 5270, "tls.srv.test")}));
    dns_.set("_xmpp-server._tcp.srv.test", kSrv,
             answers({srv_rr(10, 10, 5269, "a.srv.test"), srv_rr(10, 0, 5269, "b.srv.test"),
                      srv_rr(20, 0, 5269, "gone.srv.test")}));
    dns_.set("tls.srv.test", kA, answers({a_rr("127.0.0.10")}));
    dns_.set("tls.srv.test", kAaaa, answers({aaaa_rr("::10")}));
    dns_.set("a.srv.test", kA, answers({a_rr("127.0.0.11"), a_rr("127.0.0.12")}));
    dns_.set("b.srv.test", kAaaa, answers({aaaa_rr("::b")}));
    // plain.test: no SRV (NXDOMAIN), A and AAAA.
    dns_.set("plain.test", kA, answers({a_rr("127.0.0.5")}));
    dns_.set("plain.test", kAaaa, answers({aaaa_rr("::5")}));
    // nodata.test: the SRV names exist without SRV records (NOERROR, no answers).
    dns_.set("_xmpps-server._tcp.nodata.test", kA, answers({a_rr("127.0.0.99")}));
    dns_.set("_xmpp-server._tcp.nodata.test", kA, answers({a_rr("127.0.0.99")}));
    dns_.set("nodata.test", kA, answers({a_rr("127.0.0.6")}));
    // dot.test: "no service" for STARTTLS, although the domain has an address.
    dns_.set("_xmpp-server._tcp.dot.test", kSrv, answers({srv_rr(0, 0, 0, ".")}));
    dns_.set("dot.test", kA, answers({a_rr("127.0.0.7")}));
    // dotxmpps.test: "no service" for direct TLS only; XEP-0368 forbids the A fallback.
    dns_.set("_xmpps-server._tcp.dotxmpps.test", kSrv, answers({srv_rr(0, 0, 0, ".")}));
    dns_.set("dotxmpps.test", kA, answers({a_rr("127.0.0.8")}));
    // mixed.test: no direct TLS, STARTTLS at one host.
    dns_.set("_xmpps-server._tcp.mixed.test", kSrv, answers({srv_rr(0, 0, 0, ".")}));
    dns_.set("_xmpp-server._tcp.mixed.test", kSrv,
             answers({srv_rr(0, 0, 5299, "host.mixed.test")}));
    dns_.set("host.mixed.test", kA, answers({a_rr("127.0.0.9")}));
    // deadtargets.test: SRV targets without addresses.
    dns_.set("_xmpp-server._tcp.deadtargets.test", kSrv,
             answers({srv_rr(0, 0, 5269, "none1.test"), srv_rr(1, 0, 5269, "none2.test")}));
    // silent.test: nothing ever answers.
    for (auto n : {"_xmpps-server._tcp.silent.test", "_xmpp-server._tcp.silent.test"}) {
      dns_.set(n, kSrv, silent());
    }
    dns_.set("silent.test", kA, silent());
    dns_.set("silent.test", kAaaa, silent());
    // slowaddr.test: the SRV answers, its target's addresses never do.
    dns_.set("_xmpp-server._tcp.slowaddr.test", kSrv, answers({srv_rr(0, 0, 5269, "mute.test")}));
    dns_.set("mute.test", kA, silent());
    dns_.set("mute.test", kAaaa, silent());
    // servfail.test: SERVFAIL on SRV (no answer worth the name): fall back to A.
    dns_.set("_xmpps-server._tcp.servfail.test", kSrv, rcode(2));
    dns_.set("_xmpp-server._tcp.servfail.test", kSrv, rcode(2));
    dns_.set("servfail.test", kA, answers({a_rr("127.0.0.13")}));
  }

  ResolveResult resolve(Resolver& r, std::string name) {
    std::optional<ResolveResult> out;
    asio::co_spawn(
        io_,
        [&r, &out, name]() -> asio::awaitable<void> {
          auto op = r.resolve_s2s(name);
          out = co_await std::move(op);
        },
        asio::detached);
    run_until([&] { return out.has_value(); });
    return out.value_or(ResolveResult{Error::kNone, "did not finish", {}});
  }

  template <class F>
  void run_until(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(10));
      io_.restart();
    }
    ASSERT_TRUE(done()) << "timed out";
  }

  ResolverOptions options(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    return ResolverOptions{dns_.server(), timeout};
  }

  asio::io_context io_;
  FakeDns dns_{io_, "127.0.0.1"};
};

std::vector<std::string> strings(const std::vector<asio::ip::address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) {
    out.push_back(a.to_string());
  }
  return out;
}

TEST_F(ResolverTest, SrvRecordsOfBothServicesWithTheirAddresses) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "srv.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  // gone.srv.test has no address and is left out.
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].host, "tls.srv.test");
  EXPECT_EQ(r.candidates[0].port, 5270);
  EXPECT_TRUE(r.candidates[0].direct_tls);
  // IPv6 first, then alternating (RFC 8305 §4).
  EXPECT_EQ(strings(r.candidates[0].addresses), (std::vector<std::string>{"::10", "127.0.0.10"}));
  // Priority 10: a (weight 10) and b (weight 0) in either order.
  std::map<std::string, S2sCandidate> rest{{r.candidates[1].host, r.candidates[1]},
                                           {r.candidates[2].host, r.candidates[2]}};
  ASSERT_EQ(rest.count("a.srv.test"), 1u);
  ASSERT_EQ(rest.count("b.srv.test"), 1u);
  EXPECT_FALSE(rest["a.srv.test"].direct_tls);
  EXPECT_EQ(rest["a.srv.test"].port, 5269);
  EXPECT_EQ(strings(rest["a.srv.test"].addresses),
            (std::vector<std::string>{"127.0.0.11", "127.0.0.12"}));
  EXPECT_EQ(strings(rest["b.srv.test"].addresses), (std::vector<std::string>{"::b"}));
  // The domain's own address is not looked up when SRV records exist.
  EXPECT_EQ(dns_.asked("srv.test", kA), 0);
}

// Some private set-ups (and the federation test rig) write an address as the SRV target: it
// is used as it is, without asking DNS for its A/AAAA records.
TEST_F(ResolverTest, AddressLiteralTargetsAreUsedAsTheyAre) {
  dns_.set("_xmpp-server._tcp.literal.test", kSrv,
           answers({srv_rr(0, 0, 5300, "127.0.0.42."), srv_rr(1, 0, 5301, "::42")}));
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "literal.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].port, 5300);
  EXPECT_EQ(strings(r.candidates[0].addresses), (std::vector<std::string>{"127.0.0.42"}));
  EXPECT_EQ(strings(r.candidates[1].addresses), (std::vector<std::string>{"::42"}));
  EXPECT_EQ(dns_.asked("127.0.0.42.", kA) + dns_.asked("127.0.0.42", kA), 0);
}

TEST_F(ResolverTest, TruncatedAnswersAreRetriedOverTcp) {
  std::vector<Rr> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back(
        srv_rr(static_cast<std::uint16_t>(i), 0, 5269, "host" + std::to_string(i) + ".big.test"));
  }
  dns_.set("_xmpp-server._tcp.big.test", kSrv, truncated(many));
  dns_.set("host0.big.test", kA, truncated({a_rr("127.0.0.20")}));
  dns_.set("host7.big.test", kAaaa, truncated({aaaa_rr("::20")}));
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "big.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].host, "host0.big.test");
  EXPECT_EQ(r.candidates[1].host, "host7.big.test");
  EXPECT_GE(dns_.tcp_queries(), 3);
}

TEST_F(ResolverTest, TrailingDotAndCaseAreAccepted) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "Plain.Test.");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 1u);
}

TEST_F(ResolverTest, FallbackToAddressRecordsWithoutSrv) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "plain.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(r.candidates[0].host, "plain.test");
  EXPECT_EQ(r.candidates[0].port, 5269);
  EXPECT_FALSE(r.candidates[0].direct_tls);
  EXPECT_EQ(strings(r.candidates[0].addresses), (std::vector<std::string>{"::5", "127.0.0.5"}));
  EXPECT_EQ(dns_.asked("_xmpps-server._tcp.plain.test", kSrv), 1);
  EXPECT_EQ(dns_.asked("_xmpp-server._tcp.plain.test", kSrv), 1);
}

TEST_F(ResolverTest, FallbackWhenTheSrvNameHasNoSrvRecords) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "nodata.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(strings(r.candidates[0].addresses), (std::vector<std::string>{"127.0.0.6"}));
}

TEST_F(ResolverTest, FallbackWhenSrvQueriesFail) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "servfail.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(strings(r.candidates[0].addresses), (std::vector<std::string>{"127.0.0.13"}));
}

TEST_F(ResolverTest, DotTargetMeansNoServiceAndNoFallback) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "dot.test");
  EXPECT_EQ(r.error, Error::kNotFound);
  EXPECT_TRUE(r.candidates.empty());
  EXPECT_NE(r.message.find("dot.test"), std::string::npos) << r.message;
  EXPECT_EQ(dns_.asked("dot.test", kA), 0);
}

TEST_F(ResolverTest, DirectTlsDotForbidsTheAddressFallback) {
  // XEP-0368 §5: "MUST NOT perform A/AAAA fallback".
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "dotxmpps.test");
  EXPECT_EQ(r.error, Error::kNotFound);
  EXPECT_EQ(dns_.asked("dotxmpps.test", kA), 0);
  EXPECT_EQ(dns_.asked("dotxmpps.test", kAaaa), 0);
}

TEST_F(ResolverTest, DirectTlsDotWithStarttlsRecords) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "mixed.test");
  ASSERT_EQ(r.error, Error::kNone) << r.message;
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(r.candidates[0].host, "host.mixed.test");
  EXPECT_EQ(r.candidates[0].port, 5299);
  EXPECT_FALSE(r.candidates[0].direct_tls);
}

TEST_F(ResolverTest, NxdomainIsNotFound) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "nx.test");
  EXPECT_EQ(r.error, Error::kNotFound);
  EXPECT_TRUE(r.candidates.empty());
  EXPECT_EQ(r.message, "no SRV or A/AAAA records for nx.test");
}

TEST_F(ResolverTest, SrvTargetsWithoutAddressesAreNotFound) {
  Resolver resolver(io_.get_executor(), options());
  auto r = resolve(resolver, "deadtargets.test");
  EXPECT_EQ(r.error, Error::kNotFound);
  EXPECT_EQ(dns_.asked("none1.test", kA), 1);
  EXPECT_EQ(dns_.asked("none2.test", kAaaa), 1);
  EXPECT_EQ(dns_.asked("deadtargets.test", kA), 0);
}

TEST_F(ResolverTest, UnansweredQueriesTimeOut) {
  Resolver resolver(io_.get_executor(), options(std::chrono::milliseconds(400)));
  auto start = std::chrono::steady_clock::now();
  auto r = resolve(resolver, "silent.test");
  EXPECT_EQ(r.error, Error::kTimeout) << r.message;
  EXPECT_TRUE(r.candidates.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The resolver still works afterwards.
  auto ok = resolve(resolver, "plain.test");
  EXPECT_EQ(ok.error, Error::kNone) << ok.message;
}

TEST_F(ResolverTest, UnansweredAddressQueriesTimeOut) {
  Resolver resolver(io_.get_executor(), options(std::chrono::milliseconds(400)));
  auto r = resolve(resolver, "slowaddr.test");
  EXPECT_EQ(r.error, Error::kTimeout) << r.message;
}

TEST_F(ResolverTest, ConcurrentLookups) {
  Resolver resolver(io_.get_executor(), options(std::chrono::milliseconds(600)));
  std::map<std::string, ResolveResult> results;
  for (std::string name : {"srv.test", "plain.test", "nx.test", "silent.test", "mixed.test"}) {
    asio::co_spawn(
        io_,
        [&resolver, &results, name]() -> asio::awaitable<void> {
          auto op = resolver.resolve_s2s(name);
          results[name] = co_await std::move(op);
        },
        asio::detached);
  }
  run_until([&] { return results.size() == 5; });
  EXPECT_EQ(results["srv.test"].candidates.size(), 3u);
  EXPECT_EQ(results["plain.test"].candidates.size(), 1u);
  EXPECT_EQ(results["nx.test"].error, Error::kNotFound);
  EXPECT_EQ(results["silent.test"].error, Error::kTimeout);
  EXPECT_EQ(results["mixed.test"].candidates.size(), 1u);
}

TEST_F(ResolverTest, DestroyingTheResolverEndsItsLookups) {
  auto resolver = std::make_unique<Resolver>(io_.get_executor(), options());
  std::optional<ResolveResult> out;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto op = resolver->resolve_s2s("silent.test");
        out = co_await std::move(op);
      },
      asio::detached);
  io_.run_for(std::chrono::milliseconds(50));
  io_.restart();
  ASSERT_FALSE(out.has_value());
  resolver.reset();
  run_until([&] { return out.has_value(); });
  EXPECT_EQ(out->error, Error::kTimeout);
  EXPECT_EQ(out->message, "DNS resolver shut down");
}

TEST_F(ResolverTest, BadDnsServerFailsEveryLookup) {
  Resolver resolver(io_.get_executor(),
                    ResolverOptions{"not-an-address:53", std::chrono::seconds(1)});
  auto r = resolve(resolver, "plain.test");
  EXPECT_EQ(r.error, Error::kNotFound);
  EXPECT_NE(r.message.find("not-an-address:53"), std::string::npos) << r.message;
}

TEST_F(ResolverTest, EmptyDomainIsNotFound) {
  Resolver resolver(io_.get_executor(), options());
  EXPECT_EQ(resolve(resolver, "").error, Error::kNotFound);
  EXPECT_EQ(resolve(resolver, ".").error, Error::kNotFound);
}

TEST_F(ResolverTest, ServerRefusingTheConnectionIsAnError) {
  // Nothing listens any more: the ICMP port-unreachable makes c-ares fail (or time out).
  std::string server = dns_.server();
  dns_.close();
  Resolver resolver(io_.get_executor(), ResolverOptions{server, std::chrono::milliseconds(500)});
  auto r = resolve(resolver, "plain.test");
  EXPECT_NE(r.error, Error::kNone);
}

TEST(ResolverIpv6Test, ServerInBrackets) {
  asio::io_context io;
  FakeDns dns(io, "::1");
  if (!dns.ok()) {
    GTEST_SKIP() << "no IPv6 loopback";
  }
  dns.set("v6.test", kAaaa, answers({aaaa_rr("::6")}));
  ASSERT_EQ(dns.server().front(), '[');
  Resolver resolver(io.get_executor(), ResolverOptions{dns.server(), std::chrono::seconds(2)});
  std::optional<ResolveResult> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto op = resolver.resolve_s2s("v6.test");
        out = co_await std::move(op);
      },
      asio::detached);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->error, Error::kNone) << out->message;
  EXPECT_EQ(strings(out->candidates.at(0).addresses), (std::vector<std::string>{"::6"}));
}

// ---- malformed answers ------------------------------------------------------------------------

TEST_F(ResolverTest, MalformedAnswersAreErrorsNotCrashes) {
  // An SRV record whose RDLENGTH runs past the end of the message.
  std::vector<std::uint8_t> truncated{0xC0, 0x0C, 0, 33, 0, 1, 0, 0, 1, 0, 0, 40, 0, 1, 0};
  // An SRV target that is a compression pointer past the end of the message.
  std::vector<std::uint8_t> loop{0xC0, 0x0C, 0, 33, 0, 1, 0,    0,    1,    0,
                                 0,    8,    0, 0,  0, 0, 0x14, 0x6B, 0xFF, 0xFF};
  // More answers announced than present.
  std::vector<std::uint8_t> short_count{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 127, 0, 0, 1};
  // An A record of 3 bytes.
  std::vector<std::uint8_t> bad_a{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0, 0, 3, 127, 0, 0};
  // A label running past the end.
  std::vector<std::uint8_t> bad_label{0x3F, 'a', 'b'};
  int i = 0;
  for (const auto& [count, bytes] :
       std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>>{
           {1, truncated}, {1, loop}, {5, short_count}, {1, bad_a}, {1, bad_label}}) {
    std::string d = "bad" + std::to_string(i++) + ".test";
    dns_.set("_xmpps-server._tcp." + d, kSrv, raw(count, bytes));
    dns_.set("_xmpp-server._tcp." + d, kSrv, raw(count, bytes));
    dns_.set(d, kA, raw(count, bytes));
    dns_.set(d, kAaaa, raw(count, bytes));
  }
  Resolver resolver(io_.get_executor(), options(std::chrono::milliseconds(500)));
  for (int j = 0; j < i; ++j) {
    std::string d = "bad" + std::to_string(j) + ".test";
    auto r = resolve(resolver, d);
    EXPECT_NE(r.error, Error::kNone) << d;
    EXPECT_TRUE(r.candidates.empty()) << d;
  }
  // A good SRV record whose target answers garbage.
  dns_.set("_xmpp-server._tcp.badtarget.test", kSrv, answers({srv_rr(0, 0, 5269, "bad0.test")}));
  auto r = resolve(resolver, "badtarget.test");
  EXPECT_EQ(r.error, Error::kNotFound) << r.message;
}

TEST_F(ResolverTest, RandomAnswerSectionsNeverCrash) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 80);
  std::uniform_int_distribution<int> count(0, 4);
  Resolver resolver(io_.get_executor(), options(std::chrono::milliseconds(300)));
  for (int i = 0; i < 120; ++i) {
    std::string d = "fuzz" + std::to_string(i) + ".test";
    auto make = [&] {
      // Half the time start like a real record (name pointer, type, class) so the parsers get
      // past the first checks.
      std::vector<std::uint8_t> b;
      if (byte(rng) % 2 == 0) {
        b = {0xC0, 0x0C, 0, static_cast<std::uint8_t>(byte(rng) % 2 ? 33 : 1), 0, 1, 0, 0, 0, 60};
      }
      int n = length(rng);
      for (int k = 0; k < n; ++k) {
        b.push_back(static_cast<std::uint8_t>(byte(rng)));
      }
      return raw(static_cast<std::uint16_t>(count(rng)), std::move(b));
    };
    dns_.set("_xmpps-server._tcp." + d, kSrv, make());
    dns_.set("_xmpp-server._tcp." + d, kSrv, make());
    dns_.set(d, kA, make());
    dns_.set(d, kAaaa, make());
    auto r = resolve(resolver, d);
    if (r.error == Error::kNone) {
      ASSERT_FALSE(r.candidates.empty());
      for (const auto& c : r.candidates) {
        EXPECT_FALSE(c.addresses.empty());
      }
    } else {
      EXPECT_TRUE(r.candidates.empty());
      EXPECT_FALSE(r.message.empty());
    }
  }
}

}  // namespace
}  // namespace starling::net
