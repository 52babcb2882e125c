#pragma once
// XEP-0163 PEP persistence helpers (pep.cpp): the key of an item record and restoring an
// account's nodes from its stored records.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/xep0060_pubsub/node.hpp"

namespace starling::pubsub {

// The "pep_items" key of item `id` of `node`: "<length of node>:<node><id>", unambiguous for
// any node name and id; pep_item_key(node, "") is the prefix of every item of the node.
std::string pep_item_key(std::string_view node, std::string_view id);
// (node, id) of a key, or nullopt when it is not one.
std::optional<std::pair<std::string, std::string>> pep_parse_item_key(std::string_view key);
// The nodes (with their items) of the stored rows of "pep_nodes" (name -> node_to_xml) and
// "pep_items" (key -> item_to_xml); unreadable or orphan records are logged and skipped.
// `owner` names the account in the log.
std::vector<Node> pep_restore(const std::vector<std::pair<std::string, std::string>>& node_rows,
                              const std::vector<std::pair<std::string, std::string>>& item_rows,
                              const std::string& owner);

}  // namespace starling::pubsub
