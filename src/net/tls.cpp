#include "net/tls.hpp"

#include <idn2.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <system_error>

#include "base/log.hpp"

namespace starling::net {

namespace {

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr unsigned char kAlpnClient[] = "xmpp-client";
constexpr unsigned char kAlpnServer[] = "xmpp-server";

// Finds `proto` (length-prefixed list `in`, RFC 7301 §3.1) and points `out` at it.
template <std::size_t N>
int select_protocol(const unsigned char (&proto)[N], const unsigned char** out,
                    unsigned char* outlen, const unsigned char* in, unsigned int inlen) {
  unsigned int i = 0;
  while (i < inlen) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) {
      break;
    }
    if (len == N - 1 && std::memcmp(in + i + 1, proto, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// XEP-0368 §3: direct TLS clients offer ALPN "xmpp-client"; select it when offered and otherwise
// continue without ALPN so clients that do not send it still connect.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  return select_protocol(kAlpnClient, out, outlen, in, inlen);
}

// The same for servers connecting to the s2s ports: "xmpp-server" (XEP-0368 §3, last rule).
int select_alpn_s2s(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void*) {
  return select_protocol(kAlpnServer, out, outlen, in, inlen);
}

// s2s: the chain is verified, but its verdict never fails the handshake; it stays in the
// connection (SSL_get_verify_result) for peer_certificate(), and the stream decides.
int keep_verify_result(int, X509_STORE_CTX*) { return 1; }

std::string lower_copy(std::string_view in) {
  std::string s(in);
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

// RFC 6125 §6.4: identifiers compare in lower case (ASCII only), without a trailing dot.
std::string ascii_lower(std::string_view in) {
  std::string s = lower_copy(in);
  if (!s.empty() && s.back() == '.') {
    s.pop_back();
  }
  return s;
}

// A domain in its lower-case A-label form (RFC 6125 §6.4.2: IDNs compare as A-labels);
// std::nullopt when it is not a valid IDN.
std::optional<std::string> to_a_label(std::string_view domain) {
  bool ascii = std::all_of(domain.begin(), domain.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    return ascii_lower(domain);
  }
  char* raw = nullptr;
  std::string in(domain);
  if (idn2_to_ascii_8z(in.c_str(), &raw, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
    idn2_free(raw);
    return std::nullopt;
  }
  std::string out = ascii_lower(raw);
  idn2_free(raw);
  return out;
}

Result<X509Ptr> load_cert(const fs::path& path) {
  FilePtr f(std::fopen(path.c_str(), "r"));
  if (!f) {
    return make_error(path.string() + ": cannot read: " + std::strerror(errno));
  }
  X509Ptr x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!x) {
    return make_error(path.string() + ": not a PEM certificate: " + openssl_error());
  }
  return x;
}

}  // namespace

namespace {

// TLS 1.2 or newer, no compression or renegotiation, the cipher list for TLS 1.2 (RFC 7590,
// RFC 7525), and our certificate chain and key.
Result<void> configure_common(SSL_CTX* native, const CertificatePaths& p) {
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!MD5:!DSS");
  if (SSL_CTX_use_certificate_chain_file(native, p.certificate.c_str()) != 1) {
    return make_error(p.certificate.string() + ": cannot load certificate: " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(native, p.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error(p.key.string() + ": cannot load private key: " + openssl_error());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return make_error(p.key.string() + ": private key does not match " + p.certificate.string());
  }
  return {};
}

struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};

// s2s peer verification: against `store`, never failing the handshake, at most 8 intermediate
// levels (real chains have one or two).
void configure_s2s_verify(SSL_CTX* native, X509_STORE* store) {
  SSL_CTX_set1_cert_store(native, store);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, keep_verify_result);
  SSL_CTX_set_verify_depth(native, 8);
  // The peer is an XMPP server in both directions and authenticates with its server certificate
  // also when it connects to us (RFC 6120 §13.7.2.1); CAs issue serverAuth-only certificates, so
  // the incoming side checks the same purpose as the outgoing one rather than OpenSSL's default
  // "ssl_client" for a server verifying its client.
  SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_SERVER);
  // No resumption: a resumed session would skip the certificate exchange and bring back the
  // verify result of an earlier connection, perhaps made before a CA reload. s2s links are few
  // and long-lived, so full handshakes cost little.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(native, 0);
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_context(const CertificatePaths& p) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (auto r = configure_common(native, p); !r) {
    return r.error();
  }
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  // Resumption works through stateless tickets (RFC 8446 §4.6.1, RFC 5077), so the server keeps
  // no per-client session cache: it would hold about a kilobyte per recent client and be swept
  // under a lock. One ticket per connection is enough for a client to resume once.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 1);
  return ctx;
}

Result<TlsManager::S2sContexts> TlsManager::make_s2s_contexts(const CertificatePaths& p,
                                                              const std::optional<fs::path>& ca) {
  // One CA store for both contexts (it can hold the whole system bundle).
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store) {
    return make_error("cannot make a certificate store: " + openssl_error());
  }
  if (ca) {
    if (!fs::exists(*ca)) {
      return make_error(ca->string() + ": cannot read: no such file");
    }
    if (X509_STORE_load_file(store.get(), ca->c_str()) != 1) {
      return make_error(ca->string() + ": cannot load CA certificates: " + openssl_error());
    }
  } else if (X509_STORE_set_default_paths(store.get()) != 1) {
    // A system without a CA bundle: every peer chain fails verification, which the stream
    // reports; not a reason to refuse s2s altogether.
    log::warn("tls: cannot load the system's CA certificates: {}", openssl_error());
  }
  ERR_clear_error();
  S2sContexts out;
  out.server = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* server = out.server->native_handle();
  if (auto r = configure_common(server, p); !r) {
    return r.error();
  }
  configure_s2s_verify(server, store.get());
  // Asks for a client certificate without requiring one (no SSL_VERIFY_FAIL_IF_NO_PEER_CERT):
  // peers without one use dialback. The session id context is what OpenSSL wants whenever a
  // server verifies client certificates.
  static constexpr unsigned char kSidContext[] = "starling-s2s";
  SSL_CTX_set_session_id_context(server, kSidContext, sizeof(kSidContext) - 1);
  SSL_CTX_set_alpn_select_cb(server, select_alpn_s2s, nullptr);

  out.client = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* client = out.client->native_handle();
  if (auto r = configure_common(client, p); !r) {
    return r.error();
  }
  configure_s2s_verify(client, store.get());
  return out;
}

Result<void> make_self_signed(const CertificatePaths& p, const std::vector<std::string>& domains) {
  std::error_code ec;
  fs::create_directories(p.certificate.parent_path(), ec);
  if (ec) {
    return make_error(p.certificate.parent_path().string() + ": cannot create: " + ec.message());
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return make_error("cannot generate a key: " + openssl_error());
  }
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3650L * 24 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string& cn = domains.empty() ? std::string("localhost") : domains.front();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Starling self-signed"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  std::string san;
  for (const auto& d : domains) {
    if (!san.empty()) {
      san += ",";
    }
    san += "DNS:" + d;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) {
    return make_error("cannot sign the certificate: " + openssl_error());
  }
  {
    // The key is written with mode 0600 from the start.
    mode_t old = ::umask(077);
    FilePtr kf(std::fopen(p.key.c_str(), "w"));
    ::umask(old);
    if (!kf ||
        PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return make_error(p.key.string() + ": cannot write: " + std::strerror(errno));
    }
  }
  FilePtr cf(std::fopen(p.certificate.c_str(), "w"));
  if (!cf || PEM_write_X509(cf.get(), x.get()) != 1) {
    return make_error(p.certificate.string() + ": cannot write: " + std::strerror(errno));
  }
  return {};
}

Result<CertificateInfo> inspect_certificate(const fs::path& cert) {
  auto x = load_cert(cert);
  if (!x) {
    return x.error();
  }
  CertificateInfo info;
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x->get(), NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* s = gn->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (info.dns_names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x->get()), NID_commonName, cn, sizeof cn) >
        0) {
      info.dns_names.emplace_back(cn);
    }
  }
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x->get()));
  info.days_left = days;
  info.expired = days < 0 || (days == 0 && secs < 0);
  return info;
}

