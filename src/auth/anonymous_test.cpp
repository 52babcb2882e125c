// SASL ANONYMOUS (RFC 4505) against GNU SASL's client, an independent implementation.
#include "auth/anonymous.hpp"

#include <gsasl.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace starling::auth {
namespace {

using Kind = SaslServer::Step::Kind;

// The client's one message for `token`, produced by gsasl.
std::string gsasl_anonymous_message(const std::string& token) {
  Gsasl* ctx = nullptr;
  EXPECT_EQ(gsasl_init(&ctx), GSASL_OK);
  Gsasl_session* session = nullptr;
  EXPECT_EQ(gsasl_client_start(ctx, "ANONYMOUS", &session), GSASL_OK);
  gsasl_property_set(session, GSASL_ANONYMOUS_TOKEN, token.c_str());
  char* out = nullptr;
  size_t out_len = 0;
  EXPECT_EQ(gsasl_step(session, nullptr, 0, &out, &out_len), GSASL_OK);
  std::string message(out, out_len);
  gsasl_free(out);
  gsasl_finish(session);
  gsasl_done(ctx);
  return message;
}

TEST(Anonymous, GsaslClientLogsIn) {
  // RFC 4505 §4: the example's trace information "sirhc"; and an email address (§2).
  for (const std::string token : {"sirhc", "chris@example.com", "Anonymous, Suelta"}) {
    std::string msg = gsasl_anonymous_message(token);
    EXPECT_EQ(msg, token);
    auto server = make_anonymous_server();
    ASSERT_EQ(server->authcid(msg), std::string());
    auto step = server->step(msg, nullptr);
    EXPECT_EQ(step.kind, Kind::kSuccess) << token;
    EXPECT_TRUE(step.data.empty());
    EXPECT_TRUE(step.authzid.empty());
    // §2: one message only.
    EXPECT_EQ(server->step(msg, nullptr).kind, Kind::kFailure);
  }
}

TEST(Anonymous, EmptyTraceIsAllowed) {
  // message = [ email / token ]: the trace is optional.
  auto server = make_anonymous_server();
  EXPECT_EQ(server->authcid(""), std::string());
  EXPECT_EQ(server->step("", nullptr).kind, Kind::kSuccess);
}

TEST(Anonymous, TraceBounds) {
  // token = 1*255TCHAR: 255 characters of up to 4 octets each pass, 256 do not.
  EXPECT_TRUE(anonymous_trace(std::string(255, 'a')));
  EXPECT_FALSE(anonymous_trace(std::string(256, 'a')));
  std::string four;  // U+1F600, 4 octets
  for (int i = 0; i < 255; ++i) {
    four += "\xF0\x9F\x98\x80";
  }
  EXPECT_TRUE(anonymous_trace(four));
  EXPECT_FALSE(anonymous_trace(four + "a"));
  auto server = make_anonymous_server();
  EXPECT_FALSE(server->authcid(std::string(1000, 'x')));
  auto step = server->step(std::string(1000, 'x'), nullptr);
  EXPECT_EQ(step.kind, Kind::kFailure);
  EXPECT_EQ(step.failure, SaslFailure::kMalformedRequest);
}

TEST(Anonymous, ProhibitedCharacters) {
  // §3: the "trace" profile's prohibited tables, and UTF-8 that is not UTF-8.
  for (const char* bad : {
           "a\nb",              // C.2.1
           "a\x7f",             // C.2.1 DEL
           "a\xC2\x85",         // C.2.2 U+0085
           "\xE2\x80\x8E",      // C.8 U+200E
           "\xEE\x80\x80",      // C.3 U+E000
           "\xEF\xBF\xBE",      // C.4 U+FFFE
           "\xEF\xBF\xBD",      // C.6 U+FFFD
           "\xF3\xA0\x80\x81",  // C.9 U+E0001
           "\xED\xA0\x80",      // C.5 surrogate
           "\xC0\xAF",          // overlong
           "\xFF",              // not UTF-8
           "\xE2\x82",          // truncated
       }) {
    EXPECT_FALSE(anonymous_trace(bad)) << bad;
  }
  EXPECT_TRUE(anonymous_trace("caf\xC3\xA9 user"));
}

}  // namespace
}  // namespace starling::auth
