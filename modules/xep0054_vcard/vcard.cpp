// XEP-0054 vcard-temp and XEP-0153 vCard-based avatars.
//
// vCards are stored per account (key-value store "vcard", deleted with the account). A user
// sets and gets its own vCard with no 'to' or its own bare JID; anyone gets an account's vCard
// from its bare JID, answered by the server (§3.3). `vcard.max_size` bounds a stored vCard.
//
// Avatars: the server knows the SHA-1 of each vCard's PHOTO and keeps it in the user's
// available presence as XEP-0398 §4 describes (see avatar.hpp for the exact rules). The hash
// reaches each session as a presence state (module::PresenceDecorator): loaded from storage when
// a session binds, replaced when the user sets a vCard, after which every available session
// broadcasts its presence again if its hash changed. So the presence path itself makes no
// storage call and takes no lock.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "module/module.hpp"
#include "modules/xep0054_vcard/avatar.hpp"
#include "server/config/config.hpp"
#include "session/session_table.hpp"
#include "storage/storage.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace starling::modules {
namespace {

namespace asio = boost::asio;
using module::IqResult;
using module::Target;
using vcard::kVcardNs;
using vcard::Photo;
using xmpp::StanzaError;

constexpr const char* kStore = "vcard";
constexpr const char* kVcardKey = "vcard";  // the vCard as XML
// The avatar hash of the stored vCard: 40 hex digits, "" (no image) or "external" (EXTVAL
// only). Kept apart so that a login reads a few bytes, not the whole vCard.
constexpr const char* kPhotoKey = "photo";
constexpr const char* kExternal = "external";

// The account's avatar as the sessions see it; nullopt hash: the server cannot tell (EXTVAL),
// and leaves the client's <x/> alone.
class AvatarState final : public session::PresenceState {
 public:
  AvatarState(std::uint64_t generation, std::optional<std::string> hash)
      : PresenceState(generation), hash_(std::move(hash)) {}
  const std::optional<std::string>& hash() const { return hash_; }

 private:
  std::optional<std::string> hash_;
};

std::optional<std::string> hash_from_stored(const std::optional<std::string>& stored) {
  if (!stored) {
    return std::string();  // no vCard: no image
  }
  if (*stored == kExternal) {
    return std::nullopt;
  }
  return *stored;
}

xml::Element empty_vcard() { return xml::Element("vCard", std::string(kVcardNs)); }

class Vcard final : public module::Module {
 public:
  std::string_view name() const override { return "xep0054_vcard"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0054", "1.3.0", "complete",
             "own vCard get/set (empty vCard when none), any account's vCard from its bare JID "
             "(service-unavailable when there is none or no such account, §3.3), set for "
             "another entity forbidden, size limit vcard.max_size (not-acceptable); stored per "
             "account and deleted with it",
             "tests/e2e/test_vcard.py"},
            {"XEP-0153", "1.1.1", "complete",
             "the server keeps the photo hash in every available presence (broadcast and "
             "directed) as XEP-0398 §4 prescribes, and broadcasts presence again when a new "
             "vCard changes the hash; a client's empty <photo/> is left alone",
             "tests/e2e/test_vcard.py, modules/xep0054_vcard/avatar_test.cpp"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    max_size_ = ctx.config().vcard.max_size;
    const std::string ns(kVcardNs);
    ctx.add_feature(Target::kServer, ns);  // §4
    ctx.add_feature(Target::kAccount, ns);
    ctx.on_iq({module::IqType::kGet, Target::kAccount, ns, "vCard"},
              [this](const module::Iq& iq) { return get(iq); });
    ctx.on_iq({module::IqType::kSet, Target::kAccount, ns, "vCard"},
              [this](const module::Iq& iq) { return set(iq); });
    // The server itself has no vCard of its own: an empty one. Setting it is setting
    // another entity's vCard (§3.2).
    ctx.on_iq({module::IqType::kGet, Target::kServer, ns, "vCard"},
              [](const module::Iq&) -> asio::awaitable<IqResult> { co_return empty_vcard(); });
    ctx.on_iq({module::IqType::kSet, Target::kServer, ns, "vCard"},
              [](const module::Iq&) -> asio::awaitable<IqResult> {
                co_return StanzaError::forbidden();
              });

    slot_ = ctx.add_presence_decorator(
        [](const xml::Element& presence,
           const session::PresenceState& state) -> std::optional<xml::Element> {
          const auto& hash = static_cast<const AvatarState&>(state).hash();
          if (!hash) {
            return std::nullopt;
          }
          return vcard::decorate(presence, *hash);
        });
    ctx.on<events::SessionBound>([this](const events::SessionBound& e) {
      if (e.executor) {
        asio::co_spawn(e.executor, load_avatar(e.jid.bare()), asio::detached);
      }
    });
  }

