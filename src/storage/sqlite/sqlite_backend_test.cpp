#include "storage/sqlite/sqlite_backend.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "storage/backend.hpp"

namespace starling::storage {
namespace {

namespace fs = std::filesystem;

auth::Credentials make_credentials(const std::string& seed) {
  auth::Credentials c;
  c.sha1 = {"salt1-" + seed, 4096, "stored1-" + seed, "server1-" + seed};
  c.sha256 = {"salt256-" + seed, 8192, "stored256-" + seed, "server256-" + seed};
  return c;
}

Account make_account(const std::string& domain, const std::string& username) {
  Account a;
  a.domain = domain;
  a.username = username;
  a.credentials = make_credentials(username);
  a.created_at = 1700000000;
  return a;
}

void expect_same(const auth::ScramKeys& a, const auth::ScramKeys& b) {
  EXPECT_EQ(a.salt, b.salt);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.stored_key, b.stored_key);
  EXPECT_EQ(a.server_key, b.server_key);
}

class SqliteBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "starling-storage-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // A subdirectory that does not exist yet: open_sqlite creates it.
    path_ = dir_ / "data" / "starling.db";
    auto db = open_sqlite(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Backend& db() { return *db_; }

  void reopen() {
    db_.reset();
    auto db = open_sqlite(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
  }

  // Runs SQL on the file with a separate connection.
  void raw_exec(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    sqlite::DbPtr conn(raw);
    ASSERT_EQ(sqlite3_exec(conn.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(conn.get());
  }

  fs::path dir_;
  fs::path path_;
  std::unique_ptr<Backend> db_;
};

TEST_F(SqliteBackendTest, CreatesParentDirectoryAndFile) {
  EXPECT_TRUE(fs::is_regular_file(path_));
}

TEST_F(SqliteBackendTest, CreateGetExists) {
  Account a = make_account("example.org", "juliet");
  a.disabled = false;
  EXPECT_EQ(db().create_account(a), Status::kOk);
  EXPECT_EQ(db().create_account(a), Status::kExists);

  auto got = db().get_account("example.org", "juliet");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->domain, "example.org");
  EXPECT_EQ(got->username, "juliet");
  expect_same(got->credentials.sha1, a.credentials.sha1);
  expect_same(got->credentials.sha256, a.credentials.sha256);
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->created_at, 1700000000);

  EXPECT_FALSE(db().get_account("example.org", "romeo").has_value());
  EXPECT_FALSE(db().get_account("example.net", "juliet").has_value());
  // The same username on another domain is another account.
  EXPECT_EQ(db().create_account(make_account("example.net", "juliet")), Status::kOk);
}

TEST_F(SqliteBackendTest, SetCredentials) {
  ASSERT_EQ(db().create_account(make_account("example.org", "juliet")), Status::kOk);
  auth::Credentials c = make_credentials("new");
  EXPECT_EQ(db().set_credentials("example.org", "juliet", c), Status::kOk);
  auto got = db().get_account("example.org", "juliet");
  ASSERT_TRUE(got.has_value());
  expect_same(got->credentials.sha1, c.sha1);
  expect_same(got->credentials.sha256, c.sha256);
  EXPECT_EQ(db().set_credentials("example.org", "nobody", c), Status::kNotFound);
}

TEST_F(SqliteBackendTest, SetDisabled) {
  ASSERT_EQ(db().create_account(make_account("example.org", "juliet")), Status::kOk);
  EXPECT_EQ(db().set_disabled("example.org", "juliet", true), Status::kOk);
  EXPECT_TRUE(db().get_account("example.org", "juliet")->disabled);
  // Setting the value it already has is still a success.
  EXPECT_EQ(db().set_disabled("example.org", "juliet", true), Status::kOk);
  EXPECT_EQ(db().set_disabled("example.org", "juliet", false), Status::kOk);
  EXPECT_FALSE(db().get_account("example.org", "juliet")->disabled);
  EXPECT_EQ(db().set_disabled("example.org", "nobody", true), Status::kNotFound);

  Account d = make_account("example.org", "romeo");
  d.disabled = true;
  ASSERT_EQ(db().create_account(d), Status::kOk);
  EXPECT_TRUE(db().get_account("example.org", "romeo")->disabled);
}

TEST_F(SqliteBackendTest, DeleteRemovesAccountAndItsKeyValueData) {
  ASSERT_EQ(db().create_account(make_account("example.org", "juliet")), Status::kOk);
  ASSERT_EQ(db().create_account(make_account("example.org", "romeo")), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "roster", "romeo@example.org", "x"), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "vcard", "", "y"), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "romeo", "roster", "juliet@example.org", "z"), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "", "motd", "text", "hello"), Status::kOk);
  ASSERT_EQ(db().kv_set("example.net", "juliet", "roster", "k", "v"), Status::kOk);

  EXPECT_EQ(db().delete_account("example.org", "juliet"), Status::kOk);
  EXPECT_FALSE(db().get_account("example.org", "juliet").has_value());
  EXPECT_TRUE(db().kv_keys("example.org", "juliet", "roster").empty());
  EXPECT_TRUE(db().kv_keys("example.org", "juliet", "vcard").empty());
  // Nobody else's data is touched.
  EXPECT_TRUE(db().get_account("example.org", "romeo").has_value());
  EXPECT_EQ(db().kv_get("example.org", "romeo", "roster", "juliet@example.org"), "z");
  EXPECT_EQ(db().kv_get("example.org", "", "motd", "text"), "hello");
  EXPECT_EQ(db().kv_get("example.net", "juliet", "roster", "k"), "v");

  EXPECT_EQ(db().delete_account("example.org", "juliet"), Status::kNotFound);
  // Host-wide data is not an account.
  EXPECT_EQ(db().delete_account("example.org", ""), Status::kNotFound);
  EXPECT_EQ(db().kv_get("example.org", "", "motd", "text"), "hello");
}

