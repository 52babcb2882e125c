#include "bench/runner.hpp"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "base/random.hpp"
#include "bench/body.hpp"
#include "bench/histogram.hpp"
#include "bench/proc_stats.hpp"
#include "bench/schedule.hpp"
#include "bench/session.hpp"
#include "net/shards.hpp"

namespace starling::bench {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace {

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Counters one thread writes and the main thread reads for progress.
struct alignas(64) Counters {
  std::atomic<std::uint64_t> logins_ok{0};
  std::atomic<std::uint64_t> logins_failed{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> errors{0};   // message stanzas of type error
  std::atomic<std::uint64_t> skipped{0};  // sends skipped: queue over its cap
  std::atomic<std::uint64_t> foreign{0};  // chat messages not from this run (ignored)
  std::atomic<std::uint64_t> dropped{0};  // sessions the server ended during the run
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> window_delivered{0};  // max: delivered when the window ended
};

void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

class Runner;

// Everything one thread owns.
struct Shard final : MessageSink {
  Runner* runner = nullptr;
  std::size_t id = 0;
  asio::any_io_executor ex;
  Counters c;
  Histogram login_latency;                          // µs
  std::array<Histogram, kLoginSteps> step_latency;  // µs per login phase
  Histogram msg_latency;                            // µs
  std::vector<std::uint32_t> accounts;              // indexes of the accounts this thread owns
  std::vector<std::shared_ptr<Session>> sessions;   // held sessions (idle, msg, max)
  std::uint64_t next_login = 0;                     // login scenario: next login number
  std::uint64_t logins_wanted = 0;
  std::string first_error;      // first login failure, for the report
  std::string first_msg_error;  // condition of the first bounced message

  void on_message(Session& s, const xml::Element& m) override;
  void on_closed(Session& s) override {
    add(c.closed);
    if (!s.closing()) {
      add(c.dropped);
    }
  }
};

class Runner {
 public:
  Runner(const Options& opt, std::ostream& out, std::ostream& progress)
      : opt_(opt),
        out_(out),
        progress_(progress),
        tls_(asio::ssl::context::tls_client),
        shards_(opt.threads) {}

  int run();

  // Read by the threads.
  const Options& opt() const { return opt_; }
  std::atomic<bool> sending{false};
  std::uint64_t start_ns = 0;  // msg: the schedule's origin
  const std::string& bare(std::uint32_t i) const { return accounts_[i].bare_jid; }
  std::uint64_t run_id() const { return cfg_.run_id; }

 private:
  friend struct Shard;
  std::string setup();
  asio::awaitable<void> login_worker(Shard& sh, bool keep);
  asio::awaitable<void> pacer(Shard& sh, double rate);
  asio::awaitable<void> close_all(Shard& sh);
  // Runs logins on every thread and waits (bounded); `keep`: one held session per account.
  bool login_phase(bool keep, std::uint64_t count, std::size_t* ok_out, double* secs_out);
  void close_phase();
  template <class F>
  void on_each_shard(F f);
  std::uint64_t sum(std::atomic<std::uint64_t> Counters::*field) const;
  // Polls `done` until it holds or `seconds` pass (progress on stderr every second).
  bool wait_until(const std::function<bool()>& done, double seconds, const char* what);
  // Waits `seconds` (bounded by --timeout), printing progress.
  void hold(double seconds, const char* what);
  std::optional<ProcSample> server_sample() const;
  // Merges one histogram of every thread, read on its own thread; also the first login error.
  // Per-phase login latencies of every thread, as JSON (milliseconds).
  json steps_json();
  Histogram collect(Histogram Shard::*which, std::string* first_error,
                    std::string* first_msg_error = nullptr);
  json base_report() const;
  void emit(const json& j) { out_ << j.dump() << std::endl; }
  bool out_of_time() const { return seconds_since(started_) > opt_.timeout_s; }

  int run_login();
  int run_idle();
  int run_msg(bool closed_loop);

