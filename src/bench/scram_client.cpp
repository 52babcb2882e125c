#include "bench/scram_client.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <climits>

#include "base/random.hpp"

namespace starling::bench {
namespace {

const EVP_MD* md_of(ScramAlgo a) { return a == ScramAlgo::kSha1 ? EVP_sha1() : EVP_sha256(); }

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

// RFC 5802 §5.1 saslname: ',' -> "=2C", '=' -> "=3D".
std::string saslname(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

// Value of attribute `key` ("r", "s", "i", "v") in a comma-separated SCRAM message.
std::optional<std::string_view> attr(std::string_view msg, char key) {
  while (!msg.empty()) {
    const auto comma = msg.find(',');
    const std::string_view part = msg.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') {
      return part.substr(2);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    msg.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

}  // namespace

ScramClient::ScramClient(ScramAlgo algo, std::string username, std::string password,
                         std::string nonce)
    : algo_(algo),
      username_(std::move(username)),
      password_(std::move(password)),
      nonce_(std::move(nonce)) {
  client_first_bare_ = "n=" + saslname(username_) + ",r=" + nonce_;
}

std::string ScramClient::client_first() const { return "n,," + client_first_bare_; }

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
  if (server_first.substr(0, 2) == "m=") {
    return std::nullopt;  // RFC 5802 §5.1: mandatory extension we do not know
  }
  const auto r = attr(server_first, 'r');
  const auto s = attr(server_first, 's');
  const auto i = attr(server_first, 'i');
  if (!r || !s || !i || r->size() <= nonce_.size() || r->substr(0, nonce_.size()) != nonce_) {
    return std::nullopt;
  }
  std::uint32_t iterations = 0;
  auto [end, ec] = std::from_chars(i->data(), i->data() + i->size(), iterations);
  if (ec != std::errc() || end != i->data() + i->size() || iterations == 0 ||
      iterations > 10'000'000) {
    return std::nullopt;
  }
  std::string salt;
  if (!base64_decode(*s, salt) || salt.empty()) {
    return std::nullopt;
  }
  const EVP_MD* md = md_of(algo_);
  if (cached_ != nullptr && cached_->salt == salt && cached_->iterations == iterations) {
    keys_ = *cached_;
  } else {
    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
    if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                          static_cast<int>(salted.size()),
                          reinterpret_cast<unsigned char*>(salted.data())) != 1) {
      return std::nullopt;
    }
    keys_.salt = std::move(salt);
    keys_.iterations = iterations;
    keys_.client_key = hmac(md, salted, "Client Key");
    keys_.server_key = hmac(md, salted, "Server Key");
    OPENSSL_cleanse(salted.data(), salted.size());
  }
  // RFC 5802 §3: AuthMessage, ClientProof := ClientKey XOR HMAC(H(ClientKey), AuthMessage).
  std::string without_proof = "c=biws,r=";
  without_proof.append(*r);
  auth_message_ = client_first_bare_;
  auth_message_ += ',';
  auth_message_.append(server_first);
  auth_message_ += ',';
  auth_message_ += without_proof;
  std::string proof = hmac(md, digest(md, keys_.client_key), auth_message_);
  if (proof.size() != keys_.client_key.size()) {
    return std::nullopt;
  }
  for (std::size_t k = 0; k < proof.size(); ++k) {
    proof[k] = static_cast<char>(proof[k] ^ keys_.client_key[k]);
  }
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
  const auto v = attr(server_final, 'v');
  if (!v || auth_message_.empty()) {
    return false;
  }
  std::string got;
  if (!base64_decode(*v, got)) {
    return false;
  }
  const std::string want = hmac(md_of(algo_), keys_.server_key, auth_message_);
  return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

std::string plain_message(std::string_view username, std::string_view password) {
  std::string out;
  out += '\0';
  out.append(username);
  out += '\0';
  out.append(password);
  return out;
}

}  // namespace starling::bench
