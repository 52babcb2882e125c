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

void ModuleContext::on_other_disco_nodes(Target target, DiscoNodeHandler handler) {
  if (registry_.other_disco_nodes_.contains(target)) {
    throw std::logic_error("module " + name_ + ": other disco nodes handled twice");
  }
  auto it = registry_.other_disco_nodes_.emplace(target, std::move(handler)).first;
  registrations_.emplace_back([reg = &registry_, it] { reg->other_disco_nodes_.erase(it); });
}

void ModuleContext::add_disco_items_provider(Target target, DiscoItemsProvider provider) {
  auto& list = registry_.disco_items_providers_;
  auto it = list.emplace(list.end(), target, std::move(provider));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

void ModuleContext::add_disco_item(Target target, DiscoItem item, std::string domain) {
  auto& list = registry_.disco_items_;
  auto it = list.emplace(list.end(), target, std::move(item), std::move(domain));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

void ModuleContext::add_disco_form(Target target, xml::Element form) {
  auto& list = registry_.disco_forms_;
  auto it = list.emplace(list.end(), target, std::move(form));
  registrations_.emplace_back([&list, it] { list.erase(it); });
}

void ModuleContext::answer_missing_accounts(IqKey key) {
  auto [it, added] = registry_.missing_account_keys_.insert(std::move(key));
  if (added) {
    registrations_.emplace_back([reg = &registry_, it] { reg->missing_account_keys_.erase(it); });
  }
}

void ModuleContext::on_iq_response(std::string id_prefix, IqResponseHandler handler) {
  if (id_prefix.empty() || registry_.iq_responses_.contains(id_prefix)) {
    throw std::logic_error("module " + name_ + ": iq response prefix '" + id_prefix +
                           "' empty or registered twice");
  }
  auto it = registry_.iq_responses_.emplace(std::move(id_prefix), std::move(handler)).first;
  registrations_.emplace_back([reg = &registry_, it] { reg->iq_responses_.erase(it); });
}

void ModuleContext::add_service(std::string domain, ServiceHandler handler) {
  if (domain.empty() || registry_.services_.contains(domain)) {
    throw std::logic_error("module " + name_ + ": service domain '" + domain +
                           "' empty or served twice");
  }
  auto it = registry_.services_.emplace(std::move(domain), std::move(handler)).first;
  registrations_.emplace_back([reg = &registry_, it] { reg->services_.erase(it); });
}

const ServiceHandler* Registry::find_service(std::string_view domain) const {
  auto it = services_.find(domain);
  return it == services_.end() ? nullptr : &it->second;
}

void ModuleContext::provide_pep(std::shared_ptr<Pep> pep) {
  if (registry_.pep_) {
    throw std::logic_error("module " + name_ + ": PEP is already provided");
  }
  registry_.pep_ = std::move(pep);
  registrations_.emplace_back([reg = &registry_] { reg->pep_ = nullptr; });
}

void ModuleContext::provide_caps(CapsLookup lookup) {
  if (registry_.caps_) {
    throw std::logic_error("module " + name_ + ": a second caps provider");
  }
  registry_.caps_ = std::move(lookup);
  registrations_.emplace_back([reg = &registry_] { reg->caps_ = nullptr; });
}

void ModuleContext::on_message_payload(std::string ns, std::string element, MessageHook hook) {
  if (registry_.message_hook_.hook) {
    throw std::logic_error("module " + name_ + ": a second message hook");
  }
  registry_.message_hook_ = {std::move(ns), std::move(element), std::move(hook)};
  registrations_.emplace_back([reg = &registry_] { reg->message_hook_ = {}; });
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

std::size_t ModuleContext::add_presence_decorator(PresenceDecorator decorator) {
  std::size_t slot = registry_.decorators_.size();
  registry_.decorators_.push_back(std::move(decorator));
  // Slots stay stable: a removed decorator leaves an empty function behind.
  registrations_.emplace_back([reg = &registry_, slot] { reg->decorators_[slot] = nullptr; });
  return slot;
}

std::optional<xml::Element> Registry::decorate_presence(
    const xml::Element& presence,
    const std::vector<std::shared_ptr<const session::PresenceState>>& states) const {
  std::optional<xml::Element> out;
  std::size_t n = std::min(states.size(), decorators_.size());
  for (std::size_t slot = 0; slot < n; ++slot) {
    if (!states[slot] || !decorators_[slot]) {
      continue;
    }
    if (auto d = decorators_[slot](out ? *out : presence, *states[slot])) {
      out = std::move(d);
    }
  }
  return out;
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

const DiscoNodeHandler* Registry::other_disco_nodes(Target t) const {
  auto it = other_disco_nodes_.find(t);
  return it == other_disco_nodes_.end() ? nullptr : &it->second;
}

std::vector<const DiscoItemsProvider*> Registry::disco_items_providers(Target t) const {
  std::vector<const DiscoItemsProvider*> out;
  for (const auto& [target, provider] : disco_items_providers_) {
    if (target == t) {
      out.push_back(&provider);
    }
  }
  return out;
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

std::vector<DiscoItem> Registry::disco_items(Target t, std::string_view domain) const {
  std::vector<DiscoItem> out;
  for (const auto& [target, item, only] : disco_items_) {
    if (target == t && (only.empty() || only == domain)) {
      out.push_back(item);
    }
  }
  return out;
}

std::vector<xml::Element> Registry::disco_forms(Target t) const {
  std::vector<xml::Element> out;
  for (const auto& [target, form] : disco_forms_) {
    if (target == t) {
      out.push_back(form);
    }
  }
  return out;
}

const IqResponseHandler* Registry::find_iq_response(std::string_view id) const {
  // The greatest prefix not after `id`; prefixes are few and do not nest.
  auto it = iq_responses_.upper_bound(id);
  if (it == iq_responses_.begin()) {
    return nullptr;
  }
  --it;
  return id.starts_with(it->first) ? &it->second : nullptr;
}

bool EntityCaps::has_feature(std::string_view feature) const {
  return std::binary_search(features.begin(), features.end(), feature,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

bool EntityCaps::wants_notify(std::string_view node) const {
  std::string f(node);
  f += "+notify";
  return has_feature(f);
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
