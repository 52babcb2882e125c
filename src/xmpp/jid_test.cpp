#include "xmpp/jid.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace starling::xmpp {
namespace {

struct Parts {
  const char* input;
  const char* local;
  const char* domain;
  const char* resource;
};

void expect_parts(const Parts& p) {
  SCOPED_TRACE(p.input);
  auto j = Jid::parse(p.input);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->local(), p.local);
  EXPECT_EQ(j->domain(), p.domain);
  EXPECT_EQ(j->resource(), p.resource);
  // Preparation is idempotent: the canonical string parses to the same JID.
  auto again = Jid::parse(j->str());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *j);
}

// RFC 7622 §3.5, Table 1: a sample of legal JIDs.
TEST(JidRfc7622, LegalExamples) {
  const Parts examples[] = {
      {"juliet@example.com", "juliet", "example.com", ""},                    // 1
      {"juliet@example.com/foo", "juliet", "example.com", "foo"},             // 2
      {"juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},     // 3
      {"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},     // 4
      {"foo\\20bar@example.com", "foo\\20bar", "example.com", ""},            // 5
      {"fussball@example.com", "fussball", "example.com", ""},                // 6
      {"fu\u00DFball@example.com", "fu\u00DFball", "example.com", ""},        // 7
      {"\u03C0@example.com", "\u03C0", "example.com", ""},                    // 8
      {"\u03A3@example.com/foo", "\u03C3", "example.com", "foo"},             // 9: lower-cased
      {"\u03C3@example.com/foo", "\u03C3", "example.com", "foo"},             // 10
      {"\u03C2@example.com/foo", "\u03C2", "example.com", "foo"},             // 11
      {"king@example.com/\u265A", "king", "example.com", "\u265A"},           // 12
      {"example.com", "", "example.com", ""},                                 // 13
      {"example.com/foobar", "", "example.com", "foobar"},                    // 14
      {"a.example.com/b@example.net", "", "a.example.com", "b@example.net"},  // 15
  };
  for (const Parts& p : examples) {
    expect_parts(p);
  }
}

// RFC 7622 §3.5, Table 2: strings that violate the JID rules.
TEST(JidRfc7622, IllegalExamples) {
  const char* examples[] = {
      "\"juliet\"@example.com",       // 16: quotation marks in the localpart
      "foo bar@example.com",          // 17: space in the localpart
      "juliet@example.com/ foo",      // 18: leading space in the resourcepart
      "@example.com/",                // 19: empty localpart and resourcepart
      "henry\u2163@example.com",      // 20: ROMAN NUMERAL FOUR
      "henry\u2163@example.com/foo",  // 20 with a resource, as in the brief
      "\u265A@example.com",           // 21: BLACK CHESS KING in the localpart
      "juliet@",                      // 22: no domainpart
      "/foobar",                      // 23: no domainpart
  };
  for (const char* s : examples) {
    EXPECT_FALSE(Jid::parse(s).has_value()) << s;
  }
}

TEST(JidRfc7622, SigmaAndSharpS) {
  // Examples 9 and 10 match; 11 matches neither (RFC 7622 §3.5).
  EXPECT_EQ(Jid::parse("\u03A3@example.com"), Jid::parse("\u03C3@example.com"));
  EXPECT_NE(Jid::parse("\u03C2@example.com"), Jid::parse("\u03C3@example.com"));
  EXPECT_NE(Jid::parse("\u03C2@example.com"), Jid::parse("\u03A3@example.com"));
  // Capital sigma maps to U+03C3 in every position (no Final_Sigma context).
  EXPECT_EQ(prep_localpart("\u039F\u03A3"), "\u03BF\u03C3");
  // Examples 6 and 7 are different localparts.
  EXPECT_NE(Jid::parse("fussball@example.com"), Jid::parse("fu\u00DFball@example.com"));
}

TEST(JidSplit, Separators) {
  EXPECT_FALSE(Jid::parse(""));
  EXPECT_FALSE(Jid::parse("@domain"));
  EXPECT_FALSE(Jid::parse("a@/r"));
  EXPECT_FALSE(Jid::parse("domain/"));
  EXPECT_FALSE(Jid::parse("a@b/"));
  EXPECT_FALSE(Jid::parse("@"));
  EXPECT_FALSE(Jid::parse("/"));
  EXPECT_FALSE(Jid::parse("a@b@c"));  // '@' is excluded from localparts; domain "b@c" invalid
  // Only the first '/' splits; the resource may hold '/' and '@'.
  expect_parts({"a@b/c/d@e", "a", "b", "c/d@e"});
  // The '@' after the first '/' belongs to the resource (example 15 style).
  expect_parts({"b/a@c", "", "b", "a@c"});
}

TEST(JidLocalpart, Mapping) {
  EXPECT_EQ(prep_localpart("JULIET"), "juliet");
  // Width mapping (RFC 8265 §3.3.1 rule 1): FULLWIDTH LATIN letters.
  EXPECT_EQ(prep_localpart("\uFF2A\uFF35\uFF2C"), "jul");
  // HALFWIDTH KATAKANA LETTER KA + HALFWIDTH VOICED SOUND MARK -> GA after NFC.
  EXPECT_EQ(prep_localpart("\uFF76\uFF9E"), "\u30AC");
  // NFC: e + COMBINING ACUTE ACCENT.
  EXPECT_EQ(prep_localpart("e\u0301"), "\u00E9");
  EXPECT_EQ(prep_localpart("\u00C9"), "\u00E9");
  // LATIN CAPITAL LETTER I WITH DOT ABOVE: full lower-case mapping.
  EXPECT_EQ(prep_localpart("\u0130"), "i\u0307");
  // ASCII7 is valid, including backslash and most punctuation.
  EXPECT_EQ(prep_localpart("a+b!c#d$e%f*g=h?i^j_k`l{m|n}o~p.q-r,s;t(u)v[w]x\\y"),
            "a+b!c#d$e%f*g=h?i^j_k`l{m|n}o~p.q-r,s;t(u)v[w]x\\y");
}

TEST(JidLocalpart, Rejections) {
  EXPECT_FALSE(prep_localpart(""));
  // RFC 7622 §3.3.1: further excluded characters.
  for (const char* s : {"a\"b", "a&b", "a'b", "a/b", "a:b", "a<b", "a>b", "a@b"}) {
    EXPECT_FALSE(prep_localpart(s)) << s;
  }
  // FULLWIDTH COMMERCIAL AT is width-mapped to '@', which is excluded.
  EXPECT_FALSE(prep_localpart("a\uFF20b"));
  EXPECT_FALSE(prep_localpart("a b"));       // SPACE: Spaces (N) is ID_DIS
  EXPECT_FALSE(prep_localpart("a\u00A0b"));  // NO-BREAK SPACE
  EXPECT_FALSE(prep_localpart("a\tb"));      // Controls (L)
  EXPECT_FALSE(prep_localpart(std::string("a\0b", 3)));
  EXPECT_FALSE(prep_localpart("a\u00ADb"));      // SOFT HYPHEN: default ignorable
  EXPECT_FALSE(prep_localpart("\u221E"));        // INFINITY: Symbols (O), RFC 8265 §3.6 ex. 11
  EXPECT_FALSE(prep_localpart("henry\u2163"));   // HasCompat (Q), RFC 8265 §3.6 ex. 10
  EXPECT_FALSE(prep_localpart("\u212A"));        // KELVIN SIGN: HasCompat, before case mapping
  EXPECT_FALSE(prep_localpart("\u01C5"));        // Lt, and HasCompat
  EXPECT_FALSE(prep_localpart("a\u2014b"));      // EM DASH: Punctuation (P)
  EXPECT_FALSE(prep_localpart("\uE000"));        // private use
  EXPECT_FALSE(prep_localpart("\uFDD0"));        // noncharacter
  EXPECT_FALSE(prep_localpart("\U000E0001"));    // LANGUAGE TAG: default ignorable
  EXPECT_FALSE(prep_localpart("\u0378"));        // unassigned
  EXPECT_FALSE(prep_localpart("\u1100\u1161"));  // conjoining jamo: OldHangulJamo (I)
  EXPECT_FALSE(prep_localpart("a\u0640b"));      // ARABIC TATWEEL: Exceptions (F) DISALLOWED
  EXPECT_TRUE(prep_localpart("\uD55C\uAD6D"));   // precomposed Hangul syllables are fine
}

TEST(JidLocalpart, InvalidUtf8) {
  EXPECT_FALSE(prep_localpart("\xFF"));
  EXPECT_FALSE(prep_localpart("a\xC3"));             // truncated
  EXPECT_FALSE(prep_localpart("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(prep_localpart("\xED\xA0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(prep_localpart("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(prep_resourcepart("\xFF"));
  EXPECT_FALSE(prep_password("\xFF"));
  EXPECT_FALSE(Jid::parse("\xFF@example.com"));
  EXPECT_FALSE(Jid::parse("a@example.com/\xFF"));
}

TEST(JidLocalpart, ContextualRules) {
  // RFC 5892 A.3: MIDDLE DOT only between two 'l'.
  EXPECT_TRUE(prep_localpart("l\u00B7l"));
  EXPECT_FALSE(prep_localpart("a\u00B7b"));
  EXPECT_FALSE(prep_localpart("\u00B7"));
  // A.1/A.2: ZERO WIDTH (NON-)JOINER outside their contexts.
  EXPECT_FALSE(prep_localpart("a\u200Cb"));
  EXPECT_FALSE(prep_localpart("a\u200Db"));
  // After a virama (DEVANAGARI KA + VIRAMA + ZWJ + SSA).
  EXPECT_TRUE(prep_localpart("\u0915\u094D\u200D\u0937"));
  // ZWNJ between dual-joining Arabic letters (BEH ZWNJ BEH).
  EXPECT_TRUE(prep_localpart("\u0628\u200C\u0628"));
  // A.4: KERAIA before a Greek letter.
  EXPECT_TRUE(prep_localpart("\u03B1\u0375\u03B2"));
  EXPECT_FALSE(prep_localpart("a\u0375b"));
  // A.5: GERESH after a Hebrew letter.
  EXPECT_TRUE(prep_localpart("\u05D0\u05F3"));
  EXPECT_FALSE(prep_localpart("a\u05F3"));
  // A.7: KATAKANA MIDDLE DOT needs Hiragana, Katakana or Han in the string.
  EXPECT_TRUE(prep_localpart("\u30A2\u30FB\u30A2"));
  EXPECT_FALSE(prep_localpart("a\u30FBb"));
  // A.8/A.9: the two sets of Arabic-Indic digits do not mix.
  EXPECT_TRUE(prep_localpart("\u0628\u0661\u0662"));
  EXPECT_FALSE(prep_localpart("\u0628\u0661\u06F2"));
}

TEST(JidLocalpart, BidiRule) {
  EXPECT_EQ(prep_localpart("\u05E9\u05DC\u05D5\u05DD"), "\u05E9\u05DC\u05D5\u05DD");
  EXPECT_TRUE(
      prep_localpart("\u05D0\u05D1"
                     "1"));                 // RTL ending in EN
  EXPECT_FALSE(prep_localpart("1\u05D0"));  // rule 1: starts with EN
  EXPECT_FALSE(prep_localpart("a\u05D0"));  // LTR first, RTL inside
  EXPECT_FALSE(prep_localpart("\u05D0a"));  // rule 2: L in an RTL label
  EXPECT_FALSE(prep_localpart("\u05D0-"));  // rule 3: ends in ES
  EXPECT_FALSE(
      prep_localpart("\u0628"
                     "1\u0661"));  // rule 4: EN with AN
  // No RTL code point: no directionality processing, so LTR strings may end in anything.
  EXPECT_TRUE(prep_localpart("a-"));
  EXPECT_TRUE(prep_localpart("-1"));
}

TEST(JidLocalpart, LengthLimit) {
  EXPECT_TRUE(prep_localpart(std::string(1023, 'a')));
  EXPECT_FALSE(prep_localpart(std::string(1024, 'a')));
  EXPECT_TRUE(prep_localpart(std::string(1021, 'a') + "\u00E9"));   // 1023 octets
  EXPECT_FALSE(prep_localpart(std::string(1022, 'a') + "\u00E9"));  // 1024 octets
  // The limit applies after preparation: 400 x (e + U+0301) is 1200 octets in, 800 out.
  std::string decomposed;
  for (int i = 0; i < 400; ++i) {
    decomposed += "e\u0301";
  }
  auto out = prep_localpart(decomposed);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->size(), 800u);
  // 1023 fullwidth letters (3 octets each) width-map to 1023 ASCII octets.
  std::string fullwidth;
  for (int i = 0; i < 1023; ++i) {
    fullwidth += "\uFF41";
  }
  EXPECT_EQ(prep_localpart(fullwidth), std::string(1023, 'a'));
  EXPECT_FALSE(prep_localpart(fullwidth + "\uFF41"));
  // Through the whole address.
  EXPECT_TRUE(Jid::parse(std::string(1023, 'a') + "@example.com"));
  EXPECT_FALSE(Jid::parse(std::string(1024, 'a') + "@example.com"));
}

TEST(JidResourcepart, Rules) {
  EXPECT_EQ(prep_resourcepart("Foo"), "Foo");  // no case mapping
  EXPECT_EQ(prep_resourcepart("foo bar"), "foo bar");
  EXPECT_EQ(prep_resourcepart("foo "), "foo ");  // only a leading space is listed (§3.5 #18)
  EXPECT_EQ(prep_resourcepart("foo\u00A0bar"), "foo bar");  // non-ASCII space -> SPACE
  EXPECT_EQ(prep_resourcepart("foo\u3000bar"), "foo bar");
  EXPECT_FALSE(prep_resourcepart(" foo"));
  EXPECT_FALSE(prep_resourcepart("\u00A0foo"));  // maps to a leading SPACE
  EXPECT_FALSE(prep_resourcepart(" "));
  EXPECT_FALSE(prep_resourcepart(""));
  EXPECT_EQ(prep_resourcepart("e\u0301"), "\u00E9");           // NFC
  EXPECT_EQ(prep_resourcepart("\u212A"), "K");                 // KELVIN SIGN: NFC singleton
  EXPECT_EQ(prep_resourcepart("\uFF21"), "\uFF21");            // no width mapping
  EXPECT_EQ(prep_resourcepart("henry\u2163"), "henry\u2163");  // HasCompat is FREE_PVAL
  EXPECT_EQ(prep_resourcepart("a/b@c:d<e>&'\""), "a/b@c:d<e>&'\"");
  EXPECT_TRUE(prep_resourcepart("\u05D0a1"));  // no directionality rule
  EXPECT_FALSE(prep_resourcepart("a\tb"));
  EXPECT_FALSE(prep_resourcepart("a\nb"));
  EXPECT_FALSE(prep_resourcepart("a\u200Bb"));  // ZERO WIDTH SPACE: default ignorable
  EXPECT_FALSE(prep_resourcepart("a\u200Cb"));  // ZWNJ outside its context
  EXPECT_FALSE(prep_resourcepart("\uE000"));
}

TEST(JidResourcepart, LengthLimit) {
  EXPECT_TRUE(prep_resourcepart(std::string(1023, 'r')));
  EXPECT_FALSE(prep_resourcepart(std::string(1024, 'r')));
  EXPECT_TRUE(prep_resourcepart(std::string(1020, 'r') + "\u265A"));   // 1023 octets
  EXPECT_FALSE(prep_resourcepart(std::string(1021, 'r') + "\u265A"));  // 1024 octets
  EXPECT_TRUE(Jid::parse("a@example.com/" + std::string(1023, 'r')));
  EXPECT_FALSE(Jid::parse("a@example.com/" + std::string(1024, 'r')));
}

TEST(JidPassword, Rfc8265Examples) {
  // RFC 8265 §4.3, Table 3.
  EXPECT_EQ(prep_password("correct horse battery staple"), "correct horse battery staple");
  EXPECT_EQ(prep_password("Correct Horse Battery Staple"), "Correct Horse Battery Staple");
  EXPECT_EQ(prep_password("\u03C0\u00DF\u00E5"), "\u03C0\u00DF\u00E5");
  EXPECT_EQ(prep_password("Jack of \u2666s"), "Jack of \u2666s");
  EXPECT_EQ(prep_password("foo\u1680bar"), "foo bar");
  // Table 4.
  EXPECT_FALSE(prep_password(""));
  EXPECT_FALSE(prep_password("my cat is a \tby"));
  // Passwords may start with a space (the XMPP resourcepart rule does not apply).
  EXPECT_EQ(prep_password(" pw "), " pw ");
  EXPECT_EQ(prep_password("A\u030A"), "\u00C5");
  EXPECT_TRUE(prep_password(std::string(4096, 'p')));
}

TEST(JidDomainpart, Ascii) {
  EXPECT_EQ(prep_domainpart("EXAMPLE.com"), "example.com");
  EXPECT_EQ(Jid::parse("juliet@EXAMPLE.COM"), Jid::parse("juliet@example.com"));
  EXPECT_EQ(prep_domainpart("localhost"), "localhost");
  EXPECT_EQ(prep_domainpart("a-b.example"), "a-b.example");
  EXPECT_FALSE(prep_domainpart(""));
  EXPECT_FALSE(prep_domainpart("exam ple.com"));
  EXPECT_FALSE(prep_domainpart("a..b"));
  EXPECT_FALSE(prep_domainpart(".a"));
  EXPECT_FALSE(prep_domainpart("-a.com"));
  EXPECT_FALSE(prep_domainpart("a-.com"));
  EXPECT_FALSE(prep_domainpart("a_b.com"));
  EXPECT_FALSE(prep_domainpart("ab--c.com"));    // reserved R-LDH label, not an A-label
  EXPECT_FALSE(prep_domainpart("xn--abc.com"));  // not a valid A-label
  // Decodes to U+2A74 DOUBLE COLON EQUAL, which IDNA2008 disallows (found by fuzz_jid).
  EXPECT_FALSE(prep_domainpart("xn--40i"));
  EXPECT_FALSE(Jid::parse("a@xn--40i.example/r"));
  EXPECT_FALSE(prep_domainpart("a!b.com"));
  EXPECT_FALSE(prep_domainpart("a@b"));
  EXPECT_FALSE(prep_domainpart("a/b"));
  EXPECT_FALSE(prep_domainpart("\u2603.com"));  // SNOWMAN is not allowed by IDNA2008
  EXPECT_FALSE(prep_domainpart("a\u200Cb.com"));
}

TEST(JidDomainpart, TrailingDot) {
  // RFC 7622 §3.2: one trailing dot is stripped before anything else.
  EXPECT_EQ(prep_domainpart("example.com."), "example.com");
  EXPECT_EQ(Jid::parse("juliet@example.com./r"), Jid::parse("juliet@example.com/r"));
  EXPECT_EQ(prep_domainpart("M\u00DCNCHEN.de."), "m\u00FCnchen.de");
  EXPECT_FALSE(prep_domainpart("."));
  EXPECT_FALSE(prep_domainpart("example.com.."));
  EXPECT_EQ(prep_domainpart("example.com\u3002"), "example.com");  // IDEOGRAPHIC FULL STOP
  EXPECT_EQ(prep_domainpart("example\uFF0Ecom"), "example.com");   // FULLWIDTH FULL STOP
  EXPECT_FALSE(prep_domainpart("example.com.\u3002"));
  EXPECT_FALSE(prep_domainpart("\u3002"));
  EXPECT_FALSE(Jid::parse("juliet@."));
}

TEST(JidDomainpart, Idn) {
  auto a = Jid::parse("juliet@xn--mnchen-3ya.de");
  auto u = Jid::parse("juliet@m\u00FCnchen.de");
  ASSERT_TRUE(a && u);
  EXPECT_EQ(*a, *u);
  EXPECT_EQ(a->domain(), "m\u00FCnchen.de");  // stored as U-labels
  EXPECT_EQ(prep_domainpart("XN--MNCHEN-3YA.DE"), "m\u00FCnchen.de");
  EXPECT_EQ(prep_domainpart("M\u00DCNCHEN.DE"), "m\u00FCnchen.de");
  EXPECT_EQ(prep_domainpart("mu\u0308nchen.de"), "m\u00FCnchen.de");  // NFC input
  EXPECT_EQ(prep_domainpart("fu\u00DFball.de"), "fu\u00DFball.de");   // non-transitional
  EXPECT_EQ(prep_domainpart("\uFF45xample.com"), "example.com");      // width mapping
  EXPECT_EQ(prep_domainpart("\u4F8B\u3048.\u30C6\u30B9\u30C8"), "\u4F8B\u3048.\u30C6\u30B9\u30C8");
  EXPECT_EQ(prep_domainpart("xn--r8jz45g.xn--zckzah"), "\u4F8B\u3048.\u30C6\u30B9\u30C8");
  auto j = Jid::parse("juliet@m\u00FCnchen.de/r");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "juliet@m\u00FCnchen.de/r");
}

TEST(JidDomainpart, IpLiterals) {
  EXPECT_EQ(prep_domainpart("192.168.0.1"), "192.168.0.1");
  EXPECT_EQ(prep_domainpart("192.168.0.1."), "192.168.0.1");
  EXPECT_EQ(prep_domainpart("[::1]"), "[::1]");
  EXPECT_EQ(prep_domainpart("[2001:DB8::1]"), "[2001:db8::1]");
  EXPECT_EQ(prep_domainpart("[::ffff:192.0.2.1]"), "[::ffff:192.0.2.1]");
  EXPECT_FALSE(prep_domainpart("[::1"));
  EXPECT_FALSE(prep_domainpart("[]"));
  EXPECT_FALSE(prep_domainpart("[example.com]"));
  EXPECT_FALSE(prep_domainpart("[1.2.3.4]"));
  EXPECT_FALSE(prep_domainpart("::1"));
  expect_parts({"juliet@[2001:db8::1]/r", "juliet", "[2001:db8::1]", "r"});
  expect_parts({"juliet@10.0.0.1/r", "juliet", "10.0.0.1", "r"});
}

TEST(JidDomainpart, LengthLimits) {
  // RFC 1034 limits apply to the domainpart as well (RFC 7622 §3.2): 63-octet labels and a
  // 253-octet name, so a 1023-octet domainpart cannot be valid and 1024 octets certainly not.
  EXPECT_TRUE(prep_domainpart(std::string(63, 'a') + ".com"));
  EXPECT_FALSE(prep_domainpart(std::string(64, 'a') + ".com"));
  std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                     std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(name.size(), 253u);
  EXPECT_EQ(prep_domainpart(name), name);
  EXPECT_EQ(prep_domainpart(name + "."), name);
  EXPECT_FALSE(prep_domainpart(name + "e"));
  std::string long_name;
  while (long_name.size() < 1024) {
    long_name += "abcdefgh.";
  }
  long_name.resize(1023);
  EXPECT_FALSE(prep_domainpart(long_name));
  long_name += "x";
  EXPECT_FALSE(prep_domainpart(long_name));
  EXPECT_FALSE(Jid::parse("a@" + long_name));
  // A 63-octet A-label is the limit for a U-label too.
  std::string u_label;
  for (int i = 0; i < 60; ++i) {
    u_label += "\u00E4";
  }
  EXPECT_FALSE(prep_domainpart(u_label + ".de"));
}

TEST(Jid, Accessors) {
  auto j = Jid::parse("Juliet@Example.com/Balcony");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "juliet@example.com/Balcony");
  EXPECT_EQ(j->bare_str(), "juliet@example.com");
  EXPECT_FALSE(j->is_bare());
  EXPECT_FALSE(j->is_domain());
  EXPECT_FALSE(j->empty());
  Jid b = j->bare();
  EXPECT_TRUE(b.is_bare());
  EXPECT_EQ(b.str(), "juliet@example.com");
  EXPECT_EQ(b, *Jid::parse("juliet@example.com"));

  auto d = Jid::parse("example.com/r");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->bare_str(), "example.com");
  EXPECT_EQ(d->str(), "example.com/r");
  EXPECT_FALSE(d->is_domain());
  EXPECT_TRUE(d->bare().is_domain());

  Jid empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.str(), "");
  EXPECT_FALSE(empty.with_resource("r"));
}

TEST(Jid, Make) {
  auto m = Jid::make("Juliet", "EXAMPLE.com", "Balcony");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, *Jid::parse("juliet@example.com/Balcony"));
  EXPECT_EQ(Jid::make("", "example.com"), Jid::parse("example.com"));
  EXPECT_EQ(Jid::make("", "example.com", "r"), Jid::parse("example.com/r"));
  EXPECT_FALSE(Jid::make("a@b", "example.com"));
  EXPECT_FALSE(Jid::make("a", ""));
  EXPECT_FALSE(Jid::make("a", "example.com", " r"));
  EXPECT_FALSE(Jid::make("a", "exa mple.com"));
  // make() takes unsplit parts: '/' and '@' are fine in a resource.
  auto r = Jid::make("a", "example.com", "x/y@z");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resource(), "x/y@z");
}

