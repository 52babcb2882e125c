#pragma once
// Private to starling_xmpp: the two PRECIS profiles (RFC 8265) that XMPP addresses and SASL
// passwords need, built on the PRECIS framework (RFC 8264) with ICU character properties.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace starling::xmpp::precis {

enum class Profile {
  // RFC 8265 §3.3: IdentifierClass, width mapping, toLowerCase, NFC, Bidi Rule.
  kUsernameCaseMapped,
  // RFC 8265 §4.2: FreeformClass, non-ASCII spaces to U+0020, NFC.
  kOpaqueString,
  // RFC 8266 §2.2 enforcement of nicknames: FreeformClass, non-ASCII spaces to U+0020, leading
  // and trailing spaces removed, interior runs of spaces collapsed to one, NFKC.
  kNickname,
  // RFC 8266 §2.3 comparison of nicknames: as kNickname, plus toLowerCase before NFKC.
  kNicknameCaseMapped,
};

// Prepares and enforces `in` (UTF-8) under `profile`; nullopt when the input is not well-formed
// UTF-8, contains a code point the profile disallows, is empty after enforcement, is longer
// than `max_octets` after enforcement, or does not reach a stable form (RFC 8264 §7).
std::optional<std::string> enforce(std::string_view in, Profile profile, std::size_t max_octets);

// RFC 8264 §9.17 HasCompat: toNFKC(cp) != cp. Exposed for its exhaustive test.
bool has_compat(char32_t cp);

}  // namespace starling::xmpp::precis