 private:
  asio::awaitable<void> load_avatar(xmpp::Jid user) {
    std::string domain = user.domain(), local = user.local();
    auto op = ctx_->storage().run([this, domain, local](storage::Backend& b) {
      // Numbered on the storage thread, so generations follow the order of storage access.
      std::uint64_t gen = ++generation_;
      return std::make_shared<const AvatarState>(
          gen, hash_from_stored(b.kv_get(domain, local, kStore, kPhotoKey)));
    });
    auto state = co_await std::move(op);
    ctx_->sink().set_presence_state(user, slot_, std::move(state));
  }

  asio::awaitable<IqResult> get(const module::Iq& iq) {
    xmpp::Jid user = iq.to.bare();
    bool own = iq.from.bare() == user;
    std::string domain = user.domain(), local = user.local();
    auto op = ctx_->storage().run([domain, local](storage::Backend& b) {
      return b.kv_get(domain, local, kStore, kVcardKey);
    });
    auto stored = co_await std::move(op);
    if (!stored) {
      // §3.1: one's own missing vCard is an empty one. §3.3: another user's missing vCard and
      // a missing account get the same error, service-unavailable (no account harvesting).
      if (own) {
        co_return empty_vcard();
      }
      co_return StanzaError::service_unavailable();
    }
    xml::Element v;
    if (!xml::parse_element(*stored, v)) {
      co_return StanzaError::internal_server_error();
    }
    co_return v;
  }

  asio::awaitable<IqResult> set(const module::Iq& iq) {
    xmpp::Jid user = iq.to.bare();
    if (iq.from.bare() != user) {
      co_return StanzaError::forbidden();  // §3.2: another user's vCard
    }
    std::string xml = xml::to_string(iq.payload);
    if (xml.size() > max_size_) {
      iq.omit_payload_in_error();  // RFC 6120 §8.3.1: optional; not worth sending back
      // Like XEP-0060's payload-too-big: the request is understood but refused.
      co_return StanzaError{xmpp::ErrorType::kModify, "not-acceptable",
                            "The vCard is larger than " + std::to_string(max_size_) + " bytes"};
    }
    Photo photo = vcard::photo_of(iq.payload);
    if (photo.kind == Photo::Kind::kInvalid) {
      // XEP-0153 §4.6 #5: the image data MUST be base64.
      co_return StanzaError::bad_request("The PHOTO BINVAL is not base64");
    }
    std::string photo_value = photo.kind == Photo::Kind::kHash       ? photo.hash
                              : photo.kind == Photo::Kind::kExternal ? kExternal
                                                                     : "";
    // A vCard without any field is no vCard (the same answers as one never set).
    bool empty = iq.payload.elements().empty();
    std::string domain = user.domain(), local = user.local();
    struct Done {
      bool ok = false;
      std::uint64_t generation = 0;
    };
    auto op = ctx_->storage().run(
        [this, domain, local, xml = std::move(xml), photo_value, empty](storage::Backend& b) {
          Done d;
          if (empty) {
            b.kv_delete(domain, local, kStore, kPhotoKey);
            d.ok = b.kv_delete(domain, local, kStore, kVcardKey) != storage::Status::kError;
          } else {
            d.ok = b.kv_set(domain, local, kStore, kVcardKey, xml) == storage::Status::kOk &&
                   b.kv_set(domain, local, kStore, kPhotoKey, photo_value) ==
                       storage::Status::kOk;
          }
          d.generation = ++generation_;
          return d;
        });
    Done d = co_await std::move(op);
    if (!d.ok) {
      co_return StanzaError::internal_server_error();
    }
    // Before the result: the new hash reaches the user's sessions ahead of the reply (both go
    // through the account's partition shard), so presence the client sends after the result
    // is decorated with it; sessions whose hash changed broadcast their presence again.
    std::optional<std::string> hash = hash_from_stored(
        empty ? std::nullopt : std::optional<std::string>(photo_value));
    ctx_->sink().set_presence_state(
        user, slot_, std::make_shared<const AvatarState>(d.generation, std::move(hash)));
    co_return module::Empty{};
  }

  module::ModuleContext* ctx_ = nullptr;
  std::size_t max_size_ = 0;
  std::size_t slot_ = 0;
  std::uint64_t generation_ = 0;  // only touched on the storage thread: needs no lock
};

}  // namespace

std::unique_ptr<module::Module> make_xep0054_vcard() { return std::make_unique<Vcard>(); }
}  // namespace starling::modules
