// PRECIS (RFC 8264) string classes and the UsernameCaseMapped / OpaqueString profiles
// (RFC 8265), computed from the Unicode character database shipped with ICU.
#include "xmpp/precis.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <array>
#include <cstdint>
#include <string>

namespace starling::xmpp::precis {
namespace {

using CodePoints = std::u32string;

// Input longer than this cannot shrink to `max_octets` (a composed or width-mapped code point
// replaces at most 4 input code points of at most 4 octets each), so it is rejected up front.
constexpr std::size_t kShrinkBound = 16;
// Upper bound on any input, whatever the profile (keeps ICU's int32_t lengths safe).
constexpr std::size_t kMaxInputOctets = std::size_t{1} << 20;

// RFC 8264 §8: the derived property value of a code point.
enum class Derived {
  kPvalid,
  kFreePval,  // "ID_DIS or FREE_PVAL"
  kContextJ,
  kContextO,
  kDisallowed,
  kUnassigned,
};

// RFC 5892 §2.6 Exceptions (F), included by RFC 8264 §9.6.
std::optional<Derived> exception_value(char32_t cp) {
  switch (cp) {
    case 0x00DF:  // LATIN SMALL LETTER SHARP S
    case 0x03C2:  // GREEK SMALL LETTER FINAL SIGMA
    case 0x06FD:  // ARABIC SIGN SINDHI AMPERSAND
    case 0x06FE:  // ARABIC SIGN SINDHI POSTPOSITION MEN
    case 0x0F0B:  // TIBETAN MARK INTERSYLLABIC TSHEG
    case 0x3007:  // IDEOGRAPHIC NUMBER ZERO
      return Derived::kPvalid;
    case 0x00B7:  // MIDDLE DOT
    case 0x0375:  // GREEK LOWER NUMERAL SIGN (KERAIA)
    case 0x05F3:  // HEBREW PUNCTUATION GERESH
    case 0x05F4:  // HEBREW PUNCTUATION GERSHAYIM
    case 0x30FB:  // KATAKANA MIDDLE DOT
      return Derived::kContextO;
    case 0x0640:  // ARABIC TATWEEL
    case 0x07FA:  // NKO LAJANYALAN
    case 0x302E:  // HANGUL SINGLE DOT TONE MARK
    case 0x302F:  // HANGUL DOUBLE DOT TONE MARK
    case 0x303B:  // VERTICAL IDEOGRAPHIC ITERATION MARK
      return Derived::kDisallowed;
    default:
      break;
  }
  if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9)) {
    return Derived::kContextO;  // (EXTENDED) ARABIC-INDIC DIGITS
  }
  if (cp >= 0x3031 && cp <= 0x3035) {
    return Derived::kDisallowed;  // VERTICAL KANA REPEAT MARKs
  }
  return std::nullopt;
}

const UNormalizer2* nfc() {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFCInstance(&err);
  return U_SUCCESS(err) ? n : nullptr;
}

const UNormalizer2* nfkc() {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFKCInstance(&err);
  return U_SUCCESS(err) ? n : nullptr;
}

}  // namespace

// RFC 8264 §9.17 HasCompat (Q): toNFKC(cp) != cp. For a string of one code point that is the
// NFKC quick check answering No: "No" means the code point cannot occur in NFKC text at all, so
// normalization changes it; "Maybe" code points only combine with a preceding character, and
// alone they stay as they are. One property lookup instead of a normalizer run per code point
// (precis_test checks this against toNFKC for every code point).
bool has_compat(char32_t cp) {
  return u_getIntPropertyValue(static_cast<UChar32>(cp), UCHAR_NFKC_QUICK_CHECK) == UNORM_NO;
}

