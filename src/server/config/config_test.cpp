#include "server/config/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace starling::config {
namespace {

namespace fs = std::filesystem;

constexpr const char* kName = "starling.toml";

Result<Config> load(std::string_view text) { return load_string(text, kName); }

// Loads `text`, expects an error and checks that it names the file, the line and the key.
void expect_error(std::string_view text, int line, std::string_view key,
                  std::string_view detail = {}) {
  auto r = load(text);
  ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
  const std::string& msg = r.error().message;
  std::string where =
      std::string(kName) + ":" + std::to_string(line) + ": key '" + std::string(key) + "'";
  EXPECT_NE(msg.find(where), std::string::npos) << "want " << where << "\ngot  " << msg;
  EXPECT_NE(msg.find(detail), std::string::npos) << "want " << detail << "\ngot  " << msg;
}

TEST(Config, Defaults) {
  Config c = defaults();
  EXPECT_EQ(c.domains, std::vector<std::string>{"localhost"});
  EXPECT_EQ(c.data_dir, fs::path("./data"));
  EXPECT_TRUE(c.admins.empty());
  EXPECT_EQ(c.workers, 0u);
  ASSERT_EQ(c.c2s.listen.size(), 1u);
  EXPECT_EQ(c.c2s.listen[0].str(), "127.0.0.1:5222");
  ASSERT_EQ(c.c2s.direct_tls.size(), 1u);
  EXPECT_EQ(c.c2s.direct_tls[0].str(), "127.0.0.1:5223");
  EXPECT_EQ(c.c2s.max_stanza_size, 262144u);
  EXPECT_EQ(c.c2s.ping_interval, 300u);
  EXPECT_EQ(c.c2s.ping_timeout, 60u);
  EXPECT_EQ(c.c2s.auth_failure_delay_ms, 1000u);
  EXPECT_EQ(c.c2s.max_send_queue, 1048576u);
  EXPECT_EQ(c.c2s.max_bytes_per_second, 102400u);
  EXPECT_EQ(c.roster.max_items, 1000u);
  EXPECT_EQ(c.offline.max_messages, 100u);
  EXPECT_EQ(c.vcard.max_size, 65536u);
  EXPECT_EQ(c.private_storage.max_size, 1048576u);
  EXPECT_FALSE(c.tls.certificate.has_value());
  EXPECT_FALSE(c.tls.key.has_value());
  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.source, "");
}

