// XEP-0077 In-Band Registration (jabber:iq:register).
//
// Before login (§3.1), on streams to a domain where `registration.allow` permits it: the
// <register/> stream feature (§5), the registration fields (legacy and XEP-0004 form, §6) and
// account creation with SCRAM credentials, as `starlingctl adduser` does. Elsewhere the server
// behaves as one without in-band registration: no stream feature and service-unavailable
// (§3.1: "If the host does not support In-Band Registration, it MUST return a
// <service-unavailable/> error").
//
// After login, whatever `registration.allow` says: the account's registration (§3.1
// <registered/>), password change (§3.3, `registration.password_change`) and cancellation
// (§3.2, `registration.remove`) — these concern an existing account, and §8 lets a deployment
// disable each; when disabled the answer is §3.2/§3.3's <not-allowed/>.
//
// Throttle: at most registration.throttle_max accounts per IP address per throttle_period.
// Beyond it the answer is <not-acceptable/> of type 'wait' (§3.1.1 names not-acceptable for
// "attempts to register too many times"; 'wait' tells the client it may retry later), with a
// text. The throttle table is touched only inside storage.run() lambdas, which all run on the
// single storage thread, so it needs no lock and its check-then-create is atomic.
#include <ctime>

#include "auth/sasl.hpp"
#include "base/log.hpp"
#include "module/module.hpp"
#include "modules/xep0077_register/register_query.hpp"
#include "modules/xep0077_register/throttle.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"

namespace starling::modules {
namespace {

using module::IqResult;
using registration::Request;
using xmpp::ErrorType;
using xmpp::StanzaError;

StanzaError not_acceptable(std::string text) {
  return {ErrorType::kModify, "not-acceptable", std::move(text)};
}

class Register final : public module::Module {
 public:
  std::string_view name() const override { return "xep0077_register"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0077", "2.4", "complete",
             "account creation before login when enabled per domain (registration.allow), "
             "stream feature, legacy fields and data form, per-IP throttle; password change; "
             "cancellation deletes all data and ends every session with <not-authorized/>; no "
             "obsolete <key/>, no x:oob redirection",
             "tests/e2e/test_register.py, modules/xep0077_register/*_test.cpp"},
            {"XEP-0004", "2.13.2", "complete",
             "data forms library (src/xmpp/dataform): parse, serialize, validate typed fields; "
             "used by the registration form",
             "src/xmpp/dataform_test.cpp, tests/e2e/test_register.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.config().registration;
    throttle_ = std::make_unique<registration::Throttle>(cfg.throttle_max,
                                                         std::chrono::seconds(cfg.throttle_period));
    const std::string ns(registration::kRegisterNs);

    // §5: the stream feature, only where registration is offered.
    ctx.add_pre_auth_stream_feature(
        xml::Element("register", std::string(registration::kFeatureNs)),
        [this](std::string_view domain) { return offered(domain); });
    ctx.on_pre_auth_iq(module::IqType::kGet, ns, "query",
                       [this](const module::PreAuthIq& iq) { return pre_auth_get(iq); });
    ctx.on_pre_auth_iq(module::IqType::kSet, ns, "query",
                       [this](const module::PreAuthIq& iq) { return pre_auth_set(iq); });

    // §9: disco feature; with no 'to' the request reaches the account (Target::kAccount).
    ctx.add_feature(module::Target::kServer, ns);
    for (auto target : {module::Target::kServer, module::Target::kAccount}) {
      ctx.on_iq({module::IqType::kGet, target, ns, "query"},
                [this](const module::Iq& iq) { return get(iq); });
      ctx.on_iq({module::IqType::kSet, target, ns, "query"},
                [this](const module::Iq& iq) { return set(iq); });
    }
  }

 private:
  // ---- before login (§3.1) -------------------------------------------------------------------

  // Account creation is offered where `registration.allow` says, never on an anonymous domain
  // (RFC 4505 logins there get throw-away accounts; anonymous_domains).
  bool offered(std::string_view domain) const {
    const auto& cfg = ctx_->config();
    return cfg.registration.allowed(domain) && !cfg.is_anonymous(domain);
  }

  boost::asio::awaitable<IqResult> pre_auth_get(const module::PreAuthIq& iq) {
    if (!offered(iq.domain)) {
      co_return StanzaError::service_unavailable();
    }
    co_return registration::registration_fields();
  }

