#pragma once
// XEP-0138 stream compression with the zlib method (RFC 1950): the layer between the socket
// (net::Transport) and the XML parser of a stream that negotiated compression. Streams without
// compression never create one, so they pay nothing for it.
//
// Input is inflated in bounded pieces: the caller feeds each piece to the XML parser before
// asking for the next, so a decompression bomb runs into the parser's stanza size limit instead
// of filling memory. Output is deflated with a sync flush after each batch (XEP-0138 §6: "the
// sending application SHOULD complete a partial flush"), so the peer can parse everything sent
// so far.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace starling::stream {

inline constexpr std::string_view kCompressNs = "http://jabber.org/protocol/compress";
inline constexpr std::string_view kCompressFeatureNs = "http://jabber.org/features/compress";
inline constexpr std::string_view kZlibMethod = "zlib";

class ZlibStream {
 public:
  // nullptr when zlib cannot set up (out of memory): XEP-0138 §2 <setup-failed/>.
  static std::unique_ptr<ZlibStream> create();
  ZlibStream();  // not usable until create() has set it up
  ~ZlibStream();
  ZlibStream(const ZlibStream&) = delete;
  ZlibStream& operator=(const ZlibStream&) = delete;

  // Takes compressed input (copied: the caller's buffer may be reused while the pieces are
  // parsed). Input given while earlier input is still pending is appended.
  void input(std::string_view compressed);

  enum class Inflate {
    kMore,   // `out` is full (max_out bytes): call again
    kDone,   // all input consumed; `out` holds the rest (possibly nothing)
    kError,  // corrupt data, or data after the end of the zlib stream
  };
  // Replaces `out` with at most `max_out` inflated bytes of the pending input.
  Inflate inflate_some(std::string& out, std::size_t max_out);

  // Replaces `data` with its compressed form, flushed (Z_SYNC_FLUSH). False on a zlib error.
  bool deflate(std::string& data);

  // Bytes of zlib state this stream holds (for docs/performance.md and tests).
  static std::size_t approximate_memory();

 private:
  std::unique_ptr<z_stream_s> inflater_;  // set once inflateInit succeeded
  std::unique_ptr<z_stream_s> deflater_;  // set once deflateInit2 succeeded
  std::string pending_;       // compressed input not yet inflated
  std::size_t consumed_ = 0;  // of pending_
  bool ended_ = false;        // the peer ended its zlib stream (Z_STREAM_END)
};

}  // namespace starling::stream
