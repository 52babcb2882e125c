#pragma once
// TLS contexts (OpenSSL 3 through asio::ssl): TLS 1.2+ only (RFC 7590), no compression,
// ALPN "xmpp-client" for direct TLS (XEP-0368). Certificates from configuration or a self-signed
// one made in the data directory. reload() (SIGHUP) swaps in freshly loaded certificates; streams
// already running keep the context they started with.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <string>
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
  Result<void> reload();
  const CertificatePaths& paths() const { return paths_; }

  explicit TlsManager(CertificatePaths p) : paths_(std::move(p)) {}

 private:
  CertificatePaths paths_;
  std::atomic<std::shared_ptr<boost::asio::ssl::context>> ctx_;
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

// Channel-binding data of an established TLS connection.
auth::ChannelBindings channel_bindings(ssl_st* ssl);

}  // namespace starling::net