bool dns_id_matches(std::string_view presented, std::string_view domain) {
  auto reference = to_a_label(domain);
  if (!reference || reference->empty() || reference->find('*') != std::string::npos) {
    return false;
  }
  const std::string& d = *reference;
  std::string n = ascii_lower(presented);
  if (n.empty()) {
    return false;
  }
  // RFC 6125 §6.4.3: "*" only as the complete leftmost label, matching exactly one label
  // ("*.example.net" matches "a.example.net", neither "example.net" nor "b.a.example.net").
  if (n.size() > 2 && n[0] == '*' && n[1] == '.') {
    std::string_view base = std::string_view(n).substr(2);
    auto dot = d.find('.');
    return base.find('*') == std::string_view::npos && dot != std::string::npos && dot > 0 &&
           std::string_view(d).substr(dot + 1) == base;
  }
  // A "*" anywhere else (partial-label wildcards, RFC 6125 §6.4.3's MAY) never matches.
  return n.find('*') == std::string::npos && n == d;
}

bool certificate_matches(const CertificateInfo& info, const std::string& domain) {
  return std::any_of(info.dns_names.begin(), info.dns_names.end(),
                     [&](const std::string& n) { return dns_id_matches(n, domain); });
}

PeerCertificate peer_certificate(SSL* ssl) {
  PeerCertificate out;
  X509* x = ssl != nullptr ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (x == nullptr) {
    return out;
  }
  out.presented = true;
  long verify = SSL_get_verify_result(ssl);
  out.chain_valid = verify == X509_V_OK;
  if (!out.chain_valid) {
    out.chain_error = X509_verify_cert_error_string(verify);
  }
  auto add = [&](std::string id) {
    if (!id.empty() && std::find(out.dns_ids.begin(), out.dns_ids.end(), id) == out.dns_ids.end()) {
      out.dns_ids.push_back(std::move(id));
    }
  };
  auto text = [](const ASN1_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
  };
  // An identifier with an embedded NUL is a forgery attempt; it matches nothing.
  auto clean = [](const std::string& s) { return s.find('\0') == std::string::npos; };
  bool has_san_id = false;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      has_san_id = true;
      if (std::string s = text(gn->d.dNSName); clean(s)) {
        add(ascii_lower(s));
      }
    } else if (gn->type == GEN_URI) {
      has_san_id = true;  // a URI-ID also rules the CN out (RFC 6125 §6.4.4)
    } else if (gn->type == GEN_OTHERNAME) {
      int nid = OBJ_obj2nid(gn->d.otherName->type_id);
      const ASN1_TYPE* value = gn->d.otherName->value;
      if (nid == NID_SRVName && value->type == V_ASN1_IA5STRING) {
        // RFC 4985 SRVName "_service.name"; RFC 6120 §13.7.1.2: "_xmpp-server" for s2s.
        has_san_id = true;
        std::string s = lower_copy(text(value->value.ia5string));
        static constexpr std::string_view kService = "_xmpp-server.";
        if (clean(s) && s.size() > kService.size() && s.starts_with(kService) &&
            s.find('*') == std::string::npos) {
          add(ascii_lower(s.substr(kService.size())));
        }
      } else if (nid == NID_XmppAddr && value->type == V_ASN1_UTF8STRING) {
        // RFC 6120 §13.7.1.4: a UTF-8 JID; only a bare domain names a server.
        has_san_id = true;
        std::string s = text(value->value.utf8string);
        if (clean(s) && s.find_first_of("@/*") == std::string::npos) {
          if (auto a = to_a_label(s)) {
            add(*a);
          }
        }
      }
    }
  }
  GENERAL_NAMES_free(sans);
  if (!has_san_id) {
    // RFC 6125 §6.4.4: the CN only as a last resort; the most specific (last) one.
    const X509_NAME* name = X509_get_subject_name(x);
    int last = -1;
    for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) {
      last = i;
    }
    if (last >= 0) {
      const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, cn);
      if (len > 0) {
        std::string s(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
        if (clean(s)) {
          if (auto a = to_a_label(s)) {
            add(*a);
          }
        }
      }
      OPENSSL_free(utf8);
    }
  }
  return out;
}

