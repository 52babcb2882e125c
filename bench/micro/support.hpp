#pragma once
// Helpers shared by the micro-benchmarks.
#include <string_view>

#include "xml/element.hpp"

namespace starling::microbench {

// The element a c2s stream's parser yields for `stanza` (namespace jabber:client, as on a
// client stream). Aborts when it does not parse: a benchmark of a broken input is worthless.
xml::Element parse_stanza(std::string_view stanza);

}  // namespace starling::microbench
