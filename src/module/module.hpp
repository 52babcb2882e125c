#pragma once
// THE module API. A feature is a module: it declares its spec and registers iq handlers and
// disco features through its ModuleContext. Registrations are RAII handles owned by the context,
// so a module cannot leak one. Registrations happen at start-up only; while the server runs the
// registry is read-only and is read from every shard without locks.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <compare>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <variant>
#include <vector>

#include "module/events.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::config {
struct Config;
}
namespace starling::storage {
class Storage;
enum class Status;
}
namespace starling::session {
class StanzaFilter;
class PresenceState;
}

namespace starling::module {

struct AdHocCommand;  // module/adhoc.hpp

using FilterPtr = std::shared_ptr<const session::StanzaFilter>;
using AudiencePtr = std::shared_ptr<const std::unordered_set<std::string>>;
using PresenceStatePtr = std::shared_ptr<const session::PresenceState>;

// Which resources of an account receive a push.
enum class Interest {
  kRoster,     // requested the roster (RFC 6121 §2.1.6)
  kBlocklist,  // requested the blocklist (XEP-0191 §3.3)
  kAll,        // every bound resource (XEP-0016 §2.6 privacy list pushes)
};

enum class IqType { kGet, kSet };

// Who an iq is addressed to, from the server's point of view.
enum class Target {
  kServer,   // the domain itself ("localhost")
  kAccount,  // a local account's bare JID, answered by the server on the account's behalf
};

// Handlers are keyed by a struct, not a concatenated string (STYLE.md §2).
struct IqKey {
  IqType type;
  Target target;
  std::string ns;       // namespace of the payload element
  std::string element;  // local name of the payload element
  auto operator<=>(const IqKey&) const = default;
};

// An iq request as a handler sees it. `from` is the full JID of the sender, stamped by the server.
struct Iq {
  const xml::Element& stanza;
  const xml::Element& payload;
  xmpp::Jid from;
  xmpp::Jid to;  // the domain, or the account's bare JID
  // Stanzas routed right after the reply, in order (e.g. RFC 6121 §2.6.3 interim roster pushes).
  std::vector<xml::Element>* follow_ups = nullptr;
  void then_send(xml::Element stanza) const { follow_ups->push_back(std::move(stanza)); }
  // Actions run after the reply and the follow-ups have been routed, in order (e.g. XEP-0077
  // §3.2: end the account's sessions once the requester has its result).
  std::vector<std::function<void()>>* after_reply = nullptr;
  void then_run(std::function<void()> action) const { after_reply->push_back(std::move(action)); }
  // An error reply to this request leaves out the request's payload (RFC 6120 §8.3.1 makes
  // including it optional; XEP-0077 §3.3: password change errors SHOULD NOT echo it).
  bool* error_without_payload = nullptr;
  void omit_payload_in_error() const { *error_without_payload = true; }
  // The shard the handler runs on (0 .. ServerInfo::shards - 1). Requests to the server
  // (Target::kServer) run on the sender's partition shard, so every request of one sender runs
  // on the same shard: per-shard state keyed by the sender needs no lock.
  std::size_t shard = 0;
};

// A handler answers with a payload (result with that child), an empty result, or an error.
struct Empty {};
using IqResult = std::variant<xml::Element, Empty, xmpp::StanzaError>;
using IqHandler = std::function<boost::asio::awaitable<IqResult>(const Iq&)>;

// An iq a client sends on its stream after TLS but before authenticating (XEP-0077 §3.1
// account registration). The client has no JID yet, so the handler learns only the stream's
// domain and where the connection comes from. The c2s stream answers with the handler's result
// (no 'to'; 'from' = the domain when the request named it); an iq for which no handler is
// registered still ends the stream with <not-authorized/> (RFC 6120 §4.9.3.12). Requests of
// one stream are handled one at a time, in order.
struct PreAuthIq {
  const xml::Element& stanza;
  const xml::Element& payload;
  std::string domain;          // the domain of the stream (its header's 'to'), prepared
  std::string remote_address;  // the client's IP address, without port ("192.0.2.7", "::1")
};
using PreAuthIqHandler = std::function<boost::asio::awaitable<IqResult>(const PreAuthIq&)>;
// Decides, per served domain, whether a pre-authentication stream feature is offered. Called on
// every shard: it must only read immutable state (the configuration).
using DomainFilter = std::function<bool(std::string_view domain)>;

// Takes a message for an existing account that has no available resource (RFC 6121 §8.5.2.2.1)
// and returns true when it stored it; false makes the router answer service-unavailable.
using OfflineHandler =
    std::function<boost::asio::awaitable<bool>(xmpp::StanzaPtr stanza, const xmpp::Jid& to)>;

// Runs when an account is about to be deleted, while its data still exists (e.g. the roster
// module tells the contacts, RFC 6121 §2.5.2; a module with in-memory state per account drops
// it). `bare` is the account's bare JID. Runs on some shard; the account may have no session.
using AccountRemovalHandler = std::function<boost::asio::awaitable<void>(xmpp::Jid bare)>;

// Subscription-related presence (RFC 6121 §3) and presence probes (§4.3), which the server
// handles on the account's behalf; one module provides both.
struct PresenceHandlers {
  // A client sent a presence of type subscribe, subscribed, unsubscribe, unsubscribed or probe.
  // `from` is the session's full JID, `to` the parsed 'to'. Runs on the session's shard.
  std::function<boost::asio::awaitable<void>(xmpp::StanzaPtr stanza, xmpp::Jid from, xmpp::Jid to)>
      outbound;
  // Such a presence arrived for a local account (which may not exist). `to` is the account's
  // bare JID, or a full JID for a probe (§4.3.2). Runs on the account's partition shard.
  std::function<boost::asio::awaitable<void>(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from)>
      inbound;
};

// Adds to a client's available presence what the server maintains on the account's behalf
// (XEP-0398 §4: the vCard avatar hash). Called by the c2s stream on the session's shard for
// every available presence the client sends (broadcast and directed), with the state the module
// last gave the account (StanzaSink::set_presence_state; the module's own PresenceState
// subclass). It must be cheap and pure: no storage, no locks, no I/O. Returns the decorated
// copy, or nullopt when the presence stays as it is.
using PresenceDecorator = std::function<std::optional<xml::Element>(
    const xml::Element& presence, const session::PresenceState& state)>;

// An available resource as the session table knows it.
struct AvailableResource {
  std::string resource;
  int priority = 0;
  xmpp::StanzaPtr last_presence;  // the last broadcast presence of that resource (§4.3.2 #4)
};

struct Identity {
  std::string category, type, name;
  auto operator<=>(const Identity&) const = default;
};

// Disco nodes (XEP-0030 §3.2 info nodes, §4.2 items nodes). A module answers disco#info and
// disco#items for a node it owns by registering a DiscoNodeHandler for a target and node name
// (ModuleContext::on_disco_node); the disco module formats the reply, mirrors the 'node'
// attribute and answers item-not-found for nodes nobody registered.
//
// What disco#info reports for one node. The disco module always adds the disco#info feature
// (XEP-0030 §3.1: every entity supports it); a node must have at least one identity.
struct DiscoInfo {
  std::vector<Identity> identities;
  std::vector<std::string> features;
  std::vector<xml::Element> forms;  // XEP-0128 extended information (jabber:x:data result forms)
};
// One <item/> of a disco#items result; empty `node` or `name` are left out.
struct DiscoItem {
  std::string jid, node, name;
};
using DiscoInfoResult = std::variant<DiscoInfo, xmpp::StanzaError>;
using DiscoItemsResult = std::variant<std::vector<DiscoItem>, xmpp::StanzaError>;
// The two queries of one node. Each receives the request (`payload` is the <query/>, `from` the
// requester, so a handler can refuse with forbidden); either may be empty, and that query then
// gets item-not-found.
struct DiscoNodeHandler {
  std::function<boost::asio::awaitable<DiscoInfoResult>(const Iq&)> info;
  std::function<boost::asio::awaitable<DiscoItemsResult>(const Iq&)> items;
};
// Items of disco#items without a node that depend on the request (e.g. XEP-0163: the PEP nodes
// of the account `iq.to` that `iq.from` may access). Runs where the disco#items handler runs
// (for Target::kAccount, on the account's partition shard, only for accounts that exist).
using DiscoItemsProvider =
    std::function<boost::asio::awaitable<std::vector<DiscoItem>>(const Iq&)>;

// XEP-0115 entity capabilities of a client, as verified by the server (§5.4): what its disco#info
// for node#ver contained. Shared, immutable; the same object serves every client announcing it.
struct EntityCaps {
  std::vector<Identity> identities;
  std::vector<std::string> features;  // sorted, unique
  std::vector<xml::Element> forms;    // XEP-0128 forms
  bool has_feature(std::string_view feature) const;
  // XEP-0163 §4.4 filtered notifications: the client asked for "<node>+notify".
  bool wants_notify(std::string_view node) const;
};
using CapsPtr = std::shared_ptr<const EntityCaps>;
// The verified capabilities of a bound full JID; nullptr when it announced none, its 'ver' is not
// verified (yet), or the JID is not bound. Callable from any shard.
using CapsLookup = std::function<boost::asio::awaitable<CapsPtr>(xmpp::Jid full)>;

// Answers an iq result or error addressed to the server whose id starts with a registered prefix
// (the replies to iq requests a module sent, e.g. XEP-0115 disco#info to a client). Runs on the
// partition shard of the responder's bare JID.
using IqResponseHandler = std::function<void(xmpp::StanzaPtr response)>;

// How the router would deliver a message to a local account at the moment it arrives, for
// extensions that act on it (XEP-0079 "deliver" and "match-resource").
struct MessageDelivery {
  enum class Kind { kDirect, kStored, kNone };
  Kind kind = Kind::kNone;
  std::vector<std::string> resources;  // kDirect: the resources it would go to
};
// Sees a message to a local account that carries the registered payload, on the account's
// partition shard, before delivery. Returns the stanza to deliver as usual (possibly a modified
// copy), or nullptr when it took the message over (dropped it or answered it).
using MessageHook = std::function<boost::asio::awaitable<xmpp::StanzaPtr>(
    xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from, MessageDelivery delivery)>;
struct MessageHookEntry {
  std::string ns, element;  // the payload that selects the message (one child lookup)
  MessageHook hook;
};

// A service on a domain of its own, a subdomain of a served domain (XEP-0045 MUC on
// conference.example.org; later pubsub services and components). The router hands it every
// stanza addressed to that domain or to any address on it, local or from a federated server,
// including errors and iq results (the service never answers an error with an error). It runs
// on the shard that owns the bare JID of `to` (StanzaSink::shard_of): every stanza for one room
// arrives on one shard, in the order each sender sent them, so the service keeps an entity's
// state on that shard without locks. `from` was stamped and checked by the stanza's origin;
// `to` is parsed. The service answers with ModuleContext::send / StanzaSink::route, using its
// own addresses as 'from': those go to local accounts or out over s2s like any local stanza.
using ServiceHandler =
    std::function<void(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from)>;

// XEP-0163 PEP of local accounts, for modules that map another protocol onto it (XEP-0411:
// XEP-0048 bookmarks in private storage <-> XEP-0402 PEP bookmarks). Provided by the pubsub
// module. Call it on the account's partition shard (StanzaSink::shard_of), where PEP nodes live
// and where Target::kAccount iq handlers run.
class Pep {
 public:
  virtual ~Pep() = default;
  // Handles `pubsub` (a <pubsub xmlns='http://jabber.org/protocol/pubsub'/> element, e.g. with
  // <publish/> and <publish-options/>, or <items/>) as if the account's resource `from` had sent
  // it in an iq to its own bare JID, notifications included. The result is what the iq would get.
  virtual boost::asio::awaitable<IqResult> request(xmpp::Jid from, xml::Element pubsub) = 0;
};

// What a module implements, for docs/features.md and the DOAP file.
struct SpecInfo {
  std::string spec;     // "XEP-0199", "RFC 6120"
  std::string version;  // version of the spec implemented
  std::string status;   // "complete", "partial"
  std::string note;
  std::string tests;  // the tests that prove it, for docs/features.md
};

class Registry;

// Removes its registration when destroyed.
class Registration {
 public:
  Registration() = default;
  explicit Registration(std::function<void()> undo) : undo_(std::move(undo)) {}
  Registration(Registration&& o) noexcept : undo_(std::move(o.undo_)) { o.undo_ = nullptr; }
  Registration& operator=(Registration&& o) noexcept;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration();

