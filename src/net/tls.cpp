#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

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

// XEP-0368 §3: direct TLS clients offer ALPN "xmpp-client"; select it when offered and otherwise
// continue without ALPN so clients that do not send it still connect.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned int i = 0;
  while (i < inlen) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) {
      break;
    }
    if (len == sizeof(kAlpnClient) - 1 && std::memcmp(in + i + 1, kAlpnClient, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
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

Result<std::shared_ptr<ssl::context>> make_server_context(const CertificatePaths& p) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // RFC 7590 / RFC 7525: TLS 1.2 or newer, no TLS compression.
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
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  // Resumption works through stateless tickets (RFC 8446 §4.6.1, RFC 5077), so the server keeps
  // no per-client session cache: it would hold about a kilobyte per recent client and be swept
  // under a lock. One ticket per connection is enough for a client to resume once.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 1);
  return ctx;
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

bool certificate_matches(const CertificateInfo& info, const std::string& domain) {
  auto lower = [](std::string s) {
    for (auto& c : s) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  };
  std::string d = lower(domain);
  for (const auto& raw : info.dns_names) {
    std::string n = lower(raw);
    if (n == d) {
      return true;
    }
    // RFC 6125 §6.4.3: "*." matches exactly one leftmost label.
    if (n.size() > 2 && n[0] == '*' && n[1] == '.') {
      auto dot = d.find('.');
      if (dot != std::string::npos && dot > 0 && d.substr(dot + 1) == n.substr(2)) {
        return true;
      }
    }
  }
  return false;
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
  ctx_.store(*ctx);
  return {};
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