TEST(Jid, WithResource) {
  auto j = Jid::parse("juliet@example.com/old");
  ASSERT_TRUE(j);
  auto w = j->with_resource("new\u00A0one");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->str(), "juliet@example.com/new one");
  EXPECT_EQ(w->bare(), j->bare());
  EXPECT_FALSE(j->with_resource(""));
  EXPECT_FALSE(j->with_resource(" lead"));
  EXPECT_FALSE(j->with_resource("a\tb"));
  EXPECT_FALSE(j->with_resource(std::string(1024, 'r')));
}

TEST(Jid, EqualityAndHash) {
  std::unordered_set<Jid> set;
  set.insert(*Jid::parse("juliet@example.com/r"));
  set.insert(*Jid::parse("JULIET@EXAMPLE.COM./r"));
  set.insert(*Jid::parse("\uFF2Auliet@example.com/r"));
  EXPECT_EQ(set.size(), 1u);
  set.insert(*Jid::parse("juliet@example.com/R"));  // resources are case-sensitive
  set.insert(*Jid::parse("juliet@example.com"));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(std::hash<Jid>{}(*Jid::parse("a@xn--mnchen-3ya.de")),
            std::hash<Jid>{}(*Jid::parse("A@M\u00DCNCHEN.DE")));
  EXPECT_NE(*Jid::parse("a@b"), *Jid::parse("b/a"));
}

