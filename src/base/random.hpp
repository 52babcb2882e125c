#pragma once
#include <cstddef>
#include <string>

namespace starling {
// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string random_bytes(std::size_t n);
// Random identifier of n characters from [a-zA-Z0-9] (stream ids, generated resources, iq ids).
std::string random_id(std::size_t n = 16);
// Base64 (RFC 4648, with padding) encode/decode. decode returns false on invalid input.
std::string base64_encode(std::string_view data);
bool base64_decode(std::string_view in, std::string& out);
}  // namespace starling
