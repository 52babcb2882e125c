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
#include <vector>

#include "xmpp/stanza.hpp"

namespace starling::session {

// A bound client session as the router sees it. Implemented by the c2s stream.
class LocalSession {
 public:
  virtual ~LocalSession() = default;
  // Both are called only on the session's own shard.
  virtual void deliver(xmpp::StanzaPtr stanza) = 0;
  // Ends the stream with this stream error condition (e.g. "conflict").
  virtual void kick(std::string_view condition, std::string_view text) = 0;
};

struct ResourceEntry {
  std::weak_ptr<LocalSession> session;
  std::size_t shard = 0;
  std::uint64_t id = 0;  // unique per bind, so a late unbind cannot remove a newer session
  int priority = 0;
  bool available = false;          // has sent initial presence and not unavailable since
  bool roster_interested = false;  // requested the roster (RFC 6121 §2.1.6 roster pushes)
  xmpp::StanzaPtr last_presence;   // the last available broadcast presence (§4.3.2 #4)
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
  const Resources* resources(const std::string& bare) const;
  std::size_t session_count() const { return sessions_; }

 private:
  ResourceEntry* find_mutable(const std::string& bare, std::string_view resource);

  std::unordered_map<std::string, Resources> table_;
  std::size_t sessions_ = 0;
};

// RFC 6121 §8.5.2.1.1: a message to a bare JID goes to the available resources with the highest
// non-negative priority. Returns those entries (empty when none).
std::vector<const ResourceEntry*> highest_priority(const Partition::Resources& rs);

}  // namespace starling::session
