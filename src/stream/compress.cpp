#include "stream/compress.hpp"

#include <zlib.h>

namespace starling::stream {

namespace {
// Deflate memory is (1 << (window_bits + 2)) + (1 << (mem_level + 9)) bytes: 256 KiB per stream
// with zlib's defaults. Stanzas are small and repetitive within a few KiB, so a 4 KiB window and
// a small hash table keep most of the gain for ~33 KiB. The peer's inflater accepts any window
// up to its own (RFC 1950 CINFO). Inflating needs the peer's window: up to 32 KiB.
constexpr int kDeflateWindowBits = 12;
constexpr int kDeflateMemLevel = 5;
constexpr int kDeflateLevel = 6;
constexpr std::size_t kDeflateSlack = 64;
}  // namespace

ZlibStream::ZlibStream() = default;

ZlibStream::~ZlibStream() {
  if (inflater_) {
    inflateEnd(inflater_.get());
  }
  if (deflater_) {
    deflateEnd(deflater_.get());
  }
}

std::unique_ptr<ZlibStream> ZlibStream::create() {
  auto s = std::make_unique<ZlibStream>();
  auto in = std::make_unique<z_stream_s>();
  if (inflateInit(in.get()) != Z_OK) {
    return nullptr;
  }
  s->inflater_ = std::move(in);
  auto out = std::make_unique<z_stream_s>();
  if (deflateInit2(out.get(), kDeflateLevel, Z_DEFLATED, kDeflateWindowBits, kDeflateMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return nullptr;
  }
  s->deflater_ = std::move(out);
  return s;
}

void ZlibStream::input(std::string_view compressed) {
  if (consumed_ == pending_.size()) {
    pending_.assign(compressed);
    consumed_ = 0;
  } else {
    pending_.append(compressed);
  }
}

ZlibStream::Inflate ZlibStream::inflate_some(std::string& out, std::size_t max_out) {
  out.resize(max_out);
  z_stream_s* z = inflater_.get();
  z->next_in = reinterpret_cast<Bytef*>(pending_.data() + consumed_);
  z->avail_in = static_cast<uInt>(pending_.size() - consumed_);
  z->next_out = reinterpret_cast<Bytef*>(out.data());
  z->avail_out = static_cast<uInt>(max_out);
  if (ended_ && z->avail_in > 0) {
    out.clear();
    return Inflate::kError;  // nothing may follow the end of the zlib stream
  }
  // Called even without input: zlib may hold output that did not fit last time.
  int rc = ended_ ? Z_STREAM_END : inflate(z, Z_SYNC_FLUSH);
  consumed_ = pending_.size() - z->avail_in;
  out.resize(max_out - z->avail_out);
  if (rc == Z_STREAM_END) {
    ended_ = true;
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    // Z_DATA_ERROR (corrupt), Z_NEED_DICT (a preset dictionary we never agreed on),
    // Z_MEM_ERROR.
    out.clear();
    return Inflate::kError;
  }
  if (z->avail_out == 0) {
    return Inflate::kMore;  // there may be more output even with no input left
  }
  if (consumed_ == pending_.size()) {
    pending_.clear();
    pending_.shrink_to_fit();  // an idle stream keeps no input buffer
    consumed_ = 0;
    return Inflate::kDone;
  }
  if (rc == Z_STREAM_END) {
    return Inflate::kError;  // input left after the end of the zlib stream
  }
  return Inflate::kMore;
}

bool ZlibStream::deflate(std::string& data) {
  z_stream_s* z = deflater_.get();
  std::string out;
  out.resize(data.size() / 2 + kDeflateSlack);
  z->next_in = reinterpret_cast<Bytef*>(data.data());
  z->avail_in = static_cast<uInt>(data.size());
  std::size_t produced = 0;
  for (;;) {
    z->next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z->avail_out = static_cast<uInt>(out.size() - produced);
    int rc = ::deflate(z, Z_SYNC_FLUSH);
    produced = out.size() - z->avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return false;
    }
    // Done when all input is taken and the flush did not run out of room (zlib's rule: a
    // flush is complete when avail_out is left non-zero).
    if (z->avail_in == 0 && z->avail_out != 0) {
      break;
    }
    out.resize(out.size() * 2);
  }
  out.resize(produced);
  data.swap(out);
  return true;
}

std::size_t ZlibStream::approximate_memory() {
  return (std::size_t{1} << (kDeflateWindowBits + 2)) +
         (std::size_t{1} << (kDeflateMemLevel + 9)) + (std::size_t{1} << 15) + 7 * 1024;
}

}  // namespace starling::stream
