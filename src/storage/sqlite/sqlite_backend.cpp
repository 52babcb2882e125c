// SQLite storage backend. One connection, used by one thread (the storage executor or
// starlingctl), so the connection is opened without SQLite's own mutexes. Every write is one
// transaction committed with synchronous=FULL in WAL mode: once a call returns kOk, the change
// survives a crash of the process or the machine.
#include "storage/sqlite/sqlite_backend.hpp"

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "base/log.hpp"
#include "storage/backend.hpp"

namespace starling::storage {
namespace sqlite {
namespace {

constexpr std::array kMigrations{
    Migration{1, R"sql(
CREATE TABLE accounts (
  domain TEXT NOT NULL,
  username TEXT NOT NULL,
  sha1_salt BLOB NOT NULL,
  sha1_iterations INTEGER NOT NULL,
  sha1_stored_key BLOB NOT NULL,
  sha1_server_key BLOB NOT NULL,
  sha256_salt BLOB NOT NULL,
  sha256_iterations INTEGER NOT NULL,
  sha256_stored_key BLOB NOT NULL,
  sha256_server_key BLOB NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (domain, username)
) WITHOUT ROWID;
CREATE TABLE kv (
  domain TEXT NOT NULL,
  username TEXT NOT NULL,
  store TEXT NOT NULL,
  key BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (domain, username, store, key)
) WITHOUT ROWID;
)sql"},
    // kv_scan: one store of every user of a domain.
    Migration{2, R"sql(
CREATE INDEX kv_by_store ON kv (domain, store);
)sql"},
};

struct SqliteFree {
  void operator()(char* p) const { sqlite3_free(p); }
};

// Runs SQL text that may hold several statements and returns no rows we need.
Result<void> exec(sqlite3* db, const std::string& sql) {
  char* raw_message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &raw_message);
  std::unique_ptr<char, SqliteFree> message(raw_message);
  if (rc != SQLITE_OK) {
    return make_error(message ? message.get() : sqlite3_errstr(rc));
  }
  return {};
}

// Prepares one statement that is used once (during open).
Result<StmtPtr> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    return make_error(sqlite3_errmsg(db));
  }
  return stmt;
}

Result<std::int64_t> schema_version(sqlite3* db) {
  auto stmt = prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!stmt) {
    return stmt.error();
  }
  Query q(stmt->get());
  if (q.step() != SQLITE_ROW) {
    return make_error(sqlite3_errmsg(db));
  }
  return q.column_int(0);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Applies the migrations newer than the database's version, each in its own transaction.
