#pragma once
// Typical stanzas of a client-to-server stream, as they arrive from a client (no 'from': the
// server stamps it) and as the server delivers them.
#include <string>
#include <string_view>

namespace starling::microbench {

inline constexpr std::string_view kStreamHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' "
    "xml:lang='en'>";

// A one-to-one chat message: a body of about 100 bytes, a chat state (XEP-0085), a receipt
// request (XEP-0184) and an origin-id (XEP-0359), as Conversations or Dino send them.
std::string chat_message();
// Available presence with entity capabilities (XEP-0115), a show, a status and a priority.
std::string caps_presence();
// A roster result (RFC 6121 §2.1.4) with `items` contacts, each with a name and a group.
std::string roster_result(int items);

}  // namespace starling::microbench