  const Options& opt_;
  std::ostream& out_;
  std::ostream& progress_;
  Clock::time_point started_ = Clock::now();
  LoginConfig cfg_;
  std::vector<Account> accounts_;
  asio::ssl::context tls_;  // outlives the sessions (destroyed with the shards' contexts)
  net::Shards shards_;
  std::vector<std::unique_ptr<Shard>> shard_state_;
};

void Shard::on_message(Session& s, const xml::Element& m) {
  if (m.attr_or("type") == "error") {
    add(c.errors);
    if (first_msg_error.empty()) {
      first_msg_error = "?";
      if (const xml::Element* err = m.child("error")) {
        for (const auto* cond : err->elements()) {
          if (cond->xmlns() == "urn:ietf:params:xml:ns:xmpp-stanzas") {
            first_msg_error = cond->name();
            break;
          }
        }
      }
    }
    return;
  }
  const xml::Element* body = m.child("body");
  if (body == nullptr) {
    return;
  }
  const xml::Element* text = nullptr;
  for (const auto& n : body->nodes()) {
    if (n.is_text()) {
      text = &n;
      break;
    }
  }
  if (text == nullptr) {
    return;
  }
  const auto parsed = parse_chat_body(text->text_content());
  if (!parsed || parsed->run_id != runner->run_id()) {
    add(c.foreign);  // not a message of this run
    return;
  }
  const std::uint64_t stamp = parsed->stamp_ns;
  const std::uint64_t now = now_ns();
  msg_latency.record(now > stamp ? (now - stamp) / 1000 : 0);
  add(c.delivered);
  const Options& opt = runner->opt();
  if (opt.scenario == Scenario::kMax && runner->sending.load(std::memory_order_relaxed)) {
    // Closed loop: each delivery sends the next message of the pair back.
    const std::uint32_t peer = s.index() ^ 1u;
    if (s.send_chat(runner->bare(peer), now, s.index(), opt.body_size)) {
      add(c.sent);
    } else {
      add(c.skipped);
    }
  }
}

std::string Runner::setup() {
  if (opt_.server_pid && !sample_process(*opt_.server_pid)) {
    return "cannot read /proc/" + std::to_string(*opt_.server_pid) +
           "/stat and status (--server-pid): no such process?";
  }
  boost::system::error_code ec;
  const std::string host = opt_.host == "localhost" ? "127.0.0.1" : opt_.host;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return "bad address " + opt_.host;
  }
  cfg_.endpoint = asio::ip::tcp::endpoint(addr, opt_.port);
  cfg_.domain = opt_.domain;
  cfg_.password = opt_.password;
  cfg_.tls = opt_.tls;
  cfg_.mech = opt_.mech;
  cfg_.do_register = opt_.do_register;
  cfg_.step_timeout_s = opt_.step_timeout_s;
  const std::string id_bytes = random_bytes(sizeof cfg_.run_id);
  std::memcpy(&cfg_.run_id, id_bytes.data(), sizeof cfg_.run_id);
  // Any standard server: self-signed certificates are accepted (loopback only), TLS 1.2+.
  tls_.set_verify_mode(asio::ssl::verify_none);
  SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
  if (opt_.tls == TlsMode::kDirect) {
    // XEP-0368: ALPN "xmpp-client".
    static const unsigned char kAlpn[] = "\x0bxmpp-client";
    SSL_CTX_set_alpn_protos(tls_.native_handle(), kAlpn, sizeof kAlpn - 1);
  }
  accounts_.resize(opt_.users);
  for (std::uint32_t i = 0; i < opt_.users; ++i) {
    accounts_[i].localpart = opt_.user_prefix + std::to_string(i);
    accounts_[i].bare_jid = accounts_[i].localpart + "@" + opt_.domain;
  }
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    auto sh = std::make_unique<Shard>();
    sh->runner = this;
    sh->id = s;
    sh->ex = shards_.executor(s);
    shard_state_.push_back(std::move(sh));
  }
  for (std::uint32_t i = 0; i < opt_.users; ++i) {
    shard_state_[i % shards_.size()]->accounts.push_back(i);
  }
  // One descriptor per session, plus a margin for the process itself.
  const rlim_t wanted = static_cast<rlim_t>(opt_.users) + 64;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < wanted) {
    lim.rlim_cur = std::min(wanted, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < wanted) {
      return "--users " + std::to_string(opt_.users) + " needs " + std::to_string(wanted) +
             " file descriptors; the hard limit is " + std::to_string(lim.rlim_max) +
             " (raise it with ulimit -Hn)";
    }
  }
  shards_.start();
  return {};
}

template <class F>
void Runner::on_each_shard(F f) {
  for (auto& sh : shard_state_) {
    asio::post(sh->ex, [f, s = sh.get()] { f(*s); });
  }
}

