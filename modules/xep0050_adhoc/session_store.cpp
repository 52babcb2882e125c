#include "modules/xep0050_adhoc/session_store.hpp"

#include <algorithm>

namespace starling::modules::adhoc {

namespace {
std::string ended_key(const std::string& requester, const std::string& id) {
  return requester + ' ' + id;
}
}  // namespace

void SessionStore::add(SessionPtr s, Clock::time_point now) {
  s->last_used = now;
  auto& ids = per_user_[s->data.requester.bare_str()];
  while (ids.size() >= max_per_user_) {
    std::string oldest = ids.front();
    end(oldest);  // removes it from `ids`
  }
  ids.push_back(s->id);
  sessions_[s->id] = std::move(s);
}

SessionPtr SessionStore::find(const std::string& id, Clock::time_point now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return nullptr;
  }
  if (!it->second->busy && now - it->second->last_used > timeout_) {
    end(id);
    return nullptr;
  }
  return it->second;
}

void SessionStore::end(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return;
  }
  SessionPtr s = std::move(it->second);
  sessions_.erase(it);
  auto u = per_user_.find(s->data.requester.bare_str());
  if (u != per_user_.end()) {
    auto& ids = u->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) {
      per_user_.erase(u);
    }
  }
  remember(*s);
}

void SessionStore::remember(const Session& s) {
  if (remember_ == 0) {
    return;
  }
  std::string key = ended_key(s.data.requester.str(), s.id);
  if (!ended_.insert(key).second) {
    return;
  }
  ended_order_.push_back(std::move(key));
  while (ended_order_.size() > remember_) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

bool SessionStore::ended_recently(const std::string& requester, const std::string& id) const {
  return ended_.contains(ended_key(requester, id));
}

void SessionStore::expire(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(1)) {
    return;
  }
  last_sweep_ = now;
  std::vector<std::string> old;
  for (const auto& [id, s] : sessions_) {
    if (!s->busy && now - s->last_used > timeout_) {
      old.push_back(id);
    }
  }
  for (const auto& id : old) {
    end(id);
  }
}

}  // namespace starling::modules::adhoc
