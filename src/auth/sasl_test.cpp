// SaslServer against a real GNU SASL client session, an independent implementation (and a
// hand-rolled SCRAM client where gsasl's client cannot produce the message under test, e.g.
// tls-server-end-point, which gsasl 2.2 does not implement).
#include "auth/sasl.hpp"

#include <gsasl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/random.hpp"

namespace starling::auth {
namespace {

using Kind = SaslServer::Step::Kind;

const Credentials& pencil() {
  static const Credentials creds = *derive_credentials("pencil");
  return creds;
}

ChannelBindings exporter_only(std::string data = std::string(32, 'E')) {
  ChannelBindings cb;
  cb.tls_exporter = std::move(data);
  return cb;
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

// RFC 5929 §4.1: tls-server-end-point data is the hash of the server's certificate as sent in the
// TLS Certificate message (its DER encoding); for a certificate signed with ECDSA-with-SHA256 (or
// with SHA-1 / MD5, which are replaced by SHA-256) that is SHA-256(DER). The bytes below stand in
// for the DER; net::channel_bindings() computes the real value, which the e2e tests check.
std::string end_point_data() { return sha256("stand-in for the DER of the server certificate"); }

ChannelBindings end_point_only() {
  ChannelBindings cb;
  cb.tls_server_end_point = end_point_data();
  return cb;
}

ChannelBindings all_bindings() {
  ChannelBindings cb;
  cb.tls_exporter = std::string(32, 'E');
  cb.tls_unique = std::string(12, 'U');
  cb.tls_server_end_point = end_point_data();
  return cb;
}

// --- gsasl client ---------------------------------------------------------------------------

struct ClientConfig {
  std::string authid = "user";
  std::string password = "pencil";
  std::string authzid;
  std::string cb_exporter;  // raw bytes; empty = not available to the client
  std::string cb_unique;
};

int client_callback(Gsasl* /*ctx*/, Gsasl_session* session, Gsasl_property prop) {
  const auto* cfg = static_cast<const ClientConfig*>(gsasl_session_hook_get(session));
  auto set = [&](const std::string& v) { return gsasl_property_set(session, prop, v.c_str()); };
  switch (prop) {
    case GSASL_AUTHID:
      return set(cfg->authid);
    case GSASL_AUTHZID:
      return cfg->authzid.empty() ? GSASL_NO_CALLBACK : set(cfg->authzid);
    case GSASL_PASSWORD:
      return set(cfg->password);
    case GSASL_CB_TLS_EXPORTER:
      return cfg->cb_exporter.empty() ? GSASL_NO_CALLBACK : set(base64_encode(cfg->cb_exporter));
    case GSASL_CB_TLS_UNIQUE:
      return cfg->cb_unique.empty() ? GSASL_NO_CALLBACK : set(base64_encode(cfg->cb_unique));
    default:
      return GSASL_NO_CALLBACK;
  }
}

struct ContextDeleter {
  void operator()(Gsasl* ctx) const { gsasl_done(ctx); }
};
struct SessionDeleter {
  void operator()(Gsasl_session* s) const { gsasl_finish(s); }
};

Gsasl* client_context() {
  static const std::unique_ptr<Gsasl, ContextDeleter> ctx = [] {
    Gsasl* raw = nullptr;
    EXPECT_EQ(gsasl_init(&raw), GSASL_OK);
    gsasl_callback_set(raw, client_callback);
    return std::unique_ptr<Gsasl, ContextDeleter>(raw);
  }();
  return ctx.get();
}

class GsaslClient {
 public:
  GsaslClient(const std::string& mechanism, ClientConfig cfg) : cfg_(std::move(cfg)) {
    Gsasl_session* raw = nullptr;
    EXPECT_EQ(gsasl_client_start(client_context(), mechanism.c_str(), &raw), GSASL_OK);
    session_.reset(raw);
    gsasl_session_hook_set(raw, &cfg_);
  }
  int step(std::string_view in, std::string& out) {
    char* raw = nullptr;
    std::size_t len = 0;
    int rc = gsasl_step(session_.get(), in.data(), in.size(), &raw, &len);
    out.assign(raw != nullptr ? raw : "", raw != nullptr ? len : 0);
    gsasl_free(raw);
    return rc;
  }

 private:
  ClientConfig cfg_;
  std::unique_ptr<Gsasl_session, SessionDeleter> session_;
};

struct Exchange {
  std::string client_first;
  std::vector<std::string> challenges;
  SaslServer::Step last;     // the server's success or failure
  int client_rc = GSASL_OK;  // SCRAM client's verdict on server-final, or why it stopped
  bool client_stopped = false;
};

bool is_scram(const std::string& mechanism) { return mechanism.starts_with("SCRAM-"); }

Exchange run(const std::string& mechanism, const ClientConfig& cfg, bool tls,
             const ChannelBindings& cb, const Credentials* creds) {
  Exchange ex;
  std::unique_ptr<SaslServer> server = SaslServer::create(mechanism, tls, cb);
  if (server == nullptr) {
    ADD_FAILURE() << "create(" << mechanism << ") failed";
    return ex;
  }
  GsaslClient client(mechanism, cfg);
  std::string to_server;
  int rc = client.step("", to_server);
  EXPECT_TRUE(rc == GSASL_NEEDS_MORE || rc == GSASL_OK) << gsasl_strerror_name(rc);
  ex.client_first = to_server;
  for (int round = 0; round < 4; ++round) {
    SaslServer::Step st = server->step(to_server, creds);
    if (st.kind != Kind::kChallenge) {
      ex.last = st;
      if (st.kind == Kind::kSuccess && is_scram(mechanism)) {
        std::string ignored;
        ex.client_rc = client.step(st.data, ignored);  // verifies the server signature
      }
      return ex;
    }
    ex.challenges.push_back(st.data);
    rc = client.step(st.data, to_server);
    if (rc != GSASL_NEEDS_MORE && rc != GSASL_OK) {
      ex.client_stopped = true;
      ex.client_rc = rc;
      return ex;
    }
  }
  ADD_FAILURE() << "exchange did not finish";
  return ex;
}

// --- hand-rolled SCRAM client (RFC 5802 §3) -------------------------------------------------

std::string mac(ScramHash h, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(h == ScramHash::kSha1 ? EVP_sha1() : EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::map<char, std::string> attributes(std::string_view msg) {
  std::map<char, std::string> out;
  while (!msg.empty()) {
    std::size_t comma = msg.find(',');
    std::string_view attr = msg.substr(0, comma);
    if (attr.size() >= 2) {
      out[attr[0]] = std::string(attr.substr(2));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    msg.remove_prefix(comma + 1);
  }
  return out;
}

struct ManualClient {
  ScramHash hash = ScramHash::kSha256;
  std::string gs2 = "n,,";
  std::string password = "pencil";
  std::string cb_data;
  std::string bare = "n=user,r=manualclientnonce";
  // Tampering: the gs2-header claimed in c= (empty: the one sent first), and extensions
  // (",x=..." ) between the nonce and the proof of the final message.
  std::string cbind_header;
  std::string final_extensions;
  std::string expected_verifier;

  std::string first() const { return gs2 + bare; }

  std::string final_for(std::string_view server_first, std::string nonce_override = {}) {
    auto attrs = attributes(server_first);
    std::string salt;
    EXPECT_TRUE(base64_decode(attrs['s'], salt));
    int iterations = std::stoi(attrs['i']);
    const EVP_MD* md = hash == ScramHash::kSha1 ? EVP_sha1() : EVP_sha256();
    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()),
                      static_cast<int>(salt.size()), iterations, md,
                      static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    std::string client_key = mac(hash, salted, "Client Key");
    unsigned char stored[EVP_MAX_MD_SIZE];
    unsigned int stored_len = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored, &stored_len, md, nullptr);
    std::string nonce = nonce_override.empty() ? attrs['r'] : nonce_override;
    std::string without_proof =
        "c=" + base64_encode((cbind_header.empty() ? gs2 : cbind_header) + cb_data) +
        ",r=" + nonce + final_extensions;
    std::string auth_message = bare + "," + std::string(server_first) + "," + without_proof;
    std::string signature =
        mac(hash, std::string_view(reinterpret_cast<char*>(stored), stored_len), auth_message);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size(); ++i) {
      proof[i] = static_cast<char>(proof[i] ^ signature[i]);
    }
    expected_verifier =
        "v=" + base64_encode(mac(hash, mac(hash, salted, "Server Key"), auth_message));
    return without_proof + ",p=" + base64_encode(proof);
  }
};

// --- mechanism lists -------------------------------------------------------------------------

using Names = std::vector<std::string>;

TEST(Mechanisms, WithoutTlsOnlyPlainScram) {
  EXPECT_EQ(SaslServer::mechanisms(false, {}), (Names{"SCRAM-SHA-256", "SCRAM-SHA-1"}));
  // Even with binding data at hand, nothing -PLUS and no PLAIN before TLS.
  EXPECT_EQ(SaslServer::mechanisms(false, exporter_only()),
            (Names{"SCRAM-SHA-256", "SCRAM-SHA-1"}));
}

TEST(Mechanisms, TlsWithoutBindings) {
  EXPECT_EQ(SaslServer::mechanisms(true, {}), (Names{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
}

TEST(Mechanisms, TlsWithBindingsStrongestFirst) {
  EXPECT_EQ(
      SaslServer::mechanisms(true, exporter_only()),
      (Names{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
}

// Any one binding type is enough for -PLUS, tls-server-end-point included.
TEST(Mechanisms, TlsWithEndPointOnly) {
  EXPECT_TRUE(end_point_only().any());
  EXPECT_EQ(
      SaslServer::mechanisms(true, end_point_only()),
      (Names{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
  EXPECT_EQ(SaslServer::mechanisms(false, end_point_only()),
            (Names{"SCRAM-SHA-256", "SCRAM-SHA-1"}));
}

TEST(Mechanisms, ChannelBindingTypes) {
  EXPECT_FALSE(ChannelBindings{}.any());
  EXPECT_EQ(SaslServer::channel_binding_types({}), Names{});
  EXPECT_EQ(SaslServer::channel_binding_types(exporter_only()), Names{"tls-exporter"});
  ChannelBindings both = exporter_only();
  both.tls_unique = std::string(12, 'U');
  EXPECT_EQ(SaslServer::channel_binding_types(both), (Names{"tls-exporter", "tls-unique"}));
  ChannelBindings unique_only;
  unique_only.tls_unique = std::string(12, 'U');
  EXPECT_EQ(SaslServer::channel_binding_types(unique_only), Names{"tls-unique"});
  EXPECT_EQ(SaslServer::channel_binding_types(end_point_only()), Names{"tls-server-end-point"});
  // Order: tls-exporter, tls-server-end-point, tls-unique.
  EXPECT_EQ(SaslServer::channel_binding_types(all_bindings()),
            (Names{"tls-exporter", "tls-server-end-point", "tls-unique"}));
}

// RFC 6120 §6.4.4: a mechanism we did not offer -> invalid-mechanism (create() gives nullptr).
TEST(Mechanisms, CreateOnlyOffered) {
  EXPECT_NE(SaslServer::create("SCRAM-SHA-1", false, {}), nullptr);
  EXPECT_EQ(SaslServer::create("PLAIN", false, {}), nullptr);
  EXPECT_EQ(SaslServer::create("SCRAM-SHA-256-PLUS", true, {}), nullptr);
  EXPECT_EQ(SaslServer::create("SCRAM-SHA-256-PLUS", false, exporter_only()), nullptr);
  EXPECT_EQ(SaslServer::create("SCRAM-SHA-1-PLUS", false, end_point_only()), nullptr);
  EXPECT_NE(SaslServer::create("SCRAM-SHA-1-PLUS", true, end_point_only()), nullptr);
  EXPECT_EQ(SaslServer::create("DIGEST-MD5", true, {}), nullptr);
  EXPECT_EQ(SaslServer::create("scram-sha-1", true, {}), nullptr);
  EXPECT_EQ(SaslServer::create("", true, {}), nullptr);
}

TEST(Failure, ElementNames) {
  EXPECT_EQ(failure_element_name(SaslFailure::kNotAuthorized), "not-authorized");
  EXPECT_EQ(failure_element_name(SaslFailure::kMalformedRequest), "malformed-request");
  EXPECT_EQ(failure_element_name(SaslFailure::kIncorrectEncoding), "incorrect-encoding");
  EXPECT_EQ(failure_element_name(SaslFailure::kTemporaryAuthFailure), "temporary-auth-failure");
  EXPECT_EQ(failure_element_name(SaslFailure::kInvalidMechanism), "invalid-mechanism");
  EXPECT_EQ(failure_element_name(SaslFailure::kAccountDisabled), "account-disabled");
  EXPECT_EQ(failure_element_name(SaslFailure::kCredentialsExpired), "credentials-expired");
  EXPECT_EQ(failure_element_name(SaslFailure::kEncryptionRequired), "encryption-required");
  EXPECT_EQ(failure_element_name(SaslFailure::kInvalidAuthzid), "invalid-authzid");
  EXPECT_EQ(failure_element_name(SaslFailure::kMechanismTooWeak), "mechanism-too-weak");
  EXPECT_EQ(failure_element_name(SaslFailure::kAborted), "aborted");
}

// --- full exchanges, every mechanism ---------------------------------------------------------

class EveryMechanism : public testing::TestWithParam<std::string> {
 protected:
  bool plus() const { return GetParam().ends_with("-PLUS"); }
  ClientConfig client() const {
    ClientConfig cfg;
    if (plus()) {
      cfg.cb_exporter = std::string(32, 'E');
    }
    return cfg;
  }
  ChannelBindings bindings() const { return exporter_only(); }
};

TEST_P(EveryMechanism, Success) {
  Exchange ex = run(GetParam(), client(), true, bindings(), &pencil());
  ASSERT_EQ(ex.last.kind, Kind::kSuccess) << failure_element_name(ex.last.failure);
  EXPECT_EQ(ex.last.authzid, "");
  if (is_scram(GetParam())) {
    if (plus()) {
      EXPECT_TRUE(ex.client_first.starts_with("p=tls-exporter,,")) << ex.client_first;
    } else {
      EXPECT_TRUE(ex.client_first.starts_with("n,,")) << ex.client_first;
    }
    ASSERT_EQ(ex.challenges.size(), 1u);
    // RFC 5802 §5: server-final-message "v=..." is returned as additional data with success,
    // and the gsasl client accepts it as the right server signature.
    EXPECT_TRUE(ex.last.data.starts_with("v=")) << ex.last.data;
    EXPECT_EQ(ex.client_rc, GSASL_OK) << gsasl_strerror_name(ex.client_rc);
  } else {
    EXPECT_TRUE(ex.challenges.empty());
    EXPECT_EQ(ex.last.data, "");  // RFC 4616: PLAIN has no additional data
  }
}

TEST_P(EveryMechanism, WrongPassword) {
  ClientConfig cfg = client();
  cfg.password = "pencil!";
  Exchange ex = run(GetParam(), cfg, true, bindings(), &pencil());
  ASSERT_EQ(ex.last.kind, Kind::kFailure);
  EXPECT_EQ(ex.last.failure, SaslFailure::kNotAuthorized);
  EXPECT_EQ(ex.challenges.size(), is_scram(GetParam()) ? 1u : 0u);
}

// The unknown account runs to the end like a real one: a server-first-message with salt and
// i=4096, then not-authorized.
TEST_P(EveryMechanism, UnknownUser) {
  Exchange ex = run(GetParam(), client(), true, bindings(), nullptr);
  ASSERT_EQ(ex.last.kind, Kind::kFailure);
  EXPECT_EQ(ex.last.failure, SaslFailure::kNotAuthorized);
  if (is_scram(GetParam())) {
    ASSERT_EQ(ex.challenges.size(), 1u);
    auto attrs = attributes(ex.challenges[0]);
    EXPECT_TRUE(ex.challenges[0].starts_with("r=")) << ex.challenges[0];
    EXPECT_EQ(attrs['i'], "4096");
    std::string salt;
    EXPECT_TRUE(base64_decode(attrs['s'], salt));
    EXPECT_EQ(salt.size(), 16u);
  }
}

TEST_P(EveryMechanism, DataAfterSuccessIsMalformed) {
  auto server = SaslServer::create(GetParam(), true, bindings());
  ASSERT_NE(server, nullptr);
  GsaslClient client(GetParam(), this->client());
  std::string msg;
  client.step("", msg);
  SaslServer::Step st = server->step(msg, &pencil());
  while (st.kind == Kind::kChallenge) {
    client.step(st.data, msg);
    st = server->step(msg, &pencil());
  }
  ASSERT_EQ(st.kind, Kind::kSuccess);
  st = server->step("more", &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
}

TEST_P(EveryMechanism, DataAfterFailureIsMalformed) {
  auto server = SaslServer::create(GetParam(), true, bindings());
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step("garbage", &pencil());
  ASSERT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
  st = server->step("garbage", &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
}

// RFC 6120 §6.4.2: without an initial response the server sends an empty challenge first.
TEST_P(EveryMechanism, NoInitialResponse) {
  auto server = SaslServer::create(GetParam(), true, bindings());
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step("", &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  EXPECT_EQ(st.data, "");
  GsaslClient client(GetParam(), this->client());
  std::string msg;
  client.step("", msg);
  st = server->step(msg, &pencil());
  while (st.kind == Kind::kChallenge) {
    client.step(st.data, msg);
    st = server->step(msg, &pencil());
  }
  EXPECT_EQ(st.kind, Kind::kSuccess);
}

TEST_P(EveryMechanism, RepeatedEmptyResponseIsMalformed) {
  auto server = SaslServer::create(GetParam(), true, bindings());
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->step("", &pencil()).kind, Kind::kChallenge);
  SaslServer::Step st = server->step("", &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
}

INSTANTIATE_TEST_SUITE_P(Sasl, EveryMechanism,
                         testing::Values("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
                                         "SCRAM-SHA-1", "PLAIN"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char c : info.param) {
                             name += c == '-' ? '_' : c;
                           }
                           return name;
                         });

// --- SCRAM specifics ---------------------------------------------------------------------------

TEST(Scram, AuthzidIsReturnedUnescaped) {
  ClientConfig cfg;
  cfg.authzid = "admin,x=y@example.org";  // sent as a=admin=2Cx=3Dy@example.org
  Exchange ex = run("SCRAM-SHA-256", cfg, true, {}, &pencil());
  EXPECT_TRUE(ex.client_first.starts_with("n,a=admin=2Cx=3Dy@example.org,")) << ex.client_first;
  ASSERT_EQ(ex.last.kind, Kind::kSuccess);
  EXPECT_EQ(ex.last.authzid, "admin,x=y@example.org");
}

// RFC 5802 §6 / RFC 5929: tls-unique binding (TLS 1.2).
TEST(Scram, PlusWithTlsUnique) {
  ClientConfig cfg;
  cfg.cb_unique = std::string(12, 'U');
  ChannelBindings cb;
  cb.tls_unique = std::string(12, 'U');
  Exchange ex = run("SCRAM-SHA-1-PLUS", cfg, true, cb, &pencil());
  EXPECT_TRUE(ex.client_first.starts_with("p=tls-unique,,")) << ex.client_first;
  ASSERT_EQ(ex.last.kind, Kind::kSuccess) << failure_element_name(ex.last.failure);
  EXPECT_EQ(ex.client_rc, GSASL_OK);
}

// RFC 5802 §6: "The server MUST always validate the client's "c=" field": different binding
// data (e.g. a TLS man in the middle) fails at the final step.
TEST(Scram, PlusWithMismatchingBindingData) {
  ClientConfig cfg;
  cfg.cb_exporter = std::string(32, 'X');
  Exchange ex =
      run("SCRAM-SHA-256-PLUS", cfg, true, exporter_only(std::string(32, 'E')), &pencil());
  ASSERT_EQ(ex.challenges.size(), 1u);
  ASSERT_EQ(ex.last.kind, Kind::kFailure);
  EXPECT_EQ(ex.last.failure, SaslFailure::kNotAuthorized);
}

// RFC 5802 §6: "If the channel binding flag was "p" and the server does not support the
// indicated channel binding type, then the server MUST fail authentication."
TEST(Scram, PlusWithUnsupportedBindingType) {
  ChannelBindings cb;
  cb.tls_unique = std::string(12, 'U');
  for (const char* first :
       {"p=tls-exporter,,n=user,r=abcdef", "p=tls-server-end-point,,n=user,r=abc"}) {
    auto server = SaslServer::create("SCRAM-SHA-256-PLUS", true, cb);
    ASSERT_NE(server, nullptr);
    SaslServer::Step st = server->step(first, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure) << first;
    EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized) << first;
  }
}

// A -PLUS mechanism without channel binding ("n" or "y") is refused.
TEST(Scram, PlusWithoutBindingFlag) {
  for (const char* first : {"n,,n=user,r=abcdef", "y,,n=user,r=abcdef"}) {
    auto server = SaslServer::create("SCRAM-SHA-256-PLUS", true, exporter_only());
    ASSERT_NE(server, nullptr);
    SaslServer::Step st = server->step(first, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure) << first;
    EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized) << first;
  }
}

// RFC 5802 §6: "If the flag is set to "y" and the server supports channel binding, the server
// MUST fail authentication" (downgrade: someone removed -PLUS from our list). The client is
// otherwise correct: its proof would be valid.
TEST(Scram, DowngradeDetected) {
  for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-1"}) {
    ManualClient c;
    c.hash = std::string_view(mech) == "SCRAM-SHA-1" ? ScramHash::kSha1 : ScramHash::kSha256;
    c.gs2 = "y,,";
    auto server = SaslServer::create(mech, true, exporter_only());
    ASSERT_NE(server, nullptr);
    SaslServer::Step st = server->step(c.first(), &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure) << mech;
    EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized) << mech;
  }
}

// ... while "y" is fine when we offer no -PLUS (no TLS binding data): the exchange completes.
TEST(Scram, YFlagAcceptedWhenPlusNotOffered) {
  ManualClient c;
  c.gs2 = "y,,";
  auto server = SaslServer::create("SCRAM-SHA-256", true, {});
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step(c.first(), &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  st = server->step(c.final_for(st.data), &pencil());
  ASSERT_EQ(st.kind, Kind::kSuccess) << failure_element_name(st.failure);
  EXPECT_EQ(st.data, c.expected_verifier);
}

// Channel binding asked for under a non-PLUS name: refused (gsasl alone would skip the check).
TEST(Scram, BindingFlagOnNonPlusMechanism) {
  ManualClient c;
  c.gs2 = "p=tls-exporter,,";
  auto server = SaslServer::create("SCRAM-SHA-256", true, exporter_only());
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step(c.first(), &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized);
}

TEST(Scram, ManualClientAgreesWithServer) {
  ManualClient c;
  c.hash = ScramHash::kSha1;
  auto server = SaslServer::create("SCRAM-SHA-1", false, {});
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step(c.first(), &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  EXPECT_TRUE(st.data.starts_with("r=manualclientnonce")) << st.data;  // RFC 5802 §5.1 r=
  st = server->step(c.final_for(st.data), &pencil());
  ASSERT_EQ(st.kind, Kind::kSuccess);
  EXPECT_EQ(st.data, c.expected_verifier);
}

TEST(Scram, WrongNonceInFinalIsNotAuthorized) {
  ManualClient c;
  auto server = SaslServer::create("SCRAM-SHA-256", false, {});
  ASSERT_NE(server, nullptr);
  SaslServer::Step st = server->step(c.first(), &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  st = server->step(c.final_for(st.data, "manualclientnonceFORGED"), &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized);
}

TEST(Scram, GarbageFinalIsMalformed) {
  for (std::string_view final_msg :
       {std::string_view("garbage"), std::string_view("c=biws"), std::string_view("c=b\0ws", 6)}) {
    ManualClient c;
    auto server = SaslServer::create("SCRAM-SHA-256", false, {});
    ASSERT_NE(server, nullptr);
    ASSERT_EQ(server->step(c.first(), &pencil()).kind, Kind::kChallenge);
    SaslServer::Step st = server->step(final_msg, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure);
    EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest) << final_msg;
  }
}

// RFC 5802 §5.1 / §7 syntax violations in client-first-message.
TEST(Scram, GarbageFirstIsMalformed) {
  const std::vector<std::string> bad = {
      "garbage",
      "x,,n=user,r=abc",             // §5: must start with n, y or p
      "n,n=user,r=abc",              // gs2 header lacks the authzid field
      "n,,n=user",                   // no nonce
      "n,,r=abc,n=user",             // attribute order is fixed
      "n,,n=us=41er,r=abc",          // '=' not followed by 2C/3D
      "n,,n=,r=abc",                 // empty username
      "n,,n=user,r=",                // empty nonce
      "n,,m=ext,n=user,r=abc",       // §5.1: m= MUST cause failure
      "n,b=x,n=user,r=abc",          // authzid must be a=
      "p=,,n=user,r=abc",            // empty cb-name
      "p=tls unique,,n=user,r=abc",  // cb-name charset
      "n,,n=user,r=abc,",            // empty extension
      "n,,n=user,r=abc,1=x",         // extension name must be ALPHA
      "n,,n=user,r=abc,m=x",         // §5.1: m= anywhere MUST cause failure
      "n,,n=user,r=abc,x=",          // empty extension value
      "n,a=,n=user,r=abc",           // empty authzid
      "n,a=x=2,n=user,r=abc",        // bad escape in the authzid
      "n,,n=user,r=a b",             // space is not printable
      std::string("n,,n=us\0er,r=abc", 16),
      "n,,n=us\xFF"
      "er,r=abc",  // not UTF-8
  };
  for (const std::string& first : bad) {
    auto server = SaslServer::create("SCRAM-SHA-256", true, {});
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(server->authcid(first), std::nullopt) << first;
    SaslServer::Step st = server->step(first, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure) << first;
    EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest) << first;
  }
}

TEST(Scram, ExtensionsAreIgnored) {
  auto server = SaslServer::create("SCRAM-SHA-256", true, {});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->step("n,,n=user,r=abc,x=whatever", &pencil()).kind, Kind::kChallenge);
}

// Unknown accounts get a stable salt per username, like real accounts, and it differs by name.
TEST(Scram, UnknownUserSaltIsDeterministic) {
  auto salt_for = [](const char* first) {
    auto server = SaslServer::create("SCRAM-SHA-256", true, {});
    SaslServer::Step st = server->step(first, nullptr);
    EXPECT_EQ(st.kind, Kind::kChallenge);
    return attributes(st.data)['s'];
  };
  std::string a1 = salt_for("n,,n=ghost,r=one");
  std::string a2 = salt_for("n,,n=ghost,r=two");
  std::string b = salt_for("n,,n=phantom,r=one");
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
}

// A known account whose server-first shows the stored salt and iteration count.
TEST(Scram, ServerFirstCarriesStoredSaltAndIterations) {
  auto server = SaslServer::create("SCRAM-SHA-1", true, {});
  SaslServer::Step st = server->step("n,,n=user,r=abc", &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  auto attrs = attributes(st.data);
  EXPECT_EQ(attrs['s'], base64_encode(pencil().sha1.salt));
  EXPECT_EQ(attrs['i'], "4096");
  EXPECT_TRUE(attrs['r'].starts_with("abc"));
  EXPECT_GT(attrs['r'].size(), 3u);  // server nonce appended
}

TEST(Scram, AuthcidGood) {
  auto server = SaslServer::create("SCRAM-SHA-256", true, {});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->authcid("n,,n=user,r=abc"), "user");
  EXPECT_EQ(server->authcid("y,,n=user,r=abc"), "user");
  EXPECT_EQ(server->authcid("p=tls-exporter,a=admin,n=user,r=abc,e=ext"), "user");
  EXPECT_EQ(server->authcid("n,,n=us=2Cer=3D,r=abc"), "us,er=");  // RFC 5802 §5.1 escaping
  EXPECT_EQ(server->authcid("n,,n=j\xC3\xBCrgen,r=abc"), "j\xC3\xBCrgen");
}

// Exchanges on several threads at once must not interfere (the only shared state is the
// process-wide decoy secret).
TEST(Scram, ConcurrentExchanges) {
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&successes, t] {
      for (int i = 0; i < 10; ++i) {
        std::unique_ptr<SaslServer> server =
            SaslServer::create((t + i) % 2 == 0 ? "SCRAM-SHA-256" : "SCRAM-SHA-1", false, {});
        ManualClient c;
        c.hash = (t + i) % 2 == 0 ? ScramHash::kSha256 : ScramHash::kSha1;
        SaslServer::Step st = server->step(c.first(), &pencil());
        if (st.kind != Kind::kChallenge) {
          continue;
        }
        st = server->step(c.final_for(st.data), &pencil());
        if (st.kind == Kind::kSuccess && st.data == c.expected_verifier) {
          ++successes;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(successes.load(), 40);
}

// --- channel binding through the gsasl client ---------------------------------------------------

// Both -PLUS mechanisms with each binding type gsasl's client implements, with an authzid in the
// gs2-header. The server also has tls-server-end-point data: the client's choice is what counts.
class GsaslBinding : public testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  const std::string& mechanism() const { return std::get<0>(GetParam()); }
  const std::string& type() const { return std::get<1>(GetParam()); }
  ClientConfig client(std::string data) const {
    ClientConfig cfg;
    cfg.authzid = "user@example.org";
    (type() == "tls-exporter" ? cfg.cb_exporter : cfg.cb_unique) = std::move(data);
    return cfg;
  }
  static std::string server_data(std::string_view type) {
    return type == "tls-exporter" ? all_bindings().tls_exporter : all_bindings().tls_unique;
  }
};

TEST_P(GsaslBinding, Success) {
  Exchange ex = run(mechanism(), client(server_data(type())), true, all_bindings(), &pencil());
  EXPECT_TRUE(ex.client_first.starts_with("p=" + type() + ",a=user@example.org,"))
      << ex.client_first;
  ASSERT_EQ(ex.challenges.size(), 1u);
  ASSERT_EQ(ex.last.kind, Kind::kSuccess) << failure_element_name(ex.last.failure);
  EXPECT_EQ(ex.last.authzid, "user@example.org");
  EXPECT_EQ(ex.client_rc, GSASL_OK) << gsasl_strerror_name(ex.client_rc);  // v= verified
}

// RFC 5802 §6: the server validates "c=" against its own data for the named type.
TEST_P(GsaslBinding, MismatchingData) {
  std::string wrong = server_data(type());
  wrong[0] = static_cast<char>(wrong[0] ^ 1);
  Exchange ex = run(mechanism(), client(wrong), true, all_bindings(), &pencil());
  ASSERT_EQ(ex.challenges.size(), 1u);
  ASSERT_EQ(ex.last.kind, Kind::kFailure);
  EXPECT_EQ(ex.last.failure, SaslFailure::kNotAuthorized);
}

// The data of the other type (both are known to the server) does not pass either.
TEST_P(GsaslBinding, DataOfAnotherType) {
  std::string other = server_data(type() == "tls-exporter" ? "tls-unique" : "tls-exporter");
  Exchange ex = run(mechanism(), client(other), true, all_bindings(), &pencil());
  ASSERT_EQ(ex.last.kind, Kind::kFailure);
  EXPECT_EQ(ex.last.failure, SaslFailure::kNotAuthorized);
}

INSTANTIATE_TEST_SUITE_P(Sasl, GsaslBinding,
                         testing::Combine(testing::Values("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"),
                                          testing::Values("tls-exporter", "tls-unique")),
                         [](const auto& info) {
                           std::string name =
                               std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name;
                         });

// --- tls-server-end-point (RFC 5929 §4.1) with the hand-rolled client ----------------------------

struct ManualRun {
  std::vector<std::string> challenges;
  SaslServer::Step last;
};

// client-first-message, then, after a server-first-message, client-final-message.
ManualRun run_manual(const std::string& mechanism, ManualClient& c, bool tls,
                     const ChannelBindings& cb, const Credentials* creds) {
  ManualRun r;
  std::unique_ptr<SaslServer> server = SaslServer::create(mechanism, tls, cb);
  if (server == nullptr) {
    ADD_FAILURE() << "create(" << mechanism << ") failed";
    return r;
  }
  SaslServer::Step st = server->step(c.first(), creds);
  if (st.kind == Kind::kChallenge) {
    r.challenges.push_back(st.data);
    st = server->step(c.final_for(st.data), creds);
  }
  r.last = st;
  return r;
}

// gsasl 2.2 has no tls-server-end-point, so these exchanges are driven by ManualClient: the
// gs2-header "p=tls-server-end-point,," and c= base64(gs2-header + SHA-256 of the certificate).
class EndPoint : public testing::TestWithParam<std::string> {
 protected:
  const std::string& mechanism() const { return GetParam(); }
  ManualClient client() const {
    ManualClient c;
    c.hash = mechanism() == "SCRAM-SHA-1-PLUS" ? ScramHash::kSha1 : ScramHash::kSha256;
    c.gs2 = "p=tls-server-end-point,,";
    c.cb_data = end_point_data();
    return c;
  }
};

TEST_P(EndPoint, Success) {
  for (const ChannelBindings& cb : {end_point_only(), all_bindings()}) {
    ManualClient c = client();
    ManualRun r = run_manual(mechanism(), c, true, cb, &pencil());
    ASSERT_EQ(r.challenges.size(), 1u);
    ASSERT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
    EXPECT_EQ(r.last.data, c.expected_verifier);  // RFC 5802 §3 ServerSignature
    EXPECT_EQ(r.last.authzid, "");
  }
}

TEST_P(EndPoint, SuccessWithAuthzid) {
  ManualClient c = client();
  c.gs2 = "p=tls-server-end-point,a=admin=2Cx=3Dy@example.org,";
  ManualRun r = run_manual(mechanism(), c, true, all_bindings(), &pencil());
  ASSERT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
  EXPECT_EQ(r.last.data, c.expected_verifier);
  EXPECT_EQ(r.last.authzid, "admin,x=y@example.org");
}

// The hash of another certificate (a TLS man in the middle presenting its own) fails.
TEST_P(EndPoint, WrongCertificateHash) {
  ManualClient c = client();
  c.cb_data = sha256("the DER of the attacker's certificate");
  ManualRun r = run_manual(mechanism(), c, true, all_bindings(), &pencil());
  ASSERT_EQ(r.challenges.size(), 1u);
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
}

// RFC 5802 §7 cbind-input: the data MUST be present with "p"; the gs2-header in c= must be the
// one sent first; the data must be that of the named type.
TEST_P(EndPoint, CbindInputMustMatch) {
  struct Case {
    std::string cbind_header;
    std::string cb_data;
  };
  const std::vector<Case> cases = {
      {"", ""},                                              // no binding data
      {"p=tls-exporter,,", all_bindings().tls_exporter},     // another type claimed
      {"", all_bindings().tls_exporter},                     // another type's data
      {"n,,", ""},                                           // binding stripped
      {"y,,", ""},                                           //
      {"p=tls-server-end-point,a=user,", end_point_data()},  // authzid added
      {"", end_point_data() + "X"},                          // trailing byte
      {"", end_point_data().substr(0, 20)},                  // truncated (SHA-1 size)
  };
  for (const Case& k : cases) {
    ManualClient c = client();
    c.cbind_header = k.cbind_header;
    c.cb_data = k.cb_data;
    ManualRun r = run_manual(mechanism(), c, true, all_bindings(), &pencil());
    ASSERT_EQ(r.challenges.size(), 1u) << k.cbind_header;
    EXPECT_EQ(r.last.kind, Kind::kFailure) << k.cbind_header;
    EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized) << k.cbind_header;
  }
}

// RFC 5802 §6: "p" with a type the server cannot serve fails at once.
TEST_P(EndPoint, UnavailableType) {
  ChannelBindings cb = all_bindings();
  cb.tls_server_end_point.clear();
  ManualClient c = client();
  ManualRun r = run_manual(mechanism(), c, true, cb, &pencil());
  EXPECT_TRUE(r.challenges.empty());
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
}

// "p=tls-server-end-point" under the non-PLUS name of the same hash.
TEST_P(EndPoint, UnderNonPlusName) {
  ManualClient c = client();
  std::string plain_name = mechanism().substr(0, mechanism().size() - 5);
  ManualRun r = run_manual(plain_name, c, true, all_bindings(), &pencil());
  EXPECT_TRUE(r.challenges.empty());
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
}

TEST_P(EndPoint, WrongPassword) {
  ManualClient c = client();
  c.password = "pencil!";
  ManualRun r = run_manual(mechanism(), c, true, all_bindings(), &pencil());
  ASSERT_EQ(r.challenges.size(), 1u);
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
}

TEST_P(EndPoint, UnknownUser) {
  ManualClient c = client();
  ManualRun r = run_manual(mechanism(), c, true, all_bindings(), nullptr);
  ASSERT_EQ(r.challenges.size(), 1u);
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
}

INSTANTIATE_TEST_SUITE_P(Sasl, EndPoint, testing::Values("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name;
                         });

// --- SCRAM message syntax and checks (RFC 5802 §5.1, §7) -----------------------------------------

// client-final-message = "c=" base64 "," "r=" nonce ["," extensions] "," "p=" base64, with a
// ClientProof of the hash's size. Everything else is malformed-request.
TEST(Scram, MalformedFinalMessages) {
  using namespace std::string_literals;
  // Built from the combined nonce `n` and the base64 of the right proof `p`.
  auto cases = [](const std::string& n, const std::string& p) {
    const std::string cb = "c=" + base64_encode("n,,");
    std::string raw;
    EXPECT_TRUE(base64_decode(p, raw));
    const std::string short_p = base64_encode(raw.substr(0, raw.size() - 1));
    const std::string long_p = base64_encode(raw + "X");
    return std::vector<std::string>{
        "",
        cb + ",r=" + n,                          // no proof
        "r=" + n + "," + cb + ",p=" + p,         // order
        cb + ",p=" + p + ",r=" + n,              // proof not last
        cb + ",p=" + p,                          // no nonce
        cb + ",r=" + n + ",p=" + p + ",p=" + p,  // two proofs
        cb + ",r=" + n + ",m=ext,p=" + p,        // §5.1: m= MUST fail
        cb + ",r=" + n + ",1=x,p=" + p,          // extension name not ALPHA
        cb + ",r=" + n + ",x=,p=" + p,           // empty extension value
        cb + ",r=" + n + ",,p=" + p,             // empty attribute
        "c=biws!,r=" + n + ",p=" + p,            // not base64
        "c=biw,r=" + n + ",p=" + p,              // base64 without padding
        "c= biws,r=" + n + ",p=" + p,            // whitespace
        cb + ",r=,p=" + p,                       // empty nonce
        cb + ",r=" + n + " x,p=" + p,            // space is not printable
        cb + ",r=" + n + ",p=",                  // empty proof
        cb + ",r=" + n + ",p=" + short_p,        // proof too short
        cb + ",r=" + n + ",p=" + long_p,         // proof too long
        cb + ",r=" + n + ",x=\xFF,p=" + p,       // not UTF-8
        cb + ",r=" + n + ",x=a\0b,p="s + p,      // NUL
    };
  };
  // The nonce differs per exchange, so one exchange per case; the last one sends the unmodified
  // message, which must succeed.
  const std::size_t count = cases("", base64_encode("proof")).size();
  for (std::size_t i = 0; i <= count; ++i) {
    auto server = SaslServer::create("SCRAM-SHA-256", false, {});
    ASSERT_NE(server, nullptr);
    ManualClient c;
    SaslServer::Step st = server->step(c.first(), &pencil());
    ASSERT_EQ(st.kind, Kind::kChallenge);
    const std::string good = c.final_for(st.data);
    if (i == count) {
      EXPECT_EQ(server->step(good, &pencil()).kind, Kind::kSuccess);
      break;
    }
    const std::string msg =
        cases(attributes(st.data)['r'], good.substr(good.rfind(",p=") + 3)).at(i);
    st = server->step(msg, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure) << msg;
    EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest) << msg;
  }
}

// A well-formed final message with a wrong proof: not-authorized.
TEST(Scram, TamperedProof) {
  ManualClient c;
  auto server = SaslServer::create("SCRAM-SHA-256", false, {});
  SaslServer::Step st = server->step(c.first(), &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  std::string final_msg = c.final_for(st.data);
  std::size_t at = final_msg.rfind(",p=") + 3;
  std::string proof;
  ASSERT_TRUE(base64_decode(final_msg.substr(at), proof));
  proof[5] = static_cast<char>(proof[5] ^ 0x10);
  st = server->step(final_msg.substr(0, at) + base64_encode(proof), &pencil());
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized);
}

// Optional extensions are ignored (RFC 5802 §7), but they are part of AuthMessage (§3).
TEST(Scram, ExtensionsInBothClientMessages) {
  ManualClient c;
  c.bare = "n=user,r=abc,x=first,y=a=b";
  c.final_extensions = ",z=final";
  ManualRun r = run_manual("SCRAM-SHA-256", c, true, {}, &pencil());
  ASSERT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
  EXPECT_EQ(r.last.data, c.expected_verifier);
}

// §5.1 n=: the server "MUST use it as received in hash calculations": the escaped form.
TEST(Scram, EscapedUsernameInAuthMessage) {
  ManualClient c;
  c.bare = "n=us=2Cer=3D,r=abc";
  auto server = SaslServer::create("SCRAM-SHA-1", true, {});
  EXPECT_EQ(server->authcid(c.first()), "us,er=");
  c.hash = ScramHash::kSha1;
  ManualRun r = run_manual("SCRAM-SHA-1", c, true, {}, &pencil());
  ASSERT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
  EXPECT_EQ(r.last.data, c.expected_verifier);
}

// The client's "c=" must repeat its gs2-header exactly, also without channel binding.
TEST(Scram, CbindHeaderOfNonPlusMustMatch) {
  for (const char* claimed : {"y,,", "n,a=user,", "p=tls-exporter,,"}) {
    ManualClient c;
    c.cbind_header = claimed;
    ManualRun r = run_manual("SCRAM-SHA-256", c, true, {}, &pencil());
    ASSERT_EQ(r.challenges.size(), 1u) << claimed;
    EXPECT_EQ(r.last.kind, Kind::kFailure) << claimed;
    EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized) << claimed;
  }
}

// Without TLS nothing -PLUS is offered, whatever binding data exists: "y" is then no downgrade.
TEST(Scram, YFlagAcceptedWithoutTls) {
  ManualClient c;
  c.gs2 = "y,,";
  ManualRun r = run_manual("SCRAM-SHA-256", c, false, all_bindings(), &pencil());
  ASSERT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
  EXPECT_EQ(r.last.data, c.expected_verifier);
}

// §5.1 r=: the server part of the nonce is fresh per exchange, printable without ',', and
// carries at least 18 random bytes (base64: at least 24 characters).
TEST(Scram, ServerNonceIsFreshAndLongEnough) {
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto server = SaslServer::create("SCRAM-SHA-256", true, {});
    SaslServer::Step st = server->step("n,,n=user,r=abc", &pencil());
    ASSERT_EQ(st.kind, Kind::kChallenge);
    std::string r = attributes(st.data)['r'];
    ASSERT_TRUE(r.starts_with("abc"));
    std::string server_part = r.substr(3);
    EXPECT_GE(server_part.size(), 24u);
    std::string raw;
    EXPECT_TRUE(base64_decode(server_part, raw)) << server_part;
    EXPECT_GE(raw.size(), 18u);
    for (char ch : server_part) {
      EXPECT_TRUE(ch >= 0x21 && ch <= 0x7E && ch != ',') << server_part;
    }
    for (const std::string& other : seen) {
      EXPECT_NE(server_part, other);
    }
    seen.push_back(server_part);
  }
}

// server-first-message = nonce "," salt "," iteration-count, nothing else (RFC 5802 §7).
TEST(Scram, ServerFirstShape) {
  auto server = SaslServer::create("SCRAM-SHA-256", true, {});
  SaslServer::Step st = server->step("n,,n=user,r=abc", &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  std::string expected_tail = ",s=" + base64_encode(pencil().sha256.salt) + ",i=4096";
  EXPECT_TRUE(st.data.starts_with("r=abc")) << st.data;
  EXPECT_TRUE(st.data.ends_with(expected_tail)) << st.data;
  EXPECT_EQ(std::count(st.data.begin(), st.data.end(), ','), 2) << st.data;
}

// An account without keys for the hash asked for is handled like an unknown one: decoy salt,
// failure only at the end; the other hash still works.
TEST(Scram, MissingKeysForHash) {
  Credentials only256;
  only256.sha256 = pencil().sha256;
  ManualClient c;
  c.hash = ScramHash::kSha1;
  ManualRun r = run_manual("SCRAM-SHA-1", c, true, {}, &only256);
  ASSERT_EQ(r.challenges.size(), 1u);
  ASSERT_EQ(r.last.kind, Kind::kFailure);
  EXPECT_EQ(r.last.failure, SaslFailure::kNotAuthorized);
  ManualClient c256;
  r = run_manual("SCRAM-SHA-256", c256, true, {}, &only256);
  EXPECT_EQ(r.last.kind, Kind::kSuccess) << failure_element_name(r.last.failure);
}

// A step after the client-final message, whatever its outcome, is malformed-request.
TEST(Scram, NoThirdMessage) {
  ManualClient c;
  auto server = SaslServer::create("SCRAM-SHA-256", true, {});
  SaslServer::Step st = server->step(c.first(), &pencil());
  ASSERT_EQ(st.kind, Kind::kChallenge);
  st = server->step(c.final_for(st.data), &pencil());
  ASSERT_EQ(st.kind, Kind::kSuccess);
  st = server->step("", &pencil());  // an empty response to the "challenge" v= would be
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
}

// --- PLAIN specifics ----------------------------------------------------------------------------

TEST(Plain, AuthzidReturned) {
  ClientConfig cfg;
  cfg.authzid = "admin@example.org";
  Exchange ex = run("PLAIN", cfg, true, {}, &pencil());
  ASSERT_EQ(ex.last.kind, Kind::kSuccess);
  EXPECT_EQ(ex.last.authzid, "admin@example.org");
}

// RFC 4616 §2 message = [authzid] UTF8NUL authcid UTF8NUL passwd.
TEST(Plain, Authcid) {
  auto server = SaslServer::create("PLAIN", true, {});
  ASSERT_NE(server, nullptr);
  using namespace std::string_literals;
  EXPECT_EQ(server->authcid("\0user\0pencil"s), "user");
  EXPECT_EQ(server->authcid("admin\0user\0pencil"s), "user");
  EXPECT_EQ(server->authcid("user\0pencil"s), std::nullopt);
  EXPECT_EQ(server->authcid("\0\0pencil"s), std::nullopt);     // authcid = 1*SAFE
  EXPECT_EQ(server->authcid("\0user\0"s), std::nullopt);       // passwd = 1*SAFE
  EXPECT_EQ(server->authcid("\0user\0pw\0x"s), std::nullopt);  // one NUL too many
  EXPECT_EQ(server->authcid("\0us\xFFr\0pw"s), std::nullopt);  // not UTF-8
  EXPECT_EQ(server->authcid(""), std::nullopt);
}

TEST(Plain, MalformedMessages) {
  using namespace std::string_literals;
  for (const std::string& msg : {"user\0pencil"s, "\0\0pencil"s, "\0user\0"s, "\0user\0pw\0"s}) {
    auto server = SaslServer::create("PLAIN", true, {});
    ASSERT_NE(server, nullptr);
    SaslServer::Step st = server->step(msg, &pencil());
    EXPECT_EQ(st.kind, Kind::kFailure);
    EXPECT_EQ(st.failure, SaslFailure::kMalformedRequest);
  }
}

// gsasl's PLAIN server SASLprep()s the password and refuses code points unassigned in Unicode
// 3.2; OpaqueString (RFC 8265 §4.2) accepts them, so such a password still works.
TEST(Plain, PasswordOutsideSaslprep) {
  const std::string password = "\xF0\x9F\xA6\x8A fox";  // U+1F98A FOX FACE (Unicode 9)
  auto creds = derive_credentials(password);
  ASSERT_TRUE(creds);
  using namespace std::string_literals;
  auto server = SaslServer::create("PLAIN", true, {});
  SaslServer::Step st = server->step("\0user\0"s + password, &*creds);
  EXPECT_EQ(st.kind, Kind::kSuccess) << failure_element_name(st.failure);
  server = SaslServer::create("PLAIN", true, {});
  st = server->step("\0user\0"s + "\xF0\x9F\xA6\x8A cat", &*creds);
  EXPECT_EQ(st.kind, Kind::kFailure);
  EXPECT_EQ(st.failure, SaslFailure::kNotAuthorized);
}

}  // namespace
}  // namespace starling::auth
