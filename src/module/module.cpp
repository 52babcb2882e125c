#include "module/module.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/log.hpp"
#include "storage/storage.hpp"

namespace starling::module {

Registration& Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    if (undo_) {
      undo_();
    }
    undo_ = std::move(o.undo_);
    o.undo_ = nullptr;
  }
  return *this;
}

Registration::~Registration() {
  if (undo_) {
    undo_();
  }
}

void ModuleContext::on_iq(IqKey key, IqHandler handler) {
  if (registry_.iq_.contains(key)) {
    throw std::logic_error("module " + name_ + ": iq handler for {" + key.ns + "}" + key.element +
                           " registered twice");
  }
  registry_.iq_.emplace(key, std::move(handler));
  registrations_.emplace_back([reg = &registry_, key] { reg->iq_.erase(key); });
}

void ModuleContext::add_feature(Target target, std::string feature) {
  auto it = registry_.features_.emplace(target, std::move(feature));
  registrations_.emplace_back([reg = &registry_, it] { reg->features_.erase(it); });
}

void ModuleContext::add_identity(Target target, Identity identity) {
  auto it = registry_.identities_.emplace(target, std::move(identity));
  registrations_.emplace_back([reg = &registry_, it] { reg->identities_.erase(it); });
}

void ModuleContext::on_disco_node(Target target, std::string node, DiscoNodeHandler handler) {
  auto key = std::make_pair(target, std::move(node));
  if (registry_.disco_nodes_.contains(key)) {
    throw std::logic_error("module " + name_ + ": disco node " + key.second + " registered twice");
  }
  auto it = registry_.disco_nodes_.emplace(key, std::move(handler)).first;
  registrations_.emplace_back([reg = &registry_, it] { reg->disco_nodes_.erase(it); });
}

void ModuleContext::on_offline_message(OfflineHandler handler) {
  if (registry_.offline_) {
    throw std::logic_error("module " + name_ + ": a second offline message handler");
  }
  registry_.offline_ = std::move(handler);
  registrations_.emplace_back([reg = &registry_] { reg->offline_ = nullptr; });
}

void ModuleContext::on_presence(PresenceHandlers handlers) {
  if (registry_.presence_.inbound) {
    throw std::logic_error("module " + name_ + ": a second presence handler");
  }
  registry_.presence_ = std::move(handlers);
  registrations_.emplace_back([reg = &registry_] { reg->presence_ = {}; });
}

void ModuleContext::on_account_removal(AccountRemovalHandler handler) {
  auto& list = registry_.account_removal_;
  auto it = list.insert(list.end(), std::move(handler));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

boost::asio::awaitable<storage::Status> ModuleContext::remove_account(xmpp::Jid bare) {
  auto op = module::remove_account(registry_, storage_, std::move(bare));
  co_return co_await std::move(op);
}

boost::asio::awaitable<storage::Status> remove_account(const Registry& registry,
                                                       storage::Storage& store,
                                                       xmpp::Jid bare) {
  for (const auto& handler : registry.account_removal_handlers()) {
    try {
      auto op = handler(bare);
      co_await std::move(op);
    } catch (const std::exception& e) {
      log::error("account removal of {}: a module's handler failed: {}", bare.bare_str(),
                 e.what());
    }
  }
  std::string domain = bare.domain(), user = bare.local();
  auto op = store.run(
      [domain, user](storage::Backend& b) { return b.delete_account(domain, user); });
  co_return co_await std::move(op);
}

void ModuleContext::add_stream_feature(xml::Element feature) {
  auto& list = registry_.stream_features_;
  auto it = list.insert(list.end(), std::move(feature));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

void ModuleContext::on_pre_auth_iq(IqType type, std::string ns, std::string element,
                                   PreAuthIqHandler handler) {
  IqKey key{type, Target::kServer, std::move(ns), std::move(element)};
  if (registry_.pre_auth_iq_.contains(key)) {
    throw std::logic_error("module " + name_ + ": pre-auth iq handler for {" + key.ns + "}" +
                           key.element + " registered twice");
  }
  registry_.pre_auth_iq_.emplace(key, std::move(handler));
  registrations_.emplace_back([reg = &registry_, key] { reg->pre_auth_iq_.erase(key); });
}

void ModuleContext::add_pre_auth_stream_feature(xml::Element feature, DomainFilter offered) {
  auto& list = registry_.pre_auth_features_;
  auto it = list.emplace(list.end(), std::move(feature), std::move(offered));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

void ModuleContext::send(xml::Element stanza) {
  sink_.route(std::make_shared<const xml::Element>(std::move(stanza)));
}

void Registry::log_handler_failure(const char* what) {
  log::error("event handler failed: {}", what);
}

const IqHandler* Registry::find_iq(const IqKey& key) const {
  auto it = iq_.find(key);
  return it == iq_.end() ? nullptr : &it->second;
}

const DiscoNodeHandler* Registry::find_disco_node(Target t, const std::string& node) const {
  auto it = disco_nodes_.find(std::make_pair(t, node));
  return it == disco_nodes_.end() ? nullptr : &it->second;
}

const PreAuthIqHandler* Registry::find_pre_auth_iq(IqType type, std::string_view ns,
                                                   std::string_view element) const {
  auto it = pre_auth_iq_.find(IqKey{type, Target::kServer, std::string(ns), std::string(element)});
  return it == pre_auth_iq_.end() ? nullptr : &it->second;
}

std::vector<xml::Element> Registry::pre_auth_stream_features(std::string_view domain) const {
  std::vector<xml::Element> out;
  for (const auto& [feature, offered] : pre_auth_features_) {
    if (!offered || offered(domain)) {
      out.push_back(feature);
    }
  }
  return out;
}

std::vector<std::string> Registry::features(Target t) const {
  std::vector<std::string> out;
  auto [b, e] = features_.equal_range(t);
  for (auto it = b; it != e; ++it) {
    out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Identity> Registry::identities(Target t) const {
  std::vector<Identity> out;
  auto [b, e] = identities_.equal_range(t);
  for (auto it = b; it != e; ++it) {
    out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace starling::module
