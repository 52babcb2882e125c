#include "modules/xep0030_disco/disco_format.hpp"

#include <algorithm>

#include "xmpp/namespaces.hpp"

namespace starling::modules::disco {

xml::Element info_query(const std::vector<module::Identity>& identities,
                        const std::vector<std::string>& features) {
  xml::Element q("query", std::string(ns::kDiscoInfo));
  for (const auto& id : identities) {
    auto& e = q.add_child("identity", std::string(ns::kDiscoInfo));
    e.set_attr("category", id.category);
    e.set_attr("type", id.type);
    if (!id.name.empty()) {
      e.set_attr("name", id.name);
    }
  }
  for (const auto& f : features) {
    q.add_child("feature", std::string(ns::kDiscoInfo)).set_attr("var", f);
  }
  return q;
}

xml::Element node_info_query(const std::string& node, module::DiscoInfo info) {
  std::sort(info.identities.begin(), info.identities.end());
  info.identities.erase(std::unique(info.identities.begin(), info.identities.end()),
                        info.identities.end());
  info.features.emplace_back(ns::kDiscoInfo);
  std::sort(info.features.begin(), info.features.end());
  info.features.erase(std::unique(info.features.begin(), info.features.end()), info.features.end());
  xml::Element q = info_query(info.identities, info.features);
  q.set_attr("node", node);
  for (auto& form : info.forms) {
    q.add_child(std::move(form));
  }
  return q;
}

xml::Element items_query(const std::string& node, const std::vector<module::DiscoItem>& items) {
  xml::Element q("query", std::string(ns::kDiscoItems));
  q.set_attr("node", node);
  for (const auto& it : items) {
    auto& e = q.add_child("item", std::string(ns::kDiscoItems));
    e.set_attr("jid", it.jid);
    if (!it.node.empty()) {
      e.set_attr("node", it.node);
    }
    if (!it.name.empty()) {
      e.set_attr("name", it.name);
    }
  }
  return q;
}

}  // namespace starling::modules::disco
