#pragma once
#include <string>

namespace starling::server {
// docs/features.md: the core specifications and every compiled-in module's declaration.
std::string features_markdown();
}  // namespace starling::server
