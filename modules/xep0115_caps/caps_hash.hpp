#pragma once
// XEP-0115 §5: the verification string of a disco#info result, apart from the module so that it
// can be tested against the XEP's examples without a server.
#include <optional>
#include <string>
#include <string_view>

#include "module/module.hpp"
#include "xml/element.hpp"

namespace starling::modules::caps {

inline constexpr std::string_view kNs = "http://jabber.org/protocol/caps";

// §5.1 steps 1-7 for a disco#info <query/>: the string S that is hashed. nullopt when the
// result is ill-formed under §5.4 3.3-3.5 (duplicate identities, features or FORM_TYPEs, or a
// FORM_TYPE with differing values), with `why` saying which; forms without a hidden FORM_TYPE
// are left out (§5.4 3.6).
std::optional<std::string> verification_string(const xml::Element& query,
                                               std::string* why = nullptr);
// §5.1 step 9: base64 of the digest of S with the IANA-named hash ("sha-1", "sha-224",
// "sha-256", "sha-384", "sha-512"); nullopt for a hash this server does not support.
std::optional<std::string> hash_ver(std::string_view hash_name, std::string_view s);
// The verified capabilities a disco#info <query/> describes (identities, sorted features, forms).
module::EntityCaps caps_of(const xml::Element& query);

}  // namespace starling::modules::caps
