// ZlibStream against zlib's own one-shot functions used as the peer (compress2/uncompress with
// the RFC 1950 format): what we deflate the peer inflates, what the peer deflates we inflate, in
// bounded pieces.
#include "stream/compress.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace starling::stream {
namespace {

// A peer's compressed stream: one zlib stream, flushed after each part (as a client does after
// each send).
class Peer {
 public:
  Peer() {
    deflateInit(&out_, Z_DEFAULT_COMPRESSION);
    inflateInit(&in_);
  }
  ~Peer() {
    deflateEnd(&out_);
    inflateEnd(&in_);
  }
  std::string compress(const std::string& data, int flush = Z_SYNC_FLUSH) {
    std::string out(data.size() + 1024, '\0');
    out_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    out_.avail_in = static_cast<uInt>(data.size());
    out_.next_out = reinterpret_cast<Bytef*>(out.data());
    out_.avail_out = static_cast<uInt>(out.size());
    EXPECT_NE(::deflate(&out_, flush), Z_STREAM_ERROR);
    out.resize(out.size() - out_.avail_out);
    return out;
  }
  std::string decompress(const std::string& data) {
    std::string out(1 << 20, '\0');
    in_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    in_.avail_in = static_cast<uInt>(data.size());
    in_.next_out = reinterpret_cast<Bytef*>(out.data());
    in_.avail_out = static_cast<uInt>(out.size());
    int rc = ::inflate(&in_, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
    EXPECT_EQ(in_.avail_in, 0u);
    out.resize(out.size() - in_.avail_out);
    return out;
  }

 private:
  z_stream out_{};
  z_stream in_{};
};

// Everything the pending input inflates to, in pieces of at most `piece` bytes.
std::string inflate_all(ZlibStream& z, std::size_t piece, bool* error = nullptr) {
  std::string all, out;
  for (;;) {
    auto st = z.inflate_some(out, piece);
    EXPECT_LE(out.size(), piece);
    all += out;
    if (st == ZlibStream::Inflate::kError) {
      if (error != nullptr) {
        *error = true;
      }
      return all;
    }
    if (st == ZlibStream::Inflate::kDone) {
      return all;
    }
  }
}

TEST(ZlibStream, BothDirectionsWithAPeer) {
  auto z = ZlibStream::create();
  ASSERT_TRUE(z);
  Peer peer;
  // The peer sends stanzas, each flushed; we may get them split anywhere.
  const std::string s1 = "<message to='a@b'><body>hello</body></message>";
  const std::string s2 = "<presence/>";
  std::string wire = peer.compress(s1);
  wire += peer.compress(s2);  // in this order (operands of + are unsequenced)
  std::string got;
  for (std::size_t at = 0; at < wire.size(); at += 7) {
    z->input(std::string_view(wire).substr(at, 7));
    got += inflate_all(*z, 16);
  }
  EXPECT_EQ(got, s1 + s2);
  // We send; each deflate is flushed so the peer reads it all at once.
  for (const std::string& s : {s1, s2, std::string(100000, 'x'), std::string()}) {
    std::string data = s;
    ASSERT_TRUE(z->deflate(data));
    if (!s.empty()) {
      EXPECT_EQ(peer.decompress(data), s);
    }
  }
}

TEST(ZlibStream, BombIsInflatedInBoundedPieces) {
  auto z = ZlibStream::create();
  Peer peer;
  const std::string big(8 * 1024 * 1024, 'A');
  std::string wire = peer.compress(big);
  EXPECT_LT(wire.size(), 64u * 1024);  // a small input...
  z->input(wire);
  std::string out;
  std::size_t total = 0;
  int pieces = 0;
  for (;;) {
    auto st = z->inflate_some(out, 16384);
    ASSERT_NE(st, ZlibStream::Inflate::kError);
    EXPECT_LE(out.size(), 16384u);  // ...never more than one piece in memory at a time
    total += out.size();
    ++pieces;
    if (st == ZlibStream::Inflate::kDone) {
      break;
    }
  }
  EXPECT_EQ(total, big.size());
  EXPECT_GE(pieces, 512);
}

TEST(ZlibStream, CorruptInputIsAnError) {
  auto z = ZlibStream::create();
  z->input(std::string("this is not zlib data at all"));
  bool error = false;
  inflate_all(*z, 1024, &error);
  EXPECT_TRUE(error);
}

TEST(ZlibStream, DataAfterTheEndOfTheZlibStreamIsAnError) {
  auto z = ZlibStream::create();
  Peer peer;
  std::string wire = peer.compress("<presence/>", Z_FINISH);
  z->input(wire);
  bool error = false;
  EXPECT_EQ(inflate_all(*z, 1024, &error), "<presence/>");
  EXPECT_FALSE(error);
  z->input(std::string("more"));
  inflate_all(*z, 1024, &error);
  EXPECT_TRUE(error);
}

TEST(ZlibStream, MemoryEstimateIsModest) {
  EXPECT_LT(ZlibStream::approximate_memory(), 128u * 1024);
}

}  // namespace
}  // namespace starling::stream