std::uint64_t Runner::sum(std::atomic<std::uint64_t> Counters::*field) const {
  std::uint64_t n = 0;
  for (const auto& sh : shard_state_) {
    n += (sh->c.*field).load(std::memory_order_relaxed);
  }
  return n;
}

bool Runner::wait_until(const std::function<bool()>& done, double seconds, const char* what) {
  const auto start = Clock::now();
  auto last = start;
  while (!done()) {
    if (seconds_since(start) > seconds || out_of_time()) {
      progress_ << "starling-bench: " << what << ": time limit reached" << std::endl;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Clock::now() - last > std::chrono::seconds(1)) {
      last = Clock::now();
      progress_ << "  " << what << ": logins " << sum(&Counters::logins_ok) << " ok "
                << sum(&Counters::logins_failed) << " failed, messages sent "
                << sum(&Counters::sent) << " delivered " << sum(&Counters::delivered) << std::endl;
    }
  }
  return true;
}

void Runner::hold(double seconds, const char* what) {
  const auto start = Clock::now();
  auto last = start;
  while (seconds_since(start) < seconds && !out_of_time()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (Clock::now() - last > std::chrono::seconds(1)) {
      last = Clock::now();
      progress_ << "  " << what << ": sessions "
                << sum(&Counters::logins_ok) - sum(&Counters::closed) << ", messages sent "
                << sum(&Counters::sent) << " delivered " << sum(&Counters::delivered) << std::endl;
    }
  }
}

std::optional<ProcSample> Runner::server_sample() const {
  if (!opt_.server_pid) {
    return std::nullopt;
  }
  return sample_process(*opt_.server_pid);
}

asio::awaitable<void> Runner::login_worker(Shard& sh, bool keep) {
  while (sh.next_login < sh.logins_wanted && !out_of_time()) {
    const std::uint64_t k = sh.next_login++;
    const std::uint32_t account = sh.accounts[k % sh.accounts.size()];
    // Repeated logins of one account (login scenario) use distinct resources so that they never
    // replace each other.
    std::string resource = opt_.resource;
    if (!keep) {
      resource += std::to_string(k);
    }
    auto session = std::make_shared<Session>(sh.ex, tls_, cfg_, accounts_[account],
                                             std::move(resource), account);
    const auto t0 = Clock::now();
    auto op = session->login();
    std::string err = co_await std::move(op);
    if (!err.empty()) {
      if (sh.first_error.empty()) {
        sh.first_error = accounts_[account].localpart + ": " + err;
      }
      add(sh.c.logins_failed);
      continue;
    }
    sh.login_latency.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
    for (std::size_t i = 0; i < kLoginSteps; ++i) {
      sh.step_latency[i].record(session->step_us()[i]);
    }
    add(sh.c.logins_ok);
    if (keep) {
      session->start(&sh);
      sh.sessions.push_back(std::move(session));
    } else {
      auto cop = session->close();
      co_await std::move(cop);
      add(sh.c.closed);
    }
  }
}

bool Runner::login_phase(bool keep, std::uint64_t count, std::size_t* ok_out, double* secs_out) {
  const std::size_t n = shard_state_.size();
  const std::uint32_t workers = std::max<std::uint32_t>(1, (opt_.concurrency + n - 1) / n);
  std::uint64_t expected = 0;
  for (std::size_t s = 0; s < n; ++s) {
    Shard& sh = *shard_state_[s];
    // Logins of shard s: its share of `count`, the remainder to the first shards.
    sh.logins_wanted = sh.accounts.empty() ? 0 : count / n + (s < count % n ? 1 : 0);
    if (keep) {
      sh.logins_wanted = sh.accounts.size();
    }
    sh.next_login = 0;
    expected += sh.logins_wanted;
  }
  const auto t0 = Clock::now();
  on_each_shard([this, workers, keep](Shard& sh) {
    for (std::uint32_t w = 0; w < workers; ++w) {
      asio::co_spawn(sh.ex, login_worker(sh, keep), asio::detached);
    }
  });
  const bool finished = wait_until(
      [&] { return sum(&Counters::logins_ok) + sum(&Counters::logins_failed) >= expected; },
      opt_.timeout_s, "login");
  *secs_out = seconds_since(t0);
  *ok_out = sum(&Counters::logins_ok);
  return finished && *ok_out == expected;
}

asio::awaitable<void> Runner::close_all(Shard& sh) {
  for (auto& s : sh.sessions) {
    asio::co_spawn(
        sh.ex,
        [](std::shared_ptr<Session> session) -> asio::awaitable<void> {
          auto op = session->close();
          co_await std::move(op);
        }(s),
        asio::detached);
  }
  co_return;
}

