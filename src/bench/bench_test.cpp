// starling-bench's pure parts: the latency histogram, the SCRAM client against the RFC 5802 and
// RFC 7677 examples, /proc parsing and the option checks (loopback only, bounded).
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "base/random.hpp"
#include "bench/body.hpp"
#include "bench/histogram.hpp"
#include "bench/options.hpp"
#include "bench/proc_stats.hpp"
#include "bench/schedule.hpp"
#include "bench/scram_client.hpp"

namespace starling::bench {
namespace {

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(90), 90u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(Histogram, BucketsCoverEveryValueOnce) {
  // Each bucket's upper bound maps back to the bucket; the next value starts the next bucket.
  for (std::size_t b = 0; b + 1 < Histogram::kBuckets; ++b) {
    const std::uint64_t up = Histogram::bucket_upper(b);
    ASSERT_EQ(Histogram::bucket_of(up), b) << b;
    ASSERT_EQ(Histogram::bucket_of(up + 1), b + 1) << b;
  }
}

TEST(Histogram, PercentilesWithinRelativeError) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(8.0, 1.5);  // µs: median ~3 ms, long tail
  std::vector<std::uint64_t> values;
  Histogram a, b;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    values.push_back(v);
    (i % 2 ? a : b).record(v);
  }
  a.merge(b);
  std::sort(values.begin(), values.end());
  ASSERT_EQ(a.count(), values.size());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(p / 100 * values.size())) - 1];
    const auto got = a.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 64) + 1) << p;
  }
  EXPECT_EQ(a.max(), values.back());
  EXPECT_EQ(a.percentile(100), values.back());
}

TEST(Histogram, HugeValuesClampToLastBucket) {
  Histogram h;
  h.record(UINT64_MAX / 2);
  EXPECT_EQ(h.percentile(50), UINT64_MAX / 2);
}