namespace {

// RFC 8264 §8, in exactly the order given there.
Derived derived_property(char32_t cp) {
  if (auto e = exception_value(cp)) {
    return *e;
  }
  // BackwardCompatible (G) is the empty set (RFC 8264 §9.7).
  const auto c = static_cast<UChar32>(cp);
  const int8_t gc = u_charType(c);
  const bool noncharacter = u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT);
  if (gc == U_UNASSIGNED && !noncharacter) {
    return Derived::kUnassigned;  // Unassigned (J), RFC 5892 §2.10
  }
  if (cp >= 0x21 && cp <= 0x7E) {
    return Derived::kPvalid;  // ASCII7 (K)
  }
  if (u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) {
    return Derived::kContextJ;  // JoinControl (H)
  }
  const int32_t hst = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
  if (hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO || hst == U_HST_TRAILING_JAMO) {
    return Derived::kDisallowed;  // OldHangulJamo (I), RFC 5892 §2.9
  }
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) || noncharacter) {
    return Derived::kDisallowed;  // PrecisIgnorableProperties (M)
  }
  if (gc == U_CONTROL_CHAR) {
    return Derived::kDisallowed;  // Controls (L)
  }
  if (has_compat(cp)) {
    return Derived::kFreePval;  // HasCompat (Q)
  }
  switch (gc) {
    // LetterDigits (A), RFC 5892 §2.1.
    case U_LOWERCASE_LETTER:
    case U_UPPERCASE_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_MODIFIER_LETTER:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
      return Derived::kPvalid;
    // OtherLetterDigits (R).
    case U_TITLECASE_LETTER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
    case U_ENCLOSING_MARK:
    // Spaces (N).
    case U_SPACE_SEPARATOR:
    // Symbols (O).
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
    // Punctuation (P).
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
      return Derived::kFreePval;
    default:
      return Derived::kDisallowed;
  }
}

int32_t joining_type(char32_t cp) {
  return u_getIntPropertyValue(static_cast<UChar32>(cp), UCHAR_JOINING_TYPE);
}

UScriptCode script_of(char32_t cp) {
  UErrorCode err = U_ZERO_ERROR;
  const UScriptCode s = uscript_getScript(static_cast<UChar32>(cp), &err);
  return U_SUCCESS(err) ? s : USCRIPT_INVALID_CODE;
}

constexpr uint8_t kViramaCombiningClass = 9;

bool preceded_by_virama(const CodePoints& s, std::size_t i) {
  return i > 0 && u_getCombiningClass(static_cast<UChar32>(s[i - 1])) == kViramaCombiningClass;
}

// RFC 5892 Appendix A: the contextual rules for CONTEXTJ and CONTEXTO code points.
bool contextual_rule_holds(const CodePoints& s, std::size_t i) {
  const char32_t cp = s[i];
  switch (cp) {
    case 0x200C: {  // A.1 ZERO WIDTH NON-JOINER
      if (preceded_by_virama(s, i)) {
        return true;
      }
      // (Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D})
      std::size_t j = i;
      while (j > 0 && joining_type(s[j - 1]) == U_JT_TRANSPARENT) {
        --j;
      }
      if (j == 0) {
        return false;
      }
      const int32_t before = joining_type(s[j - 1]);
      if (before != U_JT_LEFT_JOINING && before != U_JT_DUAL_JOINING) {
        return false;
      }
      std::size_t k = i + 1;
      while (k < s.size() && joining_type(s[k]) == U_JT_TRANSPARENT) {
        ++k;
      }
      if (k == s.size()) {
        return false;
      }
      const int32_t after = joining_type(s[k]);
      return after == U_JT_RIGHT_JOINING || after == U_JT_DUAL_JOINING;
    }
    case 0x200D:  // A.2 ZERO WIDTH JOINER
      return preceded_by_virama(s, i);
    case 0x00B7:  // A.3 MIDDLE DOT: only between two 'l' (Catalan).
      return i > 0 && i + 1 < s.size() && s[i - 1] == U'l' && s[i + 1] == U'l';
    case 0x0375:  // A.4 GREEK LOWER NUMERAL SIGN (KERAIA)
      return i + 1 < s.size() && script_of(s[i + 1]) == USCRIPT_GREEK;
    case 0x05F3:  // A.5 HEBREW PUNCTUATION GERESH
    case 0x05F4:  // A.6 HEBREW PUNCTUATION GERSHAYIM
      return i > 0 && script_of(s[i - 1]) == USCRIPT_HEBREW;
    case 0x30FB:  // A.7 KATAKANA MIDDLE DOT
      for (char32_t c : s) {
        const UScriptCode sc = script_of(c);
        if (sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA || sc == USCRIPT_HAN) {
          return true;
        }
      }
      return false;
    default:
      break;
  }
  if (cp >= 0x0660 && cp <= 0x0669) {  // A.8 ARABIC-INDIC DIGITS
    for (char32_t c : s) {
      if (c >= 0x06F0 && c <= 0x06F9) {
        return false;
      }
    }
    return true;
  }
  if (cp >= 0x06F0 && cp <= 0x06F9) {  // A.9 EXTENDED ARABIC-INDIC DIGITS
    for (char32_t c : s) {
      if (c >= 0x0660 && c <= 0x0669) {
        return false;
      }
    }
    return true;
  }
  return false;  // A CONTEXTJ/CONTEXTO code point without a rule is invalid (RFC 8264 §8).
}