 private:
  std::function<void()> undo_;
};

// An account with bound sessions, as the session table knows it.
struct OnlineAccount {
  std::string bare;                    // "user@domain"
  std::vector<std::string> resources;  // its bound resources (available or not)
};

// Sends stanzas into the router. Implemented by the router; usable from any shard.
// The coroutines take their arguments by value: a lazily started coroutine must not refer to
// the caller's temporaries.
class StanzaSink {
 public:
  virtual ~StanzaSink() = default;
  virtual void route(xmpp::StanzaPtr stanza) = 0;
  // Sends a copy of `stanza` (to = each full JID, a fresh id) to every resource of the account
  // with that interest (by default: that requested the roster, RFC 6121 §2.1.6).
  virtual void push_to_interested(const xmpp::Jid& bare, xml::Element stanza,
                                  Interest interest = Interest::kRoster) = 0;
  // Marks a bound resource as interested in roster (or other) pushes.
  virtual void set_roster_interested(const xmpp::Jid& full,
                                     Interest interest = Interest::kRoster) = 0;
  // Installs the account's default policy (privacy, blocking) for inbound stanzas, and in every
  // session of the account without a policy of its own; nullptr removes it.
  virtual void set_account_filter(const xmpp::Jid& bare, FilterPtr filter) = 0;
  // Gives one session a policy of its own (XEP-0016 active list); nullptr: the account's.
  virtual void set_resource_filter(const xmpp::Jid& full, FilterPtr filter) = 0;
  // The policy that applies to `jid` (a full JID's own policy, else the account's).
  virtual boost::asio::awaitable<FilterPtr> filter_of(xmpp::Jid jid) = 0;
  // The bare JIDs subscribed to the account's presence, given to its sessions, which refuse
  // iq requests from anyone else who did not get directed presence (RFC 6121 §8.5.3.1).
  virtual void set_audience(const xmpp::Jid& bare, AudiencePtr audience) = 0;
  // The available resources of a local account, read on its partition shard.
  virtual boost::asio::awaitable<std::vector<AvailableResource>> available_resources(
      xmpp::Jid bare) = 0;
  // Delivers `stanza` unchanged to every available resource of the account (RFC 6121 §8.5.2.1.2),
  // without the server-side handling route() would apply (e.g. inbound subscription requests the
  // presence module has already processed).
  virtual void deliver_to_available(const xmpp::Jid& bare, xmpp::StanzaPtr stanza) = 0;
  // Delivers `stanza` unchanged to one bound resource, if it is bound.
  virtual void deliver_to_resource(const xmpp::Jid& full, xmpp::StanzaPtr stanza) = 0;
  // Ends every session of the account `bare` with the stream error `condition` (RFC 6120
  // §4.9.3) and removes them from the session table at once, so nothing more is routed to
  // them. Stanzas routed to those sessions before this call are delivered before the error.
  // Given a full JID, ends only that session.
  virtual void end_sessions(const xmpp::Jid& bare, std::string condition, std::string text) = 0;
  // Gives the account's sessions a new state for the presence decorator in `slot` (see
  // PresenceDecorator): kept on the account's partition while it has sessions (handed to each
  // new session at bind; without sessions it is dropped, so load it again on SessionBound) and
  // posted to each session, whose available presence is broadcast again when the decoration
  // changes. A state with an older generation than the current one is ignored.
  virtual void set_presence_state(const xmpp::Jid& bare, std::size_t slot,
                                  PresenceStatePtr state) = 0;
  // The accounts of `domain` that have bound sessions right now, read from every partition of
  // the session table in turn (read-only); at most `limit` accounts, in no particular order.
  virtual boost::asio::awaitable<std::vector<OnlineAccount>> online_accounts(std::string domain,
                                                                             std::size_t limit) = 0;
  // The shards, for modules that keep per-shard state without locks (e.g. the XEP-0115 caps
  // cache): how many there are, each one's executor, and the shard that owns the session-table
  // partition of a JID's bare JID (where stanzas to that account are handled).
  virtual std::size_t shard_count() const = 0;
  virtual boost::asio::any_io_executor shard_executor(std::size_t shard) = 0;
  virtual std::size_t shard_of(const xmpp::Jid& jid) const = 0;
};

// Facts about the running server a module may read.
struct ServerInfo {
  std::string name = "Starling";
  std::string version;
  std::size_t shards = 1;  // worker threads; Iq::shard is below this
};

class ModuleContext {
 public:
  ModuleContext(std::string module_name, Registry& registry, StanzaSink& sink,
                const config::Config& config, storage::Storage& storage, const ServerInfo& info)
      : name_(std::move(module_name)),
        registry_(registry),
        sink_(sink),
        config_(config),
        storage_(storage),
        info_(info) {}
  ModuleContext(const ModuleContext&) = delete;
  ModuleContext& operator=(const ModuleContext&) = delete;

