#include "xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include "xml/writer.hpp"

namespace starling::xml {
namespace {

constexpr std::string_view kClientHeader =
    "<?xml version='1.0'?>"
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0' xml:lang='en'>";

struct Fed {
  std::vector<StreamEvent> events;
  ParseError error = ParseError::kNone;
};

// Feeds `data` in chunks of `chunk` bytes (0: all at once), stopping at the first error.
Fed feed(StreamParser& p, std::string_view data, std::size_t chunk = 0) {
  Fed r;
  if (chunk == 0) {
    chunk = data.size();
  }
  while (!data.empty() && r.error == ParseError::kNone) {
    std::size_t n = std::min(chunk, data.size());
    r.error = p.feed(data.substr(0, n), r.events);
    data.remove_prefix(n);
  }
  return r;
}

Fed feed_new(std::string_view data, std::size_t chunk = 0, ParserLimits limits = {}) {
  StreamParser p(limits);
  return feed(p, data, chunk);
}

const StreamHeader& header(const Fed& r, std::size_t i = 0) {
  return std::get<StreamHeader>(r.events.at(i));
}
const Element& element(const Fed& r, std::size_t i) { return std::get<Element>(r.events.at(i)); }

// A printable form of events, to compare runs.
std::string describe(const std::vector<StreamEvent>& events) {
  std::string s;
  for (const StreamEvent& ev : events) {
    if (const auto* h = std::get_if<StreamHeader>(&ev)) {
      s += "H(" + h->name + "|" + h->xmlns + "|" + h->prefix + "|" + h->default_ns;
      for (const auto& [k, v] : h->attrs) {
        s += "|" + k + "=" + v;
      }
      s += ")";
    } else if (const auto* e = std::get_if<Element>(&ev)) {
      s += "E(" + to_string(*e) + ")";
    } else {
      s += "END";
    }
  }
  return s;
}

TEST(StreamParser, HeaderAttributesAndNamespaces) {
  Fed r = feed_new(kClientHeader);
  ASSERT_EQ(r.error, ParseError::kNone);
  ASSERT_EQ(r.events.size(), 1u);
  const StreamHeader& h = header(r);
  EXPECT_EQ(h.name, "stream");
  EXPECT_EQ(h.xmlns, kStreamNs);
  EXPECT_EQ(h.prefix, "stream");
  EXPECT_EQ(h.default_ns, "jabber:client");
  ASSERT_EQ(h.attrs.size(), 3u);  // namespace declarations are not attributes
  EXPECT_EQ(*h.attr("to"), "example.com");
  EXPECT_EQ(*h.attr("version"), "1.0");
  EXPECT_EQ(*h.attr("xml:lang"), "en");
  EXPECT_EQ(h.attr("from"), nullptr);
}

TEST(StreamParser, StanzasInheritTheDefaultNamespace) {
  std::string in(kClientHeader);
  in +=
      "<message to='juliet@example.com' xml:lang='fr'><body>hi</body>"
      "<x xmlns='jabber:x:oob'><url>u</url></x></message>";
  Fed r = feed_new(in);
  ASSERT_EQ(r.error, ParseError::kNone);
  ASSERT_EQ(r.events.size(), 2u);
  const Element& m = element(r, 1);
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(m.xmlns(), "jabber:client");
  EXPECT_EQ(m.attr_or("to"), "juliet@example.com");
  EXPECT_EQ(m.attr_or("xml:lang"), "fr");
  EXPECT_EQ(m.child("body", "jabber:client")->text(), "hi");
  const Element* x = m.child("x", "jabber:x:oob");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->child("url")->xmlns(), "jabber:x:oob");
}

TEST(StreamParser, OtherPrefixForTheStreamsNamespace) {
  Fed r = feed_new(
      "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:server' "
      "from='a.example' version='1.0'>"
      "<s:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></s:features>"
      "</s:stream>");
  ASSERT_EQ(r.error, ParseError::kNone);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(header(r).name, "stream");
  EXPECT_EQ(header(r).xmlns, kStreamNs);
  EXPECT_EQ(header(r).prefix, "s");
  EXPECT_EQ(header(r).default_ns, "jabber:server");
  const Element& f = element(r, 1);
  EXPECT_EQ(f.name(), "features");
  EXPECT_EQ(f.xmlns(), kStreamNs);
  EXPECT_NE(f.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"), nullptr);
  EXPECT_TRUE(std::holds_alternative<StreamEnd>(r.events[2]));
}

TEST(StreamParser, UnprefixedRootAndNoDefaultNamespace) {
  Fed r = feed_new("<stream xmlns='http://etherx.jabber.org/streams'>");
  ASSERT_EQ(r.error, ParseError::kNone);
  EXPECT_EQ(header(r).prefix, "");
  EXPECT_EQ(header(r).default_ns, kStreamNs);

  r = feed_new("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
  ASSERT_EQ(r.error, ParseError::kNone);
  EXPECT_EQ(header(r).default_ns, "");
}

TEST(StreamParser, StanzaWithItsOwnPrefix) {
  std::string in(
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>");
  in +=
      "<foo:message xmlns:foo='jabber:client' to='a@b' foo:ignored='no' xmlns:x='urn:x' "
      "x:attr='v'><foo:body>hi</foo:body><child/></foo:message>";
  Fed r = feed_new(in);
  ASSERT_EQ(r.error, ParseError::kNone);
  ASSERT_EQ(r.events.size(), 2u);
  const Element& m = element(r, 1);
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(m.xmlns(), "jabber:client");
  EXPECT_EQ(m.child_text("body", "jabber:client"), "hi");
  // The unprefixed child is in the stream's default namespace, which the prefix did not change.
  ASSERT_NE(m.child("child"), nullptr);
  EXPECT_EQ(m.child("child")->xmlns(), "jabber:client");
  // Prefixed attributes are namespaced: "{uri}local".
  EXPECT_EQ(m.attr_or("to"), "a@b");
  EXPECT_EQ(m.attr_or("{jabber:client}ignored"), "no");
  EXPECT_EQ(m.attr_or("{urn:x}attr"), "v");
  EXPECT_EQ(m.attrs().size(), 3u);
}

TEST(StreamParser, ByteAtATimeGivesTheSameEvents) {
  std::string in(kClientHeader);
  in +=
      "\n <message to='a@b' id='&apos;1&#x27;'><body>caf\xc3\xa9 &amp; &#x1F600; "
      "<![CDATA[<raw>]]></body></message>\r\n"
      "<iq type='get' id='2'><query xmlns='jabber:iq:roster'/></iq> "
      "<presence/></stream:stream>";
  Fed whole = feed_new(in);
  ASSERT_EQ(whole.error, ParseError::kNone);
  ASSERT_EQ(whole.events.size(), 5u);
  EXPECT_EQ(element(whole, 1).child_text("body"), "caf\xc3\xa9 & \xf0\x9f\x98\x80 <raw>");
  EXPECT_EQ(element(whole, 1).attr_or("id"), "'1'");
  for (std::size_t chunk : {1, 2, 3, 7, 64}) {
    Fed r = feed_new(in, chunk);
    EXPECT_EQ(r.error, ParseError::kNone) << chunk;
    EXPECT_EQ(describe(r.events), describe(whole.events)) << chunk;
  }
}

// The tree is built in place (children appended to their parent as they start, attribute lists
// sized up front): it must equal the one built by hand, attribute order and text nodes included,
// however the input is split, and stanzas after it must not inherit anything from it.
TEST(StreamParser, TreeEqualsTheOneBuiltByHand) {
  const std::string iq_xml =
      "<iq type='result' id='r1' to='romeo@example.com/orchard' xml:lang='en'>"
      "<query xmlns='jabber:iq:roster' ver='v9'>"
      "<item jid='a@example.net' name='A' subscription='both' ask='subscribe' "
      "xmlns:p='urn:p' p:x='1'><group>Friends</group><group>Work</group></item>"
      "text<item jid='b@example.net'/>more</query></iq>";
  const std::string in =
      std::string(kClientHeader) + iq_xml + "<message to='b@example.net'><body>hi</body></message>";
  Element iq("iq", "jabber:client");
  iq.set_attr("type", "result").set_attr("id", "r1").set_attr("to", "romeo@example.com/orchard");
  iq.set_attr("xml:lang", "en");
  Element& query = iq.add_child("query", "jabber:iq:roster");
  query.set_attr("ver", "v9");
  Element& a = query.add_child("item", "jabber:iq:roster");
  a.set_attr("jid", "a@example.net").set_attr("name", "A").set_attr("subscription", "both");
  a.set_attr("ask", "subscribe").set_attr("{urn:p}x", "1");
  a.add_child("group", "jabber:iq:roster").add_text("Friends");
  a.add_child("group", "jabber:iq:roster").add_text("Work");
  query.add_text("text");
  query.add_child("item", "jabber:iq:roster").set_attr("jid", "b@example.net");
  query.add_text("more");
  Element message("message", "jabber:client");
  message.set_attr("to", "b@example.net");
  message.add_child("body", "jabber:client").add_text("hi");
  for (std::size_t chunk : {0, 1, 5, 64}) {
    Fed r = feed_new(in, chunk);
    ASSERT_EQ(r.error, ParseError::kNone) << chunk;
    ASSERT_EQ(r.events.size(), 3u) << chunk;
    EXPECT_EQ(element(r, 1), iq) << chunk;
    EXPECT_EQ(element(r, 2), message) << chunk;
  }
  // parse_element builds its tree the same way.
  Element doc;
  ASSERT_TRUE(parse_element("<iq xmlns='jabber:client'" + iq_xml.substr(3), doc));
  EXPECT_EQ(doc, iq);
}

TEST(StreamParser, WhitespaceKeepalivesBetweenStanzas) {
  StreamParser p;
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  ASSERT_EQ(p.feed(" ", ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<presence/>", ev), ParseError::kNone);
  ASSERT_EQ(p.feed("\n\t \r\n", ev), ParseError::kNone);
  ASSERT_EQ(p.feed(" <message/> ", ev), ParseError::kNone);
  EXPECT_EQ(ev.size(), 3u);  // header and two stanzas, nothing for whitespace
}

TEST(StreamParser, KeepalivesDoNotCountTowardsTheSizeLimit) {
  ParserLimits limits;
  limits.max_element_size = 300;
  StreamParser p(limits);
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(p.feed(" ", ev), ParseError::kNone) << i;
  }
  ASSERT_EQ(p.feed(std::string(5000, '\n'), ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<message><body>still fine</body></message>", ev), ParseError::kNone);
  EXPECT_EQ(ev.size(), 2u);
}

TEST(StreamParser, StreamEnd) {
  StreamParser p;
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<presence/></stream:str", ev), ParseError::kNone);
  EXPECT_EQ(ev.size(), 2u);
  ASSERT_EQ(p.feed("eam>", ev), ParseError::kNone);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<StreamEnd>(ev.back()));
  // Only whitespace may follow, whether in the same read or a later one.
  EXPECT_EQ(p.feed(" \r\n", ev), ParseError::kNone);
  EXPECT_EQ(p.feed(" x", ev), ParseError::kNotWellFormed);
  EXPECT_EQ(ev.size(), 3u);

  for (std::size_t chunk : {0, 1, 2}) {
    std::string in = std::string(kClientHeader) + "</stream:stream>\n";
    Fed r = feed_new(in, chunk);
    EXPECT_EQ(r.error, ParseError::kNone);
    EXPECT_EQ(r.events.size(), 2u);
    r = feed_new(in + "junk", chunk);
    EXPECT_EQ(r.error, ParseError::kNotWellFormed);
    EXPECT_EQ(r.events.size(), 2u);
    r = feed_new(in + "<message/>", chunk);
    EXPECT_EQ(r.error, ParseError::kNotWellFormed);
    EXPECT_EQ(r.events.size(), 2u);
  }
}

TEST(StreamParser, ResetStartsANewStreamWithItsOwnDeclaration) {
  StreamParser p;
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", ev), ParseError::kNone);
  p.reset();
  ev.clear();
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<presence/>", ev), ParseError::kNone);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(header(Fed{ev, {}}).xmlns, kStreamNs);

  // reset() also clears an error.
  ASSERT_EQ(p.feed("<!-- -->", ev), ParseError::kRestrictedXml);
  p.reset();
  EXPECT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
}

// ---- errors ----

struct ErrorCase {
  const char* what;
  std::string input;  // appended to kClientHeader unless `raw`
  ParseError expected;
  bool raw = false;
};

TEST(StreamParser, ErrorKinds) {
  const std::vector<ErrorCase> cases = {
      {"comment in a stanza", "<message><!-- hi --></message>", ParseError::kRestrictedXml},
      {"comment at top level", "<!-- hi -->", ParseError::kRestrictedXml},
      {"comment before the root",
       "<?xml version='1.0'?><!-- c --><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kRestrictedXml, true},
      {"processing instruction", "<message><?php echo 1 ?></message>", ParseError::kRestrictedXml},
      {"processing instruction at top level", "<?foo?>", ParseError::kRestrictedXml},
      {"DOCTYPE",
       "<?xml version='1.0'?><!DOCTYPE stream><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kRestrictedXml, true},
      {"entity declaration in the internal subset",
       "<!DOCTYPE s [<!ENTITY x 'lol'>]><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>&x;",
       ParseError::kRestrictedXml, true},
      {"billion laughs",
       "<!DOCTYPE s [<!ENTITY a 'aaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
       "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><m>&b;</m>",
       ParseError::kRestrictedXml, true},
      {"undefined entity", "<message><body>&foo;</body></message>", ParseError::kRestrictedXml},
      {"undefined entity in an attribute", "<message to='&foo;'/>", ParseError::kRestrictedXml},
      {"bad nesting", "<message><body></message></body>", ParseError::kNotWellFormed},
      {"unbound prefix", "<foo:message/>", ParseError::kNotWellFormed},
      {"duplicate attribute", "<message to='a' to='b'/>", ParseError::kNotWellFormed},
      {"duplicate expanded attribute", "<message xmlns:a='urn:x' xmlns:b='urn:x' a:t='1' b:t='2'/>",
       ParseError::kNotWellFormed},
      {"invalid UTF-8", "<message><body>\xc3\x28</body></message>", ParseError::kNotWellFormed},
      {"illegal character reference", "<message><body>&#1;</body></message>",
       ParseError::kNotWellFormed},
      {"text at top level", "hello", ParseError::kBadFormat},
      {"text after a stanza", "<presence/> x <presence/>", ParseError::kBadFormat},
      {"misplaced XML declaration", "<?xml version='1.0'?>", ParseError::kNotWellFormed},
      {"UTF-16 declared",
       "<?xml version='1.0' encoding='UTF-16'?><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kNotWellFormed, true},
      {"ISO-8859-1 declared",
       "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kNotWellFormed, true},
      {"UTF-8 byte order mark",
       "\xef\xbb\xbf<stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kNotWellFormed, true},
      {"UTF-16 byte order mark", std::string("\xff\xfe<\0s\0/\0>\0", 10),
       ParseError::kNotWellFormed, true},
      {"NUL byte", std::string("<message>\0</message>", 20), ParseError::kNotWellFormed},
      {"NUL byte suggesting UTF-16", std::string(" \0<\0", 4), ParseError::kNotWellFormed, true},
      {"garbage before the root", "hello<stream/>", ParseError::kNotWellFormed, true},
      {"second root",
       "</stream:stream><stream:stream "
       "xmlns:stream='http://etherx.jabber.org/streams'>",
       ParseError::kNotWellFormed},
  };
  for (const ErrorCase& c : cases) {
    std::string in = c.raw ? c.input : std::string(kClientHeader) + c.input;
    for (std::size_t chunk : {0, 1, 5}) {
      StreamParser p;
      Fed r = feed(p, in, chunk);
      EXPECT_EQ(r.error, c.expected) << c.what << " (chunk " << chunk << ")";
      EXPECT_FALSE(p.error_detail().empty()) << c.what;
    }
  }
}

TEST(StreamParser, CleanInputsThatLookSuspicious) {
  std::string in(kClientHeader);
  // Predefined entities and character references are allowed (RFC 6120 §11.1).
  in += "<message a='&lt;&gt;&amp;&apos;&quot;&#65;&#x42;'>&lt;&gt;&amp;&apos;&quot;</message>";
  Fed r = feed_new(in);
  ASSERT_EQ(r.error, ParseError::kNone);
  EXPECT_EQ(element(r, 1).attr_or("a"), "<>&'\"AB");
  EXPECT_EQ(element(r, 1).text(), "<>&'\"");

  // UTF-8 declared in any case; standalone ignored (RFC 6120 §11.5).
  r = feed_new(
      "<?xml version='1.0' encoding='utf-8' standalone='yes'?>"
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
  EXPECT_EQ(r.error, ParseError::kNone);
  // Whitespace before the root is fine without a declaration.
  r = feed_new("\n <stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
  EXPECT_EQ(r.error, ParseError::kNone);
  // U+FEFF inside text is a character like any other (RFC 6120 §11.6).
  in = std::string(kClientHeader) + "<message><body>\xef\xbb\xbf</body></message>";
  r = feed_new(in);
  ASSERT_EQ(r.error, ParseError::kNone);
  EXPECT_EQ(element(r, 1).text().size(), 0u);
  EXPECT_EQ(element(r, 1).child_text("body"), "\xef\xbb\xbf");
}

TEST(StreamParser, EventsBeforeAnErrorAreKeptAndTheErrorSticks) {
  StreamParser p;
  std::vector<StreamEvent> ev;
  std::string in(kClientHeader);
  in += "<presence/><message/><!-- no --><iq/>";
  EXPECT_EQ(p.feed(in, ev), ParseError::kRestrictedXml);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(std::get<Element>(ev[2]).name(), "message");
  std::string detail = p.error_detail();
  EXPECT_NE(detail.find("comment"), std::string::npos);
  // Further input is not parsed.
  EXPECT_EQ(p.feed("<presence/>", ev), ParseError::kRestrictedXml);
  EXPECT_EQ(ev.size(), 3u);
  EXPECT_EQ(p.error_detail(), detail);
}

TEST(StreamParser, DepthLimit) {
  ParserLimits limits;
  limits.max_depth = 3;
  std::string ok = std::string(kClientHeader) + "<a><b><c/></b></a>";
  EXPECT_EQ(feed_new(ok, 0, limits).error, ParseError::kNone);
  std::string deep = std::string(kClientHeader) + "<a><b><c><d/></c></b></a>";
  Fed r = feed_new(deep, 0, limits);
  EXPECT_EQ(r.error, ParseError::kBadFormat);
  EXPECT_EQ(r.events.size(), 1u);
  EXPECT_EQ(feed_new(deep, 1, limits).error, ParseError::kBadFormat);

  // Default limit: 64 levels below the root.
  std::string nested(kClientHeader);
  for (int i = 0; i < 65; ++i) {
    nested += "<x>";
  }
  EXPECT_EQ(feed_new(nested).error, ParseError::kBadFormat);
}

TEST(StreamParser, ElementSizeLimitAtTheBoundary) {
  ParserLimits limits;
  limits.max_element_size = 100;
  // The header alone must fit too, so use a short one.
  const std::string head = "<stream xmlns='jabber:client'>";
  // An element of exactly 100 bytes passes; 101 does not.
  auto make = [](std::size_t size) {
    std::string e = "<m>";
    e += std::string(size - 7, 'a');
    e += "</m>";
    return e;
  };
  ASSERT_EQ(make(100).size(), 100u);
  for (std::size_t chunk : {0, 1, 10, 99}) {
    Fed r = feed_new(head + make(100) + " " + make(100), chunk, limits);
    EXPECT_EQ(r.error, ParseError::kNone) << chunk;
    EXPECT_EQ(r.events.size(), 3u) << chunk;
    r = feed_new(head + make(100) + make(101), chunk, limits);
    EXPECT_EQ(r.error, ParseError::kPolicyViolation) << chunk;
    EXPECT_EQ(r.events.size(), 2u) << chunk;
  }
}

TEST(StreamParser, OversizeElementIsStoppedBeforeItCompletes) {
  ParserLimits limits;
  limits.max_element_size = 4096;
  StreamParser p(limits);
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed(kClientHeader, ev), ParseError::kNone);
  ASSERT_EQ(p.feed("<message><body>", ev), ParseError::kNone);
  std::size_t fed = 15;
  const std::string chunk(16, 'a');
  ParseError err = ParseError::kNone;
  // An endless body: the parser must refuse it once 4096 bytes have gone by.
  while (err == ParseError::kNone && fed < 1'000'000) {
    err = p.feed(chunk, ev);
    fed += chunk.size();
  }
  EXPECT_EQ(err, ParseError::kPolicyViolation);
  EXPECT_GT(fed, 4096u);
  EXPECT_LE(fed, 4096u + chunk.size());
  EXPECT_EQ(ev.size(), 1u);

  // Also when the whole oversize element arrives in one piece, and then completes.
  Fed r = feed_new(std::string(kClientHeader) + "<message><body>" + std::string(100000, 'b') +
                       "</body></message>",
                   0, limits);
  EXPECT_EQ(r.error, ParseError::kPolicyViolation);
  EXPECT_EQ(r.events.size(), 1u);
}

TEST(StreamParser, OversizeStreamHeader) {
  ParserLimits limits;
  limits.max_element_size = 200;
  std::string big = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='" +
                    std::string(300, 'x') + "'>";
  EXPECT_EQ(feed_new(big, 0, limits).error, ParseError::kPolicyViolation);
  EXPECT_EQ(feed_new(big, 7, limits).error, ParseError::kPolicyViolation);
  // An endless header is refused without waiting for its end.
  StreamParser p(limits);
  std::vector<StreamEvent> ev;
  ASSERT_EQ(p.feed("<stream:stream to='", ev), ParseError::kNone);
  ParseError err = ParseError::kNone;
  for (int i = 0; i < 1000 && err == ParseError::kNone; ++i) {
    err = p.feed("xxxxxxxxxx", ev);
  }
  EXPECT_EQ(err, ParseError::kPolicyViolation);
}

TEST(StreamParser, HugeStartTagIsRefused) {
  // Far below max_element_size, but no stanza has a start tag over 16 KiB, and expat re-scans an
  // incomplete tag on every read.
  std::string in(kClientHeader);
  in += "<message to='" + std::string(20 * 1024, 'x') + "'/>";
  EXPECT_EQ(feed_new(in).error, ParseError::kPolicyViolation);
  EXPECT_EQ(feed_new(in, 4096).error, ParseError::kPolicyViolation);
  // A long but plausible start tag passes.
  in = std::string(kClientHeader) + "<message to='" + std::string(3071, 'x') + "' from='" +
       std::string(3071, 'y') + "'/>";
  EXPECT_EQ(feed_new(in).error, ParseError::kNone);
  EXPECT_EQ(feed_new(in, 1).error, ParseError::kNone);
  // Large text is fine.
  in = std::string(kClientHeader) + "<message><body>" + std::string(200 * 1024, 'x') +
       "</body></message>";
  EXPECT_EQ(feed_new(in).error, ParseError::kNone);
  EXPECT_EQ(feed_new(in, 1000).error, ParseError::kNone);
}

// ---- parse_element ----

// Hibernating between stanzas (to free an idle stream's parser) must not change any event:
// the same input gives the same events whether or not the parser hibernated after every read.
TEST(StreamParser, HibernatingBetweenStanzasGivesTheSameEvents) {
  const std::string input =
      std::string(kClientHeader) +
      "<message to='a@b' type='chat'><body>one &amp; two</body></message> \n"
      "<stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
      "<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>"
      "<x:y xmlns:x='urn:other'><x:z/></x:y>"
      "</stream:stream>";
  const std::string expected = describe(feed_new(input).events);
  for (std::size_t chunk : {1, 3, 17, 64, 1000}) {
    StreamParser p;
    std::vector<StreamEvent> events;
    int hibernated = 0;
    for (std::size_t i = 0; i < input.size(); i += chunk) {
      ASSERT_EQ(p.feed(std::string_view(input).substr(i, chunk), events), ParseError::kNone);
      hibernated += p.hibernate() ? 1 : 0;
      if (hibernated > 0 && p.hibernating()) {
        EXPECT_FALSE(p.hibernate());  // once is enough
      }
    }
    EXPECT_EQ(describe(events), expected) << "chunk " << chunk;
    if (chunk == 1) {
      EXPECT_GE(hibernated, 4);  // after each stanza
    }
  }
}

TEST(StreamParser, NoHibernationInsideAStanzaOrBeforeTheHeader) {
  StreamParser p;
  std::vector<StreamEvent> events;
  EXPECT_FALSE(p.hibernate());  // nothing parsed yet
  ASSERT_EQ(p.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/s",
                   events),
            ParseError::kNone);
  EXPECT_FALSE(p.hibernate());  // inside the header
  ASSERT_EQ(p.feed("treams'><message><bo", events), ParseError::kNone);
  EXPECT_FALSE(p.hibernate());  // inside a stanza
  ASSERT_EQ(p.feed("dy>hi</body></message>", events), ParseError::kNone);
  EXPECT_TRUE(p.hibernate());
  EXPECT_TRUE(p.hibernating());
  ASSERT_EQ(p.feed("<presence/>", events), ParseError::kNone);
  EXPECT_FALSE(p.hibernating());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(to_string(std::get<Element>(events[2]), "jabber:client"), "<presence/>");
}

TEST(StreamParser, LimitsAndErrorsStillApplyAfterHibernation) {
  ParserLimits limits;
  limits.max_element_size = 200;  // the header is 140 bytes
  StreamParser p(limits);
  std::vector<StreamEvent> events;
  ASSERT_EQ(p.feed(std::string(kClientHeader) + "<presence/>", events), ParseError::kNone);
  ASSERT_TRUE(p.hibernate());
  // The rebuilt root does not count towards the next element's size.
  std::string fits = "<message><body>" + std::string(200 - 32, 'x') + "</body></message>";
  ASSERT_EQ(fits.size(), 200u);
  ASSERT_EQ(p.feed(fits, events), ParseError::kNone);
  ASSERT_TRUE(p.hibernate());
  EXPECT_EQ(p.feed("<message><body>" + std::string(300, 'x'), events),
            ParseError::kPolicyViolation);

  StreamParser q;
  ASSERT_EQ(q.feed(std::string(kClientHeader) + "<presence/>", events), ParseError::kNone);
  ASSERT_TRUE(q.hibernate());
  EXPECT_EQ(q.feed("<a></b>", events), ParseError::kNotWellFormed);
  StreamParser r;
  ASSERT_EQ(r.feed(std::string(kClientHeader) + "<presence/>", events), ParseError::kNone);
  ASSERT_TRUE(r.hibernate());
  EXPECT_EQ(r.feed("<!-- no -->", events), ParseError::kRestrictedXml);
  // A wrong closing tag for the rebuilt root is still an error.
  StreamParser t;
  ASSERT_EQ(t.feed(std::string(kClientHeader), events), ParseError::kNone);
  ASSERT_TRUE(t.hibernate());
  EXPECT_EQ(t.feed("</stream:other>", events), ParseError::kNotWellFormed);
}

TEST(ParseElement, ParsesOneDocument) {
  Element e;
  ASSERT_TRUE(
      parse_element("<?xml version='1.0'?>\n<iq xmlns='jabber:client' type='result' xml:lang='en'>"
                    "<query xmlns='jabber:iq:roster'><item jid='a@b'>x</item></query></iq>\n",
                    e));
  EXPECT_EQ(e.name(), "iq");
  EXPECT_EQ(e.xmlns(), "jabber:client");
  EXPECT_EQ(e.attr_or("xml:lang"), "en");
  EXPECT_EQ(e.child("query", "jabber:iq:roster")->child_text("item"), "x");

  ASSERT_TRUE(parse_element("<a>text &amp; more</a>", e));
  EXPECT_EQ(e.xmlns(), "");
  EXPECT_EQ(e.text(), "text & more");
}

TEST(ParseElement, RejectsWhatTheStreamRejects) {
  Element e("unchanged", "");
  EXPECT_FALSE(parse_element("", e));
  EXPECT_FALSE(parse_element("<a>", e));
  EXPECT_FALSE(parse_element("<a/><b/>", e));
  EXPECT_FALSE(parse_element("<a/>text", e));
  EXPECT_FALSE(parse_element("<a><!-- c --></a>", e));
  EXPECT_FALSE(parse_element("<a><?pi?></a>", e));
  EXPECT_FALSE(parse_element("<!DOCTYPE a><a/>", e));
  EXPECT_FALSE(parse_element("<a>&foo;</a>", e));
  EXPECT_FALSE(parse_element("\xef\xbb\xbf<a/>", e));
  EXPECT_FALSE(parse_element("<p:a/>", e));
  EXPECT_FALSE(parse_element(std::string("<a>\0</a>", 8), e));
  EXPECT_EQ(e.name(), "unchanged");
}

TEST(ParseElement, RoundTripsThroughTheWriter) {
  const std::string xml =
      "<message xmlns='jabber:client' to='a@b' xml:lang='en' xmlns:ns0='urn:x' ns0:k='v'>"
      "<body>a &amp; b &lt;c&gt;&#13;\n</body><thread xmlns=''/>"
      "<stream:error xmlns:stream='http://etherx.jabber.org/streams'/></message>";
  Element e;
  ASSERT_TRUE(parse_element(xml, e));
  EXPECT_EQ(e.child_text("body"), "a & b <c>\r\n");
  EXPECT_EQ(e.child("thread")->xmlns(), "");
  EXPECT_EQ(e.child("error")->xmlns(), kStreamNs);
  std::string out = to_string(e);
  EXPECT_EQ(out,
            "<message xmlns='jabber:client' to='a@b' xml:lang='en' xmlns:ns0='urn:x' ns0:k='v'>"
            "<body>a &amp; b &lt;c&gt;&#13;\n</body><thread xmlns=''/><stream:error/></message>");
}

}  // namespace
}  // namespace starling::xml
