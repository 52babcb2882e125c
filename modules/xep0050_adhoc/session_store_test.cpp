#include "modules/xep0050_adhoc/session_store.hpp"

#include <gtest/gtest.h>

namespace starling::modules::adhoc {
namespace {

using std::chrono::seconds;

SessionPtr session(const std::string& id, const std::string& requester) {
  auto s = std::make_shared<Session>();
  s->id = id;
  s->data.requester = *xmpp::Jid::parse(requester);
  return s;
}

TEST(AdhocSessionStore, FindsLiveSessionsAndRemembersEndedOnes) {
  SessionStore st(seconds(600), 5);
  auto t0 = Clock::now();
  st.add(session("a", "romeo@example.org/home"), t0);
  ASSERT_NE(st.find("a", t0 + seconds(10)), nullptr);
  EXPECT_EQ(st.find("b", t0), nullptr);
  EXPECT_FALSE(st.ended_recently("romeo@example.org/home", "b"));
  st.end("a");
  EXPECT_EQ(st.find("a", t0), nullptr);
  // XEP-0050 §4.6 session-expired for a completed/canceled session, bound to its requester.
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "a"));
  EXPECT_FALSE(st.ended_recently("romeo@example.org/work", "a"));
}

TEST(AdhocSessionStore, IdleSessionsExpire) {
  SessionStore st(seconds(60), 5);
  auto t0 = Clock::now();
  st.add(session("a", "romeo@example.org/home"), t0);
  st.add(session("b", "romeo@example.org/home"), t0);
  EXPECT_EQ(st.find("a", t0 + seconds(61)), nullptr);
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "a"));
  st.expire(t0 + seconds(61));
  EXPECT_EQ(st.size(), 0u);
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "b"));
}

TEST(AdhocSessionStore, BusySessionsDoNotExpire) {
  SessionStore st(seconds(60), 5);
  auto t0 = Clock::now();
  auto s = session("a", "romeo@example.org/home");
  st.add(s, t0);
  s->busy = true;
  EXPECT_NE(st.find("a", t0 + seconds(120)), nullptr);
}

TEST(AdhocSessionStore, SessionsPerUserAreBounded) {
  SessionStore st(seconds(600), 2);
  auto t0 = Clock::now();
  st.add(session("a", "romeo@example.org/home"), t0);
  st.add(session("b", "romeo@example.org/work"), t0);
  st.add(session("x", "juliet@example.org/balcony"), t0);
  st.add(session("c", "romeo@example.org/home"), t0);  // the user's oldest ("a") ends
  EXPECT_EQ(st.find("a", t0), nullptr);
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "a"));
  EXPECT_NE(st.find("b", t0), nullptr);
  EXPECT_NE(st.find("c", t0), nullptr);
  EXPECT_NE(st.find("x", t0), nullptr);
  EXPECT_EQ(st.size(), 3u);
}

TEST(AdhocSessionStore, TheRingOfEndedIdsIsBounded) {
  SessionStore st(seconds(600), 5, 2);
  auto t0 = Clock::now();
  for (const char* id : {"a", "b", "c"}) {
    st.add(session(id, "romeo@example.org/home"), t0);
    st.end(id);
  }
  EXPECT_FALSE(st.ended_recently("romeo@example.org/home", "a"));
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "b"));
  EXPECT_TRUE(st.ended_recently("romeo@example.org/home", "c"));
}

}  // namespace
}  // namespace starling::modules::adhoc
