// XEP-0049 Private XML Storage (jabber:iq:private), and through it XEP-0048 legacy bookmarks
// (storage:bookmarks), which are one fragment like any other.
//
// Each child of a set is stored under its namespace and name (key-value store "private",
// deleted with the account); a get returns the stored fragment, or the requested element empty
// when nothing is stored. Only the account itself reaches its storage: with no 'to' or its own
// bare JID. `private_storage.max_size` bounds what one account stores.
//
// With PEP (module::Pep), legacy bookmarks and XEP-0402 PEP bookmarks are one list (XEP-0402
// §5.3 "Compatibility", XEP-0411): a set of storage:bookmarks also publishes each conference to
// the urn:xmpp:bookmarks:1 node (unchanged ones are not republished, removed ones are
// retracted) and the whole <storage/> to the XEP-0048 PEP node storage:bookmarks; a get of
// storage:bookmarks answers from the urn:xmpp:bookmarks:1 node when it exists (bookmarks a
// modern client published), else from the storage:bookmarks node, else from private storage.
#include <algorithm>

#include "module/module.hpp"
#include "base/log.hpp"
#include "modules/xep0049_private/bookmarks.hpp"
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
             "legacy bookmarks (storage:bookmarks) in private XML storage, mirrored to the PEP "
             "node storage:bookmarks (XEP-0411)",
             "tests/e2e/test_private.py, tests/e2e/test_pep_basics.py"},
            {"XEP-0411", "1.1.0", "complete",
             "private XML bookmarks are published to PEP (notifications to subscribers) and a "
             "private get reads PEP bookmarks; needs PEP ([pep] enabled)",
             "tests/e2e/test_pep_basics.py"},
            {"XEP-0402", "1.2.0", "partial",
             "server side: the PEP node is served by XEP-0163; #compat: legacy private bookmarks "
             "and urn:xmpp:bookmarks:1 items are kept in step (§5.3)",
             "tests/e2e/test_pep_basics.py, modules/xep0049_private/bookmarks_test.cpp"}};
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

  // The conversion needs PEP, which another module provides (known once all have started).
  void all_started(module::ModuleContext& ctx) override {
    if (ctx.registry().pep() != nullptr) {
      ctx.add_feature(Target::kAccount, std::string(bookmarks::kCompat));      // XEP-0402 §6
      ctx.add_feature(Target::kAccount, std::string(bookmarks::kConversion));  // XEP-0411 §2
    }
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
      bool has_stored = values[i] && xml::parse_element(*values[i], stored);
      if (wanted[i].name() == "storage" && wanted[i].xmlns() == bookmarks::kLegacyNs) {
        auto op = pep_bookmarks(iq.from, has_stored ? stored : wanted[i]);
        if (auto from_pep = co_await std::move(op)) {
          q.add_child(std::move(*from_pep));
          continue;
        }
      }
      q.add_child(has_stored ? std::move(stored) : std::move(wanted[i]));
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
    std::optional<xml::Element> legacy_bookmarks;  // the storage:bookmarks fragment, if set
    for (const xml::Element* e : std::get<private_xml::Fragments>(checked)) {
      if (e->name() == "storage" && e->xmlns() == bookmarks::kLegacyNs) {
        legacy_bookmarks = *e;
      }
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
    if (legacy_bookmarks) {
      auto op = publish_bookmarks(iq.from, std::move(*legacy_bookmarks));
      co_await std::move(op);
    }
    co_return module::Empty{};
  }

  // The items (id, first payload element) of a PEP node of the account, or nullopt when the
  // node does not exist (or cannot be read).
  using PepItems = std::vector<std::pair<std::string, std::optional<xml::Element>>>;
  asio::awaitable<std::optional<PepItems>> pep_items(xmpp::Jid from, std::string_view node) {
    module::Pep* pep = ctx_->registry().pep();
    if (pep == nullptr) {
      co_return std::nullopt;
    }
    auto op = pep->request(std::move(from), bookmarks::items_request(node));
    IqResult r = co_await std::move(op);
    const auto* result = std::get_if<xml::Element>(&r);
    if (result == nullptr) {
      co_return std::nullopt;  // item-not-found: no such node
    }
    PepItems out;
    if (const xml::Element* items = result->child("items")) {
      for (const xml::Element* item : items->elements()) {
        std::optional<xml::Element> payload;
        if (auto children = item->elements(); !children.empty()) {
          payload = *children.front();
        }
        out.emplace_back(std::string(item->attr_or("id")), std::move(payload));
      }
    }
    co_return out;
  }

  // XEP-0402 §5.3 / XEP-0411: the legacy <storage/> as PEP holds it, or nullopt to answer from
  // private storage. `base` keeps what only the legacy form has (e.g. <url/> bookmarks).
  asio::awaitable<std::optional<xml::Element>> pep_bookmarks(xmpp::Jid from, xml::Element base) {
    auto op = pep_items(from, bookmarks::kNode);
    std::optional<PepItems> items = co_await std::move(op);
    if (items) {
      std::vector<std::pair<std::string, const xml::Element*>> list;
      for (const auto& [id, payload] : *items) {
        if (payload && payload->name() == "conference" && payload->xmlns() == bookmarks::kNode) {
          list.emplace_back(id, &*payload);
        }
      }
      co_return bookmarks::to_legacy(base, list);
    }
    // XEP-0411: what a client published to the XEP-0048 PEP node.
    auto legacy_op = pep_items(std::move(from), bookmarks::kLegacyNs);
    std::optional<PepItems> legacy = co_await std::move(legacy_op);
    if (legacy && !legacy->empty()) {
      auto& payload = legacy->back().second;  // the newest item
      if (payload && payload->name() == "storage" && payload->xmlns() == bookmarks::kLegacyNs) {
        co_return std::move(*payload);
      }
    }
    co_return std::nullopt;
  }

  // After a private set of storage:bookmarks: the same list in PEP. Failures are logged: the
  // private storage, which the client asked for, has been written.
  asio::awaitable<void> publish_bookmarks(xmpp::Jid from, xml::Element storage) {
    module::Pep* pep = ctx_->registry().pep();
    if (pep == nullptr) {
      co_return;
    }
    auto log_error = [&from](const IqResult& r, std::string_view what) {
      if (const auto* e = std::get_if<StanzaError>(&r)) {
        log::warn("private: {} for {} failed: {} {}", what, from.bare_str(), e->condition,
                  e->text);
      }
    };
    // XEP-0411 §4: subscribers of the storage:bookmarks node are told.
    {
      auto op = pep->request(from, bookmarks::publish_request(bookmarks::kLegacyNs, "current",
                                                              storage));
      IqResult r = co_await std::move(op);
      log_error(r, "publishing storage:bookmarks");
    }
    // XEP-0402 §5.3 "publishing via the old specification": update changed items, retract
    // removed ones, leave unchanged ones alone.
    auto current_op = pep_items(from, bookmarks::kNode);
    std::optional<PepItems> current = co_await std::move(current_op);
    auto wanted = bookmarks::to_pep(storage);
    for (auto& [id, conf] : wanted) {
      if (current) {
        auto it = std::find_if(current->begin(), current->end(),
                               [&](const auto& c) { return c.first == id; });
        if (it != current->end() && it->second && *it->second == conf) {
          continue;
        }
      }
      auto op = pep->request(from, bookmarks::publish_request(bookmarks::kNode, id, conf));
      IqResult r = co_await std::move(op);
      log_error(r, "publishing bookmark " + id);
    }
    if (current) {
      for (const auto& [id, _] : *current) {
        bool kept = std::any_of(wanted.begin(), wanted.end(),
                                [&](const auto& w) { return w.first == id; });
        if (!kept) {
          auto op = pep->request(from, bookmarks::retract_request(bookmarks::kNode, id));
          IqResult r = co_await std::move(op);
          log_error(r, "retracting bookmark " + id);
        }
      }
    }
  }

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0049_private() {
  return std::make_unique<PrivateStorage>();
}
}  // namespace starling::modules
