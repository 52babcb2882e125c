// starlingctl: account administration and configuration checks. Works on the same
// configuration (and database) as the server; safe while the server runs (SQLite WAL).
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <iostream>

#include "auth/sasl.hpp"
#include "net/tls.hpp"
#include "server/config/config.hpp"
#include "storage/backend.hpp"
#include "xmpp/jid.hpp"

namespace {

using namespace starling;

// Exit codes (documented in docs/admin-guide.md).
constexpr int kOk = 0;
constexpr int kUsage = 2;     // bad arguments, bad JID, bad password
constexpr int kConfig = 3;    // configuration or database cannot be used
constexpr int kExists = 4;    // adduser: the account exists
constexpr int kNotFound = 5;  // passwd/deluser: no such account
constexpr int kUnknownDomain = 6;
constexpr int kCheckFailed = 7;

std::string read_line_noecho(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios no_echo = old;
    no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &no_echo);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

// The password: the first line of stdin when stdin is not a terminal, else prompted twice.
std::optional<std::string> read_password() {
  if (!isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) {
      std::cerr << "starlingctl: no password on standard input\n";
      return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    return line;
  }
  std::string a = read_line_noecho("Password: ");
  std::string b = read_line_noecho("Repeat password: ");
  if (a != b) {
    std::cerr << "starlingctl: the passwords do not match\n";
    return std::nullopt;
  }
  return a;
}

struct Ctx {
  config::Config cfg;
  std::unique_ptr<storage::Backend> db;
};

int open(const std::string& path, Ctx& ctx) {
  if (path.empty()) {
    ctx.cfg = config::defaults();
  } else {
    auto c = config::load_file(path);
    if (!c) {
      std::cerr << "starlingctl: " << c.error().message << "\n";
      return kConfig;
    }
    ctx.cfg = std::move(*c);
  }
  return kOk;
}

int open_db(Ctx& ctx) {
  auto db = storage::open_sqlite(ctx.cfg.data_dir / "starling.db");
  if (!db) {
    std::cerr << "starlingctl: " << db.error().message << "\n";
    return kConfig;
  }
  ctx.db = std::move(*db);
  return kOk;
}

// A JID typed with a localpart that needs XEP-0106 escaping ("d'artagnan@example.com",
// "space cadet@example.com", "user@host@example.com"): the localpart is everything before the
// last '@', escaped per XEP-0106 §4.2 (an escape-like sequence already in it gets its backslash
// escaped, so the user's text round-trips through unescaping). nullopt when even that is no JID.
std::optional<xmpp::Jid> parse_unescaped(const std::string& text) {
  auto at = text.rfind('@');
  if (at == std::string::npos || at == 0) {
    return std::nullopt;
  }
  std::string local = xmpp::escape_localpart(std::string_view(text).substr(0, at));
  if (local.empty()) {
    return std::nullopt;
  }
  return xmpp::Jid::make(local, std::string_view(text).substr(at + 1));
}

// Parses a user JID and checks the domain is served. A valid JID is taken as typed (so an
// escaped localpart such as d\27artagnan is stored as it is); otherwise the localpart is
// escaped (XEP-0106) and the escaped form is used, with a note on stderr.
int parse_user(const Ctx& ctx, const std::string& text, xmpp::Jid& out) {
  auto j = xmpp::Jid::parse(text);
  if (!j) {
    j = parse_unescaped(text);
    if (j && j->is_bare()) {
      std::cerr << "starlingctl: using the escaped address " << j->bare_str()
                << " (XEP-0106 JID escaping of '" << text << "')\n";
    }
  }
  if (!j || j->local().empty() || !j->is_bare()) {
    std::cerr << "starlingctl: '" << text << "' is not a valid user JID (user@domain)\n";
    return kUsage;
  }
  const auto& d = ctx.cfg.domains;
  if (ctx.cfg.is_anonymous(j->domain())) {
    std::cerr << "starlingctl: domain '" << j->domain()
              << "' is an anonymous domain (anonymous_domains): its accounts exist only while "
                 "their SASL ANONYMOUS session lasts\n";
    return kUnknownDomain;
  }
  if (std::find(d.begin(), d.end(), j->domain()) == d.end()) {
    std::cerr << "starlingctl: domain '" << j->domain() << "' is not served by this server"
              << " (domains: ";
    for (std::size_t i = 0; i < d.size(); ++i) {
      std::cerr << (i ? ", " : "") << d[i];
    }
    std::cerr << ")\n";
    return kUnknownDomain;
  }
  out = *j;
  return kOk;
}

int check(const Ctx& ctx, const std::string& config_path) {
  int failures = 0;
  std::cout << "config: " << (config_path.empty() ? "built-in defaults" : config_path) << ": ok\n";
  if (ctx.cfg.tls.certificate) {
    auto info = net::inspect_certificate(*ctx.cfg.tls.certificate);
    if (!info) {
      std::cout << "certificate: " << info.error().message << "\n";
      ++failures;
    } else {
      if (info->expired) {
        std::cout << "certificate: " << ctx.cfg.tls.certificate->string() << " has expired\n";
        ++failures;
      } else {
        std::cout << "certificate: valid for " << info->days_left << " more days\n";
      }
      for (const auto& d : ctx.cfg.domains) {
        if (!net::certificate_matches(*info, d)) {
          std::cout << "certificate: does not cover domain " << d << "\n";
          ++failures;
        }
      }
    }
    if (auto r = net::make_server_context({*ctx.cfg.tls.certificate, *ctx.cfg.tls.key}); !r) {
      std::cout << "certificate: " << r.error().message << "\n";
      ++failures;
    }
  } else {
    std::cout << "certificate: self-signed, made in " << (ctx.cfg.data_dir / "tls").string()
              << "\n";
  }
  boost::asio::io_context io;
  std::vector<config::Endpoint> eps = ctx.cfg.c2s.listen;
  eps.insert(eps.end(), ctx.cfg.c2s.direct_tls.begin(), ctx.cfg.c2s.direct_tls.end());
  for (const auto& ep : eps) {
    boost::system::error_code ec;
    boost::asio::ip::tcp::acceptor acc(io);
    boost::asio::ip::tcp::endpoint e(boost::asio::ip::make_address(ep.host, ec), ep.port);
    if (!ec) {
      acc.open(e.protocol(), ec);
    }
    if (!ec) {
      acc.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
      acc.bind(e, ec);
    }
    if (ec) {
      std::cout << "port " << ep.str() << ": not free: " << ec.message() << "\n";
      ++failures;
    } else {
      std::cout << "port " << ep.str() << ": free\n";
    }
  }
  return failures == 0 ? kOk : kCheckFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"starlingctl: administer a Starling XMPP server"};
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "TOML configuration file (default: built-in defaults)");
  app.require_subcommand(1);
  std::string jid_arg;
  auto* adduser = app.add_subcommand("adduser", "Create an account");
  adduser->add_option("JID", jid_arg, "user@domain")->required();
  auto* passwd = app.add_subcommand("passwd", "Change an account's password");
  passwd->add_option("JID", jid_arg, "user@domain")->required();
  auto* deluser = app.add_subcommand("deluser", "Delete an account and all its data");
  deluser->add_option("JID", jid_arg, "user@domain")->required();
  std::string domain_arg;
  auto* users = app.add_subcommand("users", "List accounts");
  users->add_option("DOMAIN", domain_arg, "only this domain");
  auto* checkcmd = app.add_subcommand("check", "Check configuration, certificates and ports");
  CLI11_PARSE(app, argc, argv);

  Ctx ctx;
  if (int rc = open(config_path, ctx); rc != kOk) {
    return rc;
  }
  if (checkcmd->parsed()) {
    return check(ctx, config_path);
  }
  if (users->parsed()) {
    if (int rc = open_db(ctx); rc != kOk) {
      return rc;
    }
    std::vector<std::string> domains = ctx.cfg.domains;
    if (!domain_arg.empty()) {
      auto d = xmpp::prep_domainpart(domain_arg);
      if (!d || std::find(domains.begin(), domains.end(), *d) == domains.end()) {
        std::cerr << "starlingctl: domain '" << domain_arg << "' is not served by this server\n";
        return kUnknownDomain;
      }
      domains = {*d};
    }
    std::vector<std::string> all;
    for (const auto& d : domains) {
      for (const auto& u : ctx.db->list_users(d)) {
        all.push_back(u + "@" + d);
      }
    }
    std::sort(all.begin(), all.end());
    for (const auto& j : all) {
      std::cout << j << "\n";
    }
    return kOk;
  }
  xmpp::Jid jid;
  if (int rc = parse_user(ctx, jid_arg, jid); rc != kOk) {
    return rc;
  }
  if (int rc = open_db(ctx); rc != kOk) {
    return rc;
  }
  if (deluser->parsed()) {
    auto st = ctx.db->delete_account(jid.domain(), jid.local());
    if (st == storage::Status::kNotFound) {
      std::cerr << "starlingctl: no account " << jid.bare_str() << "\n";
      return kNotFound;
    }
    if (st != storage::Status::kOk) {
      std::cerr << "starlingctl: cannot delete " << jid.bare_str() << ": storage error\n";
      return kConfig;
    }
    std::cout << "deleted " << jid.bare_str() << "\n";
    return kOk;
  }
  if (adduser->parsed()) {
    if (ctx.db->get_account(jid.domain(), jid.local())) {
      std::cerr << "starlingctl: account " << jid.bare_str() << " already exists\n";
      return kExists;
    }
  } else if (!ctx.db->get_account(jid.domain(), jid.local())) {
    std::cerr << "starlingctl: no account " << jid.bare_str() << "\n";
    return kNotFound;
  }
  auto password = read_password();
  if (!password) {
    return kUsage;
  }
  auto creds = auth::derive_credentials(*password);
  if (!creds) {
    std::cerr << "starlingctl: the password is empty or contains characters not allowed "
                 "(RFC 8265 OpaqueString)\n";
    return kUsage;
  }
  if (adduser->parsed()) {
    storage::Account a;
    a.domain = jid.domain();
    a.username = jid.local();
    a.credentials = *creds;
    a.created_at = static_cast<std::int64_t>(std::time(nullptr));
    auto st = ctx.db->create_account(a);
    if (st == storage::Status::kExists) {
      std::cerr << "starlingctl: account " << jid.bare_str() << " already exists\n";
      return kExists;
    }
    if (st != storage::Status::kOk) {
      std::cerr << "starlingctl: cannot create " << jid.bare_str() << ": storage error\n";
      return kConfig;
    }
    std::cout << "created " << jid.bare_str() << "\n";
    return kOk;
  }
  if (ctx.db->set_credentials(jid.domain(), jid.local(), *creds) != storage::Status::kOk) {
    std::cerr << "starlingctl: cannot change the password of " << jid.bare_str() << "\n";
    return kConfig;
  }
  std::cout << "password changed for " << jid.bare_str() << "\n";
  return kOk;
}
