#include "bench/options.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <map>

namespace starling::bench {

bool is_loopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) {
    return false;  // names other than localhost are refused: they could resolve anywhere
  }
  if (addr.is_v4()) {
    return addr.to_v4().to_bytes()[0] == 127;
  }
  const auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) {
    return v6.to_bytes()[12] == 127;
  }
  return v6.is_loopback() && v6.scope_id() == 0;
}

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::kLogin:
      return "login";
    case Scenario::kIdle:
      return "idle";
    case Scenario::kMsg:
      return "msg";
    case Scenario::kMax:
      return "max";
  }
  return "?";
}

const char* mech_name(Mech m) {
  switch (m) {
    case Mech::kScramSha1:
      return "SCRAM-SHA-1";
    case Mech::kScramSha256:
      return "SCRAM-SHA-256";
    case Mech::kPlain:
      return "PLAIN";
  }
  return "?";
}

const char* tls_name(TlsMode t) { return t == TlsMode::kDirect ? "direct" : "starttls"; }

void add_options(CLI::App& app, Options& opt) {
  app.require_subcommand(1);
  app.add_option("--host", opt.host, "server address (loopback only: 127.0.0.0/8, ::1)")
      ->capture_default_str();
  app.add_option("--port", opt.port, "c2s port (STARTTLS, or direct TLS with --tls direct)")
      ->capture_default_str();
  app.add_option("--domain", opt.domain, "XMPP domain of the accounts")->capture_default_str();
  app.add_option("--users", opt.users, "number of accounts: <prefix>0 .. <prefix>N-1")
      ->capture_default_str();
  app.add_option("--user-prefix", opt.user_prefix, "localpart prefix")->capture_default_str();
  app.add_option("--password", opt.password, "password of every account")->capture_default_str();
  app.add_option("--resource", opt.resource, "resource to bind")->capture_default_str();
  app.add_option("--threads", opt.threads, "client threads (one io_context each)")
      ->capture_default_str();
  app.add_option("--server-pid", opt.server_pid,
                 "PID of the server: its CPU time and RSS are reported around each scenario");
  const std::map<std::string, TlsMode> tls_map{{"starttls", TlsMode::kStartTls},
                                               {"direct", TlsMode::kDirect}};
  app.add_option("--tls", opt.tls, "starttls or direct (XEP-0368)")
      ->transform(CLI::CheckedTransformer(tls_map, CLI::ignore_case));
  const std::map<std::string, Mech> mech_map{{"SCRAM-SHA-1", Mech::kScramSha1},
                                             {"SCRAM-SHA-256", Mech::kScramSha256},
                                             {"PLAIN", Mech::kPlain}};
  app.add_option("--mech", opt.mech, "SASL mechanism: SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN")
      ->transform(CLI::CheckedTransformer(mech_map, CLI::ignore_case));
  app.add_flag("--register", opt.do_register,
               "create the accounts with XEP-0077 in-band registration first (an existing "
               "account is not an error)");
  app.add_option("--concurrency", opt.concurrency, "logins in progress at once")
      ->capture_default_str();
  app.add_option("--timeout", opt.timeout_s, "hard limit of the whole run, seconds")
      ->capture_default_str();
  app.add_option("--step-timeout", opt.step_timeout_s, "limit of one login, seconds")
      ->capture_default_str();

  auto* login = app.add_subcommand("login", "N full logins: TLS, SASL, bind, roster, presence");
  login->add_option("--count", opt.count, "logins to run (default: --users)");
  login->callback([&opt] { opt.scenario = Scenario::kLogin; });

  auto* idle = app.add_subcommand("idle", "hold --users sessions; server RSS per session");
  idle->add_option("--duration", opt.duration_s, "seconds to hold the sessions before measuring")
      ->capture_default_str();
  idle->callback([&opt] { opt.scenario = Scenario::kIdle; });

  auto* msg = app.add_subcommand("msg", "chat messages at a fixed total rate (open loop)");
  msg->add_option("--rate", opt.rate, "messages per second, all users together")
      ->capture_default_str();
  msg->add_option("--duration", opt.duration_s, "seconds of sending")->capture_default_str();
  msg->add_option("--drain", opt.drain_s, "seconds to wait for messages in flight")
      ->capture_default_str();
  msg->add_option("--body-size", opt.body_size, "extra body characters")->capture_default_str();
  msg->callback([&opt] { opt.scenario = Scenario::kMsg; });

  auto* max = app.add_subcommand("max", "closed loop: pairs of users, K messages in flight each");
  max->add_option("--inflight", opt.inflight, "messages in flight per pair")->capture_default_str();
  max->add_option("--duration", opt.duration_s, "seconds of sending")->capture_default_str();
  max->add_option("--drain", opt.drain_s, "seconds to wait for messages in flight")
      ->capture_default_str();
  max->add_option("--body-size", opt.body_size, "extra body characters")->capture_default_str();
  max->callback([&opt] { opt.scenario = Scenario::kMax; });
}

std::string validate(Options& opt) {
  if (!is_loopback(opt.host)) {
    return "refusing host '" + opt.host +
           "': starling-bench only connects to loopback addresses (127.0.0.0/8, ::1)";
  }
  if (opt.port == 0) {
    return "--port must not be 0";
  }
  if (opt.users == 0 || opt.users > kMaxUsers) {
    return "--users must be in 1.." + std::to_string(kMaxUsers);
  }
  if (opt.threads == 0 || opt.threads > kMaxThreads) {
    return "--threads must be in 1.." + std::to_string(kMaxThreads);
  }
  if (opt.concurrency == 0) {
    return "--concurrency must be at least 1";
  }
  if (opt.domain.empty() || opt.user_prefix.empty() || opt.password.empty() ||
      opt.resource.empty()) {
    return "--domain, --user-prefix, --password and --resource must not be empty";
  }
  for (double s : {opt.timeout_s, opt.step_timeout_s, opt.duration_s, opt.drain_s}) {
    if (!(s > 0 && s <= kMaxSeconds)) {
      return "durations and timeouts must be in (0, " + std::to_string(int(kMaxSeconds)) + "] s";
    }
  }
  if (!(opt.rate > 0 && opt.rate <= kMaxRate)) {
    return "--rate must be in (0, 1e7]";
  }
  if (opt.inflight == 0 || opt.inflight > 10000) {
    return "--inflight must be in 1..10000";
  }
  if (opt.body_size > 65536) {
    return "--body-size must be at most 65536";
  }
  if (opt.count == 0) {
    opt.count = opt.users;
  }
  if (opt.count > 100'000'000) {
    return "--count must be at most 100000000";
  }
  if (opt.scenario == Scenario::kMax && opt.users < 2) {
    return "max needs at least 2 users (pairs)";
  }
  return {};
}

}  // namespace starling::bench
