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

// Where stanzas for remote domains go (the s2s manager, src/stream/s2s). Callable from any shard.
class RemoteRoute {
 public:
  virtual ~RemoteRoute() = default;
  // `from` is an address of a local domain, `to` one of a remote domain.
  virtual void send_remote(xmpp::StanzaPtr stanza, const xmpp::Jid& from, const xmpp::Jid& to) = 0;
  // An iq result or error addressed to a served domain itself: true when it answers a request
  // of the remote route (e.g. a XEP-0199 ping of a link) and was taken.
  virtual bool take_response(const xmpp::StanzaPtr& /*iq*/) { return false; }
};

class Router : public module::StanzaSink {
 public:
  Router(net::Shards& shards, std::vector<std::string> domains, module::Registry& registry,
         storage::Storage& storage);
  ~Router() override;

  bool is_local_domain(std::string_view domain) const {
    return domains_.contains(std::string(domain));
  }
  const std::vector<std::string>& domains() const { return domain_list_; }
  // A served domain or the domain of a module's service (module::ServiceHandler, e.g. MUC):
  // s2s accepts streams for it and sends stanzas from it.
  bool is_served_domain(std::string_view domain) const {
    return is_local_domain(domain) || registry_.find_service(domain) != nullptr;
  }

  // Federation: stanzas for remote domains go there (set once before the shards start);
  // without it they bounce with remote-server-not-found.
  void set_remote(RemoteRoute* remote) { remote_ = remote; }
  // Answers `stanza` with `err` to its sender (RFC 6120 §8.3.1); never an error to an error.
  void bounce(const xml::Element& stanza, xmpp::StanzaError err);

  // Routes a stanza whose `from` the origin has stamped. Callable from any shard.
  void route(xmpp::StanzaPtr stanza) override;
  void push_to_interested(const xmpp::Jid& bare, xml::Element stanza,
                          module::Interest interest) override;
  void set_roster_interested(const xmpp::Jid& full, module::Interest interest) override;
  void set_account_filter(const xmpp::Jid& bare, module::FilterPtr filter) override;
  void set_resource_filter(const xmpp::Jid& full, module::FilterPtr filter) override;
  boost::asio::awaitable<module::FilterPtr> filter_of(xmpp::Jid jid) override;
  void set_audience(const xmpp::Jid& bare, module::AudiencePtr audience) override;
  boost::asio::awaitable<std::vector<module::AvailableResource>> available_resources(
      xmpp::Jid bare) override;
  void deliver_to_available(const xmpp::Jid& bare, xmpp::StanzaPtr stanza) override;
  void deliver_to_resource(const xmpp::Jid& full, xmpp::StanzaPtr stanza) override;
  void end_sessions(const xmpp::Jid& bare, std::string condition, std::string text) override;
  void set_presence_state(const xmpp::Jid& bare, std::size_t slot,
                          module::PresenceStatePtr state) override;
  boost::asio::awaitable<std::vector<module::OnlineAccount>> online_accounts(
      std::string domain, std::size_t limit) override;
  std::size_t shard_count() const override;
  boost::asio::any_io_executor shard_executor(std::size_t shard) override;
  std::size_t shard_of(const xmpp::Jid& jid) const override { return partition_of(jid.bare_str()); }

  // Binds a full JID to a session living on `shard`. An existing session with the same full JID
  // is ended with <conflict/> (RFC 6120 §7.7.2.2, "override"). Returns the bind id to pass to
  // unbind/set_presence, and the account's policy for the session's outbound stanzas.
  struct BindResult {
    std::uint64_t id = 0;
    module::FilterPtr filter;
    module::AudiencePtr audience;
    session::PresenceStatesPtr presence_states;
  };
  boost::asio::awaitable<BindResult> bind(xmpp::Jid full, std::weak_ptr<session::LocalSession> s,
                                             std::size_t shard);
  void unbind(const xmpp::Jid& full, std::uint64_t id);
  // Records the session's broadcast presence (availability, priority and, when available, the
  // stanza itself for answering probes).
  void set_presence(const xmpp::Jid& full, std::uint64_t id, bool available, int priority,
                    xmpp::StanzaPtr presence);
  // True when `full` is bound right now (for tests and the admin API).
  boost::asio::awaitable<bool> is_bound(xmpp::Jid full);

  std::size_t partition_of(const std::string& bare) const;

 private:
  // `hooked`: the message hook (XEP-0079) has already seen this message.
  void route_on_partition(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from,
                          bool hooked = false);
  // A message carrying the hook's payload: what delivery would do, the hook, then delivery.
  boost::asio::awaitable<void> hook_message(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);
  // The account's policy blocks the stanza (XEP-0016 §2.14, XEP-0191 §3.4): answered as the
  // XEPs say and true; false when it may go on.
  bool blocked_inbound(const xml::Element& stanza, const xmpp::Jid& to, const xmpp::Jid& from,
                       std::size_t part);
  void post_filter(const session::ResourceEntry& e, module::FilterPtr filter);
  void deliver_to(const session::ResourceEntry& e, xmpp::StanzaPtr stanza);
  void to_server(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, std::size_t shard);
  void to_bare(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, std::size_t part);
  // Subscription presence and probes for a local account: the presence module (on `part`).
  void inbound_presence(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, std::size_t part);
  // `account_known`: the account certainly exists (it has bound sessions, or is the sender's).
  boost::asio::awaitable<void> dispatch_iq(xmpp::StanzaPtr stanza, module::Target target,
                                           xmpp::Jid to, xmpp::Jid from, bool account_known,
                                           std::size_t shard);
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
  RemoteRoute* remote_ = nullptr;
};

}  // namespace starling::router