bool authenticates(const PeerCertificate& cert, std::string_view domain) {
  return cert.presented && cert.chain_valid &&
         std::any_of(cert.dns_ids.begin(), cert.dns_ids.end(),
                     [&](const std::string& id) { return dns_id_matches(id, domain); });
}

Result<std::shared_ptr<TlsManager>> TlsManager::create(const std::optional<fs::path>& cert,
                                                       const std::optional<fs::path>& key,
                                                       const fs::path& data_dir,
                                                       const std::vector<std::string>& domains) {
  CertificatePaths paths;
  if (cert && key) {
    paths = {*cert, *key};
  } else {
    paths = {data_dir / "tls" / "selfsigned.crt", data_dir / "tls" / "selfsigned.key"};
    bool usable = false;
    if (fs::exists(paths.certificate) && fs::exists(paths.key)) {
      auto info = inspect_certificate(paths.certificate);
      usable = info.ok() && !info->expired && info->days_left > 7;
      for (const auto& d : domains) {
        usable = usable && certificate_matches(*info, d);
      }
    }
    if (!usable) {
      log::info("tls: making a self-signed certificate in {}", paths.certificate.string());
      if (auto r = make_self_signed(paths, domains); !r) {
        return r.error();
      }
    }
  }
  auto m = std::make_shared<TlsManager>(paths);
  auto ctx = make_server_context(paths);
  if (!ctx) {
    return ctx.error();
  }
  m->ctx_.store(*ctx);
  return m;
}

