#include "stream/s2s/dialback.hpp"

#include <gtest/gtest.h>

namespace starling::stream::s2s {
namespace {

// The worked example of XEP-0185 §4.
TEST(Dialback, KeyOfTheXepExample) {
  EXPECT_EQ(dialback_key("s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F"),
            "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
}

TEST(Dialback, KeyDependsOnEveryInput) {
  const std::string k = dialback_key("secret-secret-secret", "a.test", "b.test", "id1");
  EXPECT_NE(k, dialback_key("secret-secret-secreT", "a.test", "b.test", "id1"));
  EXPECT_NE(k, dialback_key("secret-secret-secret", "b.test", "a.test", "id1"));
  EXPECT_NE(k, dialback_key("secret-secret-secret", "a.test", "b.test", "id2"));
  // The space delimiter keeps "a.tes" + "tb.test" apart from "a.test" + "b.test".
  EXPECT_NE(k, dialback_key("secret-secret-secret", "a.tes", "tb.test", "id1"));
  EXPECT_EQ(k.size(), 64u);
}

TEST(Dialback, KeysEqual) {
  EXPECT_TRUE(keys_equal("abc", "abc"));
  EXPECT_FALSE(keys_equal("abc", "abd"));
  EXPECT_FALSE(keys_equal("abc", "abcd"));
  EXPECT_FALSE(keys_equal("", "a"));
}

}  // namespace
}  // namespace starling::stream::s2s
