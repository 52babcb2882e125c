#pragma once
// XEP-0030 result payloads, apart from the module so they can be tested without a server.
#include <string>
#include <vector>

#include "module/module.hpp"

namespace starling::modules::disco {

// <query xmlns='…disco#info'/> with the identities and features (given sorted and unique).
xml::Element info_query(const std::vector<module::Identity>& identities,
                        const std::vector<std::string>& features);
// The disco#info result of a node: 'node' mirrored (§3.2), identities and features sorted and
// unique, the disco#info feature always present (§3.1), then the XEP-0128 forms.
xml::Element node_info_query(const std::string& node, module::DiscoInfo info);
// The disco#items result of a node: 'node' mirrored (§4.2), one <item/> per entry, in order.
xml::Element items_query(const std::string& node, const std::vector<module::DiscoItem>& items);

}  // namespace starling::modules::disco
