// SASL server (RFC 6120 §6) on top of GNU SASL. gsasl runs the SCRAM and PLAIN state machines;
// this file adds what gsasl 2.2 leaves to the application: strict parsing of the client's first
// message, channel-binding policy (RFC 5802 §6), the unknown-account decoy and the mapping of
// results onto RFC 6120 §6.5 failure conditions.
#include "auth/sasl.hpp"

#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>
#include <string>
#include <utility>

#include "base/random.hpp"

namespace starling::auth {
namespace {

// --- gsasl handles -------------------------------------------------------------------------

struct ContextDeleter {
  void operator()(Gsasl* ctx) const { gsasl_done(ctx); }
};
struct SessionDeleter {
  void operator()(Gsasl_session* session) const { gsasl_finish(session); }
};
struct GsaslFree {
  void operator()(char* p) const { gsasl_free(p); }
};
using ContextPtr = std::unique_ptr<Gsasl, ContextDeleter>;
using SessionPtr = std::unique_ptr<Gsasl_session, SessionDeleter>;
using GsaslString = std::unique_ptr<char, GsaslFree>;

int dispatch_callback(Gsasl* ctx, Gsasl_session* session, Gsasl_property prop);

// The one process-wide gsasl context. The function-local static makes initialisation
// thread-safe; afterwards the context is only read (mechanism table, callback pointer), all
// mutable state lives in the per-exchange Gsasl_session.
Gsasl* context() {
  static const ContextPtr ctx = [] {
    Gsasl* raw = nullptr;
    int rc = gsasl_init(&raw);
    if (rc != GSASL_OK) {
      throw std::runtime_error(std::string("gsasl_init failed: ") + gsasl_strerror(rc));
    }
    ContextPtr owned(raw);
    gsasl_callback_set(raw, dispatch_callback);
    return owned;
  }();
  return ctx.get();
}

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

bool library_supports(const Mechanism& m) { return gsasl_server_support_p(context(), m.name) != 0; }

std::size_t hash_size(ScramHash hash) { return hash == ScramHash::kSha1 ? 20 : 32; }

// --- message parsing -----------------------------------------------------------------------

// Well-formed UTF-8 per RFC 3629 §4 (no overlong forms, no surrogates, at most U+10FFFF).
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

// RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"). §5.1: a '=' not followed by
// "2C" or "3D" MUST fail the authentication.
std::optional<std::string> decode_saslname(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\0' || c == ',') {
      return std::nullopt;
    }
    if (c == '=') {
      std::string_view esc = s.substr(i + 1, 2);
      if (esc == "2C") {
        out += ',';
      } else if (esc == "3D") {
        out += '=';
      } else {
        return std::nullopt;
      }
      i += 2;
    } else {
      out += c;
    }
  }
  if (!valid_utf8(out)) {
    return std::nullopt;
  }
  return out;
}

bool valid_cb_name(std::string_view s) {
  // RFC 5802 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-")
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// RFC 5802 §7: c-nonce = printable = %x21-2B / %x2D-7E.
bool valid_nonce(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < 0x21 || c > 0x7E || c == ',') {
      return false;
    }
  }
  return true;
}

// RFC 5802 §7: attr-val = ALPHA "=" value; value = 1*value-char (UTF-8 except NUL and ',').
bool valid_attr_val(std::string_view s) {
  if (s.size() < 3 || !is_alpha(s[0]) || s[1] != '=') {
    return false;
  }
  std::string_view value = s.substr(2);
  return value.find('\0') == std::string_view::npos && valid_utf8(value);
}

struct ClientFirst {
  char cb_flag = 'n';   // 'n', 'y' or 'p'
  std::string cb_name;  // with 'p'
  std::string authzid;  // unescaped "a=" value, empty when absent
  std::string username;
};