// True when every code point of `s` is allowed by the profile's string class
// (IdentifierClass, RFC 8264 §4.2, or FreeformClass, §4.3).
bool allowed_by_class(const CodePoints& s, Profile profile) {
  const bool freeform = profile != Profile::kUsernameCaseMapped;
  for (std::size_t i = 0; i < s.size(); ++i) {
    switch (derived_property(s[i])) {
      case Derived::kPvalid:
        break;
      case Derived::kFreePval:
        if (!freeform) {
          return false;
        }
        break;
      case Derived::kContextJ:
      case Derived::kContextO:
        if (!contextual_rule_holds(s, i)) {
          return false;
        }
        break;
      case Derived::kDisallowed:
      case Derived::kUnassigned:
        return false;
    }
  }
  return true;
}

std::optional<CodePoints> decode_utf8(std::string_view in) {
  CodePoints out;
  out.reserve(in.size());
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const auto n = static_cast<int32_t>(in.size());
  int32_t i = 0;
  while (i < n) {
    UChar32 c = 0;
    U8_NEXT(p, i, n, c);
    if (c < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char32_t>(c));
  }
  return out;
}

std::string encode_utf8(const CodePoints& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    std::array<uint8_t, 4> buf{};
    int32_t len = 0;
    U8_APPEND_UNSAFE(buf.data(), len, static_cast<UChar32>(cp));
    out.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(len));
  }
  return out;
}

std::u16string to_utf16(const CodePoints& s) {
  std::u16string out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    if (cp <= 0xFFFF) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
    }
  }
  return out;
}

void append_utf16(const UChar* p, int32_t n, CodePoints& out) {
  int32_t i = 0;
  while (i < n) {
    UChar32 c = 0;
    U16_NEXT(p, i, n, c);
    out.push_back(static_cast<char32_t>(c));
  }
}

// RFC 8265 §3.3.1 rule 1: fullwidth and halfwidth code points (decomposition type Wide or
// Narrow) map to their decomposition mappings.
CodePoints width_map(const CodePoints& s) {
  const UNormalizer2* n = nfkc();
  CodePoints out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    const auto c = static_cast<UChar32>(cp);
    const int32_t dt = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
    if (n != nullptr && (dt == U_DT_WIDE || dt == U_DT_NARROW)) {
      std::array<UChar, 8> buf{};
      UErrorCode err = U_ZERO_ERROR;
      const int32_t len =
          unorm2_getRawDecomposition(n, c, buf.data(), static_cast<int32_t>(buf.size()), &err);
      if (U_SUCCESS(err) && len > 0) {
        append_utf16(buf.data(), len, out);
        continue;
      }
    }
    out.push_back(cp);
  }
  return out;
}

