// s2s TLS: the s2s contexts of TlsManager, peer_certificate / authenticates and
// Transport::handshake_client, over real loopback connections between two Transports, with a
// CA and certificates made here.
#include "net/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "net/transport.hpp"

namespace starling::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct Identity {
  PkeyPtr key;
  X509Ptr cert;
};

struct CertSpec {
  std::string cn;
  std::string san;  // OpenSSL config syntax: "DNS:a.test,otherName:..." ("" for none)
  bool ca = false;
  long not_before = -3600;     // seconds from now
  long not_after = 24 * 3600;  // seconds from now
};

// Issues a certificate for a fresh key, signed by `issuer` (self-signed when null).
Identity issue(const CertSpec& spec, const Identity* issuer) {
  static long serial = 1;
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  if (spec.ca) {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, issuer_cert, NID_basic_constraints, "CA:FALSE");
    // serverAuth only, as public CAs issue them now: also what a peer presents as a client.
    add_ext(x, issuer_cert, NID_ext_key_usage, "serverAuth");
  }
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (!spec.san.empty()) {
    add_ext(x, issuer_cert, NID_subject_alt_name, spec.san);
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : id.key.get();
  EXPECT_NE(X509_sign(x, signer, EVP_sha256()), 0);
  return id;
}

void write_pem(const fs::path& cert_path, const fs::path& key_path, const Identity& id) {
  FILE* f = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, id.cert.get());
  std::fclose(f);
  if (!key_path.empty()) {
    f = std::fopen(key_path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, id.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
}

struct Side {
  bool done = false;
  error_code ec;
  PeerCertificate peer;
  std::string sni;   // server side: what the client sent
  std::string alpn;  // the protocol selected
  std::string got;   // a byte sent over the established connection
};

class S2sTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    std::string tmpl = (fs::temp_directory_path() / "starling-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ca_ = issue({"Starling Test CA", "", true}, nullptr);
    write_pem(dir_ / "ca.pem", {}, ca_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A TlsManager for `spec`, issued by the test CA (or self-signed), trusting the test CA.
  std::shared_ptr<TlsManager> manager(const std::string& name, const CertSpec& spec,
                                      bool self_signed = false) {
    Identity id = issue(spec, self_signed ? nullptr : &ca_);
    fs::path cert = dir_ / (name + ".crt"), key = dir_ / (name + ".key");
    write_pem(cert, key, id);
    auto m = TlsManager::create(cert, key, dir_, {});
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    auto r = (*m)->set_s2s_ca_file(dir_ / "ca.pem");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *m;
  }

  // Connects a client Transport (handshake_client with `client_ctx`) to a server Transport
  // (handshake with `server_ctx`) over loopback; the server then sends "s", the client "c".
  void connect(SSL_CTX* server_ctx, SSL_CTX* client_ctx, std::string sni, std::string alpn) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    server_t_.emplace(acceptor.accept());
    client_t_.emplace(std::move(client_socket));
    server_ = Side{};
    client_ = Side{};
    auto record = [](Transport& t, Side& side, bool is_server) {
      SSL* ssl = t.native_handle();
      side.peer = peer_certificate(ssl);
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(ssl, &proto, &len);
      if (proto != nullptr) {
        side.alpn.assign(reinterpret_cast<const char*>(proto), len);
      }
      if (is_server) {
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        side.sni = name != nullptr ? name : "";
      }
    };
    asio::co_spawn(
        io_,
        [&, server_ctx, record]() -> asio::awaitable<void> {
          auto hop = server_t_->handshake(server_ctx);
          server_.ec = co_await std::move(hop);
          if (!server_.ec) {
            record(*server_t_, server_, true);
            auto wop = server_t_->write("s");
            co_await std::move(wop);
            auto rop = server_t_->read();
            auto [ec, data] = co_await std::move(rop);
            server_.got.assign(data);
          }
          server_.done = true;
        },
        asio::detached);
    asio::co_spawn(
        io_,
        [&, client_ctx, sni, alpn, record]() -> asio::awaitable<void> {
          auto hop = client_t_->handshake_client(client_ctx, sni, alpn);
          client_.ec = co_await std::move(hop);
          if (!client_.ec) {
            record(*client_t_, client_, false);
            auto wop = client_t_->write("c");
            co_await std::move(wop);
            auto rop = client_t_->read();
            auto [ec, data] = co_await std::move(rop);
            client_.got.assign(data);
          }
          client_.done = true;
        },
        asio::detached);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!(server_.done && client_.done) && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(20));
      io_.restart();
    }
    ASSERT_TRUE(server_.done && client_.done) << "timed out";
  }

  void expect_connected() {
    EXPECT_FALSE(server_.ec) << server_.ec.message();
    EXPECT_FALSE(client_.ec) << client_.ec.message();
    EXPECT_EQ(server_.got, "c");
    EXPECT_EQ(client_.got, "s");
  }

  fs::path dir_;
  Identity ca_;
  asio::io_context io_;
  std::optional<Transport> server_t_, client_t_;
  Side server_, client_;
};

