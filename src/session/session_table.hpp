#pragma once
// The session table: bare JID -> resources -> (shard, session). It is partitioned by bare JID;
// partition i is touched only on shard i (no locks). Callers reach a partition through
// Router, which posts to the owning shard.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::session {

// An account's communication policy (XEP-0016 privacy lists, XEP-0191 blocking), compiled by a
// module into an immutable value that the router and the sessions consult per stanza without
// locks or storage calls. Never consulted between an account's own resources.
class StanzaFilter {
 public:
  virtual ~StanzaFilter() = default;
  // The policy blocks `stanza` from `from` to the account.
  virtual bool blocks_inbound(const xml::Element& stanza, const xmpp::Jid& from) const = 0;
  // The policy blocks the account's `stanza` to `to`.
  virtual bool blocks_outbound(const xml::Element& stanza, const xmpp::Jid& to) const = 0;
};
using FilterPtr = std::shared_ptr<const StanzaFilter>;

// The bare JIDs an account shares its presence with through a subscription ("from" or "both"):
// RFC 6121 §8.5.3.1 lets only them (and those that got directed presence) query its resources.
using Audience = std::unordered_set<std::string>;
using AudiencePtr = std::shared_ptr<const Audience>;

// What the server keeps up to date in an account's available presence on the account's behalf
// (e.g. XEP-0398 §4: the vCard avatar hash), one value per presence decorator a module
// registered (module::ModuleContext::add_presence_decorator), indexed by the decorator's slot.
// A module derives its state from PresenceState; the c2s stream hands it to the module's
// decorator for every available presence the session sends, so that path needs no storage call
// and no lock. `generation` orders the updates of one account (values read from storage are
// numbered on the storage thread): an older value never replaces a newer one.
class PresenceState {
 public:
  explicit PresenceState(std::uint64_t generation) : generation_(generation) {}
  virtual ~PresenceState() = default;
  std::uint64_t generation() const { return generation_; }

 private:
  std::uint64_t generation_;
};
using PresenceStatePtr = std::shared_ptr<const PresenceState>;
// Immutable once published: an update makes a new vector.
using PresenceStates = std::vector<PresenceStatePtr>;
using PresenceStatesPtr = std::shared_ptr<const PresenceStates>;

// A bound client session as the router sees it. Implemented by the c2s stream.
class LocalSession {
 public:
  virtual ~LocalSession() = default;
  // Both are called only on the session's own shard.
  virtual void deliver(xmpp::StanzaPtr stanza) = 0;
  // Ends the stream with this stream error condition (e.g. "conflict").
  virtual void kick(std::string_view condition, std::string_view text) = 0;
  // The policy for this session's outbound stanzas changed (nullptr: none).
  virtual void set_filter(FilterPtr filter) = 0;
  // The account's presence audience changed.
  virtual void set_audience(AudiencePtr audience) = 0;
  // The account's presence state changed (see PresenceState): an available session sends its
  // presence again when the new state changes what its decorators make of it.
  virtual void set_presence_states(PresenceStatesPtr states) = 0;
};

struct ResourceEntry {
  std::weak_ptr<LocalSession> session;
  std::size_t shard = 0;
  std::uint64_t id = 0;  // unique per bind, so a late unbind cannot remove a newer session
  int priority = 0;
  bool available = false;          // has sent initial presence and not unavailable since
  bool roster_interested = false;  // requested the roster (RFC 6121 §2.1.6 roster pushes)
  bool blocklist_interested = false;  // requested the blocklist (XEP-0191 §3.3 pushes)
  xmpp::StanzaPtr last_presence;   // the last available broadcast presence (§4.3.2 #4)
  FilterPtr active_filter;         // this session's own policy (XEP-0016 active list), if any
};

class Partition {
 public:
  using Resources = std::map<std::string, ResourceEntry, std::less<>>;
  // Inserts or replaces; returns the replaced entry (to be kicked), if any.
  std::optional<ResourceEntry> bind(const std::string& bare, const std::string& resource,
                                    ResourceEntry entry);
  // Removes only if the entry's id matches.
  void unbind(const std::string& bare, const std::string& resource, std::uint64_t id);
  void set_presence(const std::string& bare, const std::string& resource, std::uint64_t id,
                    bool available, int priority, xmpp::StanzaPtr presence = nullptr);
  const ResourceEntry* find(const std::string& bare, std::string_view resource) const;
  void set_roster_interested(const std::string& bare, const std::string& resource);
  void set_blocklist_interested(const std::string& bare, const std::string& resource);
  // Mutable access, for updates made on the partition's shard.
  ResourceEntry* find_mutable(const std::string& bare, std::string_view resource);
  const Resources* resources(const std::string& bare) const;
  // The account's default policy (also for accounts without sessions); nullptr when none.
  const FilterPtr& filter(const std::string& bare) const;
  void set_filter(const std::string& bare, FilterPtr filter);
  // The account's presence audience while it has sessions (nullptr: not known yet).
  const AudiencePtr& audience(const std::string& bare) const;
  void set_audience(const std::string& bare, AudiencePtr audience);
  // The account's presence state while it has sessions (nullptr: none known yet).
  const PresenceStatesPtr& presence_states(const std::string& bare) const;
  // Stores `state` in `slot` unless the slot holds a newer generation; returns the new states,
  // or nullptr when nothing changed (older value, or the account has no sessions).
  PresenceStatesPtr set_presence_state(const std::string& bare, std::size_t slot,
                                       PresenceStatePtr state);
  // The policy that applies to a stanza for `resource` (empty: for the bare JID).
  const StanzaFilter* effective_filter(const std::string& bare, std::string_view resource) const;
  std::size_t session_count() const { return sessions_; }
  // Every account with bound sessions (read-only, for administration queries).
  const std::unordered_map<std::string, Resources>& accounts() const { return table_; }

 private:
  std::unordered_map<std::string, Resources> table_;
  std::unordered_map<std::string, FilterPtr> filters_;
  std::unordered_map<std::string, AudiencePtr> audiences_;
  std::unordered_map<std::string, PresenceStatesPtr> presence_states_;
  std::size_t sessions_ = 0;
};

// RFC 6121 §8.5.2.1.1: a message to a bare JID goes to the available resources with the highest
// non-negative priority. Returns those entries (empty when none).
std::vector<const ResourceEntry*> highest_priority(const Partition::Resources& rs);

}  // namespace starling::session
