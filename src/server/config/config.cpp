// TOML configuration (toml++). Every key is checked against the schema below: unknown keys,
// wrong types and bad values are collected and reported together, sorted by line, each as
// "FILE:LINE: key 'a.b': what is wrong".
#include "server/config/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include "xmpp/jid.hpp"

namespace starling::config {

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

bool Config::Registration::allowed(std::string_view domain) const {
  return allow_all ||
         std::find(allow_domains.begin(), allow_domains.end(), domain) != allow_domains.end();
}

bool Config::is_anonymous(std::string_view domain) const {
  return std::find(anonymous_domains.begin(), anonymous_domains.end(), domain) !=
         anonymous_domains.end();
}

bool Config::S2s::allowed(std::string_view domain) const {
  if (std::find(deny_domains.begin(), deny_domains.end(), domain) != deny_domains.end()) {
    return false;
  }
  return allow_domains.empty() ||
         std::find(allow_domains.begin(), allow_domains.end(), domain) != allow_domains.end();
}

const Config::S2sHost* Config::S2s::host(std::string_view domain) const {
  for (const auto& h : hosts) {
    if (h.domain == domain) {
      return &h;
    }
  }
  return nullptr;
}

Config defaults() { return Config{}; }

namespace {

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kBackends[] = {"sqlite"};

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A value for an error message: quoted, with control characters escaped.
std::string quote_value(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  if (value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// "IPv4:port" or "[IPv6]:port", numeric addresses only. The host is kept in canonical form.
// On failure `why` says what is wrong.
std::optional<Endpoint> parse_endpoint(std::string_view s, std::string& why) {
  std::string_view host;
  std::string_view port;
  bool v6 = false;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' after the IPv6 address";
      return std::nullopt;
    }
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      why = "missing ':port' after the address";
      return std::nullopt;
    }
    port = rest.substr(1);
    v6 = true;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      why = "missing ':port' after the address";
      return std::nullopt;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      why = "an IPv6 address must be written in brackets, as in \"[::1]:5222\"";
      return std::nullopt;
    }
  }
  std::string host_str(host);
  char canonical[INET6_ADDRSTRLEN] = {};
  if (v6) {
    in6_addr addr{};
    if (inet_pton(AF_INET6, host_str.c_str(), &addr) != 1 ||
        inet_ntop(AF_INET6, &addr, canonical, sizeof canonical) == nullptr) {
      why = quote_value(host) + " is not a numeric IPv6 address";
      return std::nullopt;
    }
  } else {
    in_addr addr{};
    if (inet_pton(AF_INET, host_str.c_str(), &addr) != 1 ||
        inet_ntop(AF_INET, &addr, canonical, sizeof canonical) == nullptr) {
      why = quote_value(host) + " is not a numeric IPv4 address (host names are not accepted)";
      return std::nullopt;
    }
  }
  auto p = parse_port(port);
  if (!p) {
    why = "port " + quote_value(port) + " is not a number between 0 and 65535";
    return std::nullopt;
  }
  return Endpoint{canonical, *p};
}

class Parser {
 public:
  explicit Parser(std::string name) : name_(std::move(name)) { config_.source = name_; }