void Runner::close_phase() {
  std::uint64_t held = 0;
  for (auto& sh : shard_state_) {
    held += sh->sessions.size();
  }
  if (held == 0) {
    return;
  }
  // Sessions the server already ended count as closed.
  on_each_shard([this](Shard& sh) { asio::co_spawn(sh.ex, close_all(sh), asio::detached); });
  wait_until([&] { return sum(&Counters::closed) >= held; }, opt_.step_timeout_s + 5, "close");
}

json Runner::base_report() const {
  json j;
  j["scenario"] = scenario_name(opt_.scenario);
  j["params"] = {{"host", opt_.host},
                 {"port", opt_.port},
                 {"domain", opt_.domain},
                 {"tls", tls_name(opt_.tls)},
                 {"mech", mech_name(opt_.mech)},
                 {"users", opt_.users},
                 {"threads", opt_.threads},
                 {"concurrency", opt_.concurrency},
                 {"register", opt_.do_register}};
  return j;
}

json latency_json(const Histogram& h) {
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
  return {{"count", h.count()},
          {"p50", ms(h.percentile(50))},
          {"p90", ms(h.percentile(90))},
          {"p99", ms(h.percentile(99))},
          {"p999", ms(h.percentile(99.9))},
          {"max", ms(h.max())},
          {"mean", h.mean() / 1000.0}};
}

void add_server(json& j, const std::optional<ProcSample>& a, const std::optional<ProcSample>& b) {
  if (a && b) {
    j["server_cpu_s"] = b->cpu_s - a->cpu_s;
    j["server_rss_kib_before"] = a->rss_kib;
    j["server_rss_kib_after"] = b->rss_kib;
  } else {
    j["server_cpu_s"] = nullptr;
  }
}

Histogram Runner::collect(Histogram Shard::*which, std::string* first_error,
                          std::string* first_msg_error) {
  auto h = std::make_shared<Histogram>();
  auto mu = std::make_shared<std::mutex>();
  auto err = std::make_shared<std::string>();
  auto msg_err = std::make_shared<std::string>();
  auto merged = std::make_shared<std::atomic<std::size_t>>(0);
  on_each_shard([=](Shard& sh) {
    std::lock_guard lock(*mu);
    h->merge(sh.*which);
    if (err->empty()) {
      *err = sh.first_error;
    }
    if (msg_err->empty()) {
      *msg_err = sh.first_msg_error;
    }
    merged->fetch_add(1);
  });
  wait_until([&] { return merged->load() == shard_state_.size(); }, 10, "collect");
  std::lock_guard lock(*mu);
  if (first_error != nullptr) {
    *first_error = *err;
  }
  if (first_msg_error != nullptr) {
    *first_msg_error = *msg_err;
  }
  return *h;
}

json Runner::steps_json() {
  // Copied on the threads that own them, as collect() does.
  auto steps = std::make_shared<std::array<Histogram, kLoginSteps>>();
  auto mu = std::make_shared<std::mutex>();
  auto merged = std::make_shared<std::atomic<std::size_t>>(0);
  on_each_shard([=](Shard& sh) {
    std::lock_guard lock(*mu);
    for (std::size_t i = 0; i < kLoginSteps; ++i) {
      (*steps)[i].merge(sh.step_latency[i]);
    }
    merged->fetch_add(1);
  });
  wait_until([&] { return merged->load() == shard_state_.size(); }, 10, "collect");
  std::lock_guard lock(*mu);
  json j = json::object();
  for (std::size_t i = 0; i < kLoginSteps; ++i) {
    const Histogram& h = (*steps)[i];
    j[kLoginStepNames[i]] = {{"p50", static_cast<double>(h.percentile(50)) / 1000.0},
                             {"p99", static_cast<double>(h.percentile(99)) / 1000.0},
                             {"mean", h.mean() / 1000.0}};
  }
  return j;
}