TEST(Config, EmptyFileGivesDefaults) {
  auto r = load("# nothing here\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->domains, defaults().domains);
  EXPECT_EQ(r->c2s.listen[0].str(), "127.0.0.1:5222");
  EXPECT_EQ(r->source, kName);
}

TEST(Config, EndpointStr) {
  EXPECT_EQ((Endpoint{"127.0.0.1", 5222}.str()), "127.0.0.1:5222");
  EXPECT_EQ((Endpoint{"::1", 5222}.str()), "[::1]:5222");
  EXPECT_EQ((Endpoint{"0.0.0.0", 0}.str()), "0.0.0.0:0");
}

TEST(Config, FullFile) {
  auto r = load(R"(
domains = ["example.org", "Example.NET"]
data_dir = "/var/lib/starling"
admins = ["admin@example.org", "Root@Example.net"]
workers = 4

[c2s]
listen = ["0.0.0.0:5222", "[::]:5222", "[0:0::1]:0"]
direct_tls = []
max_stanza_size = 65536
ping_interval = 0
ping_timeout = 30
auth_failure_delay_ms = 0
max_send_queue = 65536
max_bytes_per_second = 0

[tls]
certificate = "/etc/starling/cert.pem"
key = "/etc/starling/key.pem"

[storage]
backend = "sqlite"

[log]
level = "debug"
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_EQ(c.data_dir, fs::path("/var/lib/starling"));
  EXPECT_EQ(c.admins, (std::vector<std::string>{"admin@example.org", "root@example.net"}));
  EXPECT_EQ(c.workers, 4u);
  ASSERT_EQ(c.c2s.listen.size(), 3u);
  EXPECT_EQ(c.c2s.listen[0].host, "0.0.0.0");
  EXPECT_EQ(c.c2s.listen[0].port, 5222);
  EXPECT_EQ(c.c2s.listen[1].host, "::");
  EXPECT_EQ(c.c2s.listen[1].str(), "[::]:5222");
  EXPECT_EQ(c.c2s.listen[2].str(), "[::1]:0");
  EXPECT_TRUE(c.c2s.direct_tls.empty());
  EXPECT_EQ(c.c2s.max_stanza_size, 65536u);
  EXPECT_EQ(c.c2s.ping_interval, 0u);
  EXPECT_EQ(c.c2s.ping_timeout, 30u);
  EXPECT_EQ(c.c2s.auth_failure_delay_ms, 0u);
  EXPECT_EQ(c.c2s.max_send_queue, 65536u);
  EXPECT_EQ(c.c2s.max_bytes_per_second, 0u);
  EXPECT_EQ(c.tls.certificate, fs::path("/etc/starling/cert.pem"));
  EXPECT_EQ(c.tls.key, fs::path("/etc/starling/key.pem"));
  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, RelativeDataDirStaysRelative) {
  auto r = load("data_dir = \"state/starling\"\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->data_dir, fs::path("state/starling"));
}

TEST(Config, Bounds) {
  EXPECT_TRUE(load("workers = 256").ok());
  expect_error("workers = 257", 1, "workers", "between 0 and 256");
  expect_error("workers = -1", 1, "workers");
  EXPECT_TRUE(load("[c2s]\nmax_stanza_size = 1024\n").ok());
  EXPECT_TRUE(load("[c2s]\nmax_stanza_size = 16777216\n").ok());
  expect_error("[c2s]\nmax_stanza_size = 1023\n", 2, "c2s.max_stanza_size");
  expect_error("[c2s]\nmax_stanza_size = 16777217\n", 2, "c2s.max_stanza_size");
  EXPECT_TRUE(load("[c2s]\nping_interval = 10\n").ok());
  EXPECT_TRUE(load("[c2s]\nping_interval = 86400\n").ok());
  expect_error("[c2s]\nping_interval = 9\n", 2, "c2s.ping_interval", "0 (off)");
  expect_error("[c2s]\nping_interval = 86401\n", 2, "c2s.ping_interval");
  expect_error("[c2s]\nping_timeout = 0\n", 2, "c2s.ping_timeout");
  expect_error("[c2s]\nping_timeout = 3601\n", 2, "c2s.ping_timeout");
  expect_error("[c2s]\nauth_failure_delay_ms = 60001\n", 2, "c2s.auth_failure_delay_ms");
  expect_error("[c2s]\nmax_send_queue = 65535\n", 2, "c2s.max_send_queue");
  expect_error("[c2s]\nmax_send_queue = 1073741825\n", 2, "c2s.max_send_queue");
  EXPECT_TRUE(load("[c2s]\nmax_send_queue = 1073741824\n").ok());
  EXPECT_TRUE(load("[c2s]\nmax_bytes_per_second = 1024\n").ok());
  EXPECT_EQ(load("[roster]\nmax_items = 5\n")->roster.max_items, 5u);
  expect_error("[roster]\nmax_items = 0\n", 2, "roster.max_items");
  EXPECT_EQ(load("[offline]\nmax_messages = 0\n")->offline.max_messages, 0u);
  EXPECT_EQ(load("[adhoc]\nsession_timeout = 60\n")->adhoc.session_timeout, 60u);
  EXPECT_EQ(load("[adhoc]\nmax_sessions = 1\n")->adhoc.max_sessions, 1u);
  expect_error("[adhoc]\nsession_timeout = 5\n", 2, "adhoc.session_timeout");
  expect_error("[adhoc]\nmax_sessions = 0\n", 2, "adhoc.max_sessions");
  expect_error("[offline]\nmax_messages = -1\n", 2, "offline.max_messages");
  EXPECT_EQ(load("[vcard]\nmax_size = 4096\n")->vcard.max_size, 4096u);
  expect_error("[vcard]\nmax_size = 10\n", 2, "vcard.max_size");
  expect_error("[vcard]\nmax_size = \"big\"\n", 2, "vcard.max_size");
  EXPECT_EQ(load("[private_storage]\nmax_size = 2048\n")->private_storage.max_size, 2048u);
  expect_error("[private_storage]\nmax_size = 0\n", 2, "private_storage.max_size");
  expect_error("[roster]\nmax_itemz = 3\n", 2, "roster.max_itemz");
  expect_error("[c2s]\nmax_bytes_per_second = 1023\n", 2, "c2s.max_bytes_per_second",
               "0 (unlimited)");
  expect_error("[c2s]\nmax_bytes_per_second = 1073741825\n", 2, "c2s.max_bytes_per_second");
}

TEST(Config, UnknownTopLevelKey) {
  expect_error("domains = [\"example.org\"]\n\nlisten = 5\n", 3, "listen", "unknown key");
}

TEST(Config, UnknownKeyInTable) {
  expect_error("[c2s]\nping_interval = 60\nlisen = [\"127.0.0.1:5222\"]\n", 3, "c2s.lisen",
               "unknown key");
  expect_error("[log]\nlevel = \"info\"\nfile = \"x\"\n", 3, "log.file", "unknown key");
}

TEST(Config, UnknownTable) {
  expect_error("workers = 1\n[component]\nlisten = []\n", 2, "component", "unknown table");
  expect_error("[c2s.extra]\nx = 1\n", 1, "c2s.extra", "unknown table");
}

TEST(Config, WrongTypes) {
  expect_error("workers = \"4\"\n", 1, "workers", "expected an integer, got a string");
  expect_error("workers = 4.0\n", 1, "workers", "expected an integer");
  expect_error("domains = \"example.org\"\n", 1, "domains", "expected an array");
  expect_error("domains = [\"example.org\",\n  5]\n", 2, "domains", "expected a string");
  expect_error("\n\n[c2s]\nlisten = \"127.0.0.1:5222\"\n", 4, "c2s.listen", "expected an array");
  expect_error("c2s = 5\n", 1, "c2s", "expected a table");
  expect_error("[log]\nlevel = true\n", 2, "log.level", "expected a string, got a boolean");
  expect_error("data_dir = 1\n", 1, "data_dir", "expected a string");
}

TEST(Config, BadEndpoints) {
  expect_error("[c2s]\nlisten = [\"127.0.0.1\"]\n", 2, "c2s.listen", "127.0.0.1");
  expect_error("[c2s]\nlisten = [\"localhost:5222\"]\n", 2, "c2s.listen", "localhost");
  expect_error("[c2s]\ndirect_tls = [\"1.2.3.4:99999\"]\n", 2, "c2s.direct_tls", "99999");
  expect_error("[c2s]\nlisten = [\"::1:5222\"]\n", 2, "c2s.listen", "brackets");
  expect_error("[c2s]\nlisten = [\"[::1]\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"[::1:5222\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"[1.2.3.4]:5222\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"1.2.3.4:\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"1.2.3.4:-1\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"1.2.3.4:+80\"]\n", 2, "c2s.listen");
  expect_error("[c2s]\nlisten = [\"1.2.3:5222\"]\n", 2, "c2s.listen");
  // The line is that of the offending element.
  expect_error("[c2s]\nlisten = [\n  \"127.0.0.1:5222\",\n  \"nope\",\n]\n", 4, "c2s.listen",
               "nope");
  auto r = load("[c2s]\nlisten = [\"1.2.3.4:65535\", \"[::ffff:1.2.3.4]:1\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->c2s.listen[0].port, 65535);
  EXPECT_EQ(r->c2s.listen[1].str(), "[::ffff:1.2.3.4]:1");
}

TEST(Config, Domains) {
  expect_error("domains = [\"exa mple.org\"]\n", 1, "domains", "not a valid domain");
  expect_error("domains = [\"a@b\"]\n", 1, "domains", "not a valid domain");
  expect_error("domains = []\n", 1, "domains", "at least one");
  expect_error("domains = [\n  \"example.org\",\n  \"EXAMPLE.org\",\n]\n", 3, "domains",
               "listed twice");
}

TEST(Config, Admins) {
  expect_error("admins = [\"not a jid@\"]\n", 1, "admins", "not a bare JID");
  expect_error("admins = [\"admin@example.org/laptop\"]\n", 1, "admins", "not a bare JID");
  expect_error("admins = [\"example.org\"]\n", 1, "admins", "not a bare JID");
  expect_error("admins = [\"\"]\n", 1, "admins", "not a bare JID");
}

TEST(Config, TlsNeedsBothFiles) {
  expect_error("[tls]\ncertificate = \"cert.pem\"\n", 2, "tls.certificate", "tls.key");
  expect_error("[tls]\n\nkey = \"key.pem\"\n", 3, "tls.key", "tls.certificate");
  expect_error("[tls]\ncertificate = \"\"\nkey = \"k\"\n", 2, "tls.certificate");
}

TEST(Config, BadBackend) {
  expect_error("[storage]\nbackend = \"postgres\"\n", 2, "storage.backend",
               "allowed values: sqlite");
}

TEST(Config, BadLogLevel) {
  expect_error("[log]\nlevel = \"verbose\"\n", 2, "log.level",
               "allowed values: trace, debug, info, warn, error");
  expect_error("[log]\nlevel = \"INFO\"\n", 2, "log.level");
}

TEST(Config, SyntaxError) {
  auto r = load("workers = 1\n[c2s]\nlisten = [\"127.0.0.1:5222\"\n\nping = = 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(std::string(kName) + ":", 0), 0u) << r.error().message;
  auto r2 = load("workers = 1\nworkers = 2\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().message.rfind(std::string(kName) + ":2:", 0), 0u) << r2.error().message;
  auto r3 = load("a = 1\n\nb = \"unterminated\n");
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().message.rfind(std::string(kName) + ":3:", 0), 0u) << r3.error().message;
}

TEST(Config, SeveralErrorsAreReportedInLineOrder) {
  auto r = load("workers = 1000\n[log]\nlevel = \"x\"\n[c2s]\nping_timeout = 0\n");
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.error().message;
  auto a = msg.find(":1: key 'workers'");
  auto b = msg.find(":3: key 'log.level'");
  auto c = msg.find(":5: key 'c2s.ping_timeout'");
  ASSERT_NE(a, std::string::npos) << msg;
  ASSERT_NE(b, std::string::npos) << msg;
  ASSERT_NE(c, std::string::npos) << msg;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "starling-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(ConfigFile, LoadsFileAndNamesItInErrors) {
  const fs::path good = dir_ / "good.toml";
  std::ofstream(good) << "domains = [\"example.org\"]\n";
  auto r = load_file(good);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->domains, std::vector<std::string>{"example.org"});
  EXPECT_EQ(r->source, good.string());

  const fs::path bad = dir_ / "bad.toml";
  std::ofstream(bad) << "\nworkers = \"x\"\n";
  auto b = load_file(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find(bad.string() + ":2: key 'workers'"), std::string::npos)
      << b.error().message;
}

TEST_F(ConfigFile, MissingOrUnreadableFile) {
  const fs::path missing = dir_ / "missing.toml";
  auto r = load_file(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(missing.string() + ": cannot read: ", 0), 0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;

  auto d = load_file(dir_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message.rfind(dir_.string() + ": cannot read: ", 0), 0u) << d.error().message;
}

TEST(Config, PubsubAndPepDefaults) {
  Config c = defaults();
  EXPECT_TRUE(c.pubsub.enabled);
  EXPECT_TRUE(c.pubsub.services.empty());  // pubsub.<domain> for each served domain
  EXPECT_EQ(c.pubsub.create_nodes, "local");
  EXPECT_EQ(c.pubsub.defaults.access_model, "open");
  EXPECT_EQ(c.pubsub.defaults.max_items, 10u);
  EXPECT_TRUE(c.pep.enabled);
  EXPECT_EQ(c.pep.max_items, 1000u);
}

TEST(Config, PubsubFull) {
  auto r = load(R"(
domains = ["a.test"]
[pubsub]
services = ["News.A.test"]
create_nodes = "admins"
admins = ["boss@a.test"]
max_nodes = 5
max_items = 50
max_payload_size = 2048
[pubsub.defaults]
access_model = "whitelist"
publish_model = "open"
max_items = 3
persist_items = false
deliver_payloads = false
send_last_published_item = "never"
[pep]
enabled = false
max_nodes = 7
max_items = 8
max_payload_size = 4096
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = r->pubsub;
  EXPECT_EQ(p.services, (std::vector<std::string>{"news.a.test"}));
  EXPECT_EQ(p.create_nodes, "admins");
  EXPECT_EQ(p.admins, (std::vector<std::string>{"boss@a.test"}));
  EXPECT_EQ(p.max_nodes, 5u);
  EXPECT_EQ(p.max_items, 50u);
  EXPECT_EQ(p.max_payload_size, 2048u);
  EXPECT_EQ(p.defaults.access_model, "whitelist");
  EXPECT_EQ(p.defaults.publish_model, "open");
  EXPECT_EQ(p.defaults.max_items, 3u);
  EXPECT_FALSE(p.defaults.persist_items);
  EXPECT_FALSE(p.defaults.deliver_payloads);
  EXPECT_EQ(p.defaults.send_last_published_item, "never");
  EXPECT_FALSE(r->pep.enabled);
  EXPECT_EQ(r->pep.max_nodes, 7u);
  EXPECT_EQ(r->pep.max_items, 8u);
  EXPECT_EQ(r->pep.max_payload_size, 4096u);
}

TEST(Config, PubsubErrorsNameFileLineAndKey) {
  expect_error("domains = [\"a.test\"]\n[pubsub]\nservices = [\"ps.other.test\"]\n", 3,
               "pubsub.services", "not a subdomain of a served domain");
  expect_error("domains = [\"a.test\"]\n[pubsub]\nservices = [\"conference.a.test\"]\n", 3,
               "pubsub.services", "also a MUC service");
  expect_error("[pubsub]\ncreate_nodes = \"all\"\n", 2, "pubsub.create_nodes", "local, admins");
  expect_error("[pubsub.defaults]\naccess_model = \"secret\"\n", 2,
               "pubsub.defaults.access_model", "whitelist");
  expect_error("[pubsub]\nmax_items = 0\n", 2, "pubsub.max_items", "between 1");
  expect_error("[pep]\nnodes = 1\n", 2, "pep.nodes", "unknown key");
}

}  // namespace
}  // namespace starling::config

namespace starling::config {
namespace {

TEST(Config, RegistrationDefaultsToOff) {
  // XEP-0077 §8 and XEP-0479: in-band registration is a policy matter, off by default.
  Config c = defaults();
  EXPECT_FALSE(c.registration.allow_all);
  EXPECT_TRUE(c.registration.allow_domains.empty());
  EXPECT_FALSE(c.registration.allowed("localhost"));
  EXPECT_EQ(c.registration.throttle_max, 5u);
  EXPECT_EQ(c.registration.throttle_period, 3600u);
  EXPECT_TRUE(c.registration.password_change);
  EXPECT_TRUE(c.registration.remove);
}

TEST(Config, RegistrationAllowTrueMeansEveryDomain) {
  auto r = load(
      "domains = [\"a.example\", \"b.example\"]\n"
      "[registration]\nallow = true\nthrottle_max = 0\nthrottle_period = 60\n"
      "password_change = false\nremove = false\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->registration.allowed("a.example"));
  EXPECT_TRUE(r->registration.allowed("b.example"));
  EXPECT_EQ(r->registration.throttle_max, 0u);
  EXPECT_EQ(r->registration.throttle_period, 60u);
  EXPECT_FALSE(r->registration.password_change);
  EXPECT_FALSE(r->registration.remove);
}

TEST(Config, RegistrationAllowListsDomains) {
  // The table may come before or after `domains` in the file's order of keys; the check
  // runs once everything is read. Names are prepared (case, IDNA) like `domains`.
  auto r = load(
      "domains = [\"a.example\", \"b.example\"]\n"
      "[registration]\nallow = [\"B.Example\", \"b.example\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->registration.allow_domains, std::vector<std::string>{"b.example"});
  EXPECT_FALSE(r->registration.allowed("a.example"));
  EXPECT_TRUE(r->registration.allowed("b.example"));
}

TEST(Config, RegistrationErrorsNameFileLineAndKey) {
  expect_error("domains = [\"a.example\"]\n[registration]\nallow = [\"c.example\"]\n", 3,
               "registration.allow", "not one of the served domains");
  expect_error("[registration]\nallow = \"yes\"\n", 2, "registration.allow",
               "expected a boolean or an array of domains, got a string");
  expect_error("[registration]\nallow = [\"bad domain!\"]\n", 2, "registration.allow",
               "is not a valid domain name");
  expect_error("[registration]\nallow = [1]\n", 2, "registration.allow", "expected a string");
  expect_error("[registration]\nthrottle_max = -1\n", 2, "registration.throttle_max",
               "between 0 and 1000000");
  expect_error("[registration]\nthrottle_period = 0\n", 2, "registration.throttle_period",
               "between 1 and 31536000");
  expect_error("[registration]\nremove = 1\n", 2, "registration.remove", "expected a boolean");
  expect_error("[registration]\npassword_change = \"no\"\n", 2, "registration.password_change",
               "expected a boolean");
  expect_error("[registration]\nallow_registration = true\n", 2, "registration.allow_registration",
               "unknown key");
}

TEST(Config, DiscoItemsAndContact) {
  auto r = load(
      "[disco]\nitems = [{ jid = \"conference.example.org\", name = \"Rooms\" },\n"
      "  { jid = \"example.org\", node = \"n\" }]\n"
      "[contact]\nabuse = [\"mailto:abuse@example.org\", \"xmpp:abuse@example.org\"]\n"
      "support = [\"https://example.org/help\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->disco_items.size(), 2u);
  EXPECT_EQ(r->disco_items[0].jid, "conference.example.org");
  EXPECT_EQ(r->disco_items[0].name, "Rooms");
  EXPECT_EQ(r->disco_items[1].node, "n");
  ASSERT_EQ(r->contact.size(), 2u);
  EXPECT_EQ(r->contact[0].first, "abuse");
  EXPECT_EQ(r->contact[0].second.size(), 2u);
  EXPECT_EQ(r->contact[1].first, "support");
  EXPECT_TRUE(defaults().contact.empty());
  EXPECT_TRUE(defaults().disco_items.empty());
}

TEST(Config, DiscoAndContactErrorsNameFileLineAndKey) {
  expect_error("[disco]\nitems = [{ name = \"x\" }]\n", 2, "disco.items", "needs a 'jid'");
  expect_error("[disco]\nitems = [{ jid = \"a@@b\" }]\n", 2, "disco.items.jid",
               "not a valid JID");
  expect_error("[disco]\nitems = [\"x\"]\n", 2, "disco.items", "expected a table");
  expect_error("[disco]\nitems = [{ jid = \"a\", color = \"red\" }]\n", 2,
               "disco.items.color", "unknown key");
  expect_error("[contact]\nabuse = [\"abuse at example\"]\n", 2, "contact.abuse",
               "is not a URI");
  expect_error("[contact]\nabuse = \"mailto:a@b\"\n", 2, "contact.abuse", "expected an array");
  expect_error("[contact]\nfans = [\"mailto:a@b\"]\n", 2, "contact.fans", "unknown key");
}

TEST(Config, AnonymousDomains) {
  EXPECT_TRUE(defaults().anonymous_domains.empty());
  auto r = load("domains = [\"example.org\"]\nanonymous_domains = [\"Anon.Example.org\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->anonymous_domains, std::vector<std::string>{"anon.example.org"});
  EXPECT_TRUE(r->is_anonymous("anon.example.org"));
  EXPECT_FALSE(r->is_anonymous("example.org"));
  expect_error("anonymous_domains = [\"a b\"]\n", 1, "anonymous_domains", "not a valid domain");
  expect_error("anonymous_domains = [\"x.org\", \"X.org\"]\n", 1, "anonymous_domains",
               "listed twice");
  expect_error("anonymous_domains = [\"localhost\"]\n", 1, "anonymous_domains",
               "also in domains");
  // Checked whatever the order of the keys.
  expect_error("anonymous_domains = [\"a.org\"]\ndomains = [\"a.org\"]\n", 1,
               "anonymous_domains", "also in domains");
  expect_error("anonymous_domains = \"a.org\"\n", 1, "anonymous_domains", "expected an array");
}

TEST(Config, ListenerTables) {
  auto r = load(
      "[c2s]\nlisten = [\"127.0.0.1:5222\", { address = \"[::1]:5224\", compression = true }]\n"
      "direct_tls = [{ address = \"127.0.0.1:5223\" }]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->c2s.listen.size(), 2u);
  EXPECT_FALSE(r->c2s.listen[0].compression);
  EXPECT_EQ(r->c2s.listen[1].str(), "[::1]:5224");
  EXPECT_TRUE(r->c2s.listen[1].compression);
  ASSERT_EQ(r->c2s.direct_tls.size(), 1u);
  EXPECT_FALSE(r->c2s.direct_tls[0].compression);
  EXPECT_FALSE(defaults().c2s.listen[0].compression);
  expect_error("[c2s]\nlisten = [{ compression = true }]\n", 2, "c2s.listen", "needs an address");
  expect_error("[c2s]\nlisten = [{ address = \"127.0.0.1:1\", compression = 1 }]\n", 2,
               "c2s.listen.compression", "expected a boolean");
  expect_error("[c2s]\nlisten = [{ address = \"127.0.0.1:1\", zip = true }]\n", 2,
               "c2s.listen.zip", "unknown key");
  expect_error("[c2s]\nlisten = [{ address = \"nowhere:1\" }]\n", 2, "c2s.listen.address",
               "nowhere");
  expect_error("[c2s]\nlisten = [5]\n", 2, "c2s.listen", "listener table");
}

TEST(Config, S2sDefaults) {
  Config c = defaults();
  ASSERT_EQ(c.s2s.listen.size(), 1u);
  EXPECT_EQ(c.s2s.listen[0].str(), "127.0.0.1:5269");
  ASSERT_EQ(c.s2s.direct_tls.size(), 1u);
  EXPECT_EQ(c.s2s.direct_tls[0].str(), "127.0.0.1:5270");
  EXPECT_TRUE(c.s2s.require_valid_certificates);
  EXPECT_FALSE(c.s2s.allow_unencrypted);
  EXPECT_EQ(c.s2s.max_stanza_size, 524288u);
  EXPECT_TRUE(c.s2s.allowed("example.net"));
  EXPECT_EQ(c.s2s.host("example.net"), nullptr);
}

TEST(Config, S2sFull) {
  auto r = load(R"(
[s2s]
listen = ["0.0.0.0:5269"]
direct_tls = []
require_valid_certificates = false
ca_file = "/etc/ssl/certs/ca.pem"
dialback_secret = "0123456789abcdef0123"
allow_domains = ["Example.NET", "b.test"]
deny_domains = ["evil.test"]
max_stanza_size = 100000
connect_timeout = 5
idle_timeout = 60
retry_initial = 1
retry_max = 30
dns_server = "127.0.0.1:5353"
[s2s.hosts]
"b.test" = "127.0.0.2:5269"
"c.test" = { address = "[::1]:5270", direct_tls = true }
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = r->s2s;
  EXPECT_EQ(s.listen[0].str(), "0.0.0.0:5269");
  EXPECT_TRUE(s.direct_tls.empty());
  EXPECT_FALSE(s.require_valid_certificates);
  EXPECT_EQ(s.ca_file, fs::path("/etc/ssl/certs/ca.pem"));
  EXPECT_EQ(s.dialback_secret, "0123456789abcdef0123");
  EXPECT_TRUE(s.allowed("example.net"));  // prepared (lower case)
  EXPECT_TRUE(s.allowed("b.test"));
  EXPECT_FALSE(s.allowed("c.test"));     // not in allow_domains
  EXPECT_FALSE(s.allowed("evil.test"));
  EXPECT_EQ(s.connect_timeout, 5u);
  EXPECT_EQ(s.dns_server, "127.0.0.1:5353");
  ASSERT_NE(s.host("b.test"), nullptr);
  EXPECT_EQ(s.host("b.test")->endpoint.str(), "127.0.0.2:5269");
  EXPECT_FALSE(s.host("b.test")->direct_tls);
  ASSERT_NE(s.host("c.test"), nullptr);
  EXPECT_EQ(s.host("c.test")->endpoint.str(), "[::1]:5270");
  EXPECT_TRUE(s.host("c.test")->direct_tls);
}

TEST(Config, S2sErrorsNameFileLineAndKey) {
  expect_error("[s2s]\nrequire_valid_certificates = 1\n", 2, "s2s.require_valid_certificates",
               "boolean");
  expect_error("[s2s]\ndialback_secret = \"short\"\n", 2, "s2s.dialback_secret", "16");
  expect_error("[s2s]\ndeny_domains = [\"bad domain\"]\n", 2, "s2s.deny_domains",
               "not a valid domain");
  expect_error("[s2s]\nconnect_timeout = 0\n", 2, "s2s.connect_timeout", "between 1 and 600");
  expect_error("[s2s.hosts]\n\"b.test\" = \"b.test:5269\"\n", 2, "s2s.hosts.b.test",
               "IPv4:port");
  expect_error("[s2s.hosts]\n\"b.test\" = { direct_tls = true }\n", 2, "s2s.hosts.b.test",
               "needs an address");
  expect_error("[s2s]\nmax_bytes = 1\n", 2, "s2s.max_bytes", "unknown key");
}

TEST(Config, MucDefaults) {
  Config c = defaults();
  EXPECT_TRUE(c.muc.enabled);
  EXPECT_TRUE(c.muc.services.empty());  // conference.<domain> for each served domain
  EXPECT_EQ(c.muc.create_rooms, "local");
  EXPECT_FALSE(c.muc.defaults.persistent);
  EXPECT_EQ(c.muc.defaults.whois, "moderators");
}

TEST(Config, MucFull) {
  auto r = load(R"(
domains = ["a.test", "b.test"]
[muc]
services = ["Conference.A.test", "chat.b.test"]
create_rooms = "admins"
admins = ["boss@a.test"]
max_rooms = 20
max_history = 10
max_occupants = 50
[muc.defaults]
persistent = true
public_room = false
members_only = true
moderated = true
whois = "anyone"
max_users = 30
history_length = 5
change_subject = true
allow_invites = true
allow_pm = "moderators"
allow_voice_requests = false
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& m = r->muc;
  EXPECT_EQ(m.services, (std::vector<std::string>{"conference.a.test", "chat.b.test"}));
  EXPECT_EQ(m.create_rooms, "admins");
  EXPECT_EQ(m.admins, (std::vector<std::string>{"boss@a.test"}));
  EXPECT_EQ(m.max_rooms, 20u);
  EXPECT_EQ(m.max_history, 10u);
  EXPECT_EQ(m.max_occupants, 50u);
  EXPECT_TRUE(m.defaults.persistent);
  EXPECT_FALSE(m.defaults.public_room);
  EXPECT_TRUE(m.defaults.members_only);
  EXPECT_TRUE(m.defaults.moderated);
  EXPECT_EQ(m.defaults.whois, "anyone");
  EXPECT_EQ(m.defaults.max_users, 30u);
  EXPECT_EQ(m.defaults.history_length, 5u);
  EXPECT_TRUE(m.defaults.change_subject);
  EXPECT_TRUE(m.defaults.allow_invites);
  EXPECT_EQ(m.defaults.allow_pm, "moderators");
  EXPECT_FALSE(m.defaults.allow_voice_requests);
}

TEST(Config, MucErrorsNameFileLineAndKey) {
  expect_error("domains = [\"a.test\"]\n[muc]\nservices = [\"muc.other.test\"]\n", 3,
               "muc.services", "not a subdomain of a served domain");
  expect_error("domains = [\"a.test\", \"c.a.test\"]\n[muc]\nservices = [\"c.a.test\"]\n", 3,
               "muc.services", "also in domains");
  expect_error("[muc]\ncreate_rooms = \"everyone\"\n", 2, "muc.create_rooms", "local, admins, anyone");
  expect_error("[muc]\nadmins = [\"x@y/z\"]\n", 2, "muc.admins", "not a bare JID");
  expect_error("[muc.defaults]\nwhois = \"nobody\"\n", 2, "muc.defaults.whois", "moderators");
  expect_error("[muc.defaults]\nallow_pm = true\n", 2, "muc.defaults.allow_pm", "string");
  expect_error("[muc]\nenabled = \"yes\"\n", 2, "muc.enabled", "boolean");
  expect_error("[muc]\nrooms = 1\n", 2, "muc.rooms", "unknown key");
}

}  // namespace
}  // namespace starling::config
