#pragma once
// Server configuration: TOML (toml++). Every key is declared here with its default; unknown keys
// and bad values are errors naming the key, the file and the line. docs/configuration.md
// documents each key.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace starling::config {

struct Endpoint {
  std::string host;  // numeric IPv4 or IPv6 address ("127.0.0.1", "::1")
  std::uint16_t port = 0;
  // XEP-0138 stream compression (zlib) offered on this listener after authentication. Off by
  // default: compression next to TLS leaks secrets to CRIME-style attacks.
  bool compression = false;
  std::string str() const;  // "127.0.0.1:5222", "[::1]:5222"
};

struct Config {
  std::vector<std::string> domains{"localhost"};  // PRECIS-prepared domainparts
  std::filesystem::path data_dir{"./data"};
  std::vector<std::string> admins;  // bare JIDs
  std::size_t workers = 0;          // 0 = one per core
  // Extra virtual hosts where SASL ANONYMOUS (RFC 4505) is the only mechanism: every login gets
  // a fresh random account that is deleted when its session ends. PRECIS-prepared, disjoint from
  // `domains`.
  std::vector<std::string> anonymous_domains;
  bool is_anonymous(std::string_view domain) const;

  struct C2s {
    std::vector<Endpoint> listen{{"127.0.0.1", 5222}};
    std::vector<Endpoint> direct_tls{{"127.0.0.1", 5223}};
    std::size_t max_stanza_size = 262144;
    std::uint32_t ping_interval = 300;  // seconds of silence before the server pings a client
    std::uint32_t ping_timeout = 60;    // seconds to answer before the session is dropped
    std::uint32_t auth_failure_delay_ms = 1000;  // delay before answering a failed SASL attempt
    std::size_t max_send_queue = 1048576;        // bytes queued to one client before it is cut
    // Sustained read rate per connection (0 = unlimited); bursts up to
    // max(max_stanza_size, max_bytes_per_second) pass at once. Excess input is read more slowly.
    std::size_t max_bytes_per_second = 102400;
  } c2s;

  // Server-to-server federation (RFC 6120, XEP-0220, XEP-0178, XEP-0368). docs/federation.md.
  struct S2sHost {
    std::string domain;  // PRECIS-prepared remote domain
    Endpoint endpoint;   // where to connect instead of asking DNS
    bool direct_tls = false;  // TLS from the first byte (XEP-0368) instead of STARTTLS
  };
  struct S2s {
    std::vector<Endpoint> listen{{"127.0.0.1", 5269}};      // STARTTLS
    std::vector<Endpoint> direct_tls{{"127.0.0.1", 5270}};  // XEP-0368
    // Peers must present a certificate that chains to the CA store and names their domain
    // (RFC 6125); otherwise (false) Server Dialback over TLS is accepted for them too.
    bool require_valid_certificates = true;
    // Allow streams without TLS (both directions). Never on by default.
    bool allow_unencrypted = false;
    std::optional<std::filesystem::path> ca_file;  // default: the system's CA store
    std::string dialback_secret;  // XEP-0185 secret; empty: random at each start
    std::vector<std::string> allow_domains;  // when non-empty, only these remote domains
    std::vector<std::string> deny_domains;   // never these remote domains
    std::size_t max_stanza_size = 524288;
    std::size_t max_links = 1000;            // outgoing links, and incoming streams, each
    std::size_t max_queued_stanzas = 1000;   // per outgoing link while it connects
    std::uint32_t connect_timeout = 30;      // seconds to resolve, connect and authenticate
    std::uint32_t idle_timeout = 600;        // seconds without traffic before a link closes
    std::uint32_t ping_interval = 300;       // XEP-0199 ping of a quiet link; 0 = never
    std::uint32_t ping_timeout = 60;         // seconds for the answer, else the link is dead
    std::uint32_t retry_initial = 10;        // seconds before retrying a failed domain...
    std::uint32_t retry_max = 300;           // ...doubling up to this
    std::string dns_server;                  // "ADDRESS:PORT" instead of resolv.conf
    std::vector<S2sHost> hosts;              // [s2s.hosts]: static map, before DNS
    // Federation with `domain` is allowed by allow_domains/deny_domains.
    bool allowed(std::string_view domain) const;
    const S2sHost* host(std::string_view domain) const;
  } s2s;

  struct Tls {
    std::optional<std::filesystem::path> certificate;  // default: self-signed in data_dir
    std::optional<std::filesystem::path> key;
  } tls;

  struct Storage {
    std::string backend = "sqlite";  // file data_dir/starling.db
  } storage;

  struct Roster {
    std::size_t max_items = 1000;  // RFC 6121 roster size limit per account
  } roster;

  struct Offline {
    std::size_t max_messages = 100;  // XEP-0160 per-account quota; 0 = no offline storage
  } offline;

  // XEP-0054 vcard-temp.
  struct Vcard {
    std::size_t max_size = 65536;  // bytes of one stored vCard (as XML)
  } vcard;

