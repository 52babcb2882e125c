#pragma once
// XMPP addresses, RFC 7622: localpart by PRECIS UsernameCaseMapped (RFC 8265 §3.3), resourcepart
// by OpaqueString (RFC 8265 §4.2), domainpart by IDNA2008 (libidn2) in its U-label form,
// lower-cased, trailing dot removed; IP literals kept. Each part at most 1023 octets.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace starling::xmpp {

class Jid {
 public:
  Jid() = default;
  // Splits, prepares and validates; nullopt when the string is not a valid JID (-> jid-malformed).
  static std::optional<Jid> parse(std::string_view s);
  // Builds from parts; each part is prepared and validated. Empty local/resource = absent.
  static std::optional<Jid> make(std::string_view local, std::string_view domain,
                                 std::string_view resource = {});

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }
  bool empty() const { return domain_.empty(); }
  bool is_bare() const { return resource_.empty(); }
  bool is_domain() const { return local_.empty() && resource_.empty(); }

  Jid bare() const;
  // nullopt when the resource is invalid.
  std::optional<Jid> with_resource(std::string_view resource) const;
  std::string str() const;       // local@domain/resource
  std::string bare_str() const;  // local@domain

  bool operator==(const Jid&) const = default;

 private:
  std::string local_, domain_, resource_;
};

// Preparation of single parts; nullopt when invalid (empty input is invalid).
std::optional<std::string> prep_localpart(std::string_view s);
std::optional<std::string> prep_domainpart(std::string_view s);
std::optional<std::string> prep_resourcepart(std::string_view s);
// RFC 8266 nicknames (XEP-0045 room nicks): the enforced form, which is also a valid
// resourcepart; nullopt when it is not a nickname (empty after trimming, disallowed code points).
std::optional<std::string> prep_nickname(std::string_view s);
// The form in which two nicknames are compared (RFC 8266 §2.3: case-mapped as well).
std::optional<std::string> nickname_key(std::string_view s);
// PRECIS OpaqueString for passwords (RFC 8265 §4.2), used by SCRAM and PLAIN.
std::optional<std::string> prep_password(std::string_view s);

// XEP-0106 JID escaping of a localpart ("d'artagnan" -> "d\27artagnan") and unescaping.
std::string escape_localpart(std::string_view s);
std::string unescape_localpart(std::string_view s);

}  // namespace starling::xmpp

template <>
struct std::hash<starling::xmpp::Jid> {
  std::size_t operator()(const starling::xmpp::Jid& j) const noexcept {
    return std::hash<std::string>{}(j.str());
  }
};
