#pragma once
// XEP-0013 Flexible Offline Message Retrieval: the payloads and the per-session state, apart
// from the module so they can be tested without a server. The module is in offline.cpp.
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "module/module.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::modules::offline {

// The protocol namespace, the well-known disco node and the FORM_TYPE (XEP-0013 §6.1, §6.3, §6.4).
inline constexpr std::string_view kFlexNs = "http://jabber.org/protocol/offline";

// An <offline/> request (XEP-0013 §2.4 to §2.7).
struct FlexRequest {
  enum class Kind { kView, kRemove, kFetch, kPurge };
  Kind kind = Kind::kFetch;
  std::vector<std::string> nodes;  // kView and kRemove: the nodes named, once each, in order
};

// Parses the <offline/> payload of an iq get (`is_set` false: view or fetch) or set (remove or
// purge; also fetch, for slixmpp). Anything else is bad-request: no child, a command mixed with
// items or repeated, <purge/> in a get, an item without 'node' or with an action other than
// the iq type's (view in a get, remove in a set). Children in other namespaces are ignored.
std::variant<FlexRequest, xmpp::StanzaError> parse_request(const xml::Element& offline,
                                                           bool is_set);

// The XEP-0128 form of the node's disco#info: FORM_TYPE and number_of_messages (XEP-0013 §2.2,
// field registered in §6.4).
xml::Element count_form(std::size_t number_of_messages);

// The disco#items header of a stored message (XEP-0013 §2.3): jid = the account, node = the
// message's key, name = the sender's full JID as in the message's 'from'.
module::DiscoItem header_item(const xmpp::Jid& account, const std::string& key,
                              const xml::Element& stored);

// A stored message as sent for view or fetch (XEP-0013 §2.4, §2.6): addressed to the requesting
// resource and carrying <offline><item node='key'/></offline>. Its XEP-0203 delay stamp stays
// (§2.4 recommends XEP-0091, which XEP-0203 replaces).
xml::Element retrieved_message(xml::Element stored, const std::string& key,
                               const xmpp::Jid& requester);

// Which sessions chose flexible retrieval, to decide whether initial presence triggers the
// XEP-0160 flood (XEP-0013 §2.2). Sessions are identified by full JID; a new session with the
// JID of one being replaced (RFC 6120 §7.7.2.2) starts without the flag.
//
// Thread-safe: the session events fire on each session's shard while the XEP-0013 handlers run
// on the account's partition shard, and a module has no executor of its own. The lock is taken
// once per bind, close, initial presence and XEP-0013 request, never per routed stanza.
class FlexSessions {
 public:
  void bound(const xmpp::Jid& full);
  void closed(const xmpp::Jid& full);
  // The session used XEP-0013. Ignored for a session that is not (or no longer) bound.
  void mark(const xmpp::Jid& full);
  // XEP-0013 §2.2: no flood for a session that used XEP-0013, nor for another resource of the
  // account while such a session is still active.
  bool suppress_flood(const xmpp::Jid& full) const;
  std::size_t size() const;  // bound sessions tracked, for tests

 private:
  struct Entry {
    int live = 0;  // sessions with this full JID (two while one replaces the other)
    bool flexible = false;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Entry>> accounts_;  // bare -> resource -> entry
};

}  // namespace starling::modules::offline