// XEP-0106 §5.1 "JID Examples": user input and escaped localpart.
TEST(JidEscaping, Xep0106Table) {
  struct Row {
    const char* input;
    const char* escaped;
  };
  const Row rows[] = {
      {"space cadet", "space\\20cadet"},
      {"call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22"},
      {"at&t guy", "at\\26t\\20guy"},
      {"d'artagnan", "d\\27artagnan"},
      {"/.fanboy", "\\2f.fanboy"},
      {"::foo::", "\\3a\\3afoo\\3a\\3a"},
      {"<foo>", "\\3cfoo\\3e"},
      {"user@host", "user\\40host"},
      {"c:\\net", "c\\3a\\net"},
      {"c:\\\\net", "c\\3a\\\\net"},
      {"c:\\cool stuff", "c\\3a\\cool\\20stuff"},
      {"c:\\5commas", "c\\3a\\5c5commas"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.input);
    EXPECT_EQ(escape_localpart(r.input), r.escaped);
    EXPECT_EQ(unescape_localpart(r.escaped), r.input);
    EXPECT_EQ(unescape_localpart(escape_localpart(r.input)), r.input);
    // Every escaped form is a valid localpart.
    EXPECT_TRUE(Jid::make(escape_localpart(r.input), "example.com"));
  }
  // The example of §3: d'artagnan@musketeers.lit.
  auto j = Jid::make(escape_localpart("d'artagnan"), "musketeers.lit");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "d\\27artagnan@musketeers.lit");
  EXPECT_EQ(unescape_localpart("treville\\40musketeers.lit"), "treville@musketeers.lit");
}