SSL_CTX* native(const std::shared_ptr<asio::ssl::context>& c) {
  return c ? c->native_handle() : nullptr;
}

// (a) Both certificates from the CA: each side's view of the other is valid and names the right
// domain; (e) SNI reaches the server, ALPN "xmpp-server" is selected.
TEST_F(S2sTlsTest, MutualCertificatesFromTheCa) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "server.test",
          "xmpp-server");
  expect_connected();
  // What the receiving server knows of the initiating one (RFC 6120 §13.7.2.1: checked against
  // the stream's 'from').
  EXPECT_TRUE(server_.peer.presented);
  EXPECT_TRUE(server_.peer.chain_valid) << server_.peer.chain_error;
  EXPECT_EQ(server_.peer.dns_ids, (std::vector<std::string>{"client.test"}));
  EXPECT_TRUE(authenticates(server_.peer, "client.test"));
  EXPECT_TRUE(authenticates(server_.peer, "CLIENT.test."));
  EXPECT_FALSE(authenticates(server_.peer, "server.test"));
  EXPECT_FALSE(authenticates(server_.peer, "other.test"));
  // And the initiating server's view of the receiving one.
  EXPECT_TRUE(client_.peer.presented);
  EXPECT_TRUE(client_.peer.chain_valid) << client_.peer.chain_error;
  EXPECT_TRUE(authenticates(client_.peer, "server.test"));
  EXPECT_FALSE(authenticates(client_.peer, "client.test"));
  EXPECT_FALSE(authenticates(client_.peer, "sub.server.test"));
  // (e)
  EXPECT_EQ(server_.sni, "server.test");
  EXPECT_EQ(server_.alpn, "xmpp-server");
  EXPECT_EQ(client_.alpn, "xmpp-server");
}

TEST_F(S2sTlsTest, NoAlpnOfferedStillConnects) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "server.test",
          "");
  expect_connected();
  EXPECT_EQ(server_.alpn, "");
  EXPECT_TRUE(authenticates(client_.peer, "server.test"));
}

TEST_F(S2sTlsTest, OtherAlpnIsNotSelected) {
  // A client asking for "xmpp-client" on the s2s port gets no ALPN (and goes on), and the c2s
  // context still selects only "xmpp-client".
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "server.test",
          "xmpp-client");
  expect_connected();
  EXPECT_EQ(server_.alpn, "");
  connect(native(server->context()), native(client->s2s_client_context()), "server.test",
          "xmpp-server");
  expect_connected();
  EXPECT_EQ(server_.alpn, "");
  connect(native(server->context()), native(client->s2s_client_context()), "server.test",
          "xmpp-client");
  expect_connected();
  EXPECT_EQ(server_.alpn, "xmpp-client");
  // The c2s context asks for no client certificate.
  EXPECT_FALSE(server_.peer.presented);
}

// (b) RFC 6125 §6.4.3: "*" is the complete leftmost label and matches exactly one label.
TEST_F(S2sTlsTest, WildcardCertificate) {
  auto server = manager("server", {"wild", "DNS:*.example.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()),
          "a.example.test", "xmpp-server");
  expect_connected();
  ASSERT_TRUE(client_.peer.chain_valid) << client_.peer.chain_error;
  EXPECT_TRUE(authenticates(client_.peer, "a.example.test"));
  EXPECT_TRUE(authenticates(client_.peer, "B.Example.Test"));
  EXPECT_FALSE(authenticates(client_.peer, "example.test"));
  EXPECT_FALSE(authenticates(client_.peer, "x.a.example.test"));
  EXPECT_FALSE(authenticates(client_.peer, ".example.test"));
  EXPECT_FALSE(authenticates(client_.peer, "a.example.test.evil"));
}

// (c) A self-signed peer certificate: presented, not valid, and the handshake still succeeds
// (the stream decides: dialback or nothing).
TEST_F(S2sTlsTest, SelfSignedPeerIsPresentedButNotValid) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"}, /*self_signed=*/true);
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "server.test",
          "xmpp-server");
  expect_connected();
  EXPECT_TRUE(server_.peer.presented);
  EXPECT_FALSE(server_.peer.chain_valid);
  EXPECT_NE(server_.peer.chain_error, "");
  EXPECT_EQ(server_.peer.dns_ids, (std::vector<std::string>{"client.test"}));
  EXPECT_FALSE(authenticates(server_.peer, "client.test"));
  // The other direction is fine.
  EXPECT_TRUE(authenticates(client_.peer, "server.test"));
}