  // Handles iq of this key. A second handler for the same key is a start-up error (throws).
  void on_iq(IqKey key, IqHandler handler);
  // A disco#info feature of the server (Target::kServer) or of every account (kAccount).
  void add_feature(Target target, std::string feature);
  void add_identity(Target target, Identity identity);
  // Answers disco#info/#items for `node` of the server (kServer) or of every account (kAccount).
  // A second handler for the same target and node is a start-up error (throws).
  void on_disco_node(Target target, std::string node, DiscoNodeHandler handler);
  // Answers disco#info/#items for every node of the target that no module registered by name
  // (e.g. XEP-0163: the PEP nodes of an account, whose names are not known in advance). One
  // module per target may do this (a second is a start-up error, throws).
  void on_other_disco_nodes(Target target, DiscoNodeHandler handler);
  // Adds the items `provider` returns to disco#items without a node (after the static ones).
  void add_disco_items_provider(Target target, DiscoItemsProvider provider);
  // An ad-hoc command (XEP-0050, module/adhoc.hpp) of the server (kServer). Its node also
  // answers disco#info (identity automation/command-node, §2.2), with forbidden for requesters
  // the command's access excludes. A second command with the same target and node is a
  // start-up error (throws).
  void add_command(Target target, AdHocCommand command);
  // An <item/> of the server's (kServer) or every account's (kAccount) disco#items without a
  // node (XEP-0030 §4.1), e.g. a MUC or upload service; `domain` limits it to that served domain
  // (empty: every domain).
  void add_disco_item(Target target, DiscoItem item, std::string domain = {});
  // An XEP-0128 form (a jabber:x:data result with a hidden FORM_TYPE) in disco#info without a
  // node, e.g. XEP-0157 contact addresses. Part of the server's XEP-0115 'ver'.
  void add_disco_form(Target target, xml::Element form);
  // The router answers iq to an account that does not exist with service-unavailable (RFC 6121
  // §8.5.1) unless the handler of that key answers them itself (XEP-0030 §8: disco#items gets an
  // empty result); the handler then checks existence.
  void answer_missing_accounts(IqKey key);
  // Receives the responses to iq requests this module sent with ids starting with `id_prefix`.
  void on_iq_response(std::string id_prefix, IqResponseHandler handler);
  // Provides the XEP-0115 caps lookup (one module may do this).
  void provide_caps(CapsLookup lookup);
  // Sees messages carrying <element xmlns=ns/> before delivery (one module may do this).
  void on_message_payload(std::string ns, std::string element, MessageHook hook);
  // Serves `domain` (see ServiceHandler). A domain that is a served domain itself or already
  // has a service is a start-up error (throws). s2s accepts streams for it and sends from it.
  void add_service(std::string domain, ServiceHandler handler);
  // Provides XEP-0163 PEP to other modules (one module may do this).
  void provide_pep(std::shared_ptr<Pep> pep);

