#pragma once
// Command line of starling-bench: connection, account and scenario options, with the checks that
// keep every run local and bounded.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace starling::bench {

enum class TlsMode { kStartTls, kDirect };
enum class Mech { kScramSha1, kScramSha256, kPlain };
enum class Scenario { kLogin, kIdle, kMsg, kMax };

struct Options {
  // Connection and accounts.
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string domain = "localhost";
  std::uint32_t users = 100;
  std::string user_prefix = "bench";
  std::string password = "secret";
  std::string resource = "bench";
  std::uint32_t threads = 2;
  std::optional<long> server_pid;
  TlsMode tls = TlsMode::kStartTls;
  Mech mech = Mech::kScramSha256;
  bool do_register = false;
  std::uint32_t concurrency = 50;  // logins in progress at once (all threads together)
  double timeout_s = 300;          // hard limit of the whole run
  double step_timeout_s = 30;      // one login (or close) must finish within this
  // Scenarios.
  Scenario scenario = Scenario::kLogin;
  std::uint64_t count = 0;      // login: logins to run (0 = --users)
  double duration_s = 10;       // msg, max: sending time; idle: hold time
  double rate = 1000;           // msg: messages per second, all users together
  double drain_s = 5;           // msg, max: wait for messages in flight after sending stops
  std::uint32_t inflight = 1;   // max: messages in flight per pair
  std::uint32_t body_size = 0;  // extra padding characters in each message body
};

// Limits that keep a run bounded.
inline constexpr std::uint32_t kMaxUsers = 200000;
inline constexpr std::uint32_t kMaxThreads = 64;
inline constexpr double kMaxSeconds = 3600;
inline constexpr double kMaxRate = 10'000'000;

// Exit codes of starling-bench.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // the run failed (logins failed, timeout, lost messages)
inline constexpr int kExitRefused = 3;  // options refused: non-loopback host, out of range

// Adds every option and the scenario subcommands to `app`, writing into `opt`.
void add_options(CLI::App& app, Options& opt);
// Checks after parsing (including that `host` is loopback). Empty on success, else the message.
std::string validate(Options& opt);
// True for numeric 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, and the name "localhost".
bool is_loopback(const std::string& host);

const char* scenario_name(Scenario s);
const char* mech_name(Mech m);
const char* tls_name(TlsMode t);

}  // namespace starling::bench
