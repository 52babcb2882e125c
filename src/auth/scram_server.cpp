// SCRAM server (RFC 5802; SHA-256 per RFC 7677) for SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS
// variants with channel binding (RFC 5802 §6): tls-unique and tls-server-end-point (RFC 5929),
// tls-exporter (RFC 9266). Written on OpenSSL primitives; no SASL library involved.
//
// The exchange has two round trips at most (RFC 5802 §5, RFC 6120 §6.4.6):
//   client-first-message  ->  <challenge/> server-first-message
//   client-final-message  ->  <success/> with server-final-message "v=..." as additional data
// (plus, before these, one empty challenge when the client sends no initial response). Every
// failure is an RFC 6120 §6.5 condition: malformed-request for anything off the RFC 5802 §7
// syntax, not-authorized for a refused channel-binding flag or type, a wrong "c=", nonce or proof,
// or an unknown account. The server-final "e=" form is not used (§5.1 makes it optional).
#include "auth/scram_server.hpp"

#include <openssl/crypto.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "base/random.hpp"

namespace starling::auth::internal {
namespace {

// RFC 5802 §5.1 r=: the server appends its own random printable nonce. 24 random bytes in
// base64 make 32 characters from [A-Za-z0-9+/]: printable, no ',' and no padding.
constexpr std::size_t kServerNonceBytes = 24;

// --- message parsing (RFC 5802 §7) -----------------------------------------------------------

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
  // Views into the parsed message.
  std::string_view gs2_header;  // "n,," etc., both commas included: the start of cbind-input
  std::string_view bare;        // client-first-message-bare, the start of AuthMessage (§3)
  std::string_view nonce;       // c-nonce
};

// client-first-message = gs2-header client-first-message-bare (RFC 5802 §7).
std::optional<ClientFirst> parse_client_first(std::string_view msg) {
  ClientFirst cf;
  const std::string_view whole = msg;
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
  cf.gs2_header = whole.substr(0, whole.size() - msg.size());
  cf.bare = msg;

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
      cf.nonce = attr.substr(2);
    } else if (!valid_attr_val(attr) || attr[0] == 'm') {
      // Optional extensions are ignored (§7 "extensions"); an "m" attribute anywhere MUST cause
      // authentication failure (§5.1).
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

// "c=" and "p=" are base64 = *base64-4 [base64-3 / base64-2] (RFC 5802 §7): base64_decode()
// takes exactly that (padding required, no whitespace).
struct ClientFinal {
  std::string cbind_input;         // decoded "c=" value
  std::string_view nonce;          // "r=" value
  std::string proof;               // decoded "p=" value
  std::string_view without_proof;  // client-final-message-without-proof, for AuthMessage (§3)
};

// client-final-message = channel-binding "," nonce ["," extensions] "," proof (RFC 5802 §7).
std::optional<ClientFinal> parse_client_final(std::string_view msg) {
  // ASCII apart from extension values, which are UTF-8 without NUL.
  if (msg.find('\0') != std::string_view::npos || !valid_utf8(msg)) {
    return std::nullopt;
  }
  // The proof is the last attribute; no attribute value before it can contain ','.
  std::size_t proof_at = msg.rfind(",p=");
  if (proof_at == std::string_view::npos) {
    return std::nullopt;
  }
  ClientFinal cf;
  cf.without_proof = msg.substr(0, proof_at);
  if (!base64_decode(msg.substr(proof_at + 3), cf.proof)) {
    return std::nullopt;
  }
  std::string_view rest = cf.without_proof;
  std::size_t index = 0;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view attr = rest.substr(0, comma);
    if (index == 0) {
      if (!attr.starts_with("c=") || !base64_decode(attr.substr(2), cf.cbind_input)) {
        return std::nullopt;
      }
    } else if (index == 1) {
      // nonce = "r=" c-nonce [s-nonce], both printable.
      if (!attr.starts_with("r=") || !valid_nonce(attr.substr(2))) {
        return std::nullopt;
      }
      cf.nonce = attr.substr(2);
    } else if (!valid_attr_val(attr) || attr[0] == 'm' || attr[0] == 'p') {
      // Optional extensions are ignored; "m" MUST fail (§5.1); a second proof is no extension.
      return std::nullopt;
    }
    ++index;
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  if (index < 2) {
    return std::nullopt;
  }
  return cf;
}

// --- the server --------------------------------------------------------------------------------

class ScramServer final : public SaslServer {
 public:
  ScramServer(ScramHash hash, bool plus, bool tls, ChannelBindings cb)
      : hash_(hash),
        plus_(plus),
        advertise_plus_(tls && cb.any()),
        cb_(tls ? std::move(cb) : ChannelBindings{}) {}

  ~ScramServer() override { forget_keys(); }

  ScramServer(const ScramServer&) = delete;
  ScramServer& operator=(const ScramServer&) = delete;

  std::optional<std::string> authcid(std::string_view first_message) const override {
    std::optional<ClientFirst> cf = parse_client_first(first_message);
    if (!cf) {
      return std::nullopt;
    }
    return std::move(cf->username);
  }

  Step step(std::string_view client_data, const Credentials* credentials) override {
    try {
      return step_unchecked(client_data, credentials);
    } catch (const std::exception&) {
      // OpenSSL or the RNG failed: not the client's fault.
      return fail(SaslFailure::kTemporaryAuthFailure);
    }
  }

 private:
  enum class State { kStart, kAwaitingFirst, kAwaitingFinal, kDone };

  Step step_unchecked(std::string_view client_data, const Credentials* credentials) {
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
        return client_first(client_data, credentials);
      case State::kAwaitingFinal:
        return client_final(client_data);
      case State::kDone:
        break;
    }
    // RFC 6120 §6.4.5/§6.4.6: the exchange is over; further data violates the mechanism.
    return fail(SaslFailure::kMalformedRequest);
  }

  Step challenge(std::string data) {
    Step s;
    s.kind = Step::kChallenge;
    s.data = std::move(data);
    return s;
  }

  Step success(std::string data) {
    finish();
    Step s;
    s.kind = Step::kSuccess;
    s.data = std::move(data);
    s.authzid = authzid_;
    return s;
  }

  Step fail(SaslFailure failure) {
    finish();
    Step s;
    s.kind = Step::kFailure;
    s.failure = failure;
    return s;
  }

  void finish() {
    state_ = State::kDone;
    forget_keys();
  }

  void forget_keys() {
    wipe(keys_.stored_key);
    wipe(keys_.server_key);
  }

  // The channel-binding data of `type` on this connection, nullptr when we have none.
  const std::string* binding_data(std::string_view type) const {
    const std::string* data = nullptr;
    if (type == "tls-exporter") {
      data = &cb_.tls_exporter;  // RFC 9266 §2
    } else if (type == "tls-server-end-point") {
      data = &cb_.tls_server_end_point;  // RFC 5929 §4.1
    } else if (type == "tls-unique") {
      data = &cb_.tls_unique;  // RFC 5929 §3.1
    }
    return data != nullptr && !data->empty() ? data : nullptr;
  }

  Step client_first(std::string_view data, const Credentials* credentials) {
    std::optional<ClientFirst> cf = parse_client_first(data);
    if (!cf) {
      return fail(SaslFailure::kMalformedRequest);
    }
    // The channel-binding rules of RFC 5802 §6.
    const std::string* cb_data = nullptr;
    if (plus_) {
      // The -PLUS variants exist only with channel binding; "Servers MUST choose the channel
      // binding type indicated by the client, or fail authentication if they don't support it"
      // (§6.1, and §6 for "p" with an unsupported type).
      if (cf->cb_flag != 'p') {
        return fail(SaslFailure::kNotAuthorized);
      }
      cb_data = binding_data(cf->cb_name);
      if (cb_data == nullptr) {
        return fail(SaslFailure::kNotAuthorized);
      }
    } else if (cf->cb_flag == 'p') {
      // Channel binding requested under a mechanism name that does not carry it: clients that
      // bind "MUST use a "p" gs2-cbind-flag" with the PLUS variant (§6).
      return fail(SaslFailure::kNotAuthorized);
    } else if (cf->cb_flag == 'y' && advertise_plus_) {
      // §6: "If the flag is set to "y" and the server supports channel binding, the server MUST
      // fail authentication" -- someone removed -PLUS from our mechanism list.
      return fail(SaslFailure::kNotAuthorized);
    }

    const ScramKeys* real = nullptr;
    if (credentials != nullptr) {
      const ScramKeys& k = hash_ == ScramHash::kSha1 ? credentials->sha1 : credentials->sha256;
      if (usable(k, hash_)) {
        real = &k;
      }
    }
    if (real != nullptr) {
      keys_ = *real;
    } else {
      // Unknown account (or no keys for this hash): carry on with decoy keys so the reply looks
      // like any other server-first-message, and fail only at the end.
      unknown_account_ = true;
      keys_ = decoy_keys(hash_, cf->username);
    }

    // §7: cbind-input = gs2-header [cbind-data], the data present exactly for "p".
    expected_cbind_.assign(cf->gs2_header);
    if (cb_data != nullptr) {
      expected_cbind_ += *cb_data;
    }
    // §5.1 r=: the client's nonce followed by ours.
    nonce_.assign(cf->nonce);
    nonce_ += base64_encode(random_bytes(kServerNonceBytes));
    // server-first-message = nonce "," salt "," iteration-count (§7).
    std::string server_first = "r=" + nonce_ + ",s=" + base64_encode(keys_.salt) +
                               ",i=" + std::to_string(keys_.iterations);
    // §3: AuthMessage := client-first-message-bare + "," + server-first-message + "," +
    //                    client-final-message-without-proof. The username in it is "as received"
    // (§5.1 n=).
    auth_message_.assign(cf->bare);
    auth_message_ += ',';
    auth_message_ += server_first;
    authzid_ = std::move(cf->authzid);
    state_ = State::kAwaitingFinal;
    return challenge(std::move(server_first));
  }

  Step client_final(std::string_view data) {
    std::optional<ClientFinal> cf = parse_client_final(data);
    if (!cf || cf->proof.size() != hash_size(hash_)) {
      // A ClientProof has the length of the hash (§3).
      return fail(SaslFailure::kMalformedRequest);
    }
    // §6: "The server MUST always validate the client's "c=" field. The server does this by
    // constructing the value of the "c=" attribute and then checking that it matches". It carries
    // the gs2-header of the first message (authzid included) and, for "p", this connection's
    // binding data.
    bool binding_ok =
        cf->cbind_input.size() == expected_cbind_.size() &&
        CRYPTO_memcmp(cf->cbind_input.data(), expected_cbind_.data(), expected_cbind_.size()) == 0;
    // §5.1 r=: "The server MUST verify that the nonce sent by the client in the second message
    // is the same as the one sent by the server in its first message."
    bool nonce_ok = cf->nonce == nonce_;

    std::string auth_message = auth_message_;
    auth_message += ',';
    auth_message += cf->without_proof;
    // §3: ClientSignature := HMAC(StoredKey, AuthMessage); ClientKey := ClientProof XOR
    // ClientSignature; the proof is good when H(ClientKey) = StoredKey, compared in constant time.
    std::string client_key = hmac(hash_, keys_.stored_key, auth_message);
    for (std::size_t i = 0; i < client_key.size(); ++i) {
      client_key[i] = static_cast<char>(client_key[i] ^ cf->proof[i]);
    }
    std::string candidate = digest(hash_, client_key);
    wipe(client_key);
    bool proof_ok = candidate.size() == keys_.stored_key.size() &&
                    CRYPTO_memcmp(candidate.data(), keys_.stored_key.data(), candidate.size()) == 0;
    wipe(candidate);

    if (!binding_ok || !nonce_ok || !proof_ok || unknown_account_) {
      return fail(SaslFailure::kNotAuthorized);
    }
    // §3: ServerSignature := HMAC(ServerKey, AuthMessage); server-final-message = "v=" base64
    // (§7), sent as additional data with success (RFC 6120 §6.4.6).
    std::string verifier = "v=" + base64_encode(hmac(hash_, keys_.server_key, auth_message));
    return success(std::move(verifier));
  }

  const ScramHash hash_;
  const bool plus_;
  const bool advertise_plus_;  // whether the mechanism list offered -PLUS (RFC 5802 §6 "y")
  const ChannelBindings cb_;   // empty without TLS
  State state_ = State::kStart;
  bool unknown_account_ = false;
  ScramKeys keys_;              // the account's (or decoy) keys; wiped when the exchange ends
  std::string authzid_;         // unescaped gs2-header "a=" value
  std::string expected_cbind_;  // cbind-input the "c=" attribute must carry
  std::string nonce_;           // c-nonce + s-nonce
  std::string auth_message_;    // client-first-message-bare "," server-first-message
};

}  // namespace

std::unique_ptr<SaslServer> make_scram_server(ScramHash hash, bool plus, bool tls,
                                              ChannelBindings cb) {
  return std::make_unique<ScramServer>(hash, plus, tls, std::move(cb));
}

}  // namespace starling::auth::internal
