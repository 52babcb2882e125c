#include "base/random.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace starling {
TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string out;
    ASSERT_TRUE(base64_decode(base64_encode(s), out));
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");  // RFC 4648 §10
  std::string out;
  EXPECT_FALSE(base64_decode("Zm9v YmFy", out));
  EXPECT_FALSE(base64_decode("Zm9", out));
  EXPECT_FALSE(base64_decode("Z=9v", out));
}
TEST(RandomId, HasRequestedLengthAndDiffers) {
  EXPECT_EQ(random_id(20).size(), 20u);
  EXPECT_NE(random_id(), random_id());
}
}  // namespace starling
