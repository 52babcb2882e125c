#pragma once
// TLS contexts (OpenSSL 3 through asio::ssl): TLS 1.2+ only (RFC 7590), no compression,
// ALPN "xmpp-client" for direct TLS (XEP-0368). Certificates from configuration or a self-signed
// one made in the data directory. reload() (SIGHUP) swaps in freshly loaded certificates; streams
// already running keep the context they started with.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sasl.hpp"
#include "base/result.hpp"

struct ssl_st;

namespace starling::net {

struct CertificatePaths {
  std::filesystem::path certificate;
  std::filesystem::path key;
};

class TlsManager {
 public:
  // Uses the configured paths, or makes/reuses a self-signed certificate for `domains` in
  // data_dir/tls/. Errors name the file.
  static Result<std::shared_ptr<TlsManager>> create(
      const std::optional<std::filesystem::path>& cert,
      const std::optional<std::filesystem::path>& key, const std::filesystem::path& data_dir,
      const std::vector<std::string>& domains);

  std::shared_ptr<boost::asio::ssl::context> context() const { return ctx_.load(); }
  // Reloads the certificate and key (and the s2s CA file) into new c2s and s2s contexts; on an
  // error nothing changes.
  Result<void> reload();

  // Server-to-server contexts (RFC 6120 §13.7.2, RFC 7590, XEP-0178), built from the same
  // certificate and reloaded with it. Both verify the peer's chain against the CA store
  // (set_s2s_ca_file, or the system's default paths) but never fail the handshake over it: the
  // stream decides (SASL EXTERNAL when peer_certificate() authenticates the peer's domain, else
  // dialback or nothing, by policy).
  //  - server side: asks for (does not require) a client certificate; ALPN "xmpp-server" for
  //    direct TLS (XEP-0368).
  //  - client side: presents our certificate (for the peer's SASL EXTERNAL); the caller sets SNI
  //    and ALPN per connection (Transport::handshake_client).
  // Both: TLS 1.2+, verify depth 8, no session resumption (a resumed session would carry the
  // verification result of an earlier connection across a CA reload). The contexts are built on
  // first use (or by set_s2s_ca_file) so a server without s2s never loads a CA store; any thread.
  // nullptr only when building them on first use failed (the certificate files became unreadable
  // since start; logged).
  std::shared_ptr<boost::asio::ssl::context> s2s_server_context() const;
  std::shared_ptr<boost::asio::ssl::context> s2s_client_context() const;
  // The CA certificates (PEM file) that peers' chains must lead to; std::nullopt: the system's
  // store. Call before the first s2s_*_context(); errors name the file. Builds the s2s contexts.
  Result<void> set_s2s_ca_file(std::optional<std::filesystem::path> ca_file);
  const CertificatePaths& paths() const { return paths_; }

  explicit TlsManager(CertificatePaths p) : paths_(std::move(p)) {}

 private:
  struct S2sContexts {
    std::shared_ptr<boost::asio::ssl::context> server, client;
  };
  static Result<S2sContexts> make_s2s_contexts(const CertificatePaths& p,
                                               const std::optional<std::filesystem::path>& ca);
  void ensure_s2s() const;

  CertificatePaths paths_;
  std::atomic<std::shared_ptr<boost::asio::ssl::context>> ctx_;
  // s2s: built lazily under s2s_mutex_ (set-up and reload only; readers load the atomics).
  mutable std::mutex s2s_mutex_;
  std::optional<std::filesystem::path> s2s_ca_file_;
  mutable bool s2s_built_ = false;
  mutable std::atomic<std::shared_ptr<boost::asio::ssl::context>> s2s_server_ctx_;
  mutable std::atomic<std::shared_ptr<boost::asio::ssl::context>> s2s_client_ctx_;
};

// Builds a server context from PEM files; errors name the file and OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(const CertificatePaths& p);

// Writes a self-signed certificate (EC P-256, SAN = domains) and its key (mode 0600).
Result<void> make_self_signed(const CertificatePaths& p, const std::vector<std::string>& domains);

// Facts about a certificate file, for starlingctl check.
struct CertificateInfo {
  std::vector<std::string> dns_names;  // subjectAltName DNS entries (or CN when none)
  bool expired = false;
  long days_left = 0;
};
Result<CertificateInfo> inspect_certificate(const std::filesystem::path& cert);
// RFC 6125 DNS-ID matching, including a leftmost "*." wildcard.
bool certificate_matches(const CertificateInfo& info, const std::string& domain);
// One presented identifier against one reference domain (RFC 6125 §6.4): case-insensitive ASCII,
// a trailing dot ignored, a reference in U-labels compared in its A-label form; "*" only as the
// complete leftmost label of the presented identifier, matching exactly one non-empty label.
bool dns_id_matches(std::string_view presented, std::string_view domain);

// The peer's certificate as an established TLS connection saw it.
struct PeerCertificate {
  bool presented = false;    // the peer sent a certificate
  bool chain_valid = false;  // it chains to the CA store and is within its validity period
  std::string chain_error;   // why not, e.g. "unable to get local issuer certificate"
  // RFC 6125 identifiers, lower-cased A-labels: subjectAltName dNSName entries, SRV-IDs
  // "_xmpp-server.example.net" reduced to their domain (RFC 6120 §13.7.1.2; other services are
  // left out), XmppAddr entries that are a bare domain (RFC 6120 §13.7.1.4, converted to
  // A-labels), and the CN only when the certificate has none of these nor a URI-ID
  // (RFC 6125 §6.4.4).
  std::vector<std::string> dns_ids;
};
PeerCertificate peer_certificate(ssl_st* ssl);
// The certificate authenticates `domain`: presented, chain valid, and one of dns_ids matches it
// (dns_id_matches).
bool authenticates(const PeerCertificate& cert, std::string_view domain);

// Channel-binding data of an established TLS connection.
auth::ChannelBindings channel_bindings(ssl_st* ssl);

}  // namespace starling::net