int Runner::run_login() {
  const auto before = server_sample();
  const double cpu0 = self_cpu_seconds();
  std::size_t ok = 0;
  double secs = 0;
  const bool all = login_phase(false, opt_.count, &ok, &secs);
  // Let the last closes finish before sampling the server.
  wait_until([&] { return sum(&Counters::closed) >= ok; }, opt_.step_timeout_s, "close");
  const auto after = server_sample();
  json j = base_report();
  j["params"]["count"] = opt_.count;
  j["logins_ok"] = ok;
  j["logins_failed"] = sum(&Counters::logins_failed);
  j["elapsed_s"] = secs;
  j["logins_per_s"] = secs > 0 ? static_cast<double>(ok) / secs : 0.0;
  std::string first_error;
  const Histogram h = collect(&Shard::login_latency, &first_error);
  j["latency_ms"] = latency_json(h);
  j["login_steps_ms"] = steps_json();
  add_server(j, before, after);
  if (before && after && ok > 0) {
    j["server_cpu_s_per_1k_logins"] = (after->cpu_s - before->cpu_s) * 1000.0 / ok;
  }
  j["bench_cpu_s"] = self_cpu_seconds() - cpu0;
  if (!first_error.empty()) {
    j["first_error"] = first_error;
  }
  j["ok"] = all;
  emit(j);
  return all ? kExitOk : kExitFailed;
}

int Runner::run_idle() {
  const auto before = server_sample();
  std::size_t ok = 0;
  double secs = 0;
  const bool all = login_phase(true, opt_.users, &ok, &secs);
  const auto logged_in = server_sample();
  if (all) {
    progress_ << "starling-bench: holding " << ok << " sessions for " << opt_.duration_s << " s"
              << std::endl;
    hold(opt_.duration_s, "hold");
  }
  const auto after = server_sample();
  const std::uint64_t dropped = sum(&Counters::dropped);
  json j = base_report();
  j["params"]["duration_s"] = opt_.duration_s;
  j["sessions"] = ok;
  j["logins_failed"] = sum(&Counters::logins_failed);
  j["login_elapsed_s"] = secs;
  j["dropped"] = dropped;
  add_server(j, before, after);
  if (before && after && ok > 0) {
    j["server_cpu_s_login"] = logged_in->cpu_s - before->cpu_s;
    j["server_cpu_s_hold"] = after->cpu_s - logged_in->cpu_s;
    j["server_rss_kib_per_session"] =
        static_cast<double>(after->rss_kib - before->rss_kib) / static_cast<double>(ok);
  }
  if (!all) {
    std::string first_error;
    collect(&Shard::login_latency, &first_error);
    j["first_error"] = first_error;
  }
  const bool good = all && dropped == 0;
  j["ok"] = good;
  close_phase();
  emit(j);
  return good ? kExitOk : kExitFailed;
}

asio::awaitable<void> Runner::pacer(Shard& sh, double rate) {
  // Open loop: message k of this thread is due at start + k / rate, whatever the server does;
  // its latency is measured from that due time, so a stalled server is not hidden (no
  // coordinated omission). The pacer sends every message that is due, then sleeps until the
  // next one is due, so the only lag it adds is the timer's wake-up.
  asio::steady_timer tick(sh.ex);
  const std::uint32_t n = opt_.users;
  std::uint64_t k = 0;
  std::size_t rr = 0;
  const Schedule schedule(start_ns, 1e9 / rate);
  while (sending.load(std::memory_order_relaxed) && !sh.sessions.empty()) {
    const std::uint64_t now = now_ns();
    for (const std::uint64_t due = schedule.due_count(now); k < due; ++k) {
      Session& s = *sh.sessions[rr++ % sh.sessions.size()];
      const std::uint32_t from = s.index();
      const std::uint32_t to = n == 1 ? from : (from + 1 + s.seq++ % (n - 1)) % n;
      if (s.send_chat(bare(to), schedule.due_at(k), from, opt_.body_size)) {
        add(sh.c.sent);
      } else {
        add(sh.c.skipped);
      }
    }
    // Wake for the next message, but at least every 10 ms to notice the end of the run.
    const std::uint64_t wait_ns = std::min<std::uint64_t>(schedule.due_at(k) - now, 10'000'000);
    tick.expires_after(std::chrono::nanoseconds(wait_ns));
    auto op = tick.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await std::move(op);
  }
}

