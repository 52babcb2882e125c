#include "base/random.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace starling {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");  // cannot continue without randomness
  }
  return out;
}

std::string random_id(std::size_t n) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string raw = random_bytes(n);
  std::string out(n, 'a');
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = kAlphabet[static_cast<unsigned char>(raw[i]) % 62];
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool base64_decode(std::string_view in, std::string& out) {
  // RFC 6120 §6.4.2: the data is base64 without whitespace; reject anything else.
  if (in.size() % 4 != 0) {
    return false;
  }
  for (char c : in) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) {
      return false;
    }
  }
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') {
    ++pad;
    if (in.size() > 1 && in[in.size() - 2] == '=') {
      ++pad;
    }
  }
  for (std::size_t i = 0; i + pad < in.size(); ++i) {
    if (in[i] == '=') {
      return false;
    }
  }
  out.assign(3 * in.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) {
    return false;
  }
  out.resize(static_cast<std::size_t>(n) - pad);
  return true;
}

}  // namespace starling
