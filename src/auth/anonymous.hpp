#pragma once
// SASL ANONYMOUS (RFC 4505): one message from the client, optional trace information, then
// success. Offered only on anonymous domains (config anonymous_domains); the c2s stream gives
// each login a fresh account.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/sasl.hpp"

namespace starling::auth {

inline constexpr std::string_view kAnonymousMechanism = "ANONYMOUS";

// RFC 4505 §2: at most 255 characters of trace information.
inline constexpr std::size_t kMaxTraceChars = 255;

// The trace information of an ANONYMOUS message (§2, §3), or nullopt when the message is not
// one: invalid UTF-8, more than kMaxTraceChars characters, or a character the "trace"
// stringprep profile prohibits (§3: control, private use, non-character, surrogate,
// inappropriate for plain text, change display properties, tagging). An empty message is an
// empty trace. The server has no use for the trace beyond logging it (§2: "no semantical
// value").
std::optional<std::string> anonymous_trace(std::string_view message);

// The server side of the mechanism: authcid() is "" for a valid message (there is no
// authentication identity) and nullopt for a malformed one (-> malformed-request); step()
// succeeds on a valid message. Credentials are ignored.
std::unique_ptr<SaslServer> make_anonymous_server();

}  // namespace starling::auth
