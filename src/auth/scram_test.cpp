// SCRAM key derivation against the RFC test vectors, credential helpers, and the hash helpers the
// SCRAM server is built on.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "auth/sasl.hpp"
#include "auth/scram_server.hpp"
#include "base/random.hpp"

namespace starling::auth {
namespace {

std::string b64(std::string_view s) {
  std::string out;
  EXPECT_TRUE(base64_decode(s, out)) << s;
  return out;
}

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out += kDigits[(static_cast<unsigned char>(c) >> 4) & 0xF];
    out += kDigits[static_cast<unsigned char>(c) & 0xF];
  }
  return out;
}

const EVP_MD* md_for(ScramHash hash) {
  return hash == ScramHash::kSha1 ? EVP_sha1() : EVP_sha256();
}

std::string hmac(ScramHash hash, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md_for(hash), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(ScramHash hash, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md_for(hash), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string xor_bytes(std::string a, std::string_view b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    a[i] = static_cast<char>(a[i] ^ b[i]);
  }
  return a;
}

// The server side of RFC 5802 §3 on a published exchange: with our derived StoredKey the client's
// proof must yield a ClientKey whose hash is StoredKey, and ServerKey must give the published
// server signature.
void check_vector(ScramHash hash, std::string_view client_first_bare, std::string_view server_first,
                  std::string_view client_final_without_proof, std::string_view salt_b64,
                  std::string_view proof_b64, std::string_view signature_b64) {
  ScramKeys keys = derive_keys(hash, "pencil", b64(salt_b64), 4096);
  EXPECT_EQ(keys.iterations, 4096u);
  EXPECT_EQ(keys.salt, b64(salt_b64));
  // AuthMessage := client-first-message-bare + "," + server-first-message + "," +
  //                client-final-message-without-proof
  std::string auth_message = std::string(client_first_bare) + "," + std::string(server_first) +
                             "," + std::string(client_final_without_proof);
  // ClientSignature := HMAC(StoredKey, AuthMessage); ClientKey := ClientProof XOR ClientSignature
  std::string client_key = xor_bytes(b64(proof_b64), hmac(hash, keys.stored_key, auth_message));
  EXPECT_EQ(digest(hash, client_key), keys.stored_key);
  // ServerSignature := HMAC(ServerKey, AuthMessage)
  EXPECT_EQ(base64_encode(hmac(hash, keys.server_key, auth_message)), signature_b64);
}

// RFC 5802 §5: user "user", password "pencil", SCRAM-SHA-1.
TEST(ScramKeys, Rfc5802Sha1Vector) {
  check_vector(ScramHash::kSha1, "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
               "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
               "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92",
               "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

// The keys behind the RFC 5802 §5 example (not printed in the RFC; cross-checked with Python's
// hashlib.pbkdf2_hmac/hmac as an independent implementation).
TEST(ScramKeys, Rfc5802Sha1Keys) {
  ScramKeys keys = derive_keys(ScramHash::kSha1, "pencil", b64("QSXCR+Q6sek8bf92"), 4096);
  EXPECT_EQ(hex(keys.stored_key), "e9d94660c39d65c38fbad91c358f14da0eef2bd6");
  EXPECT_EQ(hex(keys.server_key), "0fe09258b3ac852ba502cc62ba903eaacdbf7d31");
}

// RFC 7677 §3: user "user", password "pencil", SCRAM-SHA-256.
TEST(ScramKeys, Rfc7677Sha256Vector) {
  check_vector(ScramHash::kSha256, "n=user,r=rOprNGfwEbeRWgbNEkqO",
               "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
               "i=4096",
               "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
               "W22ZaJ0SNY7soEsUEjb6gQ==", "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
               "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(ScramKeys, WrongPasswordDoesNotReproduceVector) {
  ScramKeys keys = derive_keys(ScramHash::kSha1, "pencil2", b64("QSXCR+Q6sek8bf92"), 4096);
  std::string auth_message =
      "n=user,r=fyko+d2lbbFgONRv9qkxdawL,"
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,"
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
  std::string client_key = xor_bytes(b64("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
                                     hmac(ScramHash::kSha1, keys.stored_key, auth_message));
  EXPECT_NE(digest(ScramHash::kSha1, client_key), keys.stored_key);
}

TEST(DeriveCredentials, FreshSaltsPerHashAndCall) {
  auto a = derive_credentials("pencil");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->sha1.iterations, 4096u);
  EXPECT_EQ(a->sha256.iterations, 4096u);
  EXPECT_EQ(a->sha1.salt.size(), 16u);
  EXPECT_EQ(a->sha256.salt.size(), 16u);
  EXPECT_NE(a->sha1.salt, a->sha256.salt);
  EXPECT_EQ(a->sha1.stored_key.size(), 20u);
  EXPECT_EQ(a->sha1.server_key.size(), 20u);
  EXPECT_EQ(a->sha256.stored_key.size(), 32u);
  EXPECT_EQ(a->sha256.server_key.size(), 32u);
  // The stored keys are those of derive_keys() with the chosen salt.
  ScramKeys again = derive_keys(ScramHash::kSha256, "pencil", a->sha256.salt, 4096);
  EXPECT_EQ(again.stored_key, a->sha256.stored_key);
  EXPECT_EQ(again.server_key, a->sha256.server_key);

  auto b = derive_credentials("pencil");
  ASSERT_TRUE(b);
  EXPECT_NE(a->sha256.salt, b->sha256.salt);
  EXPECT_NE(a->sha256.stored_key, b->sha256.stored_key);
}

TEST(DeriveCredentials, IterationCount) {
  auto c = derive_credentials("pencil", 10000);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sha1.iterations, 10000u);
  EXPECT_EQ(c->sha256.iterations, 10000u);
  EXPECT_FALSE(derive_credentials("pencil", 0));  // RFC 5802 §7: i= is a positive number
}

// RFC 8265 §4.2: OpaqueString rejects the empty string.
TEST(DeriveCredentials, EmptyPasswordRejected) { EXPECT_FALSE(derive_credentials("")); }

TEST(VerifyPassword, MatchesOnlyTheRightPassword) {
  auto creds = derive_credentials("correct horse");
  ASSERT_TRUE(creds);
  EXPECT_TRUE(verify_password(*creds, "correct horse"));
  EXPECT_FALSE(verify_password(*creds, "correct hors"));
  EXPECT_FALSE(verify_password(*creds, "Correct horse"));
  EXPECT_FALSE(verify_password(*creds, ""));
}

// RFC 8265 §4.2.1: OpaqueString maps non-ASCII spaces (here U+00A0) to U+0020, on both the
// stored and the presented password.
TEST(VerifyPassword, PreparesWithOpaqueString) {
  auto creds = derive_credentials("pen cil");
  ASSERT_TRUE(creds);
  EXPECT_TRUE(verify_password(*creds,
                              "pen\xC2\xA0"
                              "cil"));
}

TEST(VerifyPassword, UnusableCredentialsNeverMatch) {
  Credentials empty;
  EXPECT_FALSE(verify_password(empty, "pencil"));
}

// --- internal helpers of the SCRAM server
// ---------------------------------------------------------

// RFC 2202 §3 test case 2 (HMAC-SHA-1) and RFC 4231 §4.3 test case 2 (HMAC-SHA-256).
TEST(ScramHelpers, HmacVectors) {
  EXPECT_EQ(hex(internal::hmac(ScramHash::kSha1, "Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(internal::hmac(ScramHash::kSha256, "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// FIPS 180-2 appendix examples: "abc".
TEST(ScramHelpers, DigestVectors) {
  EXPECT_EQ(hex(internal::digest(ScramHash::kSha1, "abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(internal::digest(ScramHash::kSha256, "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(internal::hash_size(ScramHash::kSha1), 20u);
  EXPECT_EQ(internal::hash_size(ScramHash::kSha256), 32u);
}

TEST(ScramHelpers, Usable) {
  auto creds = derive_credentials("pencil");
  ASSERT_TRUE(creds);
  EXPECT_TRUE(internal::usable(creds->sha1, ScramHash::kSha1));
  EXPECT_TRUE(internal::usable(creds->sha256, ScramHash::kSha256));
  EXPECT_FALSE(internal::usable(creds->sha1, ScramHash::kSha256));  // key sizes of SHA-1
  ScramKeys no_salt = creds->sha256;
  no_salt.salt.clear();
  EXPECT_FALSE(internal::usable(no_salt, ScramHash::kSha256));
  ScramKeys no_iterations = creds->sha256;
  no_iterations.iterations = 0;
  EXPECT_FALSE(internal::usable(no_iterations, ScramHash::kSha256));
  EXPECT_FALSE(internal::usable(ScramKeys{}, ScramHash::kSha1));
}

// Decoy keys look like real ones: a 16-byte salt that is stable per name and hash, 4096
// iterations, keys of the hash's size (random, so that no proof matches).
TEST(ScramHelpers, DecoyKeys) {
  ScramKeys a = internal::decoy_keys(ScramHash::kSha256, "ghost");
  ScramKeys b = internal::decoy_keys(ScramHash::kSha256, "ghost");
  EXPECT_TRUE(internal::usable(a, ScramHash::kSha256));
  EXPECT_EQ(a.salt.size(), 16u);
  EXPECT_EQ(a.iterations, 4096u);
  EXPECT_EQ(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);
  EXPECT_NE(a.salt, internal::decoy_keys(ScramHash::kSha256, "phantom").salt);
  ScramKeys sha1 = internal::decoy_keys(ScramHash::kSha1, "ghost");
  EXPECT_TRUE(internal::usable(sha1, ScramHash::kSha1));
  EXPECT_NE(sha1.salt, a.salt);
}

TEST(ScramHelpers, Wipe) {
  std::string secret = "key material";
  internal::wipe(secret);
  EXPECT_TRUE(secret.empty());
}

}  // namespace
}  // namespace starling::auth