Result<void> migrate(sqlite3* db, const std::string& name) {
  if (auto r = exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !r) {
    return make_error("database " + name + ": cannot create schema_version: " + r.error().message);
  }
  auto current = schema_version(db);
  if (!current) {
    return make_error("database " + name +
                      ": cannot read schema version: " + current.error().message);
  }
  const std::int64_t latest = migrations().back().version;
  if (*current > latest) {
    return make_error("database " + name + " has schema version " + std::to_string(*current) +
                      ", this Starling supports up to " + std::to_string(latest));
  }
  for (const Migration& m : migrations()) {
    if (m.version <= *current) {
      continue;
    }
    auto fail = [&](const std::string& what) {
      (void)exec(db, "ROLLBACK");
      return make_error("database " + name + ": migration to schema version " +
                        std::to_string(m.version) + " failed: " + what);
    };
    // IMMEDIATE takes the write lock first, so a second process opening the same file waits and
    // then sees the migration as done.
    if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) {
      return make_error("database " + name + ": cannot begin migration: " + r.error().message);
    }
    auto again = schema_version(db);
    if (!again) {
      return fail(again.error().message);
    }
    if (*again >= m.version) {
      (void)exec(db, "ROLLBACK");
      continue;
    }
    if (auto r = exec(db, std::string(m.sql)); !r) {
      return fail(r.error().message);
    }
    auto insert = prepare(db, "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)");
    if (!insert) {
      return fail(insert.error().message);
    }
    {
      Query q(insert->get());
      q.bind_int(1, m.version);
      q.bind_int(2, now_seconds());
      if (q.step() != SQLITE_DONE) {
        return fail(sqlite3_errmsg(db));
      }
    }
    if (auto r = exec(db, "COMMIT"); !r) {
      return fail(r.error().message);
    }
  }
  return {};
}

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(DbPtr db, std::string name) : db_(std::move(db)), name_(std::move(name)) {}

  Status create_account(const Account& a) override {
    Cached q(statement(
        "INSERT INTO accounts (domain, username, sha1_salt, sha1_iterations, sha1_stored_key, "
        "sha1_server_key, sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key, "
        "disabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT (domain, username) DO NOTHING"));
    if (!q.valid()) {
      return Status::kError;
    }
    bind_credentials(q.query(), 3, a.credentials);
    q->bind_text(1, a.domain);
    q->bind_text(2, a.username);
    q->bind_int(11, a.disabled ? 1 : 0);
    q->bind_int(12, a.created_at);
    if (q->step() != SQLITE_DONE) {
      return fail("create_account");
    }
    return sqlite3_changes(db_.get()) == 0 ? Status::kExists : Status::kOk;
  }

  std::optional<Account> get_account(const std::string& domain,
                                     const std::string& username) override {
    Cached q(statement(
        "SELECT sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key, sha256_salt, "
        "sha256_iterations, sha256_stored_key, sha256_server_key, disabled, created_at "
        "FROM accounts WHERE domain = ?1 AND username = ?2"));
    if (!q.valid()) {
      return std::nullopt;
    }
    q->bind_text(1, domain);
    q->bind_text(2, username);
    int rc = q->step();
    if (rc == SQLITE_DONE) {
      return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
      fail("get_account");
      return std::nullopt;
    }
    Account a;
    a.domain = domain;
    a.username = username;
    a.credentials.sha1 = read_keys(q.query(), 0);
    a.credentials.sha256 = read_keys(q.query(), 4);
    a.disabled = q->column_int(8) != 0;
    a.created_at = q->column_int(9);
    return a;
  }

  Status set_credentials(const std::string& domain, const std::string& username,
                         const auth::Credentials& c) override {
    Cached q(statement(
        "UPDATE accounts SET sha1_salt = ?3, sha1_iterations = ?4, sha1_stored_key = ?5, "
        "sha1_server_key = ?6, sha256_salt = ?7, sha256_iterations = ?8, sha256_stored_key = ?9, "
        "sha256_server_key = ?10 WHERE domain = ?1 AND username = ?2"));
    if (!q.valid()) {
      return Status::kError;
    }
    q->bind_text(1, domain);
    q->bind_text(2, username);
    bind_credentials(q.query(), 3, c);
    if (q->step() != SQLITE_DONE) {
      return fail("set_credentials");
    }
    return sqlite3_changes(db_.get()) == 0 ? Status::kNotFound : Status::kOk;
  }

  Status set_disabled(const std::string& domain, const std::string& username,
                      bool disabled) override {
    Cached q(statement("UPDATE accounts SET disabled = ?3 WHERE domain = ?1 AND username = ?2"));
    if (!q.valid()) {
      return Status::kError;
    }
    q->bind_text(1, domain);
    q->bind_text(2, username);
    q->bind_int(3, disabled ? 1 : 0);
    if (q->step() != SQLITE_DONE) {
      return fail("set_disabled");
    }
    return sqlite3_changes(db_.get()) == 0 ? Status::kNotFound : Status::kOk;
  }

  Status delete_account(const std::string& domain, const std::string& username) override {
    Transaction tx(*this);
    if (!tx.begun()) {
      return Status::kError;
    }
    {
      Cached q(statement("DELETE FROM accounts WHERE domain = ?1 AND username = ?2"));
      if (!q.valid()) {
        return Status::kError;
      }
      q->bind_text(1, domain);
      q->bind_text(2, username);
      if (q->step() != SQLITE_DONE) {
        return fail("delete_account");
      }
      // No account: roll back without touching the key-value data. This also keeps the
      // host-wide data (username "") out of reach of delete_account(domain, "").
      if (sqlite3_changes(db_.get()) == 0) {
        return Status::kNotFound;
      }
    }
    {
      Cached q(statement("DELETE FROM kv WHERE domain = ?1 AND username = ?2"));
      if (!q.valid()) {
        return Status::kError;
      }
      q->bind_text(1, domain);
      q->bind_text(2, username);
      if (q->step() != SQLITE_DONE) {
        return fail("delete_account (key-value data)");
      }
    }
    return tx.commit() ? Status::kOk : Status::kError;
  }

  std::vector<std::string> list_users(const std::string& domain) override {
    std::vector<std::string> users;
    Cached q(statement("SELECT username FROM accounts WHERE domain = ?1 ORDER BY username"));
    if (!q.valid()) {
      return users;
    }
    q->bind_text(1, domain);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      users.push_back(q->column_text(0));
    }
    if (rc != SQLITE_DONE) {
      fail("list_users");
    }
    return users;
  }

  std::int64_t count_users(const std::string& domain) override {
    Cached q(statement("SELECT COUNT(*) FROM accounts WHERE domain = ?1"));
    if (!q.valid()) {
      return 0;
    }
    q->bind_text(1, domain);
    if (q->step() != SQLITE_ROW) {
      fail("count_users");
      return 0;
    }
    return q->column_int(0);
  }

  std::optional<std::string> kv_get(const std::string& domain, const std::string& username,
                                    const std::string& store, const std::string& key) override {
    Cached q(statement(
        "SELECT value FROM kv WHERE domain = ?1 AND username = ?2 AND store = ?3 AND key = ?4"));
    if (!q.valid()) {
      return std::nullopt;
    }
    bind_kv_key(q.query(), domain, username, store, key);
    int rc = q->step();
    if (rc == SQLITE_ROW) {
      return q->column_blob(0);
    }
    if (rc != SQLITE_DONE) {
      fail("kv_get");
    }
    return std::nullopt;
  }

  Status kv_set(const std::string& domain, const std::string& username, const std::string& store,
                const std::string& key, const std::string& value) override {
    Cached q(statement(
        "INSERT INTO kv (domain, username, store, key, value) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (domain, username, store, key) DO UPDATE SET value = excluded.value"));
    if (!q.valid()) {
      return Status::kError;
    }
    bind_kv_key(q.query(), domain, username, store, key);
    q->bind_blob(5, value);
    if (q->step() != SQLITE_DONE) {
      return fail("kv_set");
    }
    return Status::kOk;
  }

  Status kv_delete(const std::string& domain, const std::string& username, const std::string& store,
                   const std::string& key) override {
    Cached q(statement(
        "DELETE FROM kv WHERE domain = ?1 AND username = ?2 AND store = ?3 AND key = ?4"));
    if (!q.valid()) {
      return Status::kError;
    }
    bind_kv_key(q.query(), domain, username, store, key);
    if (q->step() != SQLITE_DONE) {
      return fail("kv_delete");
    }
    return sqlite3_changes(db_.get()) == 0 ? Status::kNotFound : Status::kOk;
  }

  std::vector<std::string> kv_keys(const std::string& domain, const std::string& username,
                                   const std::string& store) override {
    std::vector<std::string> keys;
    Cached q(statement(
        "SELECT key FROM kv WHERE domain = ?1 AND username = ?2 AND store = ?3 ORDER BY key"));
    if (!q.valid()) {
      return keys;
    }
    q->bind_text(1, domain);
    q->bind_text(2, username);
    q->bind_text(3, store);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      keys.push_back(q->column_blob(0));
    }
    if (rc != SQLITE_DONE) {
      fail("kv_keys");
    }
    return keys;
  }

  std::vector<std::pair<std::string, std::string>> kv_get_all(const std::string& domain,
                                                              const std::string& username,
                                                              const std::string& store) override {
    std::vector<std::pair<std::string, std::string>> out;
    Cached q(
        statement("SELECT key, value FROM kv WHERE domain = ?1 AND username = ?2 AND store = ?3 "
                  "ORDER BY key"));
    if (!q.valid()) {
      return out;
    }
    q->bind_text(1, domain);
    q->bind_text(2, username);
    q->bind_text(3, store);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      out.emplace_back(q->column_blob(0), q->column_blob(1));
    }
    if (rc != SQLITE_DONE) {
      fail("kv_get_all");
    }
    return out;
  }

  std::vector<KvRow> kv_scan(const std::string& domain, const std::string& store) override {
    std::vector<KvRow> out;
    Cached q(statement(
        "SELECT username, key, value FROM kv WHERE domain = ?1 AND store = ?2 "
        "ORDER BY username, key"));
    if (!q.valid()) {
      return out;
    }
    q->bind_text(1, domain);
    q->bind_text(2, store);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      out.push_back({q->column_blob(0), q->column_blob(1), q->column_blob(2)});
    }
    if (rc != SQLITE_DONE) {
      fail("kv_scan");
    }
    return out;
  }

 private:
  // A cached statement in use, or nothing when preparing it failed (already logged).
  class Cached {
   public:
    explicit Cached(sqlite3_stmt* stmt) {
      if (stmt != nullptr) {
        query_.emplace(stmt);
      }
    }
    bool valid() const { return query_.has_value(); }
    sqlite::Query& query() { return *query_; }
    sqlite::Query* operator->() { return &*query_; }

   private:
    std::optional<sqlite::Query> query_;
  };

  void relaxed(const std::function<void()>& f) override {
    // In WAL mode synchronous=NORMAL appends the commit to the WAL without fsync: the process
    // can die at any moment without losing it (the OS has it), and the next FULL commit's
    // fsync of the WAL makes it durable too.
    run("PRAGMA synchronous = NORMAL");
    {
      Transaction tx(*this);
      f();
      if (tx.begun()) {
        tx.commit();
      }
    }
    run("PRAGMA synchronous = FULL");
  }

  // BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
  class Transaction {
   public:
    explicit Transaction(SqliteBackend& b) : b_(b) { begun_ = b_.run("BEGIN IMMEDIATE"); }
    ~Transaction() {
      if (begun_ && !done_) {
        b_.run("ROLLBACK");
      }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    bool begun() const { return begun_; }
    bool commit() {
      done_ = b_.run("COMMIT");
      return done_;
    }

   private:
    SqliteBackend& b_;
    bool begun_ = false;
    bool done_ = false;
  };

  // The cached prepared statement for `sql`, prepared on first use; nullptr on failure (logged).
  sqlite3_stmt* statement(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) {
      return it->second.get();
    }
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK || stmt == nullptr) {
      fail("prepare");
      return nullptr;
    }
    return statements_.emplace(std::string(sql), std::move(stmt)).first->second.get();
  }

  // Runs a statement without parameters or rows (transaction control).
  bool run(std::string_view sql) {
    Cached q(statement(sql));
    if (!q.valid()) {
      return false;
    }
    if (q->step() != SQLITE_DONE) {
      fail(sql);
      return false;
    }
    return true;
  }

  Status fail(std::string_view what) {
    log::error("storage: database {}: {}: {}", name_, what, sqlite3_errmsg(db_.get()));
    return Status::kError;
  }

  static void bind_credentials(sqlite::Query& q, int first, const auth::Credentials& c) {
    int i = first;
    for (const auth::ScramKeys* k : {&c.sha1, &c.sha256}) {
      q.bind_blob(i++, k->salt);
      q.bind_int(i++, k->iterations);
      q.bind_blob(i++, k->stored_key);
      q.bind_blob(i++, k->server_key);
    }
  }

  static auth::ScramKeys read_keys(sqlite::Query& q, int first) {
    auth::ScramKeys k;
    k.salt = q.column_blob(first);
    k.iterations = static_cast<std::uint32_t>(q.column_int(first + 1));
    k.stored_key = q.column_blob(first + 2);
    k.server_key = q.column_blob(first + 3);
    return k;
  }

  static void bind_kv_key(sqlite::Query& q, const std::string& domain, const std::string& username,
                          const std::string& store, const std::string& key) {
    q.bind_text(1, domain);
    q.bind_text(2, username);
    q.bind_text(3, store);
    q.bind_blob(4, key);
  }

  DbPtr db_;  // declared first: the statements below are finalized before the close
  std::string name_;
  std::map<std::string, StmtPtr, std::less<>> statements_;
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

