// XMPP addresses (RFC 7622) and JID escaping (XEP-0106).
#include "xmpp/jid.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <array>
#include <memory>

#include "xmpp/precis.hpp"

namespace starling::xmpp {
namespace {

// RFC 7622 §3.2, §3.3, §3.4: every part is at most 1023 octets after preparation.
constexpr std::size_t kMaxPartOctets = 1023;
// RFC 1034 §3.1: a label is at most 63 octets and a name (without its root dot) at most 253,
// measured on the ASCII (A-label) form; RFC 7622 §3.2 keeps these limits.
constexpr std::size_t kMaxLabelOctets = 63;
constexpr std::size_t kMaxDnsNameOctets = 253;

struct IdnFree {
  void operator()(char* p) const { idn2_free(p); }
};
using IdnString = std::unique_ptr<char, IdnFree>;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void ascii_lower_in_place(std::string& s) {
  for (char& c : s) {
    c = ascii_lower(c);
  }
}

bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Checks a lower-case ASCII domain name label by label: each is an NR-LDH label or an A-label
// (RFC 5890 §2.3.1, which RFC 7622 §3.2.1 requires): non-empty, at most 63 octets, letters,
// digits and hyphens only, no leading or trailing hyphen, and hyphens in both the third and
// fourth positions only for the "xn--" prefix. `allow_a_labels` is false for names that have
// not been through IDNA validation.
bool valid_ascii_domain(std::string_view name, bool allow_a_labels) {
  if (name.empty() || name.size() > kMaxDnsNameOctets) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabelOctets || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_ldh(c)) {
        return false;
      }
    }
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-' &&
        !(allow_a_labels && label.starts_with("xn--"))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

// RFC 7622 §3.2: IP literals (IPv4 dotted quad or a bracketed IPv6 address) are domainparts as
// they are. IPv6 hex digits are lower-cased so equal addresses compare equal more often.
std::optional<std::string> ip_literal(std::string_view s) {
  std::array<unsigned char, 16> addr{};
  const bool bracketed = s.size() > 2 && s.front() == '[' && s.back() == ']';
  if (!bracketed &&
      !std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    // inet_pton(AF_INET) accepts digits and dots only (a dotted quad): skip the copy and the
    // call for ordinary domain names, which are never IPv4 literals.
    return std::nullopt;
  }
  if (bracketed) {
    const std::string inner(s.substr(1, s.size() - 2));
    if (inet_pton(AF_INET6, inner.c_str(), addr.data()) != 1) {
      return std::nullopt;
    }
    std::string out(s);
    ascii_lower_in_place(out);
    return out;
  }
  const std::string str(s);
  if (inet_pton(AF_INET, str.c_str(), addr.data()) == 1) {
    return str;
  }
  return std::nullopt;
}

// IDNA2008 ToASCII of a domain name (UTF-8), lower-cased; nullopt when libidn2 rejects it.
std::optional<std::string> to_a_labels(std::string_view name) {
  const std::string input(name);
  char* raw = nullptr;
  if (idn2_to_ascii_8z(input.c_str(), &raw, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
    idn2_free(raw);
    return std::nullopt;
  }
  const IdnString ascii(raw);
  std::string out(ascii.get());
  ascii_lower_in_place(out);
  return out;
}

bool is_excluded_from_localpart(char c) {
  switch (c) {
    case '"':
    case '&':
    case '\'':
    case '/':
    case ':':
    case '<':
    case '>':
    case '@':
      return true;
    default:
      return false;
  }
}

bool is_plain_ascii_name(std::string_view s) {
  for (char c : s) {
    if (!is_ldh(ascii_lower(c)) && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> prep_localpart(std::string_view s) {
  // RFC 7622 §3.3: UsernameCaseMapped (RFC 8265 §3.3), at most 1023 octets.
  auto out = precis::enforce(s, precis::Profile::kUsernameCaseMapped, kMaxPartOctets);
  if (!out) {
    return std::nullopt;
  }
  // RFC 7622 §3.3.1: further excluded characters (all ASCII, so a byte never matches inside a
  // multi-byte UTF-8 sequence). One pass, not find_first_of's search of the set per byte.
  if (std::any_of(out->begin(), out->end(), is_excluded_from_localpart)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> prep_resourcepart(std::string_view s) {
  // RFC 7622 §3.4: OpaqueString (RFC 8265 §4.2), at most 1023 octets.
  auto out = precis::enforce(s, precis::Profile::kOpaqueString, kMaxPartOctets);
  if (!out) {
    return std::nullopt;
  }
  // RFC 7622 §3.5 example 18 lists "juliet@example.com/ foo" ("Leading space in
  // resourcepart") among the strings that are not JIDs, so a resourcepart may not begin with
  // SPACE (also after non-ASCII spaces have been mapped to it).
  if (out->front() == ' ') {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> prep_nickname(std::string_view s) {
  auto out = precis::enforce(s, precis::Profile::kNickname, kMaxPartOctets);
  if (!out) {
    return std::nullopt;
  }
  return prep_resourcepart(*out);  // room/nick must be a JID (RFC 7622 §3.4)
}

std::optional<std::string> nickname_key(std::string_view s) {
  return precis::enforce(s, precis::Profile::kNicknameCaseMapped, kMaxPartOctets);
}

std::optional<std::string> prep_password(std::string_view s) {
  // RFC 8265 §4.2: OpaqueString; no length limit of its own (precis bounds the input size).
  return precis::enforce(s, precis::Profile::kOpaqueString, std::string::npos);
}

std::optional<std::string> prep_domainpart(std::string_view s) {
  // RFC 7622 §3.2: one trailing label separator is stripped before anything else.
  if (!s.empty() && s.back() == '.') {
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 4 * kMaxPartOctets || s.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  if (auto ip = ip_literal(s)) {
    return ip;
  }
  if (is_plain_ascii_name(s)) {
    // Letters, digits, hyphens and dots only: IDNA2008 would lower-case it and change nothing
    // else, unless a label is an A-label, which needs decoding.
    std::string out(s);
    ascii_lower_in_place(out);
    if (out.find("xn--") == std::string::npos) {
      if (!valid_ascii_domain(out, false)) {
        return std::nullopt;
      }
      return out;
    }
  }
  // RFC 7622 §3.2.1/§3.2.2: IDNA2008 (RFC 5891/5892) with the mappings of RFC 5895, via
  // libidn2's UTS #46 non-transitional processing; A-labels become U-labels.
  std::optional<std::string> a_form = to_a_labels(s);
  if (a_form && !a_form->empty() && a_form->back() == '.') {
    // A trailing ideographic or fullwidth full stop, which UTS #46 maps to '.', is a final
    // label separator too (RFC 7622 §3.2, and §4's advice to map rather than reject).
    a_form->pop_back();
  }
  if (!a_form || !valid_ascii_domain(*a_form, true)) {
    return std::nullopt;
  }
  char* raw = nullptr;
  if (idn2_to_unicode_8z8z(a_form->c_str(), &raw, 0) != IDN2_OK) {
    idn2_free(raw);
    return std::nullopt;
  }
  const IdnString unicode(raw);
  std::string out(unicode.get());
  if (out.empty() || out.size() > kMaxPartOctets) {
    return std::nullopt;
  }
  // libidn2 passes "xn--" labels through without checking what they decode to (e.g. "xn--40i"
  // is U+2A74, a symbol IDNA2008 disallows). RFC 5891 §5.4: the decoded U-label must itself be
  // valid and encode back to the same A-label.
  if (to_a_labels(out) != a_form) {
    return std::nullopt;
  }
  return out;
}

std::optional<Jid> Jid::parse(std::string_view s) {
  // RFC 7622 §3.2: the resourcepart is everything after the first '/'; the localpart is
  // everything before the first '@' that precedes it.
  std::string_view rest = s;
  std::string_view resource;
  bool has_resource = false;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    has_resource = true;
  }
  std::string_view local;
  bool has_local = false;
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    local = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_local = true;
  }
  // A separator with nothing on its side is invalid (RFC 7622 §3.5 examples 19, 22, 23).
  if ((has_local && local.empty()) || (has_resource && resource.empty()) || rest.empty()) {
    return std::nullopt;
  }
  return make(local, rest, resource);
}

std::optional<Jid> Jid::make(std::string_view local, std::string_view domain,
                             std::string_view resource) {
  Jid j;
  auto d = prep_domainpart(domain);
  if (!d) {
    return std::nullopt;
  }
  j.domain_ = std::move(*d);
  if (!local.empty()) {
    auto l = prep_localpart(local);
    if (!l) {
      return std::nullopt;
    }
    j.local_ = std::move(*l);
  }
  if (!resource.empty()) {
    auto r = prep_resourcepart(resource);
    if (!r) {
      return std::nullopt;
    }
    j.resource_ = std::move(*r);
  }
  return j;
}

Jid Jid::bare() const {
  Jid j = *this;
  j.resource_.clear();
  return j;
}

std::optional<Jid> Jid::with_resource(std::string_view resource) const {
  if (empty()) {
    return std::nullopt;
  }
  auto r = prep_resourcepart(resource);
  if (!r) {
    return std::nullopt;
  }
  Jid j = *this;
  j.resource_ = std::move(*r);
  return j;
}

std::string Jid::bare_str() const {
  if (local_.empty()) {
    return domain_;
  }
  std::string out;
  out.reserve(local_.size() + 1 + domain_.size());
  out.append(local_).append(1, '@').append(domain_);
  return out;
}

std::string Jid::str() const {
  std::string out = bare_str();
  if (!resource_.empty()) {
    out.append(1, '/').append(resource_);
  }
  return out;
}

namespace {

// XEP-0106 §3: the characters that are escaped and the two hex digits of each escape.
struct Escape {
  char plain;
  std::string_view hex;
};
constexpr std::array<Escape, 10> kEscapes{{
    {' ', "20"},
    {'"', "22"},
    {'&', "26"},
    {'\'', "27"},
    {'/', "2f"},
    {':', "3a"},
    {'<', "3c"},
    {'>', "3e"},
    {'@', "40"},
    {'\\', "5c"},
}};

// The character that the escape sequence at s[i] ('\' plus two lower-case hex digits; "CASE IS
// SIGNIFICANT", XEP-0106 §3.1) stands for, if s[i] begins one.
std::optional<char> escape_at(std::string_view s, std::size_t i) {
  if (s[i] != '\\' || i + 3 > s.size()) {
    return std::nullopt;
  }
  const std::string_view hex = s.substr(i + 1, 2);
  for (const Escape& e : kEscapes) {
    if (e.hex == hex) {
      return e.plain;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string escape_localpart(std::string_view s) {
  // XEP-0106 §4.1 rule 6: "\20" is never the first or last character of an escaped localpart,
  // so leading and trailing spaces are dropped.
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      // XEP-0106 §4.1 rule 7 and §4.3: a backslash is escaped only when it begins a sequence
      // that would otherwise unescape; any other backslash is left alone.
      out.append(escape_at(s, i) ? "\\5c" : "\\");
      continue;
    }
    bool escaped = false;
    for (const Escape& e : kEscapes) {
      if (e.plain == c) {
        out.append(1, '\\').append(e.hex);
        escaped = true;
        break;
      }
    }
    if (!escaped) {
      out.push_back(c);
    }
  }
  return out;
}

std::string unescape_localpart(std::string_view s) {
  // XEP-0106 §4.1 rule 3 and §4.3: only the listed sequences are unescaped, left to right.
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (auto c = escape_at(s, i)) {
      out.push_back(*c);
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace starling::xmpp