TEST(JidEscaping, Exceptions) {
  // XEP-0106 §4.3: partial and unknown sequences are left alone both ways.
  for (const char* s : {"\\2plus\\2is\\4", "foo\\bar", "foob\\41r", "\\", "a\\", "a\\2"}) {
    EXPECT_EQ(escape_localpart(s), s);
    EXPECT_EQ(unescape_localpart(s), s);
  }
  // Case is significant: upper-case hex digits are not escapes.
  EXPECT_EQ(unescape_localpart("a\\2Fb"), "a\\2Fb");
  EXPECT_EQ(escape_localpart("a\\2Fb"), "a\\2Fb");
  // Every escaping sequence in the source gets its backslash escaped.
  EXPECT_EQ(escape_localpart("\\5c"), "\\5c5c");
  EXPECT_EQ(escape_localpart("\\27"), "\\5c27");
  EXPECT_EQ(unescape_localpart("\\5c5c"), "\\5c");
  EXPECT_EQ(unescape_localpart("\\5c27"), "\\27");
  // "\20" is never first or last in an escaped localpart (XEP-0106 §4.1 rule 6).
  EXPECT_EQ(escape_localpart("  a b  "), "a\\20b");
  EXPECT_EQ(escape_localpart("   "), "");
  // Non-ASCII passes through untouched.
  EXPECT_EQ(escape_localpart("tr\u00E9ville@musketeers.lit"), "tr\u00E9ville\\40musketeers.lit");
  // Round trip over every escapable character.
  const std::string all = "a \"&'/:<>@\\b";
  EXPECT_EQ(unescape_localpart(escape_localpart(all)), all);
}

