#pragma once
// SASL for XMPP (RFC 6120 §6): SCRAM-SHA-1, SCRAM-SHA-256 (RFC 5802, RFC 7677), their -PLUS
// variants with channel binding, and PLAIN (RFC 4616, only offered over TLS).
// Only SCRAM keys are stored, never a password.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starling::auth {

struct ScramKeys {
  std::string salt;  // raw bytes
  std::uint32_t iterations = 0;
  std::string stored_key;  // raw bytes: H(ClientKey)
  std::string server_key;  // raw bytes: HMAC(SaltedPassword, "Server Key")
};

struct Credentials {
  ScramKeys sha1;
  ScramKeys sha256;
};

enum class ScramHash { kSha1, kSha256 };

// Derives SCRAM keys for `password` (prepared with PRECIS OpaqueString first) with a fresh random
// salt for each hash. nullopt when the password is not valid OpaqueString (e.g. empty).
std::optional<Credentials> derive_credentials(std::string_view password,
                                              std::uint32_t iterations = 4096);
// Derivation with a given salt, for test vectors. `password` is used as given (already prepared).
ScramKeys derive_keys(ScramHash hash, std::string_view password, std::string_view salt,
                      std::uint32_t iterations);
// Checks a plaintext password (PLAIN) against stored SCRAM-SHA-256 keys (constant-time compare).
bool verify_password(const Credentials& creds, std::string_view password);

// RFC 6120 §6.5 failure conditions.
enum class SaslFailure {
  kAborted,
  kAccountDisabled,
  kCredentialsExpired,
  kEncryptionRequired,
  kIncorrectEncoding,
  kInvalidAuthzid,
  kInvalidMechanism,
  kMalformedRequest,
  kMechanismTooWeak,
  kNotAuthorized,
  kTemporaryAuthFailure,
};
std::string_view failure_element_name(SaslFailure f);  // "not-authorized", ...

// Channel-binding data of the TLS connection (raw bytes; empty when unavailable).
struct ChannelBindings {
  std::string tls_exporter;          // RFC 9266: exporter "EXPORTER-Channel-Binding", 32 bytes
  std::string tls_unique;            // RFC 5929 (TLS 1.2 only)
  std::string tls_server_end_point;  // RFC 5929 §4.1
  bool any() const {
    return !tls_exporter.empty() || !tls_unique.empty() || !tls_server_end_point.empty();
  }
};

// One authentication exchange. Not thread-safe; owned by one stream.
class SaslServer {
 public:
  // Mechanisms to offer, strongest first: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS (only if `tls`
  // and bindings are available), SCRAM-SHA-256, SCRAM-SHA-1, PLAIN (only if `tls`).
  static std::vector<std::string> mechanisms(bool tls, const ChannelBindings& cb);
  // The SASL channel-binding types we can serve (XEP-0440 <sasl-channel-binding/>).
  static std::vector<std::string> channel_binding_types(const ChannelBindings& cb);

  // nullptr when `mechanism` is not one of mechanisms(tls, cb) (-> invalid-mechanism).
  static std::unique_ptr<SaslServer> create(std::string_view mechanism, bool tls,
                                            ChannelBindings cb);
  virtual ~SaslServer() = default;

  // The authentication identity (a username, not yet PRECIS-prepared) named in the client's
  // first message, so the caller can load credentials before step(). nullopt when the message
  // is malformed (-> malformed-request). For SCRAM this is the unescaped "n=" value.
  virtual std::optional<std::string> authcid(std::string_view first_message) const = 0;

  struct Step {
    enum Kind { kChallenge, kSuccess, kFailure };
    Kind kind = kFailure;
    std::string data;  // challenge, or additional data with success (SCRAM server-final)
    SaslFailure failure = SaslFailure::kNotAuthorized;
    std::string authzid;  // on success: the authorization identity requested, if any
  };
  // One step. `credentials` is null when the account does not exist: the exchange then runs
  // on to a not-authorized failure without revealing that the account is unknown.
  virtual Step step(std::string_view client_data, const Credentials* credentials) = 0;
};

}  // namespace starling::auth
