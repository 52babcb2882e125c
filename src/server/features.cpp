#include "server/features.hpp"

#include <algorithm>
#include <vector>

#include "module/module.hpp"
#include "modules/module_list.hpp"
#include "xml/writer.hpp"

namespace starling::server {

namespace {
// What the core (not a module) implements.
std::vector<module::SpecInfo> core_specs() {
  return {
      {"RFC 6120", "", "complete",
       "client and server-to-server streams, STARTTLS, SASL, resource binding, stanza and "
       "stream errors, restricted XML; s2s: DNS SRV with A/AAAA fallback (c-ares), one link "
       "per domain pair with queueing, bounces (remote-server-not-found/-timeout), back-off "
       "and idle close, <invalid-from/> and <host-unknown/> for stanzas a peer may not send; "
       "XEP-0199 pings of quiet links (dead ones closed)",
       "tests/e2e/test_streams.py, tests/e2e/test_sasl.py, tests/e2e/test_clients.py, "
       "tests/e2e/test_s2s.py, tests/e2e/test_s2s_interop.py, src/xml/*_test.cpp, "
       "src/net/dns_test.cpp"},
      {"RFC 6121", "", "complete",
       "§8.5 delivery rules for every stanza type to bare JIDs, full JIDs, unavailable and "
       "non-existent accounts; iq to a resource only from those who share its presence "
       "(§8.5.3.1); rosters, subscriptions and presence in module rfc6121_roster, offline "
       "storage in xep0160_offline",
       "tests/e2e/test_message_rules.py, tests/e2e/test_routing.py, "
       "tests/e2e/test_presence.py"},
      {"RFC 7622", "", "complete", "PRECIS (UsernameCaseMapped, OpaqueString), IDNA2008",
       "src/xmpp/jid_test.cpp"},
      {"RFC 7590", "", "complete", "TLS 1.2+ for client and server streams",
       "tests/e2e/test_streams.py, tests/e2e/test_s2s.py"},
      {"RFC 6125", "", "complete",
       "peer certificates of servers: DNS-ID (one-label leftmost wildcard), SRV-ID "
       "_xmpp-server, XmppAddr, CN only without them; chains checked against `s2s.ca_file` or "
       "the system store",
       "src/net/tls_test.cpp, tests/e2e/test_s2s.py"},
      {"XEP-0178", "1.2", "complete",
       "SASL EXTERNAL between servers, offered only when the peer's certificate authenticates "
       "its domain; authzid checked; used for outgoing links when offered",
       "tests/e2e/test_s2s.py, tests/e2e/test_s2s_interop.py"},
      {"XEP-0220", "1.1.1", "complete",
       "Server Dialback with dialback errors, as receiving, originating and authoritative "
       "server; a valid certificate short-cuts verification (XEP-0344); required certificates "
       "by default (`s2s.require_valid_certificates`); unsolicited answers ignored",
       "tests/e2e/test_s2s.py, tests/e2e/test_s2s_interop.py"},
      {"XEP-0185", "1.0", "complete", "dialback keys as HMAC-SHA256 of the recommended inputs",
       "src/stream/s2s/dialback_test.cpp, tests/e2e/test_s2s_interop.py"},
      {"RFC 5802 / RFC 7677", "", "complete",
       "SCRAM-SHA-1, SCRAM-SHA-256 and -PLUS with tls-exporter, tls-server-end-point and "
       "tls-unique",
       "src/auth/scram_test.cpp, src/auth/sasl_test.cpp, tests/e2e/test_sasl.py"},
      {"RFC 4616", "", "complete", "PLAIN, only over TLS", "tests/e2e/test_sasl.py"},
      {"RFC 3921 §3", "", "complete", "legacy session establishment answered",
       "tests/e2e/test_streams.py"},
      {"XEP-0368", "1.1.0", "complete",
       "direct TLS for clients (ALPN xmpp-client) and servers (ALPN xmpp-server, "
       "_xmpps-server SRV records ordered with _xmpp-server ones)",
       "tests/e2e/test_streams.py, tests/e2e/test_clients.py, tests/e2e/test_s2s.py, "
       "src/net/dns_test.cpp"},
      {"XEP-0440", "0.4.2", "complete", "advertises the channel-binding types offered",
       "tests/e2e/test_sasl.py"},
      {"RFC 4505", "", "complete",
       "SASL ANONYMOUS, only on `anonymous_domains` (and the only mechanism there; elsewhere "
       "<invalid-mechanism/>): each login gets a fresh random account that is deleted with all "
       "its data, contacts told, when the session ends (or at start-up after a crash); trace "
       "information logged, at most 255 characters; no in-band registration there; the trace "
       "profile's bidirectional check is not applied",
       "tests/e2e/test_anonymous.py, src/auth/anonymous_test.cpp"},
      {"XEP-0106", "1.1.1", "complete",
       "escaped localparts are ordinary JIDs (never unescaped in routing or comparison); "
       "`starlingctl` escapes a typed localpart that needs it and stores the escaped form; "
       "escape/unescape library",
       "src/xmpp/jid_test.cpp, tests/e2e/test_jid_escaping.py"},
      {"XEP-0138", "2.1", "complete",
       "zlib stream compression, off by default (CRIME-style attacks next to TLS, XEP-0138 §7), "
       "per listener (`compression = true`); offered after SASL, before binding (XEP-0170); "
       "inflated input bounded by the stanza size limit",
       "tests/e2e/test_compression.py, src/stream/compress_test.cpp"},
  };
}

}  // namespace

namespace {
constexpr std::string_view kDoap = "http://usefulinc.com/ns/doap#";
constexpr std::string_view kRdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr std::string_view kXmppDoap = "https://linkmauve.fr/ns/xmpp-doap#";

// Every 4-digit number following `prefix` in `spec` ("RFC 5802 / RFC 7677" -> 5802, 7677).
std::vector<std::string> numbers_after(const std::string& spec, std::string_view prefix) {
  std::vector<std::string> out;
  for (std::size_t at = spec.find(prefix); at != std::string::npos;
       at = spec.find(prefix, at + 1)) {
    std::size_t b = at + prefix.size();
    if (b + 4 <= spec.size() && std::all_of(spec.begin() + static_cast<std::ptrdiff_t>(b),
                                            spec.begin() + static_cast<std::ptrdiff_t>(b + 4),
                                            [](char c) { return c >= '0' && c <= '9'; })) {
      out.push_back(spec.substr(b, 4));
    }
  }
  return out;
}

void add_text_child(xml::Element& parent, std::string_view ns, std::string name,
                    const std::string& text) {
  parent.add_child(std::move(name), std::string(ns)).add_text(text);
}
}  // namespace

std::string doap_xml() {
  xml::Element rdf("RDF", std::string(kRdf));
  auto& project = rdf.add_child("Project", std::string(kDoap));
  add_text_child(project, kDoap, "name", "Starling");
  add_text_child(project, kDoap, "shortdesc", "An XMPP server in C++20");
  add_text_child(project, kDoap, "programming-language", "C++");
  const std::string rdf_resource = "{" + std::string(kRdf) + "}resource";
  std::vector<module::SpecInfo> all = core_specs();
  for (const auto& m : modules::create_all()) {
    for (const auto& s : m->specs()) {
      all.push_back(s);
    }
  }
  std::vector<std::string> rfcs_done;
  for (const auto& s : all) {
    auto xeps = numbers_after(s.spec, "XEP-");
    if (!xeps.empty()) {
      auto& impl = project.add_child("implements", std::string(kDoap));
      auto& sx = impl.add_child("SupportedXep", std::string(kXmppDoap));
      sx.add_child("xep", std::string(kXmppDoap))
          .set_attr(rdf_resource, "https://xmpp.org/extensions/xep-" + xeps.front() + ".html");
      if (!s.version.empty()) {
        add_text_child(sx, kXmppDoap, "version", s.version);
      }
      add_text_child(sx, kXmppDoap, "status", s.status);
      if (!s.note.empty()) {
        add_text_child(sx, kXmppDoap, "note", s.note);
      }
      continue;
    }
    for (const auto& n : numbers_after(s.spec, "RFC ")) {
      if (std::find(rfcs_done.begin(), rfcs_done.end(), n) != rfcs_done.end()) {
        continue;
      }
      rfcs_done.push_back(n);
      project.add_child("implements", std::string(kDoap))
          .set_attr(rdf_resource, "https://www.rfc-editor.org/info/rfc" + n);
    }
  }
  return "<?xml version='1.0' encoding='UTF-8'?>\n" + xml::to_string(rdf) + "\n";
}

std::string features_markdown() {
  std::string out =
      "# Features\n\n"
      "Generated by `starling --features-markdown` from the core's and each module's declaration;\n"
      "CTest (`docs_features`) fails when this file is stale.\n\n"
      "| spec | version | status | notes | tests |\n"
      "| --- | --- | --- | --- | --- |\n";
  auto row = [&out](const module::SpecInfo& s, const std::string& module) {
    out += "| " + s.spec + " | " + s.version + " | " + s.status + " | " + s.note +
           (module.empty() ? "" : " (module `" + module + "`)") + " | " + s.tests + " |\n";
  };
  for (const auto& s : core_specs()) {
    row(s, "");
  }
  for (const auto& m : modules::create_all()) {
    for (const auto& s : m->specs()) {
      row(s, std::string(m->name()));
    }
  }
  return out;
}

}  // namespace starling::server