Result<void> TlsManager::reload() {
  auto ctx = make_server_context(paths_);
  if (!ctx) {
    return ctx.error();
  }
  std::lock_guard lock(s2s_mutex_);
  if (s2s_built_) {
    auto s2s = make_s2s_contexts(paths_, s2s_ca_file_);
    if (!s2s) {
      return s2s.error();
    }
    s2s_server_ctx_.store(s2s->server);
    s2s_client_ctx_.store(s2s->client);
  }
  ctx_.store(*ctx);
  return {};
}

Result<void> TlsManager::set_s2s_ca_file(std::optional<fs::path> ca_file) {
  std::lock_guard lock(s2s_mutex_);
  auto s2s = make_s2s_contexts(paths_, ca_file);
  if (!s2s) {
    return s2s.error();
  }
  s2s_ca_file_ = std::move(ca_file);
  s2s_server_ctx_.store(s2s->server);
  s2s_client_ctx_.store(s2s->client);
  s2s_built_ = true;
  return {};
}

void TlsManager::ensure_s2s() const {
  std::lock_guard lock(s2s_mutex_);
  if (s2s_built_) {
    return;
  }
  auto s2s = make_s2s_contexts(paths_, s2s_ca_file_);
  if (!s2s) {
    // The certificate loaded a moment ago for c2s; this is a file replaced under us.
    log::error("tls: cannot make the s2s TLS contexts: {}", s2s.error().message);
    return;
  }
  s2s_server_ctx_.store(s2s->server);
  s2s_client_ctx_.store(s2s->client);
  s2s_built_ = true;
}

std::shared_ptr<ssl::context> TlsManager::s2s_server_context() const {
  if (auto c = s2s_server_ctx_.load()) {
    return c;
  }
  ensure_s2s();
  return s2s_server_ctx_.load();
}

std::shared_ptr<ssl::context> TlsManager::s2s_client_context() const {
  if (auto c = s2s_client_ctx_.load()) {
    return c;
  }
  ensure_s2s();
  return s2s_client_ctx_.load();
}

auth::ChannelBindings channel_bindings(SSL* ssl) {
  auth::ChannelBindings cb;
  // RFC 9266: tls-exporter is only defined where the master secret is bound to the session:
  // TLS 1.3, or TLS 1.2 with the extended master secret extension.
  bool tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
  if (tls13 || SSL_get_extms_support(ssl) == 1) {
    unsigned char out[32];
    static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl, out, sizeof out, kLabel, sizeof(kLabel) - 1, nullptr, 0,
                                   0) == 1) {
      cb.tls_exporter.assign(reinterpret_cast<char*>(out), sizeof out);
    }
  }
  // RFC 5929 §3.1: tls-unique is the first Finished message of the handshake; on the server
  // side of a full handshake that is the client's Finished.
  // COMPAT: RFC 8446 §C.5 leaves tls-unique undefined for TLS 1.3, but clients built on
  // OpenSSL (slixmpp, and so every Python bot) use SCRAM-*-PLUS with p=tls-unique there anyway,
  // computing it as the client's Finished message. If we do not match it, such a client can
  // never log in: its non-PLUS attempts carry the 'y' flag, which RFC 5802 §6 obliges us to
  // refuse since we do support channel binding. The client Finished of a TLS 1.3 handshake is
  // still unique to this connection.
  unsigned char fin[64];
  std::size_t n = (!tls13 && SSL_session_reused(ssl)) ? SSL_get_finished(ssl, fin, sizeof fin)
                                                      : SSL_get_peer_finished(ssl, fin, sizeof fin);
  if (n > 0 && n <= sizeof fin) {
    cb.tls_unique.assign(reinterpret_cast<char*>(fin), n);
  }
  // RFC 5929 §4.1: tls-server-end-point is the hash of our certificate as it appears in the
  // Certificate message (its DER encoding), with the hash function of the certificate's
  // signatureAlgorithm, where MD5 and SHA-1 are replaced by SHA-256. For a signatureAlgorithm with
  // no single hash function (e.g. Ed25519) the binding is undefined and we offer none.
  if (X509* cert = SSL_get_certificate(ssl); cert != nullptr) {
    int md_nid = NID_undef;
    const EVP_MD* md = nullptr;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) == 1 &&
        md_nid != NID_undef) {
      md = EVP_get_digestbynid(md_nid == NID_md5 || md_nid == NID_sha1 ? NID_sha256 : md_nid);
    }
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (md != nullptr && X509_digest(cert, md, hash, &len) == 1 && len > 0) {
      cb.tls_server_end_point.assign(reinterpret_cast<char*>(hash), len);
    } else {
      ERR_clear_error();  // leave no stale error behind for the next SSL_get_error()
    }
  }
  return cb;
}

}  // namespace starling::net
