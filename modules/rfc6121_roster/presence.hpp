#pragma once
// RFC 6121 §3 (subscriptions, with the state machine of Appendix A) and §4 (presence broadcast,
// probes, directed presence), for the rfc6121_roster module.
#include <boost/asio/awaitable.hpp>

#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_item.hpp"

namespace starling::modules::roster {

// §2.5.2: ends the subscriptions between `user` and the contact of `item`: unavailable presence
// from each of `resources` and "unsubscribed" to a contact that sees the user's presence (or
// asked to), then "unsubscribe" to one whose presence the user sees (or asked to). Used when
// an item is removed and when the account is deleted.
void send_cancellation(module::ModuleContext& ctx, const xmpp::Jid& user, const RosterItem& item,
                       bool pending_in, const std::vector<module::AvailableResource>& resources);

class Presence {
 public:
  void start(module::ModuleContext& ctx);
  // §2.5.2: after the user removed `old` from the roster, cancel both directions of the
  // subscription with the contact.
  boost::asio::awaitable<void> after_removal(xmpp::Jid user, RosterItem old, bool pending_in);

 private:
  boost::asio::awaitable<void> outbound(xmpp::StanzaPtr stanza, xmpp::Jid from, xmpp::Jid to);
  boost::asio::awaitable<void> inbound(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);
  boost::asio::awaitable<void> probe(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);
  boost::asio::awaitable<void> broadcast(events::PresenceBroadcast e);
  // Sends a copy of each available resource's presence (or `type` presence, e.g.
  // "unavailable") from the user's full JIDs to `contact` (§3.1.5, §3.2.2, §3.3.3).
  boost::asio::awaitable<void> presence_from_resources(xmpp::Jid user, std::string contact,
                                                       std::string type);
  boost::asio::awaitable<void> refresh_audience(xmpp::Jid user);
  boost::asio::awaitable<void> account_removed(xmpp::Jid user);
  void route_copy(const xml::Element& stanza, const std::string& from, const std::string& to);

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace starling::modules::roster
