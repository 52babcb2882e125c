#pragma once
// Typed events, declared once (STYLE.md §3): a handler receives the struct, so a wrong payload
// type fails to compile. Events fire on the shard where they happen; handlers must not block.
#include "xmpp/jid.hpp"

namespace starling::events {

// A client session bound a resource (fired on the session's shard after the bind result).
struct SessionBound {
  xmpp::Jid jid;  // full JID
};

// A bound client session ended, for whatever reason (fired on the session's shard).
struct SessionClosed {
  xmpp::Jid jid;  // full JID
};

}  // namespace starling::events