TEST_F(SqliteBackendTest, ListAndCountPerDomainSorted) {
  for (const char* u : {"mercutio", "benvolio", "romeo", "juliet", "tybalt"}) {
    ASSERT_EQ(db().create_account(make_account("example.org", u)), Status::kOk);
  }
  ASSERT_EQ(db().create_account(make_account("example.net", "nurse")), Status::kOk);
  EXPECT_EQ(db().list_users("example.org"),
            (std::vector<std::string>{"benvolio", "juliet", "mercutio", "romeo", "tybalt"}));
  EXPECT_EQ(db().list_users("example.net"), (std::vector<std::string>{"nurse"}));
  EXPECT_TRUE(db().list_users("example.com").empty());
  EXPECT_EQ(db().count_users("example.org"), 5);
  EXPECT_EQ(db().count_users("example.net"), 1);
  EXPECT_EQ(db().count_users("example.com"), 0);
  ASSERT_EQ(db().delete_account("example.org", "romeo"), Status::kOk);
  EXPECT_EQ(db().count_users("example.org"), 4);
}

TEST_F(SqliteBackendTest, KeyValueSetGetOverwriteDeleteKeys) {
  EXPECT_FALSE(db().kv_get("example.org", "juliet", "private", "a").has_value());
  EXPECT_EQ(db().kv_set("example.org", "juliet", "private", "b", "2"), Status::kOk);
  EXPECT_EQ(db().kv_set("example.org", "juliet", "private", "a", "1"), Status::kOk);
  EXPECT_EQ(db().kv_set("example.org", "juliet", "private", "c", ""), Status::kOk);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "private", "a"), "1");
  // An empty value is a value, not an absence.
  EXPECT_EQ(db().kv_get("example.org", "juliet", "private", "c"), "");

  EXPECT_EQ(db().kv_set("example.org", "juliet", "private", "a", "one"), Status::kOk);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "private", "a"), "one");

  EXPECT_EQ(db().kv_keys("example.org", "juliet", "private"),
            (std::vector<std::string>{"a", "b", "c"}));
  // Stores, users and domains are separate.
  EXPECT_TRUE(db().kv_keys("example.org", "juliet", "other").empty());
  EXPECT_TRUE(db().kv_keys("example.org", "romeo", "private").empty());
  EXPECT_TRUE(db().kv_keys("example.net", "juliet", "private").empty());

  EXPECT_EQ(db().kv_delete("example.org", "juliet", "private", "b"), Status::kOk);
  EXPECT_FALSE(db().kv_get("example.org", "juliet", "private", "b").has_value());
  EXPECT_EQ(db().kv_delete("example.org", "juliet", "private", "b"), Status::kNotFound);
  EXPECT_EQ(db().kv_keys("example.org", "juliet", "private"), (std::vector<std::string>{"a", "c"}));
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(db().kv_get_all("example.org", "juliet", "private"), (Pairs{{"a", "one"}, {"c", ""}}));
  EXPECT_TRUE(db().kv_get_all("example.org", "romeo", "private").empty());
}