// RFC 8265 §3.3.1 rule 3 (RFC 8264 §5.2.3): toLowerCase() applied code point by code point
// with the root locale's full mappings. Each code point is lowercased on its own, so the
// context-sensitive Final_Sigma mapping never fires: "PRECIS mapping rules do not account for
// the special status of GREEK SMALL LETTER FINAL SIGMA" (RFC 7622 §3.5) — capital sigma maps to
// U+03C3 wherever it occurs, the same as it does when the string is typed in lower case.
std::optional<CodePoints> lower_case(const CodePoints& s) {
  CodePoints out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    const auto c = static_cast<UChar32>(cp);
    if (!u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_LOWERCASED)) {
      out.push_back(cp);
      continue;
    }
    std::array<UChar, 2> src{};
    int32_t src_len = 0;
    U16_APPEND_UNSAFE(src.data(), src_len, c);
    std::array<UChar, 16> dst{};
    UErrorCode err = U_ZERO_ERROR;
    const int32_t len =
        u_strToLower(dst.data(), static_cast<int32_t>(dst.size()), src.data(), src_len, "", &err);
    if (U_FAILURE(err) || len > static_cast<int32_t>(dst.size())) {
      return std::nullopt;
    }
    append_utf16(dst.data(), len, out);
  }
  return out;
}

// RFC 8265 §4.2.2 rule 2: non-ASCII spaces (general category Zs) map to U+0020.
CodePoints map_spaces(CodePoints s) {
  for (char32_t& cp : s) {
    if (cp != 0x20 && u_charType(static_cast<UChar32>(cp)) == U_SPACE_SEPARATOR) {
      cp = 0x20;
    }
  }
  return s;
}

// RFC 8266 §2.1 additional mapping rule, after non-ASCII spaces became U+0020: leading and
// trailing spaces removed, interior runs of spaces reduced to one.
CodePoints collapse_spaces(const CodePoints& s) {
  CodePoints out;
  out.reserve(s.size());
  bool pending = false;
  for (char32_t cp : s) {
    if (cp == 0x20) {
      pending = !out.empty();
      continue;
    }
    if (pending) {
      out.push_back(0x20);
      pending = false;
    }
    out.push_back(cp);
  }
  return out;
}

std::optional<CodePoints> normalize(const CodePoints& s, const UNormalizer2* n);

// Normalization Form C (RFC 8265 §3.3.1 rule 4, §4.2.2 rule 4).
std::optional<CodePoints> to_nfc(const CodePoints& s) { return normalize(s, nfc()); }

// Normalization Form KC (RFC 8266 §2.1 normalization rule).
std::optional<CodePoints> to_nfkc(const CodePoints& s) { return normalize(s, nfkc()); }

std::optional<CodePoints> normalize(const CodePoints& s, const UNormalizer2* n) {
  if (n == nullptr) {
    return std::nullopt;
  }
  const std::u16string u = to_utf16(s);
  const auto len = static_cast<int32_t>(u.size());
  UErrorCode err = U_ZERO_ERROR;
  if (unorm2_isNormalized(n, u.data(), len, &err) && U_SUCCESS(err)) {
    return s;
  }
  err = U_ZERO_ERROR;
  const int32_t need = unorm2_normalize(n, u.data(), len, nullptr, 0, &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) {
    return std::nullopt;
  }
  std::u16string out(static_cast<std::size_t>(need), u'\0');
  err = U_ZERO_ERROR;
  unorm2_normalize(n, u.data(), len, out.data(), need, &err);
  if (U_FAILURE(err)) {
    return std::nullopt;
  }
  CodePoints result;
  result.reserve(out.size());
  append_utf16(out.data(), need, result);
  return result;
}

