// SASL server (RFC 6120 §6): the mechanism table and factory, and PLAIN (RFC 4616). SCRAM lives in
// scram_server.cpp. Both are written by hand on OpenSSL primitives; GNU SASL is only used by the
// tests, as an independent client implementation.
#include "auth/sasl.hpp"

#include <array>
#include <exception>
#include <string>
#include <utility>

#include "auth/scram_server.hpp"

namespace starling::auth {

namespace internal {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) {
        lo = 0xA0;
      } else if (c == 0xED) {
        hi = 0x9F;
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) {
        lo = 0x90;
      } else if (c == 0xF4) {
        hi = 0x8F;
      }
    } else {
      return false;
    }
    if (i + extra >= s.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      unsigned char min = k == 1 ? lo : 0x80;
      unsigned char max = k == 1 ? hi : 0xBF;
      if (cc < min || cc > max) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace internal

namespace {

// --- mechanisms ----------------------------------------------------------------------------

enum class Family { kScram, kPlain };

struct Mechanism {
  const char* name;
  Family family;
  ScramHash hash;
  bool plus;
};

// Strongest first (the order mechanisms() advertises them in).
constexpr std::array<Mechanism, 5> kMechanisms = {{
    {"SCRAM-SHA-256-PLUS", Family::kScram, ScramHash::kSha256, true},
    {"SCRAM-SHA-1-PLUS", Family::kScram, ScramHash::kSha1, true},
    {"SCRAM-SHA-256", Family::kScram, ScramHash::kSha256, false},
    {"SCRAM-SHA-1", Family::kScram, ScramHash::kSha1, false},
    {"PLAIN", Family::kPlain, ScramHash::kSha256, false},
}};

bool offered(const Mechanism& m, bool tls, const ChannelBindings& cb) {
  if (m.plus) {
    return tls && cb.any();
  }
  if (m.family == Family::kPlain) {
    return tls;  // RFC 6120 §6.4.2 / §13.8: no plaintext passwords without TLS.
  }
  return true;
}

// --- PLAIN (RFC 4616) ------------------------------------------------------------------------

struct PlainMessage {
  std::string_view authzid;
  std::string_view authcid;
  std::string_view password;
};

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd; authcid and passwd are
// 1*SAFE (non-empty, no NUL), everything UTF-8.
std::optional<PlainMessage> parse_plain(std::string_view msg) {
  std::size_t first = msg.find('\0');
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t second = msg.find('\0', first + 1);
  if (second == std::string_view::npos || msg.find('\0', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  PlainMessage m;
  m.authzid = msg.substr(0, first);
  m.authcid = msg.substr(first + 1, second - first - 1);
  m.password = msg.substr(second + 1);
  if (m.authcid.empty() || m.password.empty() || !internal::valid_utf8(m.authzid) ||
      !internal::valid_utf8(m.authcid) || !internal::valid_utf8(m.password)) {
    return std::nullopt;
  }
  return m;
}

// PLAIN: one message from the client, then success or failure (RFC 4616 §2). The password is
// checked against the stored SCRAM-SHA-256 keys; it is prepared with OpaqueString (RFC 8265 §4.2)
// by verify_password(), which replaces the SASLprep of RFC 4616 (RFC 8265 §6).
class PlainServer final : public SaslServer {
 public:
  std::optional<std::string> authcid(std::string_view first_message) const override {
    std::optional<PlainMessage> m = parse_plain(first_message);
    if (!m) {
      return std::nullopt;
    }
    return std::string(m->authcid);
  }

  Step step(std::string_view client_data, const Credentials* credentials) override {
    switch (state_) {
      case State::kStart:
      case State::kAwaitingMessage:
        if (client_data.empty()) {
          // No initial response: RFC 6120 §6.4.2 / RFC 4422 §5 item 2a, the server sends an
          // empty challenge and the client answers with its message. Only once.
          if (state_ == State::kAwaitingMessage) {
            return fail(SaslFailure::kMalformedRequest);
          }
          state_ = State::kAwaitingMessage;
          Step s;
          s.kind = Step::kChallenge;
          return s;
        }
        try {
          return check(client_data, credentials);
        } catch (const std::exception&) {
          return fail(SaslFailure::kTemporaryAuthFailure);  // OpenSSL failure: our problem
        }
      case State::kDone:
        break;
    }
    // RFC 6120 §6.4.5/§6.4.6: the exchange is over; further data violates the mechanism.
    return fail(SaslFailure::kMalformedRequest);
  }

 private:
  enum class State { kStart, kAwaitingMessage, kDone };

  Step fail(SaslFailure failure) {
    state_ = State::kDone;
    Step s;
    s.kind = Step::kFailure;
    s.failure = failure;
    return s;
  }

  Step check(std::string_view data, const Credentials* credentials) {
    std::optional<PlainMessage> m = parse_plain(data);
    if (!m) {
      return fail(SaslFailure::kMalformedRequest);
    }
    bool ok = false;
    if (credentials != nullptr) {
      ok = verify_password(*credentials, m->password);
    } else {
      // Unknown account: spend the same PBKDF2 work as a real check, then refuse.
      Credentials decoy;
      decoy.sha256 = internal::decoy_keys(ScramHash::kSha256, m->authcid);
      (void)verify_password(decoy, m->password);
    }
    if (!ok) {
      return fail(SaslFailure::kNotAuthorized);
    }
    state_ = State::kDone;
    Step s;
    s.kind = Step::kSuccess;  // RFC 4616: no additional data with success
    s.authzid = std::string(m->authzid);
    return s;
  }

  State state_ = State::kStart;
};

}  // namespace

std::string_view failure_element_name(SaslFailure f) {
  switch (f) {
    case SaslFailure::kAborted:
      return "aborted";
    case SaslFailure::kAccountDisabled:
      return "account-disabled";
    case SaslFailure::kCredentialsExpired:
      return "credentials-expired";
    case SaslFailure::kEncryptionRequired:
      return "encryption-required";
    case SaslFailure::kIncorrectEncoding:
      return "incorrect-encoding";
    case SaslFailure::kInvalidAuthzid:
      return "invalid-authzid";
    case SaslFailure::kInvalidMechanism:
      return "invalid-mechanism";
    case SaslFailure::kMalformedRequest:
      return "malformed-request";
    case SaslFailure::kMechanismTooWeak:
      return "mechanism-too-weak";
    case SaslFailure::kNotAuthorized:
      return "not-authorized";
    case SaslFailure::kTemporaryAuthFailure:
      return "temporary-auth-failure";
  }
  return "not-authorized";
}

std::vector<std::string> SaslServer::mechanisms(bool tls, const ChannelBindings& cb) {
  std::vector<std::string> out;
  for (const Mechanism& m : kMechanisms) {
    if (offered(m, tls, cb)) {
      out.emplace_back(m.name);
    }
  }
  return out;
}

std::vector<std::string> SaslServer::channel_binding_types(const ChannelBindings& cb) {
  std::vector<std::string> out;
  if (!cb.tls_exporter.empty()) {
    out.emplace_back("tls-exporter");  // RFC 9266
  }
  if (!cb.tls_server_end_point.empty()) {
    out.emplace_back("tls-server-end-point");  // RFC 5929 §4
  }
  if (!cb.tls_unique.empty()) {
    out.emplace_back("tls-unique");  // RFC 5929 §3
  }
  return out;
}

std::unique_ptr<SaslServer> SaslServer::create(std::string_view mechanism, bool tls,
                                               ChannelBindings cb) {
  for (const Mechanism& m : kMechanisms) {
    if (mechanism != m.name) {
      continue;
    }
    if (!offered(m, tls, cb)) {
      return nullptr;
    }
    if (m.family == Family::kPlain) {
      return std::make_unique<PlainServer>();
    }
    return internal::make_scram_server(m.hash, m.plus, tls, std::move(cb));
  }
  return nullptr;
}

}  // namespace starling::auth
