#pragma once
// Typed events, declared once (STYLE.md §3): a handler receives the struct, so a wrong payload
// type fails to compile. Events fire on the shard where they happen; handlers must not block.
#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::session {
class StanzaFilter;
}
namespace starling::module {
struct EntityCaps;
}

namespace starling::events {

// A client session bound a resource (fired on the session's shard after the bind result).
struct SessionBound {
  xmpp::Jid jid;  // full JID
  boost::asio::any_io_executor executor;  // the session's shard
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

// A session's broadcast presence (RFC 6121 §4.2, §4.4, §4.5): a presence without 'to' that
// is available or unavailable, or the unavailable presence the server generates when an
// available session ends without one (§4.5.2). Fired on the session's shard after the session
// table has been updated. The presence module broadcasts it to the contacts.
struct PresenceBroadcast {
  xmpp::Jid jid;           // full JID
  xmpp::StanzaPtr stanza;  // 'from' is the full JID, no 'to'
  bool available = false;
  bool initial = false;    // available, and the session was not available before (§4.2)
  // Unavailable only: the entities this session sent directed available presence to and no
  // directed unavailable since (§4.6.3 #2), as the 'to' values the client used.
  std::vector<std::string> directed;
  boost::asio::any_io_executor executor;
  // The session's policy for outbound stanzas (XEP-0016 presence-out), or nullptr.
  std::shared_ptr<const session::StanzaFilter> filter;
};

// An account's roster changed (an item was added, updated or removed, by the user or by a
// subscription). `executor` is where it happened, for handlers that start coroutines.
struct RosterChanged {
  xmpp::Jid jid;  // bare JID of the account
  boost::asio::any_io_executor executor;
};

// Available or unavailable presence (no type, or type 'unavailable') from another entity arrived
// for a local account's bare JID (RFC 6121 §8.5.2.1.2): a contact's broadcast presence, local or
// federated. Fired on the account's partition shard (StanzaSink::shard_of) before the presence
// goes to the account's available resources, whether or not any is available. XEP-0163 §4.3
// learns contacts' resources and their caps from it.
struct InboundPresence {
  xmpp::Jid to;            // the account's bare JID
  xmpp::Jid from;          // the sender, as stamped (usually a full JID)
  xmpp::StanzaPtr stanza;  // the presence
  bool available = false;
  boost::asio::any_io_executor executor;
};

// XEP-0115: the server learned the verified capabilities of a client: a bound client of a local
// account (its broadcast presence), or a federated contact's client (its presence to a local
// account). Its presence announced a 'ver' already verified, or the 'ver' it announced has just
// been verified (§5.4). Fired on the shard StanzaSink::shard_of gives for the client's JID.
// XEP-0163 §4.3.2 sends the last published items once it knows what the client wants.
struct CapsVerified {
  xmpp::Jid jid;  // full JID
  std::shared_ptr<const module::EntityCaps> caps;
  boost::asio::any_io_executor executor;
};

// A bound client session ended, for whatever reason (fired on the session's shard).
struct SessionClosed {
  xmpp::Jid jid;  // full JID
};

}  // namespace starling::events