  // Observes a typed event (events.hpp).
  template <class E>
  void on(std::function<void(const E&)> handler);

  // Fires a typed event to every module that observes it.
  template <class E>
  void fire(const E& event) const;
  // Routes a stanza the server originates (from and to must be set).
  void send(xml::Element stanza);
  // Roster pushes (see StanzaSink).
  void push_to_interested(const xmpp::Jid& bare, xml::Element stanza,
                          Interest interest = Interest::kRoster) {
    sink_.push_to_interested(bare, std::move(stanza), interest);
  }
  void set_roster_interested(const xmpp::Jid& full, Interest interest = Interest::kRoster) {
    sink_.set_roster_interested(full, interest);
  }
  // The session table and direct delivery (see StanzaSink).
  StanzaSink& sink() { return sink_; }
  // Handles subscription presence and probes (one module may do this).
  void on_presence(PresenceHandlers handlers);
  // Stores messages for accounts without an available resource (one module may do this).
  void on_offline_message(OfflineHandler handler);
  // A stream feature offered to clients after authentication (e.g. RFC 6121 §2.6.1 <ver/>).
  void add_stream_feature(xml::Element feature);
  // Handles iq get or set with this payload before authentication (see PreAuthIq). A second
  // handler for the same key is a start-up error (throws).
  void on_pre_auth_iq(IqType type, std::string ns, std::string element, PreAuthIqHandler handler);
  // A stream feature offered before authentication, after TLS (e.g. XEP-0077 §5 <register/>),
  // on streams whose domain passes `offered`.
  void add_pre_auth_stream_feature(xml::Element feature, DomainFilter offered);
  // Decorates the account's available presence (see PresenceDecorator); returns the slot to
  // pass to StanzaSink::set_presence_state.
  std::size_t add_presence_decorator(PresenceDecorator decorator);
  // Observes account deletion (see AccountRemovalHandler), in registration order.
  void on_account_removal(AccountRemovalHandler handler);
  // Deletes an account through the one removal path (module::remove_account).
  boost::asio::awaitable<storage::Status> remove_account(xmpp::Jid bare);
  // Ends every session of an account (see StanzaSink::end_sessions).
  void end_sessions(const xmpp::Jid& bare, std::string condition, std::string text = {}) {
    sink_.end_sessions(bare, std::move(condition), std::move(text));
  }

