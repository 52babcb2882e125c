#pragma once
// The body of a benchmark message: "<send time, ns> <sender index> <run id>" and filler. The run
// id tells this run's messages from stale ones (offline messages of an earlier run delivered at
// login). Written straight into the output buffer: digits and 'x' only, nothing to escape.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::bench {

struct ChatBody {
  std::uint64_t stamp_ns = 0;
  std::uint32_t from = 0;
  std::uint64_t run_id = 0;
};

inline void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

inline void append_chat_body(std::string& out, const ChatBody& b, std::uint32_t pad) {
  append_number(out, b.stamp_ns);
  out += ' ';
  append_number(out, b.from);
  out += ' ';
  append_number(out, b.run_id);
  out.append(pad, 'x');
}

// nullopt when `text` is not a benchmark body.
inline std::optional<ChatBody> parse_chat_body(std::string_view text) {
  ChatBody b;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  auto r1 = std::from_chars(p, end, b.stamp_ns);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != ' ') {
    return std::nullopt;
  }
  auto r2 = std::from_chars(r1.ptr + 1, end, b.from);
  if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != ' ') {
    return std::nullopt;
  }
  auto r3 = std::from_chars(r2.ptr + 1, end, b.run_id);
  if (r3.ec != std::errc()) {
    return std::nullopt;
  }
  return b;
}

}  // namespace starling::bench