  // XEP-0049 Private XML Storage.
  struct PrivateStorage {
    std::size_t max_size = 1048576;  // bytes of private XML stored per account
  } private_storage;

  // XEP-0077 In-Band Registration.
  struct Registration {
    // Account creation before login (§3.1): off, on for every served domain (`allow = true`),
    // or on for the listed domains only (`allow = ["example.org"]`).
    bool allow_all = false;
    std::vector<std::string> allow_domains;  // PRECIS-prepared, each one of `domains`
    // At most throttle_max accounts created per IP address per throttle_period seconds;
    // 0 = no limit.
    std::size_t throttle_max = 5;
    std::uint32_t throttle_period = 3600;
    bool password_change = true;  // §3.3 for logged-in users
    bool remove = true;           // §3.2 cancellation by logged-in users
    bool allowed(std::string_view domain) const;
  } registration;

  // XEP-0050 Ad-Hoc Commands sessions.
  struct Adhoc {
    std::uint32_t session_timeout = 600;  // seconds a session may stay idle between stages
    std::size_t max_sessions = 5;         // open sessions per user; beyond, the oldest ends
  } adhoc;
  // XEP-0045 Multi-User Chat (modules/xep0045_muc).
  struct Muc {
    bool enabled = true;
    // The MUC service domains. Empty: "conference.<domain>" for every served domain. Each one
    // must be a subdomain of a served domain (its parent: users of that domain count as local).
    std::vector<std::string> services;
    // Who may create rooms: "local" (accounts of the served domains), "admins" (server and
    // MUC admins), "anyone" (also users of federated servers).
    std::string create_rooms = "local";
    std::vector<std::string> admins;  // bare JIDs with owner rights in every room (and `admins`)
    std::size_t max_rooms = 10000;        // rooms per service (persistent and temporary)
    std::size_t max_history = 50;         // most messages a room keeps for history (§7.2.15)
    std::size_t max_occupants = 1000;     // upper bound of any room's max users
    // Configuration of a new room (muc#roomconfig defaults; the owner may change each).
    struct RoomDefaults {
      bool persistent = false;
      bool public_room = true;
      bool members_only = false;
      bool moderated = false;
      std::string whois = "moderators";  // "moderators" (semi-anonymous) or "anyone"
      std::size_t max_users = 200;
      std::size_t history_length = 20;
      bool change_subject = false;   // participants may change the subject
      bool allow_invites = false;    // participants may invite to a members-only room
      std::string allow_pm = "anyone";  // "anyone", "participants", "moderators", "none"
      bool allow_voice_requests = true;
    } defaults;
  } muc;

  // XEP-0060 Publish-Subscribe services (modules/xep0060_pubsub).
  struct Pubsub {
    bool enabled = true;
    // The pubsub service domains. Empty: "pubsub.<domain>" for every served domain. Each one
    // must be a subdomain of a served domain and not a MUC service.
    std::vector<std::string> services;
    // Who may create nodes: "local" (accounts of the served domains), "admins" (server and
    // pubsub admins), "anyone" (also users of federated servers).
    std::string create_nodes = "local";
    std::vector<std::string> admins;  // bare JIDs with owner rights on every node (and `admins`)
    std::size_t max_nodes = 10000;          // nodes per service
    std::size_t max_items = 1000;           // items per node: what pubsub#max_items "max" means
    std::size_t max_payload_size = 65536;   // bytes of one item's payload
    // Configuration of a new node (pubsub#node_config defaults; the owner may change each).
    struct NodeDefaults {
      std::string access_model = "open";  // open, presence, roster, authorize, whitelist
      std::string publish_model = "publishers";  // publishers, subscribers, open
      std::size_t max_items = 10;
      bool persist_items = true;
      bool deliver_payloads = true;
      std::string send_last_published_item = "on_sub";  // never, on_sub, on_sub_and_presence
    } defaults;
  } pubsub;

  // XEP-0163 Personal Eventing Protocol (modules/xep0060_pubsub).
  struct Pep {
    bool enabled = true;
    std::size_t max_nodes = 100;           // nodes per account
    std::size_t max_items = 1000;          // items per node: what pubsub#max_items "max" means
    std::size_t max_payload_size = 262144;  // bytes of one item's payload (avatars are large)
  } pep;

  // XEP-0030: extra items of the server's disco#items (services not built into Starling).
  struct DiscoItem {
    std::string jid, node, name;
  };
  std::vector<DiscoItem> disco_items;

  // XEP-0157 contact addresses (URIs), by role: abuse, admin, feedback, sales, security,
  // status, support. Published in the server's disco#info.
  std::vector<std::pair<std::string, std::vector<std::string>>> contact;

  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error
  } log;

  // The file this came from ("" for built-in defaults), for messages.
  std::string source;
};

// Built-in defaults (no --config).
Config defaults();
// Parses a TOML file. Errors read "FILE:LINE: key 'c2s.listen': expected ...".
Result<Config> load_file(const std::filesystem::path& path);
// Parses TOML text; `name` is used in error messages as the file name.
Result<Config> load_string(std::string_view toml, const std::string& name);

}  // namespace starling::config