// The "Bidi Rule" of RFC 5893 §2, applied (RFC 8265 §3.3.1 rule 5) only to strings that contain
// right-to-left code points, i.e. an "RTL label" in RFC 5893 terms: one holding R, AL or AN.
bool bidi_rule_holds(const CodePoints& s) {
  bool rtl = false;
  for (char32_t cp : s) {
    const UCharDirection d = u_charDirection(static_cast<UChar32>(cp));
    if (d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC || d == U_ARABIC_NUMBER) {
      rtl = true;
      break;
    }
  }
  if (!rtl || s.empty()) {
    return true;
  }
  // Rule 1: the first character is L, R or AL; it sets the label's direction.
  const UCharDirection first = u_charDirection(static_cast<UChar32>(s.front()));
  if (first != U_RIGHT_TO_LEFT && first != U_RIGHT_TO_LEFT_ARABIC) {
    // An L-first string is an LTR label; rule 5 forbids the R/AL/AN it holds.
    return false;
  }
  bool has_en = false;
  bool has_an = false;
  for (char32_t cp : s) {
    switch (u_charDirection(static_cast<UChar32>(cp))) {
      // Rule 2: only R, AL, AN, EN, ES, CS, ET, ON, BN and NSM.
      case U_RIGHT_TO_LEFT:
      case U_RIGHT_TO_LEFT_ARABIC:
      case U_EUROPEAN_NUMBER_SEPARATOR:
      case U_COMMON_NUMBER_SEPARATOR:
      case U_EUROPEAN_NUMBER_TERMINATOR:
      case U_OTHER_NEUTRAL:
      case U_BOUNDARY_NEUTRAL:
      case U_DIR_NON_SPACING_MARK:
        break;
      case U_EUROPEAN_NUMBER:
        has_en = true;
        break;
      case U_ARABIC_NUMBER:
        has_an = true;
        break;
      default:
        return false;
    }
  }
  // Rule 4: EN and AN do not both occur.
  if (has_en && has_an) {
    return false;
  }
  // Rule 3: the end is R, AL, EN or AN, followed by zero or more NSM.
  std::size_t end = s.size();
  while (end > 0 && u_charDirection(static_cast<UChar32>(s[end - 1])) == U_DIR_NON_SPACING_MARK) {
    --end;
  }
  if (end == 0) {
    return false;
  }
  const UCharDirection last = u_charDirection(static_cast<UChar32>(s[end - 1]));
  return last == U_RIGHT_TO_LEFT || last == U_RIGHT_TO_LEFT_ARABIC || last == U_EUROPEAN_NUMBER ||
         last == U_ARABIC_NUMBER;
}

// One application of the profile's preparation and enforcement rules, in the order of
// RFC 8264 §7 and RFC 8265 §3.3.2/§3.3.3 (§4.2.1/§4.2.2 for OpaqueString). `in_allowed`: `in`
// is the result of an earlier application, so it is already known to pass allowed_by_class.
// allowed_by_class is a pure function of the string, so a string that has been checked is not
// checked again: the answer would be the same (it is the costly part: several ICU property
// lookups per code point).
std::optional<CodePoints> apply_once(const CodePoints& in, Profile profile, bool in_allowed) {
  CodePoints s;
  if (profile == Profile::kUsernameCaseMapped) {
    // Preparation (RFC 8265 §3.3.2): width mapping, then only IdentifierClass code points.
    const CodePoints mapped = width_map(in);
    if (!(in_allowed && mapped == in) && !allowed_by_class(mapped, profile)) {
      return std::nullopt;
    }
    auto lowered = lower_case(mapped);
    if (!lowered) {
      return std::nullopt;
    }
    auto normalized = to_nfc(*lowered);
    if (!normalized || !bidi_rule_holds(*normalized)) {
      return std::nullopt;
    }
    s = std::move(*normalized);
    if (s == mapped) {
      return s;  // step 6 below would check `mapped` again
    }
  } else if (profile == Profile::kNickname || profile == Profile::kNicknameCaseMapped) {
    // RFC 8266 §2.2: FreeformClass; no width mapping (NFKC covers it); spaces mapped, trimmed
    // and collapsed; toLowerCase only for comparison (§2.3); NFKC; no directionality rule.
    if (!in_allowed && !allowed_by_class(in, profile)) {
      return std::nullopt;
    }
    CodePoints mapped = collapse_spaces(map_spaces(in));
    if (profile == Profile::kNicknameCaseMapped) {
      auto lowered = lower_case(mapped);
      if (!lowered) {
        return std::nullopt;
      }
      mapped = std::move(*lowered);
    }
    auto normalized = to_nfkc(mapped);
    if (!normalized) {
      return std::nullopt;
    }
    s = std::move(*normalized);
    if (s == in) {
      return s;
    }
  } else {
    // Preparation (RFC 8265 §4.2.1): only FreeformClass code points; fullwidth and halfwidth
    // code points are not mapped (§4.2.2 rule 1); no case mapping, no directionality rule.
    if (!in_allowed && !allowed_by_class(in, profile)) {
      return std::nullopt;
    }
    auto normalized = to_nfc(map_spaces(in));
    if (!normalized) {
      return std::nullopt;
    }
    s = std::move(*normalized);
    if (s == in) {
      return s;  // step 6 below would check `in` again
    }
  }
  // RFC 8264 §7 step 6: the behavioral rules decide on the mapped and normalized output too.
  if (!allowed_by_class(s, profile)) {
    return std::nullopt;
  }
  return s;
}