  const std::string& name() const { return name_; }
  const config::Config& config() const { return config_; }
  storage::Storage& storage() { return storage_; }
  const ServerInfo& server_info() const { return info_; }
  // All registrations (read-only once the server runs), e.g. for disco#info.
  const Registry& registry() const { return registry_; }

 private:
  std::string name_;
  Registry& registry_;
  StanzaSink& sink_;
  const config::Config& config_;
  storage::Storage& storage_;
  const ServerInfo& info_;
  std::vector<Registration> registrations_;
};

// A feature. Constructed by the generated module list, started once with its own context.
class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<SpecInfo> specs() const = 0;
  virtual void start(ModuleContext& ctx) = 0;
  // Called once every module has started, still before the server runs; registrations are still
  // allowed. For what is computed from all modules' registrations (XEP-0115 server 'ver').
  virtual void all_started(ModuleContext& /*ctx*/) {}
};

// The registrations of all modules. Written only at start-up.
class Registry {
 public:
  // Calls every handler of the event in registration order; a handler that throws is logged
  // and skipped.
  template <class E>
  void fire(const E& event) const {
    for (const auto& h : std::get<std::list<std::function<void(const E&)>>>(hooks_)) {
      try {
        h(event);
      } catch (const std::exception& e) {
        log_handler_failure(e.what());
      }
    }
  }