// XEP-0106 §3.2 and §3.3: the escaping and unescaping tables, character by character, and what
// the server does with the result (§4.1): an ordinary localpart, compared escaped.
TEST(JidEscaping, Xep0106CharacterTables) {
  const std::pair<char, const char*> table[] = {
      {' ', "\\20"}, {'"', "\\22"}, {'&', "\\26"}, {'\'', "\\27"}, {'/', "\\2f"},
      {':', "\\3a"}, {'<', "\\3c"}, {'>', "\\3e"}, {'@', "\\40"},  {'\\', "\\5c"},
  };
  for (const auto& [plain, escaped] : table) {
    SCOPED_TRACE(escaped);
    const std::string source = std::string("a") + plain + "b";
    const std::string wire = std::string("a") + escaped + "b";
    if (plain == '\\') {
      // A lone backslash is not an escape sequence and stays as it is (§4.3); "\5c" itself
      // is escaped.
      EXPECT_EQ(escape_localpart(source), source);
      EXPECT_EQ(escape_localpart("a\\5cb"), "a\\5c5cb");
    } else {
      EXPECT_EQ(escape_localpart(source), wire);
      // The unescaped character is not allowed in a localpart (RFC 7622 §3.3.1): escaping is
      // what makes such a name usable.
      EXPECT_FALSE(Jid::make(source, "example.com"));
    }
    EXPECT_EQ(unescape_localpart(wire), source);
    auto j = Jid::make(wire, "example.com");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->local(), wire);  // preparation keeps the escaped form (never unescapes)
  }
  // §4.1 rule 5: JIDs are compared in their escaped form; "\27" and an apostrophe-like
  // U+02BC are different localparts (§2 requirement 2).
  EXPECT_NE(Jid::make("d\\27artagnan", "x.org"), Jid::make("d\u02BCartagnan", "x.org"));
  // Upper-case hex is case-folded by PRECIS, after which it is the escape (§3.1: lower case
  // was chosen because of the case mapping).
  EXPECT_EQ(Jid::make("D\\27Artagnan", "x.org")->local(), "d\\27artagnan");
}

}  // namespace
}  // namespace starling::xmpp

