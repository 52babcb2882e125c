// libFuzzer target: arbitrary bytes as a stanza payload for the parsers that take client input
// after XML parsing: XEP-0016 privacy lists (which must round-trip through their serializer) and
// RFC 6121 roster sets. None may crash; a list that parses must serialize to one that parses
// equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "modules/rfc6121_roster/roster_item.hpp"
#include "modules/xep0016_privacy/privacy_list.hpp"
#include "xml/stream_parser.hpp"

namespace {
void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starling;
  const std::string input(reinterpret_cast<const char*>(data), size);
  xml::Element e;
  if (!xml::parse_element(input, e)) {
    return 0;
  }
  auto list = modules::privacy::parse_list(e);
  if (auto* l = std::get_if<modules::privacy::PrivacyList>(&list)) {
    auto again = modules::privacy::parse_list(modules::privacy::to_element(*l));
    auto* l2 = std::get_if<modules::privacy::PrivacyList>(&again);
    check(l2 != nullptr && *l2 == *l);
  }
  (void)modules::roster::parse_set(e, "alice@localhost");
  return 0;
}