  boost::asio::awaitable<IqResult> pre_auth_set(const module::PreAuthIq& iq) {
    if (!offered(iq.domain)) {
      co_return StanzaError::service_unavailable();
    }
    auto parsed = registration::parse_set(iq.payload);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      co_return *err;
    }
    const Request& req = std::get<Request>(parsed);
    if (req.remove) {
      // §3.2: an IM server gets a remove without a 'from' from an entity not logged in.
      co_return StanzaError{ErrorType::kWait, "unexpected-request",
                            "Log in to cancel a registration"};
    }
    // §3.1: every field must be provided; an empty password counts as not provided.
    if (!req.username || req.username->empty()) {
      co_return not_acceptable("A username is required");
    }
    if (!req.password || req.password->empty()) {
      co_return not_acceptable("A password is required");
    }
    // RFC 7622 §3.3: the username must be a valid localpart (PRECIS UsernameCaseMapped).
    auto user = xmpp::prep_localpart(*req.username);
    if (!user || !xmpp::Jid::make(*user, iq.domain)) {
      co_return not_acceptable("The username is not a valid JID localpart");
    }
    // RFC 8265 §4.2: the password must be a valid OpaqueString.
    if (!xmpp::prep_password(*req.password)) {
      co_return not_acceptable("The password contains characters that are not allowed");
    }
    registration::Throttle* throttle = throttle_.get();
    const std::string domain = iq.domain, ip = iq.remote_address;
    // Cheap checks first, so a throttled or conflicting request costs no key derivation on the
    // network thread.
    {
      auto op = ctx_->storage().run([throttle, domain, u = *user, ip](storage::Backend& b) {
        if (!throttle->allowed(ip, registration::Throttle::Clock::now())) {
          return Outcome::kThrottled;
        }
        return b.get_account(domain, u) ? Outcome::kExists : Outcome::kCreated;
      });
      Outcome pre = co_await std::move(op);
      if (pre != Outcome::kCreated) {
        co_return answer(pre, *user, iq);
      }
    }
    // The same credentials `starlingctl adduser` stores: SCRAM keys only (RFC 8265 OpaqueString).
    auto creds = auth::derive_credentials(*req.password);
    if (!creds) {
      co_return not_acceptable("The password contains characters that are not allowed");
    }
    storage::Account account;
    account.domain = domain;
    account.username = *user;
    account.credentials = std::move(*creds);
    account.created_at = static_cast<std::int64_t>(std::time(nullptr));
    // Checked again with the creation, in the same storage call (atomic on the storage thread).
    auto op =
        ctx_->storage().run([throttle, account = std::move(account), ip](storage::Backend& b) {
          auto now = registration::Throttle::Clock::now();
          if (!throttle->allowed(ip, now)) {
            return Outcome::kThrottled;
          }
          switch (b.create_account(account)) {
            case storage::Status::kOk:
              throttle->record(ip, now);
              return Outcome::kCreated;
            case storage::Status::kExists:
              return Outcome::kExists;
            default:
              return Outcome::kError;
          }
        });
    Outcome outcome = co_await std::move(op);
    co_return answer(outcome, *user, iq);
  }

  enum class Outcome { kCreated, kThrottled, kExists, kError };

  static IqResult answer(Outcome outcome, const std::string& user, const module::PreAuthIq& iq) {
    switch (outcome) {
      case Outcome::kCreated:
        log::info("register: created {}@{} from {}", user, iq.domain, iq.remote_address);
        return module::Empty{};
      case Outcome::kThrottled:
        log::info("register: refused {}@{} from {}: too many registrations", user, iq.domain,
                  iq.remote_address);
        return StanzaError{ErrorType::kWait, "not-acceptable",
                           "Too many accounts registered from this address; try later"};
      case Outcome::kExists:
        return StanzaError::conflict();  // §3.1 username conflict
      case Outcome::kError:
        break;
    }
    return StanzaError::internal_server_error();
  }

  // ---- after login (§3.1 registered, §3.2, §3.3) ---------------------------------------------

  // The account a logged-in request is about: the sender's own, and only through its own
  // domain or its own bare JID.
  static std::optional<StanzaError> check_own(const module::Iq& iq) {
    if (iq.to.local().empty() ? iq.to.domain() != iq.from.domain()
                              : iq.to.bare() != iq.from.bare()) {
      return StanzaError{ErrorType::kAuth, "forbidden",
                         "Only your own registration can be managed"};
    }
    return std::nullopt;
  }

  boost::asio::awaitable<IqResult> get(const module::Iq& iq) {
    if (ctx_->config().is_anonymous(iq.from.domain())) {
      // An anonymous account has no registration to show, change or cancel: the domain
      // behaves as one without in-band registration (§3.1).
      co_return StanzaError::service_unavailable();
    }
    if (auto err = check_own(iq)) {
      co_return *err;
    }
    if (!iq.payload.elements().empty()) {
      co_return StanzaError::bad_request("A registration request is an empty <query/>");
    }
    co_return registration::registered_query(iq.from.local());
  }

