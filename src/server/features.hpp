#pragma once
#include <string>

namespace starling::server {
// docs/features.md: the core specifications and every compiled-in module's declaration.
std::string features_markdown();
// docs/doap.xml: the same declarations as a DOAP description (XEPs as xmpp:SupportedXep).
std::string doap_xml();
}  // namespace starling::server
