#pragma once
// Private to starling_auth (not installed, not included outside src/auth): the hand-written SCRAM
// server (RFC 5802, RFC 7677) and the helpers that sasl.cpp, scram.cpp and scram_server.cpp
// share.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "auth/sasl.hpp"

namespace starling::auth::internal {

// --- crypto helpers (scram.cpp) --------------------------------------------------------------

// Output size of the SCRAM hash: 20 for SHA-1, 32 for SHA-256.
std::size_t hash_size(ScramHash hash);
// HMAC(key, data) and H(data) with the SCRAM hash (RFC 5802 §2.2). Throw std::runtime_error when
// OpenSSL fails.
std::string hmac(ScramHash hash, std::string_view key, std::string_view data);
std::string digest(ScramHash hash, std::string_view data);
// Keys with a salt, a positive iteration count and keys of the hash's size.
bool usable(const ScramKeys& keys, ScramHash hash);
// Overwrites key material (OPENSSL_cleanse) and empties the string.
void wipe(std::string& s);

// Keys for an account that does not exist. The salt is derived from the username and a
// per-process secret, so that repeated attempts on the same name see the same salt as they would
// for a real account; the keys are random, so no proof can match. The iteration count is the
// default of derive_credentials().
ScramKeys decoy_keys(ScramHash hash, std::string_view username);

// --- parsing (sasl.cpp) ----------------------------------------------------------------------

// Well-formed UTF-8 per RFC 3629 §4 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s);

// --- SCRAM server (scram_server.cpp) -----------------------------------------------------------

// A SCRAM-SHA-1 / SCRAM-SHA-256 server, the -PLUS variant when `plus`. `tls` and `cb` are those
// the mechanism list was built from: -PLUS is advertised exactly when tls && cb.any(), and the
// binding data is only used when `tls`.
std::unique_ptr<SaslServer> make_scram_server(ScramHash hash, bool plus, bool tls,
                                              ChannelBindings cb);

}  // namespace starling::auth::internal