Query::~Query() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Query::bind_text(int index, std::string_view text) {
  // A null data pointer would bind NULL; an empty value must stay an empty string.
  const char* data = text.empty() ? "" : text.data();
  return sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) ==
         SQLITE_OK;
}

bool Query::bind_blob(int index, std::string_view bytes) {
  if (bytes.empty()) {
    return sqlite3_bind_zeroblob(stmt_, index, 0) == SQLITE_OK;
  }
  return sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT) ==
         SQLITE_OK;
}

bool Query::bind_int(int index, std::int64_t value) {
  return sqlite3_bind_int64(stmt_, index, value) == SQLITE_OK;
}

int Query::step() { return sqlite3_step(stmt_); }

std::string Query::column_text(int index) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::string Query::column_blob(int index) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
  int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::int64_t Query::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

}  // namespace sqlite

Result<std::unique_ptr<Backend>> open_sqlite(const std::filesystem::path& path) {
  const std::string name = path.string();
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return make_error("database " + name + ": cannot create directory " +
                        path.parent_path().string() + ": " + ec.message());
    }
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(name.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  sqlite::DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return make_error("cannot open database " + name + ": " +
                      (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 5000);

  // journal_mode answers with the mode in effect; anything but "wal" means the file system
  // refused it.
  {
    auto stmt = sqlite::prepare(db.get(), "PRAGMA journal_mode = WAL");
    if (!stmt) {
      return make_error("cannot open database " + name + ": " + stmt.error().message);
    }
    sqlite::Query q(stmt->get());
    if (q.step() != SQLITE_ROW) {
      return make_error("cannot open database " + name + ": " + sqlite3_errmsg(db.get()));
    }
    if (std::string mode = q.column_text(0); mode != "wal") {
      return make_error("database " + name + ": cannot enable WAL journal mode (got '" + mode +
                        "')");
    }
  }
  if (auto r = sqlite::exec(db.get(), "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"); !r) {
    return make_error("cannot open database " + name + ": " + r.error().message);
  }
  if (auto r = sqlite::migrate(db.get(), name); !r) {
    return r.error();
  }
  return std::unique_ptr<Backend>(std::make_unique<sqlite::SqliteBackend>(std::move(db), name));
}

}  // namespace starling::storage
