// XEP-0049 Private XML Storage (jabber:iq:private), and through it XEP-0048 legacy bookmarks
// (storage:bookmarks), which are one fragment like any other.
//
// Each child of a set is stored under its namespace and name (key-value store "private",
// deleted with the account); a get returns the stored fragment, or the requested element empty
// when nothing is stored. Only the account itself reaches its storage: with no 'to' or its own
// bare JID. `private_storage.max_size` bounds what one account stores.
#include <algorithm>

#include "module/module.hpp"
#include "modules/xep0049_private/private_query.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules {
namespace {

namespace asio = boost::asio;
using module::IqResult;
using module::Target;
using private_xml::kPrivateNs;
using xmpp::StanzaError;

constexpr const char* kStore = "private";

class PrivateStorage final : public module::Module {
 public:
  std::string_view name() const override { return "xep0049_private"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0049", "1.2", "complete",
             "fragments stored per namespace and element name, several per set; the requested "
             "element comes back empty when nothing is stored; reserved namespaces and an empty "
             "query get not-acceptable, a get of several namespaces bad-request, another user's "
             "storage forbidden; quota private_storage.max_size; deleted with the account",
             "tests/e2e/test_private.py, modules/xep0049_private/private_query_test.cpp"},
            {"XEP-0048", "1.2", "partial",
             "legacy bookmarks (storage:bookmarks) in private XML storage; no PEP storage and no "
             "XEP-0402/XEP-0411 conversion",
             "tests/e2e/test_private.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const std::string ns(kPrivateNs);
    ctx.add_feature(Target::kServer, ns);
    ctx.add_feature(Target::kAccount, ns);
    ctx.on_iq({module::IqType::kGet, Target::kAccount, ns, "query"},
              [this](const module::Iq& iq) { return get(iq); });
    ctx.on_iq({module::IqType::kSet, Target::kAccount, ns, "query"},
              [this](const module::Iq& iq) { return set(iq); });
  }

 private:
  asio::awaitable<IqResult> get(const module::Iq& iq) {
    xmpp::Jid user = iq.to.bare();
    if (iq.from.bare() != user) {
      co_return StanzaError::forbidden();  // §2.3: another user's data
    }
    auto checked = private_xml::check(iq.payload, true);
    if (auto* err = std::get_if<StanzaError>(&checked)) {
      co_return *err;
    }
    std::vector<std::string> keys;
    std::vector<xml::Element> wanted;
    for (const xml::Element* e : std::get<private_xml::Fragments>(checked)) {
      keys.push_back(private_xml::key_of(*e));
      wanted.emplace_back(e->name(), e->xmlns());
    }
    std::string domain = user.domain(), local = user.local();
    auto op = ctx_->storage().run([domain, local, keys](storage::Backend& b) {
      std::vector<std::optional<std::string>> values;
      for (const auto& k : keys) {
        values.push_back(b.kv_get(domain, local, kStore, k));
      }
      return values;
    });
    auto values = co_await std::move(op);
    xml::Element q("query", std::string(kPrivateNs));
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      xml::Element stored;
      if (values[i] && xml::parse_element(*values[i], stored)) {
        q.add_child(std::move(stored));
      } else {
        q.add_child(std::move(wanted[i]));
      }
    }
    co_return q;
  }

  asio::awaitable<IqResult> set(const module::Iq& iq) {
    xmpp::Jid user = iq.to.bare();
    if (iq.from.bare() != user) {
      co_return StanzaError::forbidden();  // §2.3: another user's data
    }
    auto checked = private_xml::check(iq.payload, false);
    if (auto* err = std::get_if<StanzaError>(&checked)) {
      co_return *err;
    }
    // (key, XML); an empty XML removes the key: an element without content or attributes
    // reads back the same from an empty store. A later fragment with the same key wins.
    std::vector<std::pair<std::string, std::string>> writes;
    for (const xml::Element* e : std::get<private_xml::Fragments>(checked)) {
      std::string key = private_xml::key_of(*e);
      std::erase_if(writes, [&](const auto& w) { return w.first == key; });
      bool bare = e->nodes().empty() && e->attrs().empty();
      writes.emplace_back(std::move(key), bare ? std::string() : xml::to_string(*e));
    }
    std::string domain = user.domain(), local = user.local();
    std::size_t max = ctx_->config().private_storage.max_size;
    auto op = ctx_->storage().run([domain, local, writes, max](storage::Backend& b) {
      std::size_t total = 0;
      for (const auto& [key, value] : b.kv_get_all(domain, local, kStore)) {
        bool replaced = std::any_of(writes.begin(), writes.end(),
                                    [&](const auto& w) { return w.first == key; });
        if (!replaced) {
          total += key.size() + value.size();
        }
      }
      for (const auto& [key, value] : writes) {
        if (!value.empty()) {
          total += key.size() + value.size();
        }
      }
      if (total > max) {
        return std::optional<StanzaError>(StanzaError{
            xmpp::ErrorType::kModify, "not-acceptable",
            "Private storage is limited to " + std::to_string(max) + " bytes per account"});
      }
      for (const auto& [key, value] : writes) {
        storage::Status st = value.empty() ? b.kv_delete(domain, local, kStore, key)
                                           : b.kv_set(domain, local, kStore, key, value);
        if (st == storage::Status::kError) {
          return std::optional<StanzaError>(StanzaError::internal_server_error());
        }
      }
      return std::optional<StanzaError>();
    });
    auto err = co_await std::move(op);
    if (err) {
      iq.omit_payload_in_error();  // RFC 6120 §8.3.1: optional; the client has it
      co_return *err;
    }
    co_return module::Empty{};
  }

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0049_private() {
  return std::make_unique<PrivateStorage>();
}
}  // namespace starling::modules
