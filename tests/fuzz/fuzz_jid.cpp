// libFuzzer target: arbitrary bytes as a JID (RFC 7622). A valid JID's canonical string must
// parse to an equal JID, and every part must respect the 1023-octet limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xmpp/jid.hpp"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using starling::xmpp::Jid;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto jid = Jid::parse(input);
  if (!jid) {
    return 0;
  }
  check(!jid->empty());
  check(jid->local().size() <= 1023);
  check(jid->domain().size() <= 1023);
  check(jid->resource().size() <= 1023);
  const auto again = Jid::parse(jid->str());
  check(again.has_value());
  check(*again == *jid);
  check(again->str() == jid->str());
  const auto bare = Jid::parse(jid->bare_str());
  check(bare.has_value());
  check(*bare == jid->bare());
  const auto rebuilt = Jid::make(jid->local(), jid->domain(), jid->resource());
  check(rebuilt.has_value());
  check(*rebuilt == *jid);
  // Escaping round-trips on whatever localpart came out.
  const std::string& local = jid->local();
  if (!local.empty() && local.front() != ' ' && local.back() != ' ') {
    check(starling::xmpp::unescape_localpart(starling::xmpp::escape_localpart(local)) == local);
  }
  return 0;
}
