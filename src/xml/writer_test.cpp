#include "xml/writer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "xml/stream_parser.hpp"

namespace starling::xml {
namespace {

std::string esc_text(std::string_view s) {
  std::string out;
  escape_text(s, out);
  return out;
}
std::string esc_attr(std::string_view s) {
  std::string out;
  escape_attr(s, out);
  return out;
}

TEST(Writer, EscapeText) {
  EXPECT_EQ(esc_text("plain"), "plain");
  EXPECT_EQ(esc_text("a & b < c > d"), "a &amp; b &lt; c &gt; d");
  EXPECT_EQ(esc_text("line\r\nnext\ttab 'q' \"dq\""), "line&#13;\nnext\ttab 'q' \"dq\"");
  EXPECT_EQ(esc_text("]]>"), "]]&gt;");
  EXPECT_EQ(esc_text("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
  // C0 controls are not XML characters at all: dropped so the output stays well-formed.
  EXPECT_EQ(esc_text(std::string("a\0b\x01"
                                 "c\x1f",
                                 6)),
            "abc");
  std::string out = "keep:";
  escape_text("<", out);  // appends
  EXPECT_EQ(out, "keep:&lt;");
}

TEST(Writer, EscapeAttr) {
  EXPECT_EQ(esc_attr("plain"), "plain");
  EXPECT_EQ(esc_attr("&<>'\""), "&amp;&lt;&gt;&apos;&quot;");
  EXPECT_EQ(esc_attr("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
}

// The escaping rules byte by byte, as writer.hpp states them.
std::string reference_escape(std::string_view in, bool attr) {
  std::string out;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '\r') {
      out += "&#13;";
    } else if (attr && c == '\'') {
      out += "&apos;";
    } else if (attr && c == '"') {
      out += "&quot;";
    } else if (c == '\t') {
      out += attr ? "&#9;" : "\t";
    } else if (c == '\n') {
      out += attr ? "&#10;" : "\n";
    } else if (c >= 0x20) {
      out += ch;
    }  // other C0 controls are dropped
  }
  return out;
}

// Every byte value at every position of strings up to 24 bytes long (so in each lane of a word,
// in the tail after the last whole word, and next to UTF-8 bytes and other special bytes).
TEST(Writer, EscapeMatchesTheByteRulesEverywhere) {
  for (const char filler : {'x', '\xc3', '&'}) {
    for (std::size_t len = 1; len <= 24; ++len) {
      for (std::size_t pos = 0; pos < len; ++pos) {
        for (int b = 0; b < 256; ++b) {
          std::string in(len, filler);
          in[pos] = static_cast<char>(b);
          ASSERT_EQ(esc_text(in), reference_escape(in, false)) << len << " " << pos << " " << b;
          ASSERT_EQ(esc_attr(in), reference_escape(in, true)) << len << " " << pos << " " << b;
        }
      }
    }
  }
  // Random strings, biased towards the bytes that matter.
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  constexpr std::string_view kInteresting = "&<>'\"\t\n\r\x01\x1f\x20\x7f\x80\xff";
  for (int round = 0; round < 20000; ++round) {
    std::string in(next() % 64, '\0');
    for (char& c : in) {
      c = next() % 4 == 0 ? kInteresting[next() % kInteresting.size()]
                          : static_cast<char>(next() % 256);
    }
    ASSERT_EQ(esc_text(in), reference_escape(in, false)) << round;
    ASSERT_EQ(esc_attr(in), reference_escape(in, true)) << round;
  }
}

TEST(Writer, NamespacesOnlyWhereTheyChange) {
  Element msg("message", "jabber:client");
  msg.set_attr("to", "juliet@example.com");
  msg.add_child("body", "jabber:client").add_text("hi");
  msg.add_child("x", "jabber:x:oob").add_child("url", "jabber:x:oob").add_text("http://a/");
  msg.add_child("plain", "");

  EXPECT_EQ(to_string(msg),
            "<message xmlns='jabber:client' to='juliet@example.com'><body>hi</body>"
            "<x xmlns='jabber:x:oob'><url>http://a/</url></x><plain xmlns=''/></message>");
  // Inside a stream whose default namespace is jabber:client no declaration is needed.
  EXPECT_EQ(to_string(msg, "jabber:client"),
            "<message to='juliet@example.com'><body>hi</body>"
            "<x xmlns='jabber:x:oob'><url>http://a/</url></x><plain xmlns=''/></message>");
  // write() appends.
  std::string out = "[";
  write(Element("presence", "jabber:client"), out, "jabber:client");
  EXPECT_EQ(out, "[<presence/>");
}

TEST(Writer, StreamNamespaceUsesStreamPrefix) {
  Element features("features", std::string(kStreamNs));
  features.add_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
      .add_child("required", "urn:ietf:params:xml:ns:xmpp-tls");
  features.add_child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl");
  EXPECT_EQ(to_string(features, "jabber:client"),
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
            "</starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>");

  // A stream-namespace element leaves the default namespace unchanged for its children.
  Element err("error", std::string(kStreamNs));
  err.add_child("conflict", "urn:ietf:params:xml:ns:xmpp-streams");
  err.add_child("child", "jabber:client");
  EXPECT_EQ(to_string(err, "jabber:client"),
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><child/>"
            "</stream:error>");
}

TEST(Writer, XmlNamespaceElementsUseTheXmlPrefix) {
  // Binding the XML namespace as a default namespace is forbidden (XML-Names §3).
  Element e("a", "urn:a");
  e.add_child("odd", std::string(kXmlNs)).add_child("inner", "urn:a");
  EXPECT_EQ(to_string(e), "<a xmlns='urn:a'><xml:odd><inner/></xml:odd></a>");
  Element back;
  ASSERT_TRUE(parse_element(to_string(e), back));
  EXPECT_EQ(back, e);
}

TEST(Writer, NamespacedAttributesGetGeneratedPrefixes) {
  Element e("message", "jabber:client");
  e.set_attr("xml:lang", "en");
  e.set_attr("{urn:a}one", "1");
  e.set_attr("{urn:b}two", "2");
  e.set_attr("{urn:a}three", "3");
  e.set_attr("plain", "p");
  e.add_child("c", "jabber:client").set_attr("{urn:b}x", "y");
  EXPECT_EQ(to_string(e, "jabber:client"),
            "<message xml:lang='en' xmlns:ns0='urn:a' ns0:one='1' xmlns:ns1='urn:b' ns1:two='2' "
            "ns0:three='3' plain='p'><c xmlns:ns0='urn:b' ns0:x='y'/></message>");

  Element back;
  ASSERT_TRUE(parse_element(to_string(e), back));
  EXPECT_EQ(back, e);

  // The URI may contain braces; the local name cannot.
  Element odd("a", "");
  odd.set_attr("{urn:}x}{y}local", "v");
  EXPECT_EQ(to_string(odd), "<a xmlns:ns0='urn:}x}{y' ns0:local='v'/>");
  ASSERT_TRUE(parse_element(to_string(odd), back));
  EXPECT_EQ(back, odd);
}

TEST(Writer, ManyAttributeNamespaces) {
  Element e("a", "urn:a");
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      e.set_attr("{urn:n" + std::to_string(i) + "}r" + std::to_string(round), "v");
    }
  }
  std::string xml = to_string(e);
  EXPECT_NE(xml.find("xmlns:ns19='urn:n19' ns19:r0='v'"), std::string::npos);
  EXPECT_NE(xml.find(" ns19:r1='v'"), std::string::npos);
  EXPECT_EQ(xml.find("xmlns:ns20"), std::string::npos);
  Element back;
  ASSERT_TRUE(parse_element(xml, back));
  EXPECT_EQ(back, e);
}

TEST(Writer, NamespaceDeclarationsAreNeverWrittenAsAttributes) {
  Element e("a", "urn:a");
  e.set_attr("xmlns", "urn:evil");
  e.set_attr("xmlns:p", "urn:evil");
  e.set_attr("ok", "1");
  EXPECT_EQ(to_string(e), "<a xmlns='urn:a' ok='1'/>");
}

TEST(Writer, EscapedContentRoundTripsExactly) {
  Element e("message", "jabber:client");
  const std::string tricky = "it's \"quoted\"\n\ttabbed\r\n & <tagged> ]]>";
  e.set_attr("id", tricky);
  e.add_child("body", "jabber:client").add_text(tricky);
  std::string xml = to_string(e);
  EXPECT_EQ(xml.find('\n'), xml.find("\n\ttabbed"));  // only the text keeps a literal newline

  Element back;
  ASSERT_TRUE(parse_element(xml, back));
  EXPECT_EQ(back, e);
  EXPECT_EQ(back.attr_or("id"), tricky);
  EXPECT_EQ(back.child_text("body"), tricky);
  EXPECT_EQ(to_string(back), xml);
}

TEST(Writer, TextNodeAlone) { EXPECT_EQ(to_string(Element::text_node("a<b")), "a&lt;b"); }

}  // namespace
}  // namespace starling::xml
