#pragma once
// Server Dialback keys (XEP-0185 §3, the recommended algorithm):
//   key = hex(HMAC-SHA256(hex(SHA256(secret)), receiving + ' ' + originating + ' ' + stream id))
// The Authoritative Server recomputes the key to verify it, so no state is kept per request.
#include <string>
#include <string_view>

namespace starling::stream::s2s {

std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating, std::string_view stream_id);

// Constant-time comparison of two keys (a verifier must not leak how much of a guess matched).
bool keys_equal(std::string_view a, std::string_view b);

}  // namespace starling::stream::s2s
