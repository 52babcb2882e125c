#pragma once
// The router decides, for a stanza and its `to`, which entity gets it: a local session, the
// server itself (module iq handlers), the account (bare JID, answered by the server), or, until
// federation exists, nobody (remote-server-not-found). Delivery to another shard is an
// asio::post; the session table partition of a bare JID lives on shard hash(bare) % N.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "module/module.hpp"
#include "session/session_table.hpp"
#include "xmpp/jid.hpp"

namespace starling::net {
class Shards;
}
namespace starling::storage {
class Storage;
}

namespace starling::router {

class Router : public module::StanzaSink {
 public:
  Router(net::Shards& shards, std::vector<std::string> domains, module::Registry& registry,
         storage::Storage& storage);
  ~Router() override;

  bool is_local_domain(std::string_view domain) const {
    return domains_.contains(std::string(domain));
  }
  const std::vector<std::string>& domains() const { return domain_list_; }

  // Routes a stanza whose `from` the origin has stamped. Callable from any shard.
  void route(xmpp::StanzaPtr stanza) override;
  void push_to_interested(const xmpp::Jid& bare, xml::Element stanza) override;
  void set_roster_interested(const xmpp::Jid& full) override;
  void end_sessions(const xmpp::Jid& bare, std::string condition, std::string text) override;

  // Binds a full JID to a session living on `shard`. An existing session with the same full JID
  // is ended with <conflict/> (RFC 6120 §7.7.2.2, "override"). Returns the bind id to pass to
  // unbind/set_presence.
  boost::asio::awaitable<std::uint64_t> bind(xmpp::Jid full, std::weak_ptr<session::LocalSession> s,
                                             std::size_t shard);
  void unbind(const xmpp::Jid& full, std::uint64_t id);
  void set_presence(const xmpp::Jid& full, std::uint64_t id, bool available, int priority);
  // True when `full` is bound right now (for tests and the admin API).
  boost::asio::awaitable<bool> is_bound(xmpp::Jid full);

  std::size_t partition_of(const std::string& bare) const;

 private:
  void route_on_partition(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);
  void deliver_to(const session::ResourceEntry& e, xmpp::StanzaPtr stanza);
  void to_server(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, std::size_t shard);
  void to_bare(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, std::size_t part);
  void bounce(const xml::Element& stanza, xmpp::StanzaError err);
  // `account_known`: the account certainly exists (it has bound sessions, or is the sender's).
  boost::asio::awaitable<void> dispatch_iq(xmpp::StanzaPtr stanza, module::Target target,
                                           xmpp::Jid to, xmpp::Jid from, bool account_known);
  boost::asio::awaitable<void> to_bare_offline(xmpp::StanzaPtr stanza, xmpp::Jid to,
                                               bool account_known);
  boost::asio::awaitable<bool> account_exists(const xmpp::Jid& account);

  net::Shards& shards_;
  std::unordered_set<std::string> domains_;
  std::vector<std::string> domain_list_;
  module::Registry& registry_;
  storage::Storage& storage_;
  std::vector<std::unique_ptr<session::Partition>> partitions_;
  std::atomic<std::uint64_t> next_bind_id_{1};
};

}  // namespace starling::router
