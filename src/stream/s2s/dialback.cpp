#include "stream/s2s/dialback.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace starling::stream::s2s {

namespace {
std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}
}  // namespace

std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating, std::string_view stream_id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  // XEP-0185 §3: the secret's SHA-256 in hexadecimal is the HMAC key.
  std::string hmac_key = hex(digest, sizeof digest);
  std::string message;
  message.reserve(receiving.size() + originating.size() + stream_id.size() + 2);
  message.append(receiving).append(" ").append(originating).append(" ").append(stream_id);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return hex(mac, mac_len);
}

bool keys_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace starling::stream::s2s
