#pragma once
// The client side of SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding
// (gs2 header "n,,"), and PLAIN (RFC 4616). Messages are the raw SASL payloads; the caller
// base64-encodes them for XMPP. Key derivation is cached per (salt, iterations), so repeated
// logins of one user cost one PBKDF2 run.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::bench {

enum class ScramAlgo { kSha1, kSha256 };

class ScramClient {
 public:
  // `username` and `password` as sent (the bench uses ASCII names; ',' and '=' are escaped
  // per RFC 5802 §5.1). `nonce`: printable, no ','.
  ScramClient(ScramAlgo algo, std::string username, std::string password, std::string nonce);

  // "n,,n=user,r=nonce"
  std::string client_first() const;
  // Consumes server-first-message; returns client-final-message, or nullopt when the message is
  // malformed, the nonce does not extend ours, or the iteration count is out of range.
  std::optional<std::string> client_final(std::string_view server_first);
  // Checks server-final-message ("v=..."): true when the server proved it knows the key.
  bool verify_server_final(std::string_view server_final) const;

  // Key cache, so a user logging in again skips PBKDF2 (valid while salt and count are equal).
  struct Keys {
    std::string salt;
    std::uint32_t iterations = 0;
    std::string client_key;
    std::string server_key;
  };
  void set_cached_keys(const Keys* keys) { cached_ = keys; }
  const Keys& keys() const { return keys_; }

 private:
  ScramAlgo algo_;
  std::string username_;
  std::string password_;
  std::string nonce_;
  std::string client_first_bare_;
  std::string auth_message_;
  Keys keys_;
  const Keys* cached_ = nullptr;
};

// RFC 4616: authzid (empty) NUL authcid NUL passwd.
std::string plain_message(std::string_view username, std::string_view password);

}  // namespace starling::bench