namespace starling::xmpp {
namespace {

// RFC 8266 §2: the nickname profile (XEP-0045 room nicks).
TEST(Nickname, EnforcementTrimsAndCollapsesSpaces) {
  EXPECT_EQ(prep_nickname("  Romeo   of  Verona "), "Romeo of Verona");
  EXPECT_EQ(prep_nickname("Juliet"), "Juliet");  // case is kept (§2.2 has no case mapping)
  EXPECT_EQ(prep_nickname("\xC2\xA0Nurse\xE2\x80\x83\xE2\x80\x83" "Angelica"),
            "Nurse Angelica");  // NBSP and EM SPACE map to U+0020 first
  EXPECT_EQ(prep_nickname("   "), std::nullopt);
  EXPECT_EQ(prep_nickname(""), std::nullopt);
  EXPECT_EQ(prep_nickname("bell\x07"), std::nullopt);  // a control character is disallowed
}

TEST(Nickname, NfkcFoldsCompatibilityForms) {
  EXPECT_EQ(prep_nickname("\xEF\xBC\xB2omeo"), "Romeo");      // FULLWIDTH LATIN CAPITAL R
  EXPECT_EQ(prep_nickname("\xE2\x84\x8C" "amlet"), "Hamlet");  // BLACK-LETTER CAPITAL H
}

TEST(Nickname, ComparisonIsCaseInsensitive) {
  EXPECT_EQ(nickname_key("ROMEO"), nickname_key("romeo"));
  EXPECT_EQ(nickname_key("\xC3\x89LISE"), nickname_key("\xC3\xA9lise"));  // É / é
  EXPECT_EQ(nickname_key(" Romeo  Montague"), "romeo montague");
  EXPECT_NE(nickname_key("Romeo"), nickname_key("Juliet"));
}

}  // namespace
}  // namespace starling::xmpp
