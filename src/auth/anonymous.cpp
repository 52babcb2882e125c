#include "auth/anonymous.hpp"

#include <cstdint>

namespace starling::auth {

namespace {

// Decodes one UTF-8 sequence at s[i] (RFC 3629: shortest form, no surrogates, at most
// U+10FFFF); advances i. nullopt when invalid.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  std::size_t len;
  char32_t cp;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) {
    return std::nullopt;
  }
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;  // overlong, out of range, or a surrogate (C.5)
  }
  i += len;
  return cp;
}

// RFC 4505 §3: the stringprep (RFC 3454) tables the "trace" profile prohibits.
bool prohibited(char32_t c) {
  // C.2.1 ASCII control characters, C.2.2 non-ASCII control characters (the C1 block and the
  // format characters the table lists).
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x06DD || c == 0x070F ||
      c == 0x180E || c == 0x200C || c == 0x200D || c == 0x2028 || c == 0x2029 ||
      (c >= 0x2060 && c <= 0x2063) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) ||
      (c >= 0x1D173 && c <= 0x1D17A)) {
    return true;
  }
  // C.3 private use.
  if ((c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) ||
      (c >= 0x100000 && c <= 0x10FFFD)) {
    return true;
  }
  // C.4 non-character code points.
  if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) {
    return true;
  }
  // C.6 inappropriate for plain text.
  if (c >= 0xFFF9 && c <= 0xFFFD) {
    return true;
  }
  // C.8 change display properties or deprecated.
  if (c == 0x0340 || c == 0x0341 || c == 0x200E || c == 0x200F ||
      (c >= 0x202A && c <= 0x202E) || (c >= 0x206A && c <= 0x206F)) {
    return true;
  }
  // C.9 tagging characters.
  return c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);
}

class AnonymousServer final : public SaslServer {
 public:
  std::optional<std::string> authcid(std::string_view first_message) const override {
    if (!anonymous_trace(first_message)) {
      return std::nullopt;
    }
    return std::string();
  }

  Step step(std::string_view client_data, const Credentials* /*credentials*/) override {
    Step s;
    if (done_ || !anonymous_trace(client_data)) {
      // §2: a single message; anything else violates the mechanism.
      s.failure = SaslFailure::kMalformedRequest;
      return s;
    }
    done_ = true;
    s.kind = Step::kSuccess;
    return s;
  }

 private:
  bool done_ = false;
};

}  // namespace

std::optional<std::string> anonymous_trace(std::string_view message) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < message.size();) {
    auto c = next_code_point(message, i);
    if (!c || prohibited(*c) || ++chars > kMaxTraceChars) {
      return std::nullopt;
    }
  }
  return std::string(message);
}

std::unique_ptr<SaslServer> make_anonymous_server() { return std::make_unique<AnonymousServer>(); }

}  // namespace starling::auth
