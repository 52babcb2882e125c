// XEP-0060 engine unit tests (pubsub-engine and pubsub-owner add theirs).
#include "modules/xep0060_pubsub/engine.hpp"

#include <gtest/gtest.h>

#include "modules/xep0060_pubsub/node.hpp"

namespace starling::pubsub {
namespace {

TEST(PubsubNode, EnumNamesRoundTrip) {
  for (auto a : {Affiliation::kOwner, Affiliation::kPublisher, Affiliation::kPublishOnly,
                 Affiliation::kMember, Affiliation::kNone, Affiliation::kOutcast}) {
    EXPECT_EQ(parse_affiliation(to_string(a)), a);
  }
  EXPECT_EQ(parse_access_model("whitelist"), AccessModel::kWhitelist);
  EXPECT_EQ(parse_send_last("on_sub_and_presence"), SendLast::kOnSubAndPresence);
  EXPECT_FALSE(parse_access_model("secret").has_value());
}

}  // namespace
}  // namespace starling::pubsub