int Runner::run_msg(bool closed_loop) {
  std::size_t ok = 0;
  double login_secs = 0;
  const bool all = login_phase(true, opt_.users, &ok, &login_secs);
  json j = base_report();
  j["params"]["duration_s"] = opt_.duration_s;
  j["params"]["drain_s"] = opt_.drain_s;
  j["params"]["body_size"] = opt_.body_size;
  if (closed_loop) {
    j["params"]["inflight"] = opt_.inflight;
  } else {
    j["params"]["rate"] = opt_.rate;
  }
  j["sessions"] = ok;
  j["logins_failed"] = sum(&Counters::logins_failed);
  if (!all) {
    std::string first_error;
    collect(&Shard::login_latency, &first_error);
    j["first_error"] = first_error;
    j["ok"] = false;
    close_phase();
    emit(j);
    return kExitFailed;
  }
  const auto before = server_sample();
  const double cpu0 = self_cpu_seconds();
  start_ns = now_ns();
  sending = true;
  const auto t0 = Clock::now();
  if (closed_loop) {
    on_each_shard([this](Shard& sh) {
      for (auto& s : sh.sessions) {
        const std::uint32_t peer = s->index() ^ 1u;
        if ((s->index() & 1u) != 0 || peer >= opt_.users) {
          continue;  // the even member of each pair starts; an odd last user stays idle
        }
        for (std::uint32_t i = 0; i < opt_.inflight; ++i) {
          if (s->send_chat(bare(peer), now_ns(), s->index(), opt_.body_size)) {
            add(sh.c.sent);
          }
        }
      }
    });
  } else {
    on_each_shard([this](Shard& sh) {
      const double share =
          opt_.rate * static_cast<double>(sh.sessions.size()) / static_cast<double>(opt_.users);
      if (share > 0) {
        asio::co_spawn(sh.ex, pacer(sh, share), asio::detached);
      }
    });
  }
  hold(opt_.duration_s, closed_loop ? "max" : "msg");
  const std::uint64_t window_delivered = sum(&Counters::delivered);
  sending = false;
  const double window = seconds_since(t0);
  wait_until(
      [&] { return sum(&Counters::delivered) + sum(&Counters::errors) >= sum(&Counters::sent); },
      opt_.drain_s, "drain");
  const auto after = server_sample();
  const double bench_cpu = self_cpu_seconds() - cpu0;
  const std::uint64_t sent = sum(&Counters::sent);
  const std::uint64_t delivered = sum(&Counters::delivered);
  const std::uint64_t dropped = sum(&Counters::dropped);
  j["elapsed_s"] = window;
  j["sent"] = sent;
  j["delivered"] = delivered;
  j["lost"] = sent > delivered ? sent - delivered : 0;
  j["errors"] = sum(&Counters::errors);
  j["skipped"] = sum(&Counters::skipped);
  j["foreign"] = sum(&Counters::foreign);
  j["dropped"] = dropped;
  j["sent_per_s"] = static_cast<double>(sent) / window;
  j["delivered_per_s"] = static_cast<double>(window_delivered) / window;
  std::string first_msg_error;
  j["latency_ms"] = latency_json(collect(&Shard::msg_latency, nullptr, &first_msg_error));
  if (!first_msg_error.empty()) {
    j["first_message_error"] = first_msg_error;
  }
  add_server(j, before, after);
  if (before && after && delivered > 0) {
    j["server_cpu_s_per_10k_msgs"] = (after->cpu_s - before->cpu_s) * 10000.0 / delivered;
  }
  j["bench_cpu_s"] = bench_cpu;
  const bool good = sent > 0 && delivered >= sent && dropped == 0;
  j["ok"] = good;
  close_phase();
  emit(j);
  return good ? kExitOk : kExitFailed;
}

int Runner::run() {
  if (std::string err = setup(); !err.empty()) {
    progress_ << "starling-bench: " << err << std::endl;
    return kExitFailed;
  }
  progress_ << "starling-bench: " << scenario_name(opt_.scenario) << " against " << opt_.host << ":"
            << opt_.port << " (" << tls_name(opt_.tls) << ", " << mech_name(opt_.mech) << "), "
            << opt_.users << " users on " << opt_.threads << " threads" << std::endl;
  int rc = kExitFailed;
  switch (opt_.scenario) {
    case Scenario::kLogin:
      rc = run_login();
      break;
    case Scenario::kIdle:
      rc = run_idle();
      break;
    case Scenario::kMsg:
      rc = run_msg(false);
      break;
    case Scenario::kMax:
      rc = run_msg(true);
      break;
  }
  shards_.stop();
  shards_.join();
  // Sessions and coroutine frames go with the io_contexts (Shards' destructor); the sessions'
  // records of this thread go first.
  return rc;
}

}  // namespace

int run(const Options& opt, std::ostream& out, std::ostream& progress) {
  Runner r(opt, out, progress);
  return r.run();
}

}  // namespace starling::bench