TEST_F(S2sTlsTest, UnknownCaIsNotValid) {
  Identity other_ca = issue({"Other CA", "", true}, nullptr);
  Identity leaf = issue({"server.test", "DNS:server.test"}, &other_ca);
  write_pem(dir_ / "o.crt", dir_ / "o.key", leaf);
  auto server = TlsManager::create(dir_ / "o.crt", dir_ / "o.key", dir_, {});
  ASSERT_TRUE(server.ok());
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native((*server)->s2s_server_context()), native(client->s2s_client_context()),
          "server.test", "xmpp-server");
  expect_connected();
  EXPECT_TRUE(client_.peer.presented);
  EXPECT_FALSE(client_.peer.chain_valid);
  // "unable to verify the first certificate" (OpenSSL's words for an unknown issuer of a leaf).
  EXPECT_NE(client_.peer.chain_error, "");
  EXPECT_FALSE(authenticates(client_.peer, "server.test"));
  // The server (system store, not our test CA) does not trust the client either.
  EXPECT_TRUE(server_.peer.presented);
  EXPECT_FALSE(server_.peer.chain_valid);
}

// (d) A client without a certificate: nothing presented, the handshake succeeds.
TEST_F(S2sTlsTest, ClientWithoutCertificate) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  asio::ssl::context bare(asio::ssl::context::tls_client);
  connect(native(server->s2s_server_context()), bare.native_handle(), "server.test", "xmpp-server");
  expect_connected();
  EXPECT_FALSE(server_.peer.presented);
  EXPECT_FALSE(server_.peer.chain_valid);
  EXPECT_TRUE(server_.peer.dns_ids.empty());
  EXPECT_FALSE(authenticates(server_.peer, "client.test"));
}

// (f) An expired certificate from the CA is not valid.
TEST_F(S2sTlsTest, ExpiredCertificateIsNotValid) {
  auto server =
      manager("server", {"server.test", "DNS:server.test", false, -30 * 24 * 3600L, -24 * 3600L});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "server.test",
          "xmpp-server");
  expect_connected();
  EXPECT_TRUE(client_.peer.presented);
  EXPECT_FALSE(client_.peer.chain_valid);
  EXPECT_NE(client_.peer.chain_error.find("expired"), std::string::npos)
      << client_.peer.chain_error;
  EXPECT_FALSE(authenticates(client_.peer, "server.test"));
}

// RFC 6120 §13.7.1.2: SRV-IDs for _xmpp-server count, those of other services do not; XmppAddr
// bare domains count; with any of them the CN is ignored (RFC 6125 §6.4.4).
TEST_F(S2sTlsTest, SrvIdAndXmppAddrIdentifiers) {
  auto server =
      manager("server", {"cn.test",
                         "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:_XMPP-Server.srv.test,"
                         "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:_xmpp-client.c2s-only.test,"
                         "otherName:1.3.6.1.5.5.7.8.5;UTF8:xmpp.test,"
                         "otherName:1.3.6.1.5.5.7.8.5;UTF8:user@jid.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "srv.test",
          "");
  expect_connected();
  ASSERT_TRUE(client_.peer.chain_valid) << client_.peer.chain_error;
  EXPECT_EQ(client_.peer.dns_ids, (std::vector<std::string>{"srv.test", "xmpp.test"}));
  EXPECT_TRUE(authenticates(client_.peer, "srv.test"));
  EXPECT_TRUE(authenticates(client_.peer, "xmpp.test"));
  EXPECT_FALSE(authenticates(client_.peer, "c2s-only.test"));
  EXPECT_FALSE(authenticates(client_.peer, "jid.test"));
  EXPECT_FALSE(authenticates(client_.peer, "cn.test"));
}

TEST_F(S2sTlsTest, CommonNameOnlyWithoutSubjectAltNames) {
  auto server = manager("server", {"Cn-Only.test", ""});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()),
          "cn-only.test", "");
  expect_connected();
  ASSERT_TRUE(client_.peer.chain_valid) << client_.peer.chain_error;
  EXPECT_EQ(client_.peer.dns_ids, (std::vector<std::string>{"cn-only.test"}));
  EXPECT_TRUE(authenticates(client_.peer, "cn-only.test"));
}

