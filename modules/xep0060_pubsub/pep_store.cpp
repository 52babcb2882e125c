// XEP-0163 PEP persistence helpers (see pep_store.hpp).
#include "modules/xep0060_pubsub/pep_store.hpp"

#include <algorithm>
#include <map>

#include "base/log.hpp"
#include "xml/stream_parser.hpp"

namespace starling::pubsub {

std::string pep_item_key(std::string_view node, std::string_view id) {
  // Length-prefixed so that any node name and item id (both may hold any character) map to
  // one key, and a node's items share the prefix pep_item_key(node, "").
  std::string key = std::to_string(node.size());
  key += ':';
  key += node;
  key += id;
  return key;
}

std::optional<std::pair<std::string, std::string>> pep_parse_item_key(std::string_view key) {
  auto colon = key.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) {
    return std::nullopt;
  }
  std::size_t len = 0;
  for (char c : key.substr(0, colon)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    len = len * 10 + static_cast<std::size_t>(c - '0');
  }
  std::string_view rest = key.substr(colon + 1);
  if (len > rest.size()) {
    return std::nullopt;
  }
  return std::make_pair(std::string(rest.substr(0, len)), std::string(rest.substr(len)));
}

std::vector<Node> pep_restore(const std::vector<std::pair<std::string, std::string>>& node_rows,
                              const std::vector<std::pair<std::string, std::string>>& item_rows,
                              const std::string& owner) {
  std::map<std::string, Node, std::less<>> nodes;
  for (const auto& [key, value] : node_rows) {
    xml::Element e;
    std::optional<Node> n;
    if (xml::parse_element(value, e)) {
      n = node_from_xml(e);
    }
    if (!n || n->name != key) {
      log::warn("pep: ignoring unreadable stored node '{}' of {}", key, owner);
      continue;
    }
    n->items.clear();
    nodes.emplace(key, std::move(*n));
  }
  for (const auto& [key, value] : item_rows) {
    auto parts = pep_parse_item_key(key);
    xml::Element e;
    std::optional<Item> item;
    if (parts && xml::parse_element(value, e)) {
      item = item_from_xml(e);
    }
    auto it = parts ? nodes.find(parts->first) : nodes.end();
    if (!item || it == nodes.end() || item->id != parts->second) {
      log::warn("pep: ignoring unreadable or orphan stored item '{}' of {}", key, owner);
      continue;
    }
    it->second.next_seq = std::max(it->second.next_seq, item->seq + 1);
    it->second.items.push_back(std::move(*item));
  }
  std::vector<Node> out;
  for (auto& [_, n] : nodes) {
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace starling::pubsub
