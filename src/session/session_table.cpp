#include "session/session_table.hpp"

namespace starling::session {

std::optional<ResourceEntry> Partition::bind(const std::string& bare, const std::string& resource,
                                             ResourceEntry entry) {
  auto& rs = table_[bare];
  auto it = rs.find(resource);
  if (it != rs.end()) {
    ResourceEntry old = std::move(it->second);
    it->second = std::move(entry);
    return old;
  }
  rs.emplace(resource, std::move(entry));
  ++sessions_;
  return std::nullopt;
}

void Partition::unbind(const std::string& bare, const std::string& resource, std::uint64_t id) {
  auto t = table_.find(bare);
  if (t == table_.end()) {
    return;
  }
  auto it = t->second.find(resource);
  if (it == t->second.end() || it->second.id != id) {
    return;
  }
  t->second.erase(it);
  --sessions_;
  if (t->second.empty()) {
    table_.erase(t);
    audiences_.erase(bare);
    presence_states_.erase(bare);
  }
}

const PresenceStatesPtr& Partition::presence_states(const std::string& bare) const {
  static const PresenceStatesPtr kNone;
  auto it = presence_states_.find(bare);
  return it == presence_states_.end() ? kNone : it->second;
}

PresenceStatesPtr Partition::set_presence_state(const std::string& bare, std::size_t slot,
                                                PresenceStatePtr state) {
  if (!table_.contains(bare)) {
    return nullptr;  // only accounts with sessions need one; the next bind loads it again
  }
  PresenceStatesPtr& current = presence_states_[bare];
  auto next = current ? std::make_shared<PresenceStates>(*current)
                      : std::make_shared<PresenceStates>();
  if (next->size() <= slot) {
    next->resize(slot + 1);
  }
  const PresenceStatePtr& old = (*next)[slot];
  if (old && state && old->generation() > state->generation()) {
    return nullptr;
  }
  (*next)[slot] = std::move(state);
  current = std::move(next);
  return current;
}

const AudiencePtr& Partition::audience(const std::string& bare) const {
  static const AudiencePtr kNone;
  auto it = audiences_.find(bare);
  return it == audiences_.end() ? kNone : it->second;
}

void Partition::set_audience(const std::string& bare, AudiencePtr audience) {
  if (table_.contains(bare)) {
    audiences_[bare] = std::move(audience);  // only accounts with sessions need one
  }
}

ResourceEntry* Partition::find_mutable(const std::string& bare, std::string_view resource) {
  auto t = table_.find(bare);
  if (t == table_.end()) {
    return nullptr;
  }
  auto it = t->second.find(resource);
  return it == t->second.end() ? nullptr : &it->second;
}

void Partition::set_presence(const std::string& bare, const std::string& resource, std::uint64_t id,
                             bool available, int priority, xmpp::StanzaPtr presence) {
  ResourceEntry* e = find_mutable(bare, resource);
  if (e == nullptr || e->id != id) {
    return;  // gone, or replaced by a newer session with the same resource
  }
  e->available = available;
  e->priority = priority;
  e->last_presence = available ? std::move(presence) : nullptr;
}

void Partition::set_blocklist_interested(const std::string& bare, const std::string& resource) {
  if (ResourceEntry* e = find_mutable(bare, resource)) {
    e->blocklist_interested = true;
  }
}

const FilterPtr& Partition::filter(const std::string& bare) const {
  static const FilterPtr kNone;
  auto it = filters_.find(bare);
  return it == filters_.end() ? kNone : it->second;
}

void Partition::set_filter(const std::string& bare, FilterPtr filter) {
  if (filter) {
    filters_[bare] = std::move(filter);
  } else {
    filters_.erase(bare);
  }
}

const StanzaFilter* Partition::effective_filter(const std::string& bare,
                                                std::string_view resource) const {
  if (!resource.empty()) {
    if (const ResourceEntry* e = find(bare, resource); e != nullptr && e->active_filter) {
      return e->active_filter.get();
    }
  }
  return filter(bare).get();
}

void Partition::set_roster_interested(const std::string& bare, const std::string& resource) {
  if (ResourceEntry* e = find_mutable(bare, resource)) {
    e->roster_interested = true;
  }
}

const ResourceEntry* Partition::find(const std::string& bare, std::string_view resource) const {
  return const_cast<Partition*>(this)->find_mutable(bare, resource);
}

const Partition::Resources* Partition::resources(const std::string& bare) const {
  auto t = table_.find(bare);
  return t == table_.end() ? nullptr : &t->second;
}

std::vector<const ResourceEntry*> highest_priority(const Partition::Resources& rs) {
  std::vector<const ResourceEntry*> out;
  int best = -1;
  for (const auto& [_, e] : rs) {
    if (!e.available || e.priority < 0) {
      continue;
    }
    if (e.priority > best) {
      best = e.priority;
      out.clear();
    }
    if (e.priority == best) {
      out.push_back(&e);
    }
  }
  return out;
}

}  // namespace starling::session