TEST_F(SqliteBackendTest, ScanOneStoreOfEveryUser) {
  db().kv_set("example.org", "romeo", "privacy", "l", "r");
  db().kv_set("example.org", "juliet", "privacy", "a", "j1");
  db().kv_set("example.org", "juliet", "privacy", "b", "j2");
  db().kv_set("example.org", "juliet", "roster", "x", "no");
  db().kv_set("example.com", "juliet", "privacy", "a", "other domain");
  auto rows = db().kv_scan("example.org", "privacy");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].username, "juliet");
  EXPECT_EQ(rows[0].key, "a");
  EXPECT_EQ(rows[0].value, "j1");
  EXPECT_EQ(rows[1].value, "j2");
  EXPECT_EQ(rows[2].username, "romeo");
  EXPECT_TRUE(db().kv_scan("example.org", "none").empty());
}

TEST_F(SqliteBackendTest, HostWideKeyValueData) {
  EXPECT_EQ(db().kv_set("example.org", "", "settings", "k", "host"), Status::kOk);
  EXPECT_EQ(db().kv_set("example.org", "juliet", "settings", "k", "user"), Status::kOk);
  EXPECT_EQ(db().kv_get("example.org", "", "settings", "k"), "host");
  EXPECT_EQ(db().kv_get("example.org", "juliet", "settings", "k"), "user");
}

TEST_F(SqliteBackendTest, BinarySafe) {
  const std::string salt("\0\x01\xff\0salt", 8);
  const std::string stored("\0\0\0", 3);
  const std::string server("a\0b\xfe", 4);
  Account a = make_account("example.org", "juliet");
  a.credentials.sha256 = {salt, 4096, stored, server};
  a.credentials.sha1 = {std::string(), 1, std::string(1, '\0'), std::string(20, '\0')};
  ASSERT_EQ(db().create_account(a), Status::kOk);
  auto got = db().get_account("example.org", "juliet");
  ASSERT_TRUE(got.has_value());
  expect_same(got->credentials.sha256, a.credentials.sha256);
  expect_same(got->credentials.sha1, a.credentials.sha1);

  const std::string key1("k\0one", 5);
  const std::string key2("k\0two", 5);
  const std::string value("\0v\0\xff", 4);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "s", key1, value), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "s", key2, "2"), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "s", "k", "short"), Status::kOk);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", key1), value);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", key2), "2");
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", "k"), "short");
  EXPECT_EQ(db().kv_keys("example.org", "juliet", "s"),
            (std::vector<std::string>{"k", key1, key2}));
  EXPECT_EQ(db().kv_delete("example.org", "juliet", "s", key1), Status::kOk);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", key2), "2");
}

