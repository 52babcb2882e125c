#pragma once
// The open XEP-0050 sessions of one shard. The ad-hoc module keeps one store per shard and uses
// the store of the shard a request runs on: requests to the server run on the sender's partition
// shard (module::Iq::shard), so all the stages of one requester's sessions meet the same store
// and no lock is needed. Not thread-safe by design.
//
// Bounds: a session idle longer than the timeout is gone (§4.3 lets the responder decide the
// lifetime); a user (bare JID) has at most `max_per_user` open sessions, opening one more ends
// the oldest; the ids of recently ended sessions are remembered (a bounded ring) so that their
// reuse gets <session-expired/> rather than <bad-sessionid/>.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "module/adhoc.hpp"
#include "xmpp/dataform.hpp"

namespace starling::modules::adhoc {

using Clock = std::chrono::steady_clock;

struct Session {
  std::string id;
  const module::AdHocCommand* command = nullptr;
  module::CommandSession data;
  // The form shown at each stage reached so far; the current stage is forms.size() - 1.
  std::vector<xmpp::dataform::Form> forms;
  Clock::time_point last_used;
  bool busy = false;  // a stage of this session is being processed

  std::size_t stage() const { return forms.empty() ? 0 : forms.size() - 1; }
};
using SessionPtr = std::shared_ptr<Session>;

class SessionStore {
 public:
  SessionStore(std::chrono::seconds timeout, std::size_t max_per_user,
               std::size_t remember_ended = 4096)
      : timeout_(timeout), max_per_user_(max_per_user), remember_(remember_ended) {}

  // Adds a session; when its requester's user already has max_per_user sessions, the oldest of
  // them ends.
  void add(SessionPtr s, Clock::time_point now);
  // The live session with this id, or nullptr (an expired one is ended here).
  SessionPtr find(const std::string& id, Clock::time_point now);
  // Ends a session (completed, canceled, expired or evicted); a no-op when it is gone already.
  void end(const std::string& id);
  // True when `id` was a session of `requester` (full JID) that has ended.
  bool ended_recently(const std::string& requester, const std::string& id) const;
  // Ends every session idle for longer than the timeout (a sweep at most once a second).
  void expire(Clock::time_point now);

  // Records a session that ended without being added (a command completed in one stage).
  void remember(const Session& s);

  std::size_t size() const { return sessions_.size(); }

 private:
  std::chrono::seconds timeout_;
  std::size_t max_per_user_;
  std::size_t remember_;
  std::unordered_map<std::string, SessionPtr> sessions_;               // by id
  std::unordered_map<std::string, std::deque<std::string>> per_user_;  // bare -> ids, oldest first
  std::deque<std::string> ended_order_;  // "full-jid id" keys, oldest first
  std::unordered_set<std::string> ended_;
  Clock::time_point last_sweep_{};
};

}  // namespace starling::modules::adhoc
