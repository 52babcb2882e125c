// starling-wakeup-floor: what this machine charges for the least a server can do per routed
// message at a low rate: wake up in epoll_wait, read one small message from one TCP connection
// and write it to another. No TLS, no XML, no routing. Its CPU per message is a floor under the
// `msg` scenario of starling-bench (docs/performance.md): a server that is woken once per
// message cannot cost less than this on the same machine.
//
// Two processes on loopback: the "server" (pinned to --server-cpu) relays every byte it reads
// on connection A to connection B; the "driver" (a forked child, pinned to --driver-cpu) writes
// one message every --gap-us microseconds on A and reads it back on B. Prints one JSON line with
// the server's CPU time (getrusage) per message. Bounded: --messages messages, then both exit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "starling-wakeup-floor: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

void pin(int cpu) {
  if (cpu < 0) {
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    die("sched_setaffinity");
  }
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Fd connect_to(std::uint16_t port) {
  Fd s(socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in a = loopback(port);
  if (connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    die("connect");
  }
  no_delay(s.get());
  return s;
}

bool read_exactly(int fd, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r <= 0) {
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

int drive(std::uint16_t port, int cpu, long messages, long gap_us, std::size_t size) {
  pin(cpu);
  Fd a = connect_to(port);
  Fd b = connect_to(port);
  std::vector<char> buf(size, 'x');
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (long i = 0; i < messages; ++i) {
    next.tv_nsec += gap_us * 1000;
    while (next.tv_nsec >= 1'000'000'000) {
      next.tv_nsec -= 1'000'000'000;
      ++next.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    if (::write(a.get(), buf.data(), size) != static_cast<ssize_t>(size) ||
        !read_exactly(b.get(), buf.data(), size)) {
      return 1;
    }
  }
  return 0;
}

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"starling-wakeup-floor: CPU per message of a bare epoll relay (a floor)"};
  long messages = 10000;
  long gap_us = 1000;
  std::size_t size = 150;
  int server_cpu = 0;
  int driver_cpu = 1;
  app.add_option("--messages", messages, "messages to relay")->check(CLI::Range(1L, 10'000'000L));
  app.add_option("--gap-us", gap_us, "microseconds between messages (1000 = 1,000 msg/s)")
      ->check(CLI::Range(0L, 1'000'000L));
  app.add_option("--size", size, "bytes per message")->check(CLI::Range(1UL, 65536UL));
  app.add_option("--server-cpu", server_cpu, "CPU of the relay (-1: not pinned)");
  app.add_option("--driver-cpu", driver_cpu, "CPU of the driver (-1: not pinned)");
  CLI11_PARSE(app, argc, argv);

  pin(server_cpu);
  Fd listener(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener.get(), 4) != 0 ||
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("listen on 127.0.0.1");
  }
  const std::uint16_t port = ntohs(addr.sin_port);
  const pid_t child = fork();
  if (child < 0) {
    die("fork");
  }
  if (child == 0) {
    _exit(drive(port, driver_cpu, messages, gap_us, size));
  }
  Fd in(accept(listener.get(), nullptr, nullptr));
  Fd out(accept(listener.get(), nullptr, nullptr));
  no_delay(out.get());
  Fd ep(epoll_create1(0));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = in.get();
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, in.get(), &ev);

  std::vector<char> buf(65536);
  const long total = messages * static_cast<long>(size);
  long relayed = 0;
  const double cpu0 = cpu_seconds();
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long wakeups = 0;
  while (relayed < total) {
    epoll_event events[4];
    if (epoll_wait(ep.get(), events, 4, 10'000) <= 0) {
      break;  // the driver is gone or stalled: bounded
    }
    ++wakeups;
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n <= 0 || ::write(out.get(), buf.data(), static_cast<std::size_t>(n)) != n) {
      break;
    }
    relayed += n;
  }
  const double cpu = cpu_seconds() - cpu0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  int status = 0;
  waitpid(child, &status, 0);
  const bool ok = relayed == total && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const double n = static_cast<double>(messages);
  std::printf(
      "{\"scenario\":\"wakeup-floor\",\"ok\":%s,\"messages\":%ld,\"gap_us\":%ld,\"size\":%zu,"
      "\"server_cpu\":%d,\"driver_cpu\":%d,\"elapsed_s\":%.3f,\"wakeups\":%ld,"
      "\"server_cpu_s\":%.4f,\"server_cpu_us_per_msg\":%.2f,\"server_cpu_s_per_10k_msgs\":%.4f}\n",
      ok ? "true" : "false", messages, gap_us, size, server_cpu, driver_cpu,
      static_cast<double>(t1.tv_sec - t0.tv_sec) + static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9,
      wakeups, cpu, cpu / n * 1e6, cpu / n * 1e4);
  return ok ? 0 : 1;
}
