#pragma once
// Storage backends are synchronous and run only on the storage executor (see storage.hpp) or in
// starlingctl. Shapes (Prosody's storage manager): accounts, and a per-user key-value store for
// modules. Schemas are declared in code, versioned, and migrated at open.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/sasl.hpp"
#include "base/result.hpp"

namespace starling::storage {

struct Account {
  std::string domain;
  std::string username;  // PRECIS-prepared localpart
  auth::Credentials credentials;
  bool disabled = false;
  std::int64_t created_at = 0;  // unix seconds
};

enum class Status { kOk, kExists, kNotFound, kError };

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Status create_account(const Account& a) = 0;  // kExists if present
  virtual std::optional<Account> get_account(const std::string& domain,
                                             const std::string& username) = 0;
  virtual Status set_credentials(const std::string& domain, const std::string& username,
                                 const auth::Credentials& c) = 0;  // kNotFound if absent
  virtual Status set_disabled(const std::string& domain, const std::string& username,
                              bool disabled) = 0;
  // Deletes the account and everything stored for it (key-value data of every store).
  virtual Status delete_account(const std::string& domain, const std::string& username) = 0;
  virtual std::vector<std::string> list_users(const std::string& domain) = 0;  // sorted
  virtual std::int64_t count_users(const std::string& domain) = 0;

  // Key-value shape: (domain, username, store, key) -> value. username "" = host-wide data.
  virtual std::optional<std::string> kv_get(const std::string& domain, const std::string& username,
                                            const std::string& store, const std::string& key) = 0;
  virtual Status kv_set(const std::string& domain, const std::string& username,
                        const std::string& store, const std::string& key,
                        const std::string& value) = 0;
  virtual Status kv_delete(const std::string& domain, const std::string& username,
                           const std::string& store, const std::string& key) = 0;
  virtual std::vector<std::string> kv_keys(const std::string& domain, const std::string& username,
                                           const std::string& store) = 0;
  // Every (key, value) of one user's store, ordered by key.
  virtual std::vector<std::pair<std::string, std::string>> kv_get_all(const std::string& domain,
                                                                      const std::string& username,
                                                                      const std::string& store) = 0;
  // One store of every user of a domain: (username, key, value), ordered by username and key.
  struct KvRow {
    std::string username, key, value;
  };
  virtual std::vector<KvRow> kv_scan(const std::string& domain, const std::string& store) = 0;

  // Runs `f` (calls on this backend) as one transaction whose commit need not reach the disk at
  // once. It survives a crash of the process (kill -9) and reaches the disk with the next
  // ordinary commit, but a crash of the machine may lose it. Only for bookkeeping that nobody
  // was promised, such as last-logout times; never for anything acknowledged. Not nested.
  virtual void relaxed(const std::function<void()>& f) { f(); }
};

// Opens (creating if needed) the SQLite database at `path` in WAL mode and runs pending schema
// migrations. The error names the file and what failed.
Result<std::unique_ptr<Backend>> open_sqlite(const std::filesystem::path& path);

}  // namespace starling::storage