// client-first-message = gs2-header client-first-message-bare (RFC 5802 §7).
std::optional<ClientFirst> parse_client_first(std::string_view msg) {
  ClientFirst cf;
  std::size_t comma = msg.find(',');
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  // §5: "the client's first message will always start with "n", "y", or "p"".
  std::string_view flag = msg.substr(0, comma);
  if (flag == "n" || flag == "y") {
    cf.cb_flag = flag[0];
  } else if (flag.starts_with("p=") && valid_cb_name(flag.substr(2))) {
    cf.cb_flag = 'p';
    cf.cb_name = std::string(flag.substr(2));
  } else {
    return std::nullopt;
  }
  msg.remove_prefix(comma + 1);
  comma = msg.find(',');
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view authzid = msg.substr(0, comma);
  if (!authzid.empty()) {
    if (!authzid.starts_with("a=")) {
      return std::nullopt;
    }
    std::optional<std::string> decoded = decode_saslname(authzid.substr(2));
    if (!decoded) {
      return std::nullopt;
    }
    cf.authzid = std::move(*decoded);
  }
  msg.remove_prefix(comma + 1);

  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions].
  // A leading "m=" (reserved-mext) is not recognised and fails here: §5.1 requires that its
  // presence cause authentication failure.
  std::size_t index = 0;
  while (true) {
    comma = msg.find(',');
    std::string_view attr = msg.substr(0, comma);
    if (index == 0) {
      if (!attr.starts_with("n=")) {
        return std::nullopt;
      }
      std::optional<std::string> user = decode_saslname(attr.substr(2));
      if (!user) {
        return std::nullopt;
      }
      cf.username = std::move(*user);
    } else if (index == 1) {
      if (!attr.starts_with("r=") || !valid_nonce(attr.substr(2))) {
        return std::nullopt;
      }
    } else if (!valid_attr_val(attr)) {
      return std::nullopt;
    }
    ++index;
    if (comma == std::string_view::npos) {
      break;
    }
    msg.remove_prefix(comma + 1);
  }
  if (index < 2) {
    return std::nullopt;
  }
  return cf;
}

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
  if (m.authcid.empty() || m.password.empty() || !valid_utf8(m.authzid) || !valid_utf8(m.authcid) ||
      !valid_utf8(m.password)) {
    return std::nullopt;
  }
  return m;
}

// --- unknown accounts ----------------------------------------------------------------------

// Keys for an account that does not exist. The salt is derived from the username and a
// per-process secret, so that repeated attempts on the same name see the same salt as they would
// for a real account; the keys are random, so no proof can match. The iteration count is the
// default of derive_credentials().
ScramKeys decoy_keys(ScramHash hash, std::string_view username) {
  static const std::string secret = random_bytes(32);
  std::string label = hash == ScramHash::kSha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
  label += '\0';
  label.append(username);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(label.data()), label.size(), mac.data(),
           &mac_len) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  ScramKeys keys;
  keys.salt.assign(reinterpret_cast<const char*>(mac.data()), 16);
  keys.iterations = 4096;
  keys.stored_key = random_bytes(hash_size(hash));
  keys.server_key = random_bytes(hash_size(hash));
  return keys;
}