TEST_F(SqliteBackendTest, ReopenKeepsData) {
  ASSERT_EQ(db().create_account(make_account("example.org", "juliet")), Status::kOk);
  ASSERT_EQ(db().kv_set("example.org", "juliet", "s", "k", "v"), Status::kOk);
  reopen();
  auto got = db().get_account("example.org", "juliet");
  ASSERT_TRUE(got.has_value());
  expect_same(got->credentials.sha256, make_credentials("juliet").sha256);
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", "k"), "v");
  // Reopening an up-to-date database applies no migration again.
  db_.reset();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  sqlite::DbPtr conn(raw);
  sqlite3_stmt* raw_stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(conn.get(), "SELECT COUNT(*), MAX(version) FROM schema_version", -1,
                               &raw_stmt, nullptr),
            SQLITE_OK);
  sqlite::StmtPtr stmt(raw_stmt);
  ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt.get(), 0), static_cast<int>(sqlite::migrations().size()));
  EXPECT_EQ(sqlite3_column_int(stmt.get(), 1), sqlite::migrations().back().version);
}

// relaxed(): one transaction, committed (visible to others at once), and kept when the process
// dies right after it without closing anything (kill -9).
TEST_F(SqliteBackendTest, RelaxedWritesAreOneTransactionAndSurviveAProcessCrash) {
  ASSERT_EQ(db().create_account(make_account("example.org", "juliet")), Status::kOk);
  db_.reset();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = open_sqlite(path_);
    if (!db.ok()) {
      _exit(2);
    }
    auto& b = *db.value();
    b.relaxed([&] {
      b.kv_set("example.org", "juliet", "last", "stamp", "2026-11-21T10:00:00Z");
      b.kv_set("example.org", "juliet", "last", "stanza", "<presence/>");
    });
    _exit(0);  // no destructors: the connection is never closed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  reopen();
  EXPECT_EQ(db().kv_get("example.org", "juliet", "last", "stamp"), "2026-11-21T10:00:00Z");
  EXPECT_EQ(db().kv_get("example.org", "juliet", "last", "stanza"), "<presence/>");
  // Ordinary writes after a relaxed one still work and are kept.
  db().relaxed([&] { db().kv_set("example.org", "juliet", "last", "stamp", "x"); });
  ASSERT_EQ(db().kv_set("example.org", "juliet", "s", "k", "v"), Status::kOk);
  reopen();
  EXPECT_EQ(db().kv_get("example.org", "juliet", "last", "stamp"), "x");
  EXPECT_EQ(db().kv_get("example.org", "juliet", "s", "k"), "v");
}

TEST_F(SqliteBackendTest, NewerSchemaVersionIsRefused) {
  db_.reset();
  raw_exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
  auto db = open_sqlite(path_);
  ASSERT_FALSE(db.ok());
  const std::string& msg = db.error().message;
  EXPECT_NE(msg.find(path_.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("schema version 999"), std::string::npos) << msg;
  EXPECT_NE(msg.find("supports up to " + std::to_string(sqlite::migrations().back().version)),
            std::string::npos)
      << msg;
}

TEST_F(SqliteBackendTest, MigrationsAreOrdered) {
  int last = 0;
  for (const auto& m : sqlite::migrations()) {
    EXPECT_GT(m.version, last);
    last = m.version;
  }
  EXPECT_EQ(sqlite::migrations().front().version, 1);
}

TEST_F(SqliteBackendTest, OpenFailureNamesThePath) {
  // Not a database.
  const fs::path junk = dir_ / "junk.db";
  std::ofstream(junk, std::ios::binary) << std::string(4096, 'x');
  auto db = open_sqlite(junk);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find(junk.string()), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("not a database"), std::string::npos) << db.error().message;

  // A directory where the file should be.
  const fs::path dir = dir_ / "adir";
  fs::create_directory(dir);
  auto d = open_sqlite(dir);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(dir.string()), std::string::npos) << d.error().message;

  // A parent that is a file.
  auto p = open_sqlite(junk / "x.db");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find((junk / "x.db").string()), std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace starling::storage