  const IqHandler* find_iq(const IqKey& key) const;
  std::vector<std::string> features(Target t) const;  // sorted, unique
  std::vector<Identity> identities(Target t) const;   // sorted, unique
  const std::list<xml::Element>& stream_features() const { return stream_features_; }
  const OfflineHandler* offline_handler() const { return offline_ ? &offline_ : nullptr; }
  const PresenceHandlers* presence_handlers() const {
    return presence_.inbound ? &presence_ : nullptr;
  }
  const DiscoNodeHandler* find_disco_node(Target t, const std::string& node) const;
  // The handler of nodes nobody registered by name (on_other_disco_nodes), or nullptr.
  const DiscoNodeHandler* other_disco_nodes(Target t) const;
  // The dynamic disco#items providers of a target, in registration order.
  std::vector<const DiscoItemsProvider*> disco_items_providers(Target t) const;
  // The ad-hoc commands of a target, in registration order; nullptr when there is no such node.
  std::vector<const AdHocCommand*> commands(Target t) const;
  const AdHocCommand* find_command(Target t, std::string_view node) const;
  // nullptr when no module handles this iq before authentication.
  const PreAuthIqHandler* find_pre_auth_iq(IqType type, std::string_view ns,
                                           std::string_view element) const;
  // The pre-authentication stream features offered on a stream to `domain`, in registration
  // order.
  std::vector<xml::Element> pre_auth_stream_features(std::string_view domain) const;
  // Runs the presence decorators that have a state in `states`, in slot order; nullopt when
  // none changed the presence.
  std::optional<xml::Element> decorate_presence(
      const xml::Element& presence,
      const std::vector<std::shared_ptr<const session::PresenceState>>& states) const;
  // disco#items entries without a node for `domain` (registration order).
  std::vector<DiscoItem> disco_items(Target t, std::string_view domain) const;
  // XEP-0128 forms of disco#info without a node (registration order).
  std::vector<xml::Element> disco_forms(Target t) const;
  bool answers_missing_accounts(const IqKey& key) const {
    return missing_account_keys_.contains(key);
  }
  // nullptr when no module waits for a response with this id.
  const IqResponseHandler* find_iq_response(std::string_view id) const;
  const CapsLookup* caps_lookup() const { return caps_ ? &caps_ : nullptr; }
  // nullptr when no module provides PEP.
  Pep* pep() const { return pep_.get(); }
  const MessageHookEntry* message_hook() const { return message_hook_.hook ? &message_hook_ : nullptr; }
  const std::list<AccountRemovalHandler>& account_removal_handlers() const {
    return account_removal_;
  }
  // nullptr when no module serves this domain (see ServiceHandler).
  const ServiceHandler* find_service(std::string_view domain) const;
  bool has_services() const { return !services_.empty(); }

