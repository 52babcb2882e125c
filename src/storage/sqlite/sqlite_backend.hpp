#pragma once
// Private to the SQLite backend: RAII handles around sqlite3 and sqlite3_stmt, and the schema
// migrations. Users go through storage::open_sqlite (storage/backend.hpp).
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace starling::storage::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// One schema step. Steps are applied in order, each in its own transaction, and never edited once
// released: a change to the schema is a new step.
struct Migration {
  int version;
  std::string_view sql;
};

// The ordered list of migrations this build knows; the last version is the newest schema.
std::span<const Migration> migrations();

// One use of a cached prepared statement: binds parameters (1-based), steps, and on destruction
// resets the statement and clears its bindings so it can be reused.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // Text and blobs keep every byte (embedded NULs included). Empty values stay non-NULL.
  bool bind_text(int index, std::string_view text);
  bool bind_blob(int index, std::string_view bytes);
  bool bind_int(int index, std::int64_t value);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();

  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  std::int64_t column_int(int index) const;

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace starling::storage::sqlite
