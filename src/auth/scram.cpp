// SCRAM credential derivation (RFC 5802 §3, RFC 7677), password checks against stored keys, and
// the hash helpers the SCRAM server shares.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "auth/sasl.hpp"
#include "auth/scram_server.hpp"
#include "base/random.hpp"
#include "xmpp/jid.hpp"

namespace starling::auth {
namespace {

// Salt size for new credentials; RFC 5802 does not fix one, 16 random bytes is ample.
constexpr std::size_t kSaltBytes = 16;

// Iteration count of decoy keys: the default of derive_credentials().
constexpr std::uint32_t kDecoyIterations = 4096;

const EVP_MD* digest_for(ScramHash hash) {
  return hash == ScramHash::kSha1 ? EVP_sha1() : EVP_sha256();
}

// Wipes a string holding key material before it is released.
class Wiped {
 public:
  explicit Wiped(std::string& s) : s_(s) {}
  ~Wiped() { OPENSSL_cleanse(s_.data(), s_.size()); }
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;

 private:
  std::string& s_;
};

std::string hmac_md(const EVP_MD* md, std::string_view key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::runtime_error("HMAC key too long");
  }
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  out.resize(len);
  return out;
}

std::string digest_md(const EVP_MD* md, std::string_view data) {
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, md,
                 nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  out.resize(len);
  return out;
}

}  // namespace

namespace internal {

std::size_t hash_size(ScramHash hash) { return hash == ScramHash::kSha1 ? 20 : 32; }

std::string hmac(ScramHash hash, std::string_view key, std::string_view data) {
  return hmac_md(digest_for(hash), key, data);
}

std::string digest(ScramHash hash, std::string_view data) {
  return digest_md(digest_for(hash), data);
}

bool usable(const ScramKeys& keys, ScramHash hash) {
  return keys.iterations > 0 && !keys.salt.empty() && keys.stored_key.size() == hash_size(hash) &&
         keys.server_key.size() == hash_size(hash);
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

ScramKeys decoy_keys(ScramHash hash, std::string_view username) {
  static const std::string secret = random_bytes(32);
  std::string label = hash == ScramHash::kSha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
  label += '\0';
  label.append(username);
  ScramKeys keys;
  // Same salt size as derive_credentials() gives real accounts.
  keys.salt = hmac_md(EVP_sha256(), secret, label).substr(0, kSaltBytes);
  keys.iterations = kDecoyIterations;
  keys.stored_key = random_bytes(hash_size(hash));
  keys.server_key = random_bytes(hash_size(hash));
  return keys;
}

}  // namespace internal

ScramKeys derive_keys(ScramHash hash, std::string_view password, std::string_view salt,
                      std::uint32_t iterations) {
  const EVP_MD* md = digest_for(hash);
  if (iterations == 0 || iterations > static_cast<std::uint32_t>(INT_MAX) ||
      password.size() > static_cast<std::size_t>(INT_MAX) ||
      salt.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("derive_keys: iteration count or input size out of range");
  }
  // RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), where Hi is PBKDF2 with
  // HMAC as the PRF and an output of one hash length.
  std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  Wiped wipe_salted(salted);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                        static_cast<int>(salted.size()),
                        reinterpret_cast<unsigned char*>(salted.data())) != 1) {
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  }
  // ClientKey := HMAC(SaltedPassword, "Client Key"); StoredKey := H(ClientKey);
  // ServerKey := HMAC(SaltedPassword, "Server Key").
  std::string client_key = hmac_md(md, salted, "Client Key");
  Wiped wipe_client_key(client_key);
  ScramKeys keys;
  keys.salt = std::string(salt);
  keys.iterations = iterations;
  keys.stored_key = digest_md(md, client_key);
  keys.server_key = hmac_md(md, salted, "Server Key");
  return keys;
}

std::optional<Credentials> derive_credentials(std::string_view password, std::uint32_t iterations) {
  if (iterations == 0) {
    return std::nullopt;  // RFC 5802 §7: i= is a positive number.
  }
  // Passwords are prepared with the PRECIS OpaqueString profile (RFC 8265 §4.2), which replaces
  // SASLprep (RFC 8265 §6); an empty or otherwise invalid password yields no credentials.
  std::optional<std::string> prepared = xmpp::prep_password(password);
  if (!prepared) {
    return std::nullopt;
  }
  Wiped wipe_prepared(*prepared);
  Credentials creds;
  creds.sha1 = derive_keys(ScramHash::kSha1, *prepared, random_bytes(kSaltBytes), iterations);
  creds.sha256 = derive_keys(ScramHash::kSha256, *prepared, random_bytes(kSaltBytes), iterations);
  return creds;
}

bool verify_password(const Credentials& creds, std::string_view password) {
  if (!internal::usable(creds.sha256, ScramHash::kSha256) ||
      creds.sha256.iterations > static_cast<std::uint32_t>(INT_MAX)) {
    return false;
  }
  std::optional<std::string> prepared = xmpp::prep_password(password);
  if (!prepared) {
    return false;
  }
  Wiped wipe_prepared(*prepared);
  ScramKeys keys =
      derive_keys(ScramHash::kSha256, *prepared, creds.sha256.salt, creds.sha256.iterations);
  return CRYPTO_memcmp(keys.stored_key.data(), creds.sha256.stored_key.data(),
                       keys.stored_key.size()) == 0;
}

}  // namespace starling::auth
