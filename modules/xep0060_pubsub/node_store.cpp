// XEP-0060: node and item records for storage. (Stub: pubsub-owner replaces it.)
#include "modules/xep0060_pubsub/node.hpp"

namespace starling::pubsub {

xml::Element node_to_xml(const Node& node) {
  xml::Element e("node", "urn:starling:pubsub:0");
  e.set_attr("name", node.name);
  return e;
}
xml::Element item_to_xml(const Item& item) {
  xml::Element e("item", "urn:starling:pubsub:0");
  e.set_attr("id", item.id);
  return e;
}
std::optional<Node> node_from_xml(const xml::Element&) { return std::nullopt; }
std::optional<Item> item_from_xml(const xml::Element&) { return std::nullopt; }

}  // namespace starling::pubsub
