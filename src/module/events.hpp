#pragma once
// Typed events, declared once (STYLE.md §3): a handler receives the struct, so a wrong payload
// type fails to compile. Events fire on the shard where they happen; handlers must not block.
#include <boost/asio/any_io_executor.hpp>

#include "xmpp/jid.hpp"

namespace starling::events {

// A client session bound a resource (fired on the session's shard after the bind result).
struct SessionBound {
  xmpp::Jid jid;  // full JID
};

// A session sent available presence without 'to' (RFC 6121 §4.2). `initial` when it was not
// available before. `executor` is the session's shard, for handlers that start coroutines.
struct SessionAvailable {
  xmpp::Jid jid;  // full JID
  int priority = 0;
  bool initial = false;
  // The first available presence of this session with a non-negative priority (XEP-0160 §4:
  // when offline messages are delivered).
  bool first_non_negative = false;
  boost::asio::any_io_executor executor;
};

// A bound client session ended, for whatever reason (fired on the session's shard).
struct SessionClosed {
  xmpp::Jid jid;  // full JID
};

}  // namespace starling::events
