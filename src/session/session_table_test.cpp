#include "session/session_table.hpp"

#include <gtest/gtest.h>

namespace starling::session {
namespace {

ResourceEntry entry(std::uint64_t id, bool available, int priority) {
  ResourceEntry e;
  e.id = id;
  e.available = available;
  e.priority = priority;
  return e;
}

TEST(Partition, BindReplacesAndUnbindChecksId) {
  Partition p;
  EXPECT_FALSE(p.bind("a@x", "r", entry(1, false, 0)).has_value());
  auto old = p.bind("a@x", "r", entry(2, false, 0));
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->id, 1u);
  EXPECT_EQ(p.session_count(), 1u);
  p.unbind("a@x", "r", 1);  // stale unbind of the replaced session: ignored
  ASSERT_NE(p.find("a@x", "r"), nullptr);
  p.unbind("a@x", "r", 2);
  EXPECT_EQ(p.find("a@x", "r"), nullptr);
  EXPECT_EQ(p.resources("a@x"), nullptr);
  EXPECT_EQ(p.session_count(), 0u);
}

class TestState final : public PresenceState {
 public:
  TestState(std::uint64_t generation, int value) : PresenceState(generation), value(value) {}
  int value;
};

int value_in(const PresenceStatesPtr& states, std::size_t slot) {
  if (!states || states->size() <= slot || !(*states)[slot]) {
    return -1;
  }
  return static_cast<const TestState&>(*(*states)[slot]).value;
}

TEST(Partition, PresenceStatesOnlyWithSessionsAndNeverOlder) {
  Partition p;
  // No session: nothing kept (the next bind loads it again).
  EXPECT_EQ(p.set_presence_state("a@x", 0, std::make_shared<TestState>(1, 10)), nullptr);
  EXPECT_EQ(p.presence_states("a@x"), nullptr);
  p.bind("a@x", "r", entry(1, false, 0));
  auto s1 = p.set_presence_state("a@x", 1, std::make_shared<TestState>(5, 11));
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(value_in(s1, 0), -1);
  EXPECT_EQ(value_in(s1, 1), 11);
  // An older generation (a load that read storage before the user's set) is ignored.
  EXPECT_EQ(p.set_presence_state("a@x", 1, std::make_shared<TestState>(4, 12)), nullptr);
  EXPECT_EQ(value_in(p.presence_states("a@x"), 1), 11);
  // A newer one makes a new vector; the published one is unchanged (sessions may hold it).
  auto s2 = p.set_presence_state("a@x", 1, std::make_shared<TestState>(6, 13));
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(value_in(s2, 1), 13);
  EXPECT_EQ(value_in(s1, 1), 11);
  EXPECT_EQ(p.presence_states("a@x"), s2);
  // The last session gone: forgotten.
  p.unbind("a@x", "r", 1);
  EXPECT_EQ(p.presence_states("a@x"), nullptr);
}

// RFC 6121 §8.5.2.1.1: highest non-negative priority among available resources.
TEST(HighestPriority, PicksTopNonNegativeAvailable) {
  Partition p;
  p.bind("a@x", "low", entry(1, true, 1));
  p.bind("a@x", "high1", entry(2, true, 5));
  p.bind("a@x", "high2", entry(3, true, 5));
  p.bind("a@x", "away", entry(4, false, 10));
  p.bind("a@x", "neg", entry(5, true, -1));
  auto best = highest_priority(*p.resources("a@x"));
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0]->priority, 5);
  EXPECT_EQ(best[1]->priority, 5);
}

TEST(HighestPriority, NoneWhenOnlyNegativeOrUnavailable) {
  Partition p;
  p.bind("a@x", "neg", entry(1, true, -5));
  p.bind("a@x", "na", entry(2, false, 3));
  EXPECT_TRUE(highest_priority(*p.resources("a@x")).empty());
  p.set_presence("a@x", "na", 2, true, 0);
  EXPECT_EQ(highest_priority(*p.resources("a@x")).size(), 1u);
}

}  // namespace
}  // namespace starling::session