// Printable ASCII needs neither width mapping, normalization nor the Bidi Rule; the ASCII7
// category (RFC 8264 §9.11) makes it valid, and SPACE is valid in the FreeformClass (§9.14).
bool is_simple_ascii(std::string_view in, Profile profile) {
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 0x21 && c <= 0x7E) || (c == 0x20 && profile != Profile::kUsernameCaseMapped);
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> enforce(std::string_view in, Profile profile, std::size_t max_octets) {
  if (in.empty() || in.size() > kMaxInputOctets ||
      (max_octets < kMaxInputOctets / kShrinkBound && in.size() > max_octets * kShrinkBound)) {
    return std::nullopt;
  }
  if (is_simple_ascii(in, profile)) {
    if (in.size() > max_octets) {
      return std::nullopt;
    }
    std::string out(in);
    if (profile == Profile::kNickname || profile == Profile::kNicknameCaseMapped) {
      // RFC 8266 §2.1: trim and collapse spaces (ASCII needs nothing else but the case).
      std::string collapsed;
      bool pending = false;
      for (char ch : out) {
        if (ch == ' ') {
          pending = !collapsed.empty();
          continue;
        }
        if (pending) {
          collapsed.push_back(' ');
          pending = false;
        }
        collapsed.push_back(ch);
      }
      if (collapsed.empty()) {
        return std::nullopt;
      }
      out = std::move(collapsed);
    }
    if (profile == Profile::kUsernameCaseMapped || profile == Profile::kNicknameCaseMapped) {
      for (char& ch : out) {
        if (ch >= 'A' && ch <= 'Z') {
          ch = static_cast<char>(ch - 'A' + 'a');
        }
      }
    }
    return out;
  }
  auto decoded = decode_utf8(in);
  if (!decoded) {
    return std::nullopt;
  }
  // RFC 8264 §7: reapply until stable; reject when three further applications do not settle.
  auto out = apply_once(*decoded, profile, /*in_allowed=*/false);
  for (int extra = 0; extra < 3 && out; ++extra) {
    auto again = apply_once(*out, profile, /*in_allowed=*/true);
    if (again && *again == *out) {
      std::string utf8 = encode_utf8(*out);
      // RFC 8265 §3.1/§4.1: not zero octets after enforcement.
      if (utf8.empty() || utf8.size() > max_octets) {
        return std::nullopt;
      }
      return utf8;
    }
    out = std::move(again);
  }
  return std::nullopt;
}

}  // namespace starling::xmpp::precis