  boost::asio::awaitable<IqResult> set(const module::Iq& iq) {
    if (ctx_->config().is_anonymous(iq.from.domain())) {
      co_return StanzaError::service_unavailable();
    }
    if (auto err = check_own(iq)) {
      co_return *err;
    }
    auto parsed = registration::parse_set(iq.payload);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      co_return *err;
    }
    const Request& req = std::get<Request>(parsed);
    if (req.remove) {
      auto op = remove(iq);
      co_return co_await std::move(op);
    }
    // §3.3: errors to a password change SHOULD NOT return the original XML (the password).
    iq.omit_payload_in_error();
    auto op = change_password(iq, req);
    co_return co_await std::move(op);
  }

  boost::asio::awaitable<IqResult> remove(const module::Iq& iq) {
    if (!ctx_->config().registration.remove) {
      co_return StanzaError{ErrorType::kCancel, "not-allowed",
                            "Accounts cannot be deleted in-band on this server"};
    }
    // The one deletion path (module::remove_account): the modules' removal handlers (the
    // roster module tells the contacts, RFC 6121 §2.5.2), then the account and the data of
    // every store (roster, offline messages, ...), in one transaction.
    auto op = ctx_->remove_account(iq.from.bare());
    storage::Status st = co_await std::move(op);
    if (st == storage::Status::kNotFound) {
      co_return StanzaError{ErrorType::kAuth, "registration-required", {}};  // §3.2
    }
    if (st != storage::Status::kOk) {
      co_return StanzaError::internal_server_error();
    }
    log::info("register: {} cancelled its registration", iq.from.bare_str());
    // §3.2: the result first, then every session of the account ends with <not-authorized/>.
    xmpp::Jid bare = iq.from.bare();
    module::ModuleContext* ctx = ctx_;
    iq.then_run([ctx, bare] { ctx->end_sessions(bare, "not-authorized", "Account removed"); });
    co_return module::Empty{};
  }

  boost::asio::awaitable<IqResult> change_password(const module::Iq& iq, const Request& req) {
    if (!ctx_->config().registration.password_change) {
      co_return StanzaError{ErrorType::kCancel, "not-allowed",
                            "Passwords cannot be changed in-band on this server"};
    }
    // §3.3: the request names the account (bad-request without it) and carries a password;
    // an empty one MUST NOT change it.
    if (!req.username || req.username->empty()) {
      co_return StanzaError::bad_request("The request must name the account in <username/>");
    }
    if (!req.password || req.password->empty()) {
      co_return StanzaError::bad_request("The new password is empty; it was not changed");
    }
    // The username may be the localpart or (as in §3.3's form example) the bare JID.
    auto as_local = xmpp::prep_localpart(*req.username);
    auto as_jid = xmpp::Jid::parse(*req.username);
    bool own = (as_local && *as_local == iq.from.local()) ||
               (as_jid && as_jid->is_bare() && *as_jid == iq.from.bare());
    if (!own) {
      co_return StanzaError{ErrorType::kCancel, "not-allowed",
                            "You can change only your own password"};
    }
    auto creds = auth::derive_credentials(*req.password);
    if (!creds) {
      co_return not_acceptable("The password contains characters that are not allowed");
    }
    std::string domain = iq.from.domain(), user = iq.from.local();
    std::optional<std::string> old = req.old_password;
    enum class Change { kChanged, kWrongOld, kGone, kError };
    auto op =
        ctx_->storage().run([domain, user, old, creds = std::move(*creds)](storage::Backend& b) {
          if (old) {
            // The changepassword form's old_password (§3.3) is checked when given.
            auto account = b.get_account(domain, user);
            if (!account) {
              return Change::kGone;
            }
            if (!auth::verify_password(account->credentials, *old)) {
              return Change::kWrongOld;
            }
          }
          switch (b.set_credentials(domain, user, creds)) {
            case storage::Status::kOk:
              return Change::kChanged;
            case storage::Status::kNotFound:
              return Change::kGone;
            default:
              return Change::kError;
          }
        });
    Change outcome = co_await std::move(op);
    switch (outcome) {
      case Change::kChanged:
        log::info("register: {} changed its password", iq.from.bare_str());
        co_return module::Empty{};
      case Change::kWrongOld:
        co_return StanzaError{ErrorType::kModify, "not-authorized", "The old password is wrong"};
      case Change::kGone:
        co_return StanzaError{ErrorType::kAuth, "registration-required", {}};
      case Change::kError:
        break;
    }
    co_return StanzaError::internal_server_error();
  }

  module::ModuleContext* ctx_ = nullptr;
  std::unique_ptr<registration::Throttle> throttle_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0077_register() { return std::make_unique<Register>(); }
}  // namespace starling::modules