 private:
  friend class ModuleContext;
  std::map<IqKey, IqHandler> iq_;
  std::multimap<Target, std::string> features_;
  std::multimap<Target, Identity> identities_;
  std::list<xml::Element> stream_features_;
  std::map<IqKey, PreAuthIqHandler> pre_auth_iq_;  // Target is always kServer
  std::list<std::pair<xml::Element, DomainFilter>> pre_auth_features_;
  // One list per event type of events.hpp; add new events here too.
  std::tuple<std::list<std::function<void(const events::SessionBound&)>>,
             std::list<std::function<void(const events::SessionClosed&)>>,
             std::list<std::function<void(const events::SessionAvailable&)>>,
             std::list<std::function<void(const events::PresenceBroadcast&)>>,
             std::list<std::function<void(const events::RosterChanged&)>>,
             std::list<std::function<void(const events::InboundPresence&)>>,
             std::list<std::function<void(const events::CapsVerified&)>>>
      hooks_;
  OfflineHandler offline_;
  PresenceHandlers presence_;
  std::map<std::pair<Target, std::string>, DiscoNodeHandler> disco_nodes_;
  std::map<Target, DiscoNodeHandler> other_disco_nodes_;
  std::list<std::pair<Target, DiscoItemsProvider>> disco_items_providers_;
  std::vector<PresenceDecorator> decorators_;  // index = slot
  std::list<std::pair<Target, std::shared_ptr<const AdHocCommand>>> commands_;
  std::list<std::tuple<Target, DiscoItem, std::string>> disco_items_;
  std::list<std::pair<Target, xml::Element>> disco_forms_;
  std::set<IqKey> missing_account_keys_;
  std::map<std::string, IqResponseHandler, std::less<>> iq_responses_;  // by id prefix
  CapsLookup caps_;
  std::shared_ptr<Pep> pep_;
  MessageHookEntry message_hook_;
  std::list<AccountRemovalHandler> account_removal_;
  std::map<std::string, ServiceHandler, std::less<>> services_;
  static void log_handler_failure(const char* what);
};

// The one path that deletes an account, whoever asks (XEP-0077 §3.2 cancellation, the end of
// an anonymous session, start-up clean-up of anonymous accounts): every module's
// AccountRemovalHandler, in order, while the data still exists (one that throws is logged and
// skipped), then Backend::delete_account, which removes the account and the data of every
// store in one transaction. kNotFound when there was no account.
boost::asio::awaitable<storage::Status> remove_account(const Registry& registry,
                                                       storage::Storage& store,
                                                       xmpp::Jid bare);

template <class E>
void ModuleContext::fire(const E& event) const {
  registry_.fire(event);
}

template <class E>
void ModuleContext::on(std::function<void(const E&)> handler) {
  auto& list = std::get<std::list<std::function<void(const E&)>>>(registry_.hooks_);
  auto it = list.insert(list.end(), std::move(handler));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

}  // namespace starling::module
