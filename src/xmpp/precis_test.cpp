#include "xmpp/precis.hpp"

#include <gtest/gtest.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace starling::xmpp::precis {
namespace {

// RFC 8264 §9.17 by its definition, toNFKC(cp) != cp, with the normalizer itself.
bool changes_under_nfkc(char32_t cp) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfkc = unorm2_getNFKCInstance(&err);
  std::array<UChar, 2> in{};
  int32_t in_len = 0;
  U16_APPEND_UNSAFE(in.data(), in_len, static_cast<UChar32>(cp));
  std::array<UChar, 64> out{};
  const int32_t out_len =
      unorm2_normalize(nfkc, in.data(), in_len, out.data(), static_cast<int32_t>(out.size()), &err);
  EXPECT_TRUE(U_SUCCESS(err)) << std::hex << static_cast<std::uint32_t>(cp);
  return out_len != in_len || !std::equal(in.begin(), in.begin() + in_len, out.begin());
}

// has_compat answers from the NFKC quick-check property; it must agree with the definition on
// every code point (surrogates are not characters and never reach it).
TEST(Precis, HasCompatMatchesToNfkcForEveryCodePoint) {
  std::size_t compat = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      continue;
    }
    const bool expected = changes_under_nfkc(cp);
    ASSERT_EQ(has_compat(cp), expected) << "U+" << std::hex << static_cast<std::uint32_t>(cp);
    compat += expected ? 1 : 0;
  }
  EXPECT_GT(compat, 1000u);  // e.g. the fullwidth forms, ligatures, CJK compatibility ideographs
}

TEST(Precis, HasCompatExamples) {
  EXPECT_FALSE(has_compat(U'a'));
  EXPECT_FALSE(has_compat(0x00E9));  // é is its own NFKC form
  EXPECT_FALSE(has_compat(0x0301));  // a lone combining acute stays as it is
  EXPECT_TRUE(has_compat(0xFF21));   // FULLWIDTH LATIN CAPITAL LETTER A -> A
  EXPECT_TRUE(has_compat(0x212B));   // ANGSTROM SIGN -> U+00C5 (canonical singleton)
  EXPECT_TRUE(has_compat(0xFB01));   // LATIN SMALL LIGATURE FI -> "fi"
  EXPECT_TRUE(has_compat(0x0958));   // DEVANAGARI LETTER QA: a composition exclusion
}

}  // namespace
}  // namespace starling::xmpp::precis