bool usable(const ScramKeys& keys, ScramHash hash) {
  return keys.iterations > 0 && !keys.salt.empty() && keys.stored_key.size() == hash_size(hash) &&
         keys.server_key.size() == hash_size(hash);
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

// --- result mapping ------------------------------------------------------------------------

// gsasl result -> RFC 6120 §6.5 condition.
SaslFailure failure_for(int rc) {
  switch (rc) {
    case GSASL_MECHANISM_PARSE_ERROR:
    case GSASL_BASE64_ERROR:  // base64 inside the SCRAM message (c=, p=), not the XML payload
    case GSASL_MECHANISM_CALLED_TOO_MANY_TIMES:
      return SaslFailure::kMalformedRequest;
    case GSASL_AUTHENTICATION_ERROR:
    case GSASL_SASLPREP_ERROR:
    case GSASL_NO_CB_TLS_UNIQUE:
    case GSASL_NO_CB_TLS_EXPORTER:
    case GSASL_NO_AUTHID:
      return SaslFailure::kNotAuthorized;
    default:  // GSASL_MALLOC_ERROR, GSASL_CRYPTO_ERROR, missing properties: our problem
      return SaslFailure::kTemporaryAuthFailure;
  }
}

// --- the server ----------------------------------------------------------------------------

class GsaslServer final : public SaslServer {
 public:
  GsaslServer(const Mechanism& mech, bool tls, ChannelBindings cb, SessionPtr session)
      : mech_(mech),
        advertise_plus_(tls && cb.any()),
        cb_(tls ? std::move(cb) : ChannelBindings{}),
        session_(std::move(session)) {
    gsasl_session_hook_set(session_.get(), this);
  }

  ~GsaslServer() override {
    wipe(keys_.stored_key);
    wipe(keys_.server_key);
  }

  GsaslServer(const GsaslServer&) = delete;
  GsaslServer& operator=(const GsaslServer&) = delete;

  std::optional<std::string> authcid(std::string_view first_message) const override {
    if (mech_.family == Family::kPlain) {
      std::optional<PlainMessage> m = parse_plain(first_message);
      if (!m) {
        return std::nullopt;
      }
      return std::string(m->authcid);
    }
    std::optional<ClientFirst> cf = parse_client_first(first_message);
    if (!cf) {
      return std::nullopt;
    }
    return std::move(cf->username);
  }

  Step step(std::string_view client_data, const Credentials* credentials) override {
    switch (state_) {
      case State::kStart:
      case State::kAwaitingFirst:
        if (client_data.empty()) {
          // No initial response: RFC 6120 §6.4.2 / RFC 4422 §5 item 2a, the server sends an
          // empty challenge and the client answers with its first message. Only once.
          if (state_ == State::kAwaitingFirst) {
            return fail(SaslFailure::kMalformedRequest);
          }
          state_ = State::kAwaitingFirst;
          return challenge({});
        }
        return mech_.family == Family::kPlain ? plain_step(client_data, credentials)
                                              : scram_first(client_data, credentials);
      case State::kAwaitingFinal:
        return scram_final(client_data);
      case State::kDone:
        break;
    }
    // RFC 6120 §6.4.5/§6.4.6: the exchange is over; further data violates the mechanism.
    return fail(SaslFailure::kMalformedRequest);
  }

  int on_callback(Gsasl_property prop) {
    switch (prop) {
      case GSASL_SCRAM_ITER:
        return set(prop, std::to_string(keys_.iterations));
      case GSASL_SCRAM_SALT:
        return set(prop, base64_encode(keys_.salt));
      // gsasl.h documents these two as hex, but gsasl 2.2.0 base64-decodes them (its own
      // PASSWORD fallback stores them base64 too); hex is rejected as a wrong-length key.
      case GSASL_SCRAM_SERVERKEY:
        return set(prop, base64_encode(keys_.server_key));
      case GSASL_SCRAM_STOREDKEY:
        return set(prop, base64_encode(keys_.stored_key));
      case GSASL_CB_TLS_EXPORTER:
        return cb_.tls_exporter.empty() ? GSASL_NO_CALLBACK
                                        : set(prop, base64_encode(cb_.tls_exporter));
      case GSASL_CB_TLS_UNIQUE:
        return cb_.tls_unique.empty() ? GSASL_NO_CALLBACK
                                      : set(prop, base64_encode(cb_.tls_unique));
      case GSASL_VALIDATE_SIMPLE:
        return plain_ok() ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
      default:
        // In particular GSASL_PASSWORD: we never hold passwords.
        return GSASL_NO_CALLBACK;
    }
  }

 private:
  enum class State { kStart, kAwaitingFirst, kAwaitingFinal, kDone };

  Step challenge(std::string data) {
    Step s;
    s.kind = Step::kChallenge;
    s.data = std::move(data);
    return s;
  }

  Step success(std::string data) {
    state_ = State::kDone;
    Step s;
    s.kind = Step::kSuccess;
    s.data = std::move(data);
    s.authzid = authzid_;
    return s;
  }

  Step fail(SaslFailure failure) {
    state_ = State::kDone;
    Step s;
    s.kind = Step::kFailure;
    s.failure = failure;
    return s;
  }

  int set(Gsasl_property prop, const std::string& value) {
    return gsasl_property_set(session_.get(), prop, value.c_str());
  }

  int run_gsasl(std::string_view in, std::string& out) {
    char* raw = nullptr;
    std::size_t raw_len = 0;
    int rc = gsasl_step(session_.get(), in.data(), in.size(), &raw, &raw_len);
    GsaslString owned(raw);
    out.assign(raw != nullptr ? raw : "", raw != nullptr ? raw_len : 0);
    return rc;
  }

  bool has_binding(std::string_view name) const {
    if (name == "tls-exporter") {
      return !cb_.tls_exporter.empty();
    }
    if (name == "tls-unique") {
      return !cb_.tls_unique.empty();
    }
    return false;  // e.g. tls-server-end-point: gsasl 2.2 has no property for it.
  }

  Step scram_first(std::string_view data, const Credentials* credentials) {
    std::optional<ClientFirst> cf = parse_client_first(data);
    if (!cf) {
      return fail(SaslFailure::kMalformedRequest);
    }
    if (mech_.plus) {
      // The -PLUS variants exist only with channel binding (RFC 5802 §6); the server MUST
      // fail when it does not support the requested channel binding type (§6, §6.1).
      if (cf->cb_flag != 'p' || !has_binding(cf->cb_name)) {
        return fail(SaslFailure::kNotAuthorized);
      }
    } else if (cf->cb_flag == 'p') {
      // Channel binding requested under a mechanism name that does not carry it (RFC 5802 §6:
      // clients that bind "MUST use a "p" gs2-cbind-flag" with the PLUS variant). gsasl 2.2
      // would accept it and skip the binding check.
      return fail(SaslFailure::kNotAuthorized);
    } else if (cf->cb_flag == 'y' && advertise_plus_) {
      // RFC 5802 §6: "y" while we do offer -PLUS means the mechanism list was tampered with.
      return fail(SaslFailure::kNotAuthorized);
    }

    const ScramKeys* real = nullptr;
    if (credentials != nullptr) {
      const ScramKeys& k = mech_.hash == ScramHash::kSha1 ? credentials->sha1 : credentials->sha256;
      if (usable(k, mech_.hash)) {
        real = &k;
      }
    }
    if (real != nullptr) {
      keys_ = *real;
    } else {
      // Unknown account (or no keys for this hash): carry on with decoy keys so the reply looks
      // like any other server-first-message, and fail only at the end.
      unknown_account_ = true;
      keys_ = decoy_keys(mech_.hash, cf->username);
    }
    authzid_ = std::move(cf->authzid);

    std::string out;
    int rc = run_gsasl(data, out);
    if (rc == GSASL_NEEDS_MORE && !out.empty()) {
      state_ = State::kAwaitingFinal;
      return challenge(std::move(out));
    }
    if (rc == GSASL_OK || rc == GSASL_NEEDS_MORE) {
      return fail(SaslFailure::kTemporaryAuthFailure);  // not a SCRAM server-first: library bug
    }
    return fail(failure_for(rc));
  }

  Step scram_final(std::string_view data) {
    // client-final-message is ASCII apart from extension values (RFC 5802 §7); keep NULs and
    // broken UTF-8 away from gsasl's C-string parser.
    if (data.find('\0') != std::string_view::npos || !valid_utf8(data)) {
      return fail(SaslFailure::kMalformedRequest);
    }
    std::string out;
    int rc = run_gsasl(data, out);
    if (rc == GSASL_OK) {
      if (unknown_account_) {
        return fail(SaslFailure::kNotAuthorized);
      }
      // RFC 6120 §6.4.6 / RFC 5802 §5: server-final-message as additional data with success.
      return success(std::move(out));
    }
    if (rc == GSASL_NEEDS_MORE) {
      return fail(SaslFailure::kMalformedRequest);
    }
    return fail(failure_for(rc));
  }

  Step plain_step(std::string_view data, const Credentials* credentials) {
    std::optional<PlainMessage> m = parse_plain(data);
    if (!m) {
      return fail(SaslFailure::kMalformedRequest);
    }
    plain_ = &*m;
    plain_credentials_ = credentials;
    std::string out;
    int rc = run_gsasl(data, out);
    if (rc == GSASL_SASLPREP_ERROR) {
      // gsasl 2.2's PLAIN server runs SASLprep (no unassigned code points) over authcid and
      // password before it asks us to validate. Passwords are OpaqueString (RFC 8265 §4.2),
      // which accepts more (e.g. newer emoji), so decide ourselves on the raw password.
      rc = plain_ok() ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
    }
    plain_ = nullptr;
    plain_credentials_ = nullptr;
    if (rc == GSASL_OK) {
      authzid_ = std::string(m->authzid);
      return success({});
    }
    return fail(failure_for(rc));
  }

  // GSASL_VALIDATE_SIMPLE: the raw RFC 4616 password (gsasl's GSASL_PASSWORD property is the
  // SASLprep'd form) against the stored SCRAM-SHA-256 keys.
  bool plain_ok() const {
    if (plain_ == nullptr) {
      return false;
    }
    if (plain_credentials_ != nullptr) {
      return verify_password(*plain_credentials_, plain_->password);
    }
    // Unknown account: spend the same PBKDF2 work as a real check, then refuse.
    Credentials decoy;
    decoy.sha256 = decoy_keys(ScramHash::kSha256, plain_->authcid);
    (void)verify_password(decoy, plain_->password);
    return false;
  }

  const Mechanism& mech_;
  bool advertise_plus_;
  ChannelBindings cb_;
  SessionPtr session_;
  State state_ = State::kStart;
  bool unknown_account_ = false;
  ScramKeys keys_;       // what the gsasl callback serves for SCRAM
  std::string authzid_;  // from the gs2 header "a=" or the PLAIN authzid
  // Set only while gsasl_step() runs for PLAIN.
  const PlainMessage* plain_ = nullptr;
  const Credentials* plain_credentials_ = nullptr;
};

int dispatch_callback(Gsasl* /*ctx*/, Gsasl_session* session, Gsasl_property prop) {
  auto* server = static_cast<GsaslServer*>(gsasl_session_hook_get(session));
  if (server == nullptr) {
    return GSASL_NO_CALLBACK;
  }
  try {
    return server->on_callback(prop);
  } catch (const std::exception&) {
    return GSASL_CRYPTO_ERROR;  // do not unwind through C; -> temporary-auth-failure
  }
}

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
    if (offered(m, tls, cb) && library_supports(m)) {
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
  if (!cb.tls_unique.empty()) {
    out.emplace_back("tls-unique");  // RFC 5929
  }
  return out;
}

std::unique_ptr<SaslServer> SaslServer::create(std::string_view mechanism, bool tls,
                                               ChannelBindings cb) {
  for (const Mechanism& m : kMechanisms) {
    if (mechanism != m.name) {
      continue;
    }
    if (!offered(m, tls, cb) || !library_supports(m)) {
      return nullptr;
    }
    Gsasl_session* raw = nullptr;
    if (gsasl_server_start(context(), m.name, &raw) != GSASL_OK) {
      return nullptr;
    }
    return std::make_unique<GsaslServer>(m, tls, std::move(cb), SessionPtr(raw));
  }
  return nullptr;
}

}  // namespace starling::auth