// RFC 5802 §5: user "user", password "pencil", SCRAM-SHA-1.
TEST(ScramClient, Rfc5802Example) {
  ScramClient c(ScramAlgo::kSha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(c.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  auto final_msg =
      c.client_final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  ASSERT_TRUE(final_msg);
  EXPECT_EQ(*final_msg,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  EXPECT_TRUE(c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
  EXPECT_FALSE(c.verify_server_final("v=AmF9pqV8S7suAoZWja4dJRkFsKQ="));
}

// RFC 7677 §3: user "user", password "pencil", SCRAM-SHA-256.
TEST(ScramClient, Rfc7677Example) {
  ScramClient c(ScramAlgo::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final_msg = c.client_final(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final_msg);
  EXPECT_EQ(*final_msg,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));

  // A second exchange with the cached keys gives the same proof without PBKDF2.
  ScramClient again(ScramAlgo::kSha256, "user", "wrong password", "rOprNGfwEbeRWgbNEkqO");
  again.set_cached_keys(&c.keys());
  EXPECT_EQ(again.client_final("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                               "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
            final_msg);
}

TEST(ScramClient, RejectsBadServerFirst) {
  ScramClient c(ScramAlgo::kSha256, "user", "pencil", "abc");
  EXPECT_FALSE(c.client_final("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"));  // nonce not ours
  EXPECT_FALSE(c.client_final("r=abc123,s=QSXCR+Q6sek8bf92,i=0"));
  EXPECT_FALSE(c.client_final("r=abc123,i=4096"));
  EXPECT_FALSE(c.client_final("r=abc,s=QSXCR+Q6sek8bf92,i=4096"));  // no server part
  EXPECT_FALSE(c.client_final("m=ext,r=abc123,s=QSXCR+Q6sek8bf92,i=4096"));
  EXPECT_FALSE(c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));  // before the exchange
}

TEST(ScramClient, EscapesUsername) {
  ScramClient c(ScramAlgo::kSha1, "a,b=c", "p", "n");
  EXPECT_EQ(c.client_first(), "n,,n=a=2Cb=3Dc,r=n");
}

TEST(ChatBody, RoundTrip) {
  std::string out = "<body>";
  append_chat_body(out, ChatBody{1732181234567890123u, 42, 18446744073709551615u}, 3);
  EXPECT_EQ(out, "<body>1732181234567890123 42 18446744073709551615xxx");
  auto b = parse_chat_body(std::string_view(out).substr(6));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->stamp_ns, 1732181234567890123u);
  EXPECT_EQ(b->from, 42u);
  EXPECT_EQ(b->run_id, 18446744073709551615u);
  EXPECT_FALSE(parse_chat_body("hello"));
  EXPECT_FALSE(parse_chat_body("123 4"));
  EXPECT_FALSE(parse_chat_body("123 4 "));
  EXPECT_FALSE(parse_chat_body(""));
}

TEST(Plain, Message) { EXPECT_EQ(plain_message("u", "p"), std::string("\0u\0p", 4)); }

TEST(ProcStats, ParsesStatWithSpacesInComm) {
  const std::string stat =
      "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 "
      "1000000 500 18446744073709551615";
  auto cpu = parse_stat_cpu(stat, 100);
  ASSERT_TRUE(cpu);
  EXPECT_DOUBLE_EQ(*cpu, 3.0);
  EXPECT_FALSE(parse_stat_cpu("1234 (x) S 1", 100));
}

TEST(ProcStats, ParsesRss) {
  EXPECT_EQ(parse_status_rss("Name:\tstarling\nVmPeak:\t 1 kB\nVmRSS:\t   20480 kB\n"), 20480);
  EXPECT_FALSE(parse_status_rss("Name:\tx\n"));
  auto self = sample_process(getpid());
  ASSERT_TRUE(self);
  EXPECT_GT(self->rss_kib, 0);
}

TEST(Options, LoopbackOnly) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("128.0.0.1"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("::ffff:10.0.0.1"));
  EXPECT_FALSE(is_loopback("example.com"));
  EXPECT_FALSE(is_loopback("localhost.example.com"));
}

// Parses a command line as main() does; returns validate()'s message.
std::string check(std::vector<std::string> args, Options& opt) {
  CLI::App app;
  add_options(app, opt);
  std::reverse(args.begin(), args.end());
  app.parse(args);
  return validate(opt);
}

TEST(Options, RefusesRemoteHost) {
  Options opt;
  const std::string err = check({"--host", "10.0.0.1", "login"}, opt);
  EXPECT_NE(err.find("refusing host '10.0.0.1'"), std::string::npos) << err;
}

TEST(Options, ParsesScenarioAndBounds) {
  Options opt;
  EXPECT_EQ(check({"--users", "5", "--mech", "scram-sha-1", "--tls", "direct", "msg", "--rate",
                   "50", "--duration", "2"},
                  opt),
            "");
  EXPECT_EQ(opt.scenario, Scenario::kMsg);
  EXPECT_EQ(opt.mech, Mech::kScramSha1);
  EXPECT_EQ(opt.tls, TlsMode::kDirect);
  EXPECT_DOUBLE_EQ(opt.rate, 50);
  EXPECT_EQ(opt.count, 5u);  // login count defaults to --users

  Options zero;
  EXPECT_NE(check({"--users", "0", "login"}, zero), "");
  Options forever;
  EXPECT_NE(check({"idle", "--duration", "100000"}, forever), "");
  Options lonely;
  EXPECT_NE(check({"--users", "1", "max"}, lonely), "");
  Options bad_mech;
  EXPECT_THROW(check({"--mech", "DIGEST-MD5", "login"}, bad_mech), CLI::ParseError);
  Options no_scenario;
  EXPECT_THROW(check({"--users", "3"}, no_scenario), CLI::ParseError);
}

// The open-loop schedule: message 0 is due at the start, message k one interval after k-1, and a
// message counts as due from its due time on (an earlier pacer sent each message one interval
// late, which added 1/rate to every latency).
TEST(Schedule, MessagesAreDueFromTheirDueTime) {
  const Schedule s(1'000'000, 2'000'000.0);  // start at 1 ms, one message every 2 ms
  EXPECT_EQ(s.due_count(999'999), 0u);
  EXPECT_EQ(s.due_count(1'000'000), 1u);
  EXPECT_EQ(s.due_count(2'999'999), 1u);
  EXPECT_EQ(s.due_count(3'000'000), 2u);
  EXPECT_EQ(s.due_at(0), 1'000'000u);
  EXPECT_EQ(s.due_at(5), 11'000'000u);
  // A rate whose interval is not a whole number of nanoseconds: the count and the due times agree.
  const Schedule t(0, 1e9 / 3.0);
  for (std::uint64_t now = 0; now < 3'000'000'000u; now += 1'234'567) {
    const std::uint64_t n = t.due_count(now);
    EXPECT_LE(t.due_at(n - 1), now);
    EXPECT_GT(t.due_at(n), now);
  }
}

}  // namespace
}  // namespace starling::bench