TEST_F(S2sTlsTest, InternationalizedNamesCompareAsALabels) {
  // "bücher.test" is "xn--bcher-kva.test".
  auto server = manager("server", {"idn", "DNS:XN--BCHER-KVA.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()),
          "xn--bcher-kva.test", "xmpp-server");
  expect_connected();
  ASSERT_TRUE(client_.peer.chain_valid) << client_.peer.chain_error;
  EXPECT_TRUE(authenticates(client_.peer, "xn--bcher-kva.test"));
  EXPECT_TRUE(authenticates(client_.peer,
                            "b\xc3\xbc"
                            "cher.test"));
  EXPECT_FALSE(authenticates(client_.peer, "bucher.test"));
}

TEST_F(S2sTlsTest, SniIsNotSentForAnAddress) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()), "127.0.0.1",
          "");
  expect_connected();
  EXPECT_EQ(server_.sni, "");
}

TEST_F(S2sTlsTest, ReloadSwapsTheS2sContexts) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto client = manager("client", {"client.test", "DNS:client.test"});
  auto before = server->s2s_server_context();
  // New certificate in the same files, then SIGHUP's reload().
  Identity renewed = issue({"renewed.test", "DNS:renewed.test"}, &ca_);
  write_pem(dir_ / "server.crt", dir_ / "server.key", renewed);
  ASSERT_TRUE(server->reload().ok());
  EXPECT_NE(server->s2s_server_context(), before);
  connect(native(server->s2s_server_context()), native(client->s2s_client_context()),
          "renewed.test", "");
  expect_connected();
  EXPECT_TRUE(authenticates(client_.peer, "renewed.test"));
  EXPECT_FALSE(authenticates(client_.peer, "server.test"));
  // Connections made from the old context keep it; it still works.
  connect(native(before), native(client->s2s_client_context()), "server.test", "");
  expect_connected();
  EXPECT_TRUE(authenticates(client_.peer, "server.test"));
}

TEST_F(S2sTlsTest, S2sContextsWithoutACaFileUseTheSystemStore) {
  Identity id = issue({"server.test", "DNS:server.test"}, &ca_);
  write_pem(dir_ / "s.crt", dir_ / "s.key", id);
  auto m = TlsManager::create(dir_ / "s.crt", dir_ / "s.key", dir_, {});
  ASSERT_TRUE(m.ok());
  // Built on first use; the same context every time until a reload.
  auto a = (*m)->s2s_server_context();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*m)->s2s_server_context(), a);
  ASSERT_NE((*m)->s2s_client_context(), nullptr);
  EXPECT_NE((*m)->s2s_client_context(), a);
}

TEST_F(S2sTlsTest, BadCaFileIsAnErrorNamingIt) {
  auto server = manager("server", {"server.test", "DNS:server.test"});
  auto good = server->s2s_server_context();
  auto missing = server->set_s2s_ca_file(dir_ / "nope.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos) << missing.error().message;
  {
    FILE* f = std::fopen((dir_ / "junk.pem").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a certificate\n", f);
    std::fclose(f);
  }
  auto junk = server->set_s2s_ca_file(dir_ / "junk.pem");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("junk.pem"), std::string::npos) << junk.error().message;
  // Nothing changed.
  EXPECT_EQ(server->s2s_server_context(), good);
}

TEST(DnsIdMatches, Rules) {
  EXPECT_TRUE(dns_id_matches("example.net", "example.net"));
  EXPECT_TRUE(dns_id_matches("Example.NET", "example.net"));
  EXPECT_TRUE(dns_id_matches("example.net.", "example.net"));
  EXPECT_TRUE(dns_id_matches("*.example.net", "a.example.net"));
  EXPECT_FALSE(dns_id_matches("*.example.net", "example.net"));
  EXPECT_FALSE(dns_id_matches("*.example.net", "a.b.example.net"));
  EXPECT_FALSE(dns_id_matches("f*.example.net", "foo.example.net"));
  EXPECT_FALSE(dns_id_matches("a.*.example.net", "a.b.example.net"));
  EXPECT_FALSE(dns_id_matches("*", "net"));
  EXPECT_FALSE(dns_id_matches("*.*.net", "a.b.net"));
  EXPECT_FALSE(dns_id_matches("*.example.net", "*.example.net"));
  EXPECT_FALSE(dns_id_matches("", ""));
  EXPECT_TRUE(dns_id_matches("xn--bcher-kva.example",
                             "b\xc3\xbc"
                             "cher.example"));
  // certificate_matches (starlingctl check) uses the same rules.
  CertificateInfo info{{"*.example.net", "example.org"}, false, 10};
  EXPECT_TRUE(certificate_matches(info, "chat.example.net"));
  EXPECT_TRUE(certificate_matches(info, "EXAMPLE.org"));
  EXPECT_FALSE(certificate_matches(info, "example.net"));
}

TEST(PeerCertificate, NoConnection) {
  auto p = peer_certificate(nullptr);
  EXPECT_FALSE(p.presented);
  EXPECT_FALSE(authenticates(p, "example.net"));
}

}  // namespace
}  // namespace starling::net