  Result<Config> run(const toml::table& root) {
    walk(root, "",
         {
             {"domains", [this](const toml::node& n, const std::string& k) { domains(n, k); }},
             {"anonymous_domains",
              [this](const toml::node& n, const std::string& k) { anonymous_domains(n, k); }},
             {"data_dir",
              [this](const toml::node& n, const std::string& k) {
                if (auto s = path_string(n, k)) {
                  config_.data_dir = *s;
                }
              }},
             {"admins",
              [this](const toml::node& n, const std::string& k) { admins(n, k, config_.admins); }},
             {"workers",
              [this](const toml::node& n, const std::string& k) {
                if (auto v = integer(n, k, 0, 256)) {
                  config_.workers = static_cast<std::size_t>(*v);
                }
              }},
             {"c2s", [this](const toml::node& n, const std::string& k) { c2s(n, k); }},
             {"s2s", [this](const toml::node& n, const std::string& k) { s2s(n, k); }},
             {"tls", [this](const toml::node& n, const std::string& k) { tls(n, k); }},
             {"storage", [this](const toml::node& n, const std::string& k) { storage(n, k); }},
             {"log", [this](const toml::node& n, const std::string& k) { log(n, k); }},
             {"roster", [this](const toml::node& n, const std::string& k) { roster(n, k); }},
             {"offline", [this](const toml::node& n, const std::string& k) { offline(n, k); }},
             {"vcard", [this](const toml::node& n, const std::string& k) { vcard(n, k); }},
             {"private_storage",
              [this](const toml::node& n, const std::string& k) { private_storage(n, k); }},
             {"registration",
              [this](const toml::node& n, const std::string& k) { registration(n, k); }},
             {"adhoc", [this](const toml::node& n, const std::string& k) { adhoc(n, k); }},
             {"disco", [this](const toml::node& n, const std::string& k) { disco(n, k); }},
             {"contact", [this](const toml::node& n, const std::string& k) { contact(n, k); }},
             {"muc", [this](const toml::node& n, const std::string& k) { muc(n, k); }},
             {"pubsub", [this](const toml::node& n, const std::string& k) { pubsub(n, k); }},
             {"pep", [this](const toml::node& n, const std::string& k) { pep(n, k); }},
         });
    check_registration_domains();
    check_anonymous_domains();
    check_muc_services();
    check_pubsub_services();
    if (errors_.empty()) {
      return std::move(config_);
    }
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Issue& a, const Issue& b) { return a.line < b.line; });
    std::string message;
    for (const Issue& e : errors_) {
      if (!message.empty()) {
        message += '\n';
      }
      message += e.text;
    }
    return make_error(std::move(message));
  }

 private:
  using Handler = std::function<void(const toml::node&, const std::string&)>;
  struct Field {
    std::string_view name;
    Handler handler;
  };
  struct Issue {
    std::uint32_t line;
    std::string text;
  };

  void error(const toml::source_region& where, std::string_view key, std::string_view what) {
    std::string text = name_;
    if (where.begin.line != 0) {
      text += ':' + std::to_string(where.begin.line);
    }
    text += ": key '";
    text += key;
    text += "': ";
    text += what;
    errors_.push_back({where.begin.line, std::move(text)});
  }

  // Calls the handler of each key of `t`; unknown keys are errors listing the known ones.
  void walk(const toml::table& t, std::string_view prefix, std::initializer_list<Field> fields) {
    for (auto&& [k, node] : t) {
      std::string path =
          prefix.empty() ? std::string(k.str()) : std::string(prefix) + "." + std::string(k.str());
      auto it = std::find_if(fields.begin(), fields.end(),
                             [&](const Field& f) { return f.name == k.str(); });
      if (it != fields.end()) {
        it->handler(node, path);
        continue;
      }
      std::string known;
      for (const Field& f : fields) {
        known += known.empty() ? "" : ", ";
        known += f.name;
      }
      error(k.source(), path,
            std::string(node.is_table() ? "unknown table" : "unknown key") +
                (prefix.empty() ? "; known keys: "
                                : "; known keys in [" + std::string(prefix) + "]: ") +
                known);
    }
  }

  void wrong_type(const toml::node& n, std::string_view key, std::string_view expected) {
    error(n.source(), key,
          "expected " + std::string(expected) + ", got " + std::string(type_name(n.type())));
  }

  const toml::table* table(const toml::node& n, std::string_view key) {
    const toml::table* t = n.as_table();
    if (t == nullptr) {
      wrong_type(n, key, "a table");
    }
    return t;
  }

  const toml::array* array(const toml::node& n, std::string_view key, std::string_view of) {
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      wrong_type(n, key, "an array of " + std::string(of));
    }
    return a;
  }

  std::optional<std::string> string(const toml::node& n, std::string_view key) {
    if (const auto* s = n.as_string()) {
      return s->get();
    }
    wrong_type(n, key, "a string");
    return std::nullopt;
  }

  std::optional<std::string> path_string(const toml::node& n, std::string_view key) {
    auto s = string(n, key);
    if (s && s->empty()) {
      error(n.source(), key, "expected a path, got an empty string");
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::int64_t> integer(const toml::node& n, std::string_view key, std::int64_t min,
                                      std::int64_t max) {
    const auto* v = n.as_integer();
    if (v == nullptr) {
      wrong_type(n, key, "an integer");
      return std::nullopt;
    }
    if (v->get() < min || v->get() > max) {
      error(n.source(), key,
            "expected an integer between " + std::to_string(min) + " and " + std::to_string(max) +
                ", got " + std::to_string(v->get()));
      return std::nullopt;
    }
    return v->get();
  }

  // Handlers that store a checked value of a key into `dest`.
  Handler size(std::size_t& dest, std::int64_t min, std::int64_t max) {
    return [this, &dest, min, max](const toml::node& v, const std::string& k) {
      if (auto i = integer(v, k, min, max)) {
        dest = static_cast<std::size_t>(*i);
      }
    };
  }
  Handler flag(bool& dest) {
    return [this, &dest](const toml::node& v, const std::string& k) {
      if (auto b = boolean(v, k)) {
        dest = *b;
      }
    };
  }

  // Checks `s` against the allowed values; reports the list when it is not one of them.
  bool one_of(const toml::node& n, std::string_view key, const std::string& s,
              std::span<const std::string_view> allowed, std::string_view what) {
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) {
      return true;
    }
    error(n.source(), key,
          "unknown " + std::string(what) + " " + quote_value(s) +
              "; allowed values: " + join(allowed));
    return false;
  }

  void domains(const toml::node& n, const std::string& key) {
    const toml::array* a = array(n, key, "strings");
    if (a == nullptr) {
      return;
    }
    if (a->empty()) {
      error(n.source(), key, "expected at least one domain");
      return;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const toml::node& e : *a) {
      auto s = string(e, key);
      if (!s) {
        ok = false;
        continue;
      }
      auto prepared = xmpp::prep_domainpart(*s);
      if (!prepared) {
        error(e.source(), key, quote_value(*s) + " is not a valid domain name");
        ok = false;
        continue;
      }
      if (std::find(out.begin(), out.end(), *prepared) != out.end()) {
        error(e.source(), key, "domain " + quote_value(*prepared) + " is listed twice");
        ok = false;
        continue;
      }
      out.push_back(std::move(*prepared));
    }
    if (ok) {
      config_.domains = std::move(out);
    }
  }

  void admins(const toml::node& n, const std::string& key, std::vector<std::string>& dest) {
    const toml::array* a = array(n, key, "strings");
    if (a == nullptr) {
      return;
    }
    std::vector<std::string> out;
    for (const toml::node& e : *a) {
      auto s = string(e, key);
      if (!s) {
        continue;
      }
      auto jid = xmpp::Jid::parse(*s);
      if (!jid || !jid->is_bare() || jid->local().empty()) {
        error(
            e.source(), key,
            quote_value(*s) + " is not a bare JID (expected \"user@domain\", without a resource)");
        continue;
      }
      if (std::string bare = jid->bare_str();
          std::find(out.begin(), out.end(), bare) == out.end()) {
        out.push_back(std::move(bare));
      }
    }
    dest = std::move(out);
  }

  void endpoints(const toml::node& n, const std::string& key, std::vector<Endpoint>& dest) {
    const toml::array* a = array(n, key, "\"address:port\" strings or listener tables");
    if (a == nullptr) {
      return;
    }
    std::vector<Endpoint> out;
    for (const toml::node& e : *a) {
      if (const toml::table* t = e.as_table()) {
        // { address = "ADDRESS:PORT", compression = true }: a listener with options.
        std::optional<Endpoint> ep;
        bool compression = false;
        walk(*t, key,
             {
                 {"address",
                  [&](const toml::node& v, const std::string& k) { ep = endpoint(v, k); }},
                 {"compression",
                  [&](const toml::node& v, const std::string& k) {
                    compression = boolean(v, k).value_or(false);
                  }},
             });
        if (!t->contains("address")) {
          error(e.source(), key, "a listener table needs an address (\"ADDRESS:PORT\")");
        } else if (ep) {
          ep->compression = compression;
          out.push_back(std::move(*ep));
        }
        continue;
      }
      if (auto ep = endpoint(e, key)) {
        out.push_back(std::move(*ep));
      }
    }
    dest = std::move(out);
  }

  std::optional<Endpoint> endpoint(const toml::node& e, const std::string& key) {
    if (!e.is_string()) {
      wrong_type(e, key, "an \"address:port\" string or a listener table");
      return std::nullopt;
    }
    const std::string& s = e.as_string()->get();
    std::string why;
    auto ep = parse_endpoint(s, why);
    if (!ep) {
      error(e.source(), key,
            "expected \"IPv4:port\" or \"[IPv6]:port\", got " + quote_value(s) + ": " + why);
    }
    return ep;
  }

  void anonymous_domains(const toml::node& n, const std::string& key) {
    std::vector<std::string> out;
    for (auto& [domain, where] : prepared_domains(n, key, "strings", true)) {
      anonymous_sources_.emplace_back(domain, where, key);
      out.push_back(std::move(domain));
    }
    config_.anonymous_domains = std::move(out);
  }

  // An array of domain names, each prepared as an RFC 7622 domainpart, with where each stood;
  // bad entries (and, with `unique`, repeated ones) are errors naming their line.
  std::vector<std::pair<std::string, toml::source_region>> prepared_domains(
      const toml::node& n, const std::string& key, std::string_view of, bool unique) {
    std::vector<std::pair<std::string, toml::source_region>> out;
    const toml::array* a = array(n, key, of);
    if (a == nullptr) {
      return out;
    }
    for (const toml::node& e : *a) {
      auto s = string(e, key);
      if (!s) {
        continue;
      }
      auto prepared = xmpp::prep_domainpart(*s);
      if (!prepared) {
        error(e.source(), key, quote_value(*s) + " is not a valid domain name");
        continue;
      }
      if (unique && std::any_of(out.begin(), out.end(),
                                [&](const auto& d) { return d.first == *prepared; })) {
        error(e.source(), key, "domain " + quote_value(*prepared) + " is listed twice");
        continue;
      }
      out.emplace_back(std::move(*prepared), e.source());
    }
    return out;
  }

  // XEP-0045 Multi-User Chat.
  void muc(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::Muc& c = config_.muc;
    auto choice = [this](std::string& dest, std::span<const std::string_view> allowed,
                         std::string_view what) {
      return [this, &dest, allowed, what](const toml::node& v, const std::string& k) {
        if (auto s = string(v, k); s && one_of(v, k, *s, allowed, what)) {
          dest = *s;
        }
      };
    };
    static constexpr std::string_view kCreate[] = {"local", "admins", "anyone"};
    static constexpr std::string_view kWhois[] = {"moderators", "anyone"};
    static constexpr std::string_view kPm[] = {"anyone", "participants", "moderators", "none"};
    Config::Muc::RoomDefaults& d = c.defaults;
    walk(*t, key,
         {
             {"enabled", flag(c.enabled)},
             {"services",
              [this, &c](const toml::node& v, const std::string& k) {
                c.services.clear();
                for (auto& [domain, where] : prepared_domains(v, k, "domain strings", true)) {
                  c.services.push_back(domain);
                  muc_sources_.emplace_back(std::move(domain), where, k);
                }
              }},
             {"create_rooms", choice(c.create_rooms, kCreate, "create_rooms value")},
             {"admins",
              [this, &c](const toml::node& v, const std::string& k) { admins(v, k, c.admins); }},
             {"max_rooms", size(c.max_rooms, 1, 10000000)},
             {"max_history", size(c.max_history, 0, 10000)},
             {"max_occupants", size(c.max_occupants, 1, 1000000)},
             {"defaults",
              [&](const toml::node& v, const std::string& k) {
                const toml::table* dt = table(v, k);
                if (dt == nullptr) {
                  return;
                }
                walk(*dt, k,
                     {
                         {"persistent", flag(d.persistent)},
                         {"public_room", flag(d.public_room)},
                         {"members_only", flag(d.members_only)},
                         {"moderated", flag(d.moderated)},
                         {"whois", choice(d.whois, kWhois, "whois value")},
                         {"max_users", size(d.max_users, 0, 1000000)},
                         {"history_length", size(d.history_length, 0, 10000)},
                         {"change_subject", flag(d.change_subject)},
                         {"allow_invites", flag(d.allow_invites)},
                         {"allow_pm", choice(d.allow_pm, kPm, "allow_pm value")},
                         {"allow_voice_requests", flag(d.allow_voice_requests)},
                     });
              }},
         });
  }

  // XEP-0060 Publish-Subscribe.
  void pubsub(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::Pubsub& c = config_.pubsub;
    auto choice = [this](std::string& dest, std::span<const std::string_view> allowed,
                         std::string_view what) {
      return [this, &dest, allowed, what](const toml::node& v, const std::string& k) {
        if (auto s = string(v, k); s && one_of(v, k, *s, allowed, what)) {
          dest = *s;
        }
      };
    };
    static constexpr std::string_view kCreate[] = {"local", "admins", "anyone"};
    static constexpr std::string_view kAccess[] = {"open", "presence", "roster", "authorize",
                                                   "whitelist"};
    static constexpr std::string_view kPublish[] = {"publishers", "subscribers", "open"};
    static constexpr std::string_view kSendLast[] = {"never", "on_sub", "on_sub_and_presence"};
    Config::Pubsub::NodeDefaults& d = c.defaults;
    walk(*t, key,
         {
             {"enabled", flag(c.enabled)},
             {"services",
              [this, &c](const toml::node& v, const std::string& k) {
                c.services.clear();
                for (auto& [domain, where] : prepared_domains(v, k, "domain strings", true)) {
                  c.services.push_back(domain);
                  pubsub_sources_.emplace_back(std::move(domain), where, k);
                }
              }},
             {"create_nodes", choice(c.create_nodes, kCreate, "create_nodes value")},
             {"admins",
              [this, &c](const toml::node& v, const std::string& k) { admins(v, k, c.admins); }},
             {"max_nodes", size(c.max_nodes, 1, 10000000)},
             {"max_items", size(c.max_items, 1, 1000000)},
             {"max_payload_size", size(c.max_payload_size, 1024, 16777216)},
             {"defaults",
              [&](const toml::node& v, const std::string& k) {
                const toml::table* dt = table(v, k);
                if (dt == nullptr) {
                  return;
                }
                walk(*dt, k,
                     {
                         {"access_model", choice(d.access_model, kAccess, "access_model value")},
                         {"publish_model",
                          choice(d.publish_model, kPublish, "publish_model value")},
                         {"max_items", size(d.max_items, 1, 1000000)},
                         {"persist_items", flag(d.persist_items)},
                         {"deliver_payloads", flag(d.deliver_payloads)},
                         {"send_last_published_item",
                          choice(d.send_last_published_item, kSendLast,
                                 "send_last_published_item value")},
                     });
              }},
         });
  }

  // XEP-0163 Personal Eventing Protocol.
  void pep(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::Pep& c = config_.pep;
    walk(*t, key,
         {
             {"enabled", flag(c.enabled)},
             {"max_nodes", size(c.max_nodes, 1, 100000)},
             {"max_items", size(c.max_items, 1, 1000000)},
             {"max_payload_size", size(c.max_payload_size, 1024, 16777216)},
         });
  }

  // A MUC service domain is a subdomain of a served domain (whose users are its local users)
  // and not a served domain itself.
  void check_muc_services() {
    const auto& served = config_.domains;
    std::string all;
    for (const auto& d : served) {
      all += (all.empty() ? "" : ", ") + quote_value(d);
    }
    for (const auto& [domain, where, key] : muc_sources_) {
      if (std::find(served.begin(), served.end(), domain) != served.end()) {
        error(where, key,
              "MUC service " + quote_value(domain) +
                  " is also in domains; a service needs a domain of its own");
        continue;
      }
      bool parent = std::any_of(served.begin(), served.end(), [&](const std::string& d) {
        return domain.size() > d.size() + 1 && domain.ends_with(d) &&
               domain[domain.size() - d.size() - 1] == '.';
      });
      if (!parent) {
        error(where, key,
              "MUC service " + quote_value(domain) +
                  " is not a subdomain of a served domain (domains = [" + all + "])");
      }
    }
  }

  // Like a MUC service domain; and a domain cannot host both services.
  void check_pubsub_services() {
    const auto& served = config_.domains;
    for (const auto& [domain, where, key] : pubsub_sources_) {
      if (std::find(served.begin(), served.end(), domain) != served.end()) {
        error(where, key,
              "pubsub service " + quote_value(domain) +
                  " is also in domains; a service needs a domain of its own");
        continue;
      }
      bool parent = std::any_of(served.begin(), served.end(), [&](const std::string& d) {
        return domain.size() > d.size() + 1 && domain.ends_with(d) &&
               domain[domain.size() - d.size() - 1] == '.';
      });
      if (!parent) {
        error(where, key,
              "pubsub service " + quote_value(domain) + " is not a subdomain of a served domain");
        continue;
      }
      const auto& m = config_.muc.services;
      bool muc_here =
          m.empty() ? std::any_of(served.begin(), served.end(),
                                  [&](const std::string& d) { return domain == "conference." + d; })
                    : std::find(m.begin(), m.end(), domain) != m.end();
      if (muc_here && config_.muc.enabled) {
        error(where, key,
              "pubsub service " + quote_value(domain) + " is also a MUC service");
      }
    }
  }

  // An anonymous domain serves only throw-away accounts, so it cannot also be an ordinary one.
  void check_anonymous_domains() {
    const auto& served = config_.domains;
    for (const auto& [domain, where, key] : anonymous_sources_) {
      if (std::find(served.begin(), served.end(), domain) != served.end()) {
        error(where, key,
              "domain " + quote_value(domain) +
                  " is also in domains; a domain is either ordinary or anonymous");
      }
    }
  }

  void c2s(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::C2s& c = config_.c2s;
    walk(*t, key,
         {
             {"listen",
              [this, &c](const toml::node& v, const std::string& k) { endpoints(v, k, c.listen); }},
             {"direct_tls", [this, &c](const toml::node& v,
                                       const std::string& k) { endpoints(v, k, c.direct_tls); }},
             {"max_stanza_size",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1024, 16777216)) {
                  c.max_stanza_size = static_cast<std::size_t>(*i);
                }
              }},
             {"ping_interval",
              [this, &c](const toml::node& v, const std::string& k) {
                auto i = integer(v, k, std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max());
                if (!i) {
                  return;
                }
                if (*i != 0 && (*i < 10 || *i > 86400)) {
                  error(v.source(), k,
                        "expected 0 (off) or an integer between 10 and 86400, got " +
                            std::to_string(*i));
                  return;
                }
                c.ping_interval = static_cast<std::uint32_t>(*i);
              }},
             {"ping_timeout",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1, 3600)) {
                  c.ping_timeout = static_cast<std::uint32_t>(*i);
                }
              }},
             {"auth_failure_delay_ms",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 0, 60000)) {
                  c.auth_failure_delay_ms = static_cast<std::uint32_t>(*i);
                }
              }},
             {"max_send_queue",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 65536, 1073741824)) {
                  c.max_send_queue = static_cast<std::size_t>(*i);
                }
              }},
             {"max_bytes_per_second",
              [this, &c](const toml::node& v, const std::string& k) {
                auto i = integer(v, k, std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max());
                if (!i) {
                  return;
                }
                if (*i != 0 && (*i < 1024 || *i > 1073741824)) {
                  error(v.source(), k,
                        "expected 0 (unlimited) or an integer between 1024 and 1073741824, got " +
                            std::to_string(*i));
                  return;
                }
                c.max_bytes_per_second = static_cast<std::size_t>(*i);
              }},
         });
  }

  // A list of remote domains (s2s.allow_domains, s2s.deny_domains).
  void domain_list(const toml::node& n, const std::string& key, std::vector<std::string>& dest) {
    std::vector<std::string> out;
    for (auto& [domain, where] : prepared_domains(n, key, "domain strings", false)) {
      out.push_back(std::move(domain));
    }
    dest = std::move(out);
  }

  void s2s(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::S2s& c = config_.s2s;
    auto seconds = [this](std::uint32_t& dest, std::int64_t min, std::int64_t max) {
      return [this, &dest, min, max](const toml::node& v, const std::string& k) {
        if (auto i = integer(v, k, min, max)) {
          dest = static_cast<std::uint32_t>(*i);
        }
      };
    };
    walk(*t, key,
         {
             {"listen",
              [this, &c](const toml::node& v, const std::string& k) { endpoints(v, k, c.listen); }},
             {"direct_tls", [this, &c](const toml::node& v,
                                       const std::string& k) { endpoints(v, k, c.direct_tls); }},
             {"require_valid_certificates", flag(c.require_valid_certificates)},
             {"allow_unencrypted", flag(c.allow_unencrypted)},
             {"ca_file",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto s = path_string(v, k)) {
                  c.ca_file = *s;
                }
              }},
             {"dialback_secret",
              [this, &c](const toml::node& v, const std::string& k) {
                auto s = string(v, k);
                if (s && s->size() < 16) {
                  error(v.source(), k, "a dialback secret needs at least 16 characters");
                } else if (s) {
                  c.dialback_secret = *s;
                }
              }},
             {"allow_domains",
              [this, &c](const toml::node& v, const std::string& k) {
                domain_list(v, k, c.allow_domains);
              }},
             {"deny_domains",
              [this, &c](const toml::node& v, const std::string& k) {
                domain_list(v, k, c.deny_domains);
              }},
             {"max_stanza_size", size(c.max_stanza_size, 10000, 16777216)},
             {"max_links", size(c.max_links, 1, 1000000)},
             {"max_queued_stanzas", size(c.max_queued_stanzas, 1, 1000000)},
             {"connect_timeout", seconds(c.connect_timeout, 1, 600)},
             {"idle_timeout", seconds(c.idle_timeout, 10, 86400)},
             {"ping_interval", seconds(c.ping_interval, 0, 86400)},
             {"ping_timeout", seconds(c.ping_timeout, 1, 3600)},
             {"retry_initial", seconds(c.retry_initial, 0, 3600)},
             {"retry_max", seconds(c.retry_max, 0, 86400)},
             {"dns_server",
              [this, &c](const toml::node& v, const std::string& k) {
                if (auto ep = endpoint(v, k)) {
                  c.dns_server = ep->str();
                }
              }},
             {"hosts", [this, &c](const toml::node& v, const std::string& k) { s2s_hosts(v, k, c); }},
         });
    if (c.retry_max < c.retry_initial) {
      c.retry_max = c.retry_initial;
    }
  }

  // [s2s.hosts] "example.net" = "127.0.0.2:5269" or { address = "...", direct_tls = true }
  void s2s_hosts(const toml::node& n, const std::string& key, Config::S2s& c) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    for (auto&& [k, node] : *t) {
      std::string path = key + "." + std::string(k.str());
      auto domain = xmpp::prep_domainpart(k.str());
      if (!domain) {
        error(k.source(), path, quote_value(std::string(k.str())) + " is not a valid domain name");
        continue;
      }
      Config::S2sHost host;
      host.domain = *domain;
      if (const toml::table* opts = node.as_table()) {
        std::optional<Endpoint> ep;
        walk(*opts, path,
             {
                 {"address", [&](const toml::node& v, const std::string& kk) { ep = endpoint(v, kk); }},
                 {"direct_tls",
                  [&](const toml::node& v, const std::string& kk) {
                    host.direct_tls = boolean(v, kk).value_or(false);
                  }},
             });
        if (!opts->contains("address")) {
          error(node.source(), path, "needs an address (\"ADDRESS:PORT\")");
          continue;
        }
        if (!ep) {
          continue;
        }
        host.endpoint = *ep;
      } else if (auto ep = endpoint(node, path)) {
        host.endpoint = *ep;
      } else {
        continue;
      }
      if (c.host(host.domain) != nullptr) {
        error(k.source(), path, "domain " + quote_value(host.domain) + " is listed twice");
        continue;
      }
      c.hosts.push_back(std::move(host));
    }
  }

  void tls(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::Tls& tls = config_.tls;
    const toml::node* certificate = nullptr;
    const toml::node* private_key = nullptr;
    walk(*t, key,
         {
             {"certificate",
              [&](const toml::node& v, const std::string& k) {
                certificate = &v;
                if (auto s = path_string(v, k)) {
                  tls.certificate = *s;
                }
              }},
             {"key",
              [&](const toml::node& v, const std::string& k) {
                private_key = &v;
                if (auto s = path_string(v, k)) {
                  tls.key = *s;
                }
              }},
         });
    if (certificate != nullptr && private_key == nullptr) {
      error(certificate->source(), key + ".certificate",
            "set without " + key + ".key; give both or neither");
    } else if (private_key != nullptr && certificate == nullptr) {
      error(private_key->source(), key + ".key",
            "set without " + key + ".certificate; give both or neither");
    }
  }

  void storage(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"backend",
              [this](const toml::node& v, const std::string& k) {
                auto s = string(v, k);
                if (s && one_of(v, k, *s, kBackends, "storage backend")) {
                  config_.storage.backend = *s;
                }
              }},
         });
  }

  void log(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"level",
              [this](const toml::node& v, const std::string& k) {
                auto s = string(v, k);
                if (s && one_of(v, k, *s, kLogLevels, "log level")) {
                  config_.log.level = *s;
                }
              }},
         });
  }

  void roster(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"max_items",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1, 100000)) {
                  config_.roster.max_items = static_cast<std::size_t>(*i);
                }
              }},
         });
  }

  void offline(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"max_messages",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 0, 100000)) {
                  config_.offline.max_messages = static_cast<std::size_t>(*i);
                }
              }},
         });
  }

  void vcard(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"max_size",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1024, 16777216)) {
                  config_.vcard.max_size = static_cast<std::size_t>(*i);
                }
              }},
         });
  }

  void private_storage(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"max_size",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1024, 1073741824)) {
                  config_.private_storage.max_size = static_cast<std::size_t>(*i);
                }
              }},
         });
  }

  void adhoc(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"session_timeout",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 10, 86400)) {
                  config_.adhoc.session_timeout = static_cast<std::uint32_t>(*i);
                }
              }},
             {"max_sessions",
              [this](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1, 100)) {
                  config_.adhoc.max_sessions = static_cast<std::size_t>(*i);
                }
              }},
         });
  }

  void registration(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    Config::Registration& r = config_.registration;
    walk(*t, key,
         {
             {"allow",
              [this, &r](const toml::node& v, const std::string& k) {
                if (const auto* b = v.as_boolean()) {
                  r.allow_all = b->get();
                  return;
                }
                const toml::array* a = v.as_array();
                if (a == nullptr) {
                  wrong_type(v, k, "a boolean or an array of domains");
                  return;
                }
                for (const toml::node& e : *a) {
                  auto s = string(e, k);
                  if (!s) {
                    continue;
                  }
                  auto prepared = xmpp::prep_domainpart(*s);
                  if (!prepared) {
                    error(e.source(), k, quote_value(*s) + " is not a valid domain name");
                    continue;
                  }
                  if (std::find(r.allow_domains.begin(), r.allow_domains.end(), *prepared) ==
                      r.allow_domains.end()) {
                    r.allow_domains.push_back(*prepared);
                    allow_sources_.emplace_back(*prepared, e.source(), k);
                  }
                }
              }},
             {"throttle_max",
              [this, &r](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 0, 1000000)) {
                  r.throttle_max = static_cast<std::size_t>(*i);
                }
              }},
             {"throttle_period",
              [this, &r](const toml::node& v, const std::string& k) {
                if (auto i = integer(v, k, 1, 31536000)) {
                  r.throttle_period = static_cast<std::uint32_t>(*i);
                }
              }},
             {"password_change",
              [this, &r](const toml::node& v, const std::string& k) {
                if (auto b = boolean(v, k)) {
                  r.password_change = *b;
                }
              }},
             {"remove",
              [this, &r](const toml::node& v, const std::string& k) {
                if (auto b = boolean(v, k)) {
                  r.remove = *b;
                }
              }},
         });
  }

  void disco(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    walk(*t, key,
         {
             {"items",
              [this](const toml::node& v, const std::string& k) {
                const toml::array* a = array(v, k, "tables { jid, name, node }");
                if (a == nullptr) {
                  return;
                }
                for (const toml::node& e : *a) {
                  const toml::table* item = e.as_table();
                  if (item == nullptr) {
                    wrong_type(e, k, "a table { jid = \"...\", name = \"...\", node = \"...\" }");
                    continue;
                  }
                  Config::DiscoItem out;
                  bool has_jid = false;
                  walk(*item, k,
                       {
                           {"jid",
                            [&](const toml::node& f, const std::string& fk) {
                              auto s = string(f, fk);
                              if (!s) {
                                return;
                              }
                              auto jid = xmpp::Jid::parse(*s);
                              if (!jid) {
                                error(f.source(), fk, quote_value(*s) + " is not a valid JID");
                                return;
                              }
                              out.jid = jid->str();
                              has_jid = true;
                            }},
                           {"name",
                            [&](const toml::node& f, const std::string& fk) {
                              if (auto s = string(f, fk)) {
                                out.name = *s;
                              }
                            }},
                           {"node",
                            [&](const toml::node& f, const std::string& fk) {
                              if (auto s = string(f, fk)) {
                                out.node = *s;
                              }
                            }},
                       });
                  if (!has_jid) {
                    error(e.source(), k, "an item needs a 'jid' (XEP-0030 §4.1)");
                    continue;
                  }
                  config_.disco_items.push_back(std::move(out));
                }
              }},
         });
  }

  // XEP-0157 §2: addresses by role; each a URI ("mailto:", "xmpp:", "https:" ...).
  void contact(const toml::node& n, const std::string& key) {
    const toml::table* t = table(n, key);
    if (t == nullptr) {
      return;
    }
    static constexpr std::string_view kRoles[] = {"abuse", "admin", "feedback", "sales",
                                                  "security", "status", "support"};
    auto role = [this](std::string_view name) {
      return Field{name, [this, name](const toml::node& v, const std::string& k) {
                     const toml::array* a = array(v, k, "URI strings");
                     if (a == nullptr) {
                       return;
                     }
                     std::vector<std::string> uris;
                     for (const toml::node& e : *a) {
                       auto s = string(e, k);
                       if (!s) {
                         continue;
                       }
                       // A URI starts with a scheme and a colon (RFC 3986 §3.1).
                       auto colon = s->find(':');
                       bool scheme = colon != std::string::npos && colon > 0 &&
                                     std::isalpha(static_cast<unsigned char>((*s)[0])) &&
                                     std::all_of(s->begin(), s->begin() + colon, [](char c) {
                                       return std::isalnum(static_cast<unsigned char>(c)) ||
                                              c == '+' || c == '-' || c == '.';
                                     });
                       bool spaces = std::any_of(s->begin(), s->end(), [](char c) {
                         return static_cast<unsigned char>(c) <= 0x20;
                       });
                       if (!scheme || spaces) {
                         error(e.source(), k,
                               quote_value(*s) +
                                   " is not a URI (expected e.g. \"mailto:abuse@example.org\" "
                                   "or \"xmpp:admin@example.org\")");
                         continue;
                       }
                       uris.push_back(*s);
                     }
                     if (!uris.empty()) {
                       config_.contact.emplace_back(std::string(name), std::move(uris));
                     }
                   }};
    };
    walk(*t, key,
         {role(kRoles[0]), role(kRoles[1]), role(kRoles[2]), role(kRoles[3]), role(kRoles[4]),
          role(kRoles[5]), role(kRoles[6])});
  }

  // Every domain listed in registration.allow must be served (checked once the whole file has
  // been read, whatever the order of its tables).
  void check_registration_domains() {
    const auto& served = config_.domains;
    std::string all;
    for (const auto& d : served) {
      all += (all.empty() ? "" : ", ") + quote_value(d);
    }
    for (const auto& [domain, where, key] : allow_sources_) {
      if (std::find(served.begin(), served.end(), domain) == served.end()) {
        error(where, key,
              "domain " + quote_value(domain) + " is not one of the served domains (domains = [" +
                  all + "])");
      }
    }
  }

  std::optional<bool> boolean(const toml::node& n, std::string_view key) {
    if (const auto* b = n.as_boolean()) {
      return b->get();
    }
    wrong_type(n, key, "a boolean");
    return std::nullopt;
  }

  std::string name_;
  Config config_;
  std::vector<std::tuple<std::string, toml::source_region, std::string>> allow_sources_;
  std::vector<std::tuple<std::string, toml::source_region, std::string>> anonymous_sources_;
  std::vector<std::tuple<std::string, toml::source_region, std::string>> muc_sources_;
  std::vector<std::tuple<std::string, toml::source_region, std::string>> pubsub_sources_;
  std::vector<Issue> errors_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<Config> load_string(std::string_view text, const std::string& name) {
  try {
    toml::table root;
    try {
      root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return make_error(name + ":" + std::to_string(where.line) + ":" +
                        std::to_string(where.column) + ": " + std::string(e.description()));
    }
    return Parser(name).run(root);
  } catch (const std::exception& e) {
    return make_error(name + ": " + e.what());
  }
}

Result<Config> load_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(name.c_str(), "rb"));
  if (!f) {
    return make_error(name + ": cannot read: " + std::system_category().message(errno));
  }
  std::string text;
  char buf[16384];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, n);
  }
  if (std::ferror(f.get())) {
    return make_error(name + ": cannot read: " + std::system_category().message(errno));
  }
  return load_string(text, name);
}

}  // namespace starling::config
