// XEP-0133 Service Administration: the §4 commands that apply to an XMPP server, for the JIDs of
// the `admins` configuration key only (others get <forbidden/>, §5 and §6), as ad-hoc commands
// (module/adhoc.hpp) with the XEP's node names and FORM_TYPE http://jabber.org/protocol/admin
// fields. A command manages the accounts of the domain it is sent to: an account JID of another
// domain is refused with <bad-payload/>.
//
// The message of the day (§4.24-4.26) is stored per domain (host-wide key-value store "motd")
// and delivered once per session: when the session first becomes available with a non-negative
// priority (the moment XEP-0160 delivers offline messages), and at once to the sessions online
// when it is set (§4.24 note). Whether a domain has a MOTD is kept in an atomic flag, so a
// login costs a storage read only while a MOTD is set.
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <ctime>
#include <limits>
#include <map>

#include "auth/sasl.hpp"
#include "base/log.hpp"
#include "base/random.hpp"
#include "module/adhoc.hpp"
#include "module/module.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

namespace dataform = xmpp::dataform;
using dataform::FieldType;
using dataform::Form;
using module::AdHocCommand;
using module::CommandCompleteResult;
using module::CommandNote;
using module::CommandOutcome;
using module::CommandSession;
using module::CommandStageResult;
using module::bad_payload;
using xmpp::ErrorType;
using xmpp::StanzaError;

constexpr std::string_view kAdminNs = "http://jabber.org/protocol/admin";  // §7 FORM_TYPE
constexpr std::string_view kMotdStore = "motd";

std::string node(std::string_view name) { return std::string(kAdminNs) + "#" + std::string(name); }

Form form(std::string title, std::string instructions) {
  Form f;
  f.type = dataform::FormType::kForm;
  f.title = std::move(title);
  f.instructions.push_back(std::move(instructions));
  f.add_form_type(std::string(kAdminNs));
  return f;
}

// A result form (§4.13ff: the service "SHOULD simply return" the figures).
Form result_form() {
  Form f;
  f.type = dataform::FormType::kResult;
  f.add_form_type(std::string(kAdminNs));
  return f;
}

CommandOutcome done(std::string note) {
  CommandOutcome out;
  out.notes.push_back({CommandNote::Type::kInfo, std::move(note)});
  return out;
}

// The account an accountjid(s) value names: a JID of the domain the command runs on, with a
// localpart. `keep_resource` for end-user-session (§4.5: a full JID ends that session only).
std::variant<xmpp::Jid, StanzaError> account_of(const std::string& value,
                                                const CommandSession& s,
                                                bool keep_resource = false) {
  auto jid = xmpp::Jid::parse(value);
  if (!jid || jid->local().empty()) {
    return bad_payload("'" + value + "' is not a user's JID");
  }
  if (jid->domain() != s.service.domain()) {
    return bad_payload("'" + value + "' is not an account of " + s.service.domain());
  }
  return keep_resource ? *jid : jid->bare();
}

// The max_items field of the list commands (§4.18, §4.20), with the XEP's options. XEP-0122: a
// regex method opens the list (§3.2), so any count from 1 to 999999 may be typed in as well.
Form max_items_form(std::string title, std::string instructions) {
  Form f = form(std::move(title), std::move(instructions));
  auto& m = f.add("max_items", FieldType::kListSingle, "Maximum number of items to show");
  for (const char* n : {"25", "50", "75", "100", "150", "200"}) {
    m.options.push_back({n, n});
  }
  m.options.push_back({"None", "none"});
  m.values.push_back("100");
  dataform::Validation v;
  v.method = dataform::Validation::Method::kRegex;
  v.regex = "[1-9][0-9]{0,5}|none";
  m.validate = v;
  return f;
}

std::size_t max_items(const CommandSession& s) {
  const std::string& v = s.value(0, "max_items");
  if (v.empty() || v == "none") {
    return std::numeric_limits<std::size_t>::max();
  }
  return static_cast<std::size_t>(std::stoul(v));  // validated: 1 to 999999
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) {
      out += '\n';
    }
    out += l;
  }
  return out;
}

using Stage = std::function<boost::asio::awaitable<CommandStageResult>(CommandSession&)>;

// A stage that shows a fixed form.
Stage show(Form f) {
  return [f = std::move(f)](CommandSession&) -> boost::asio::awaitable<CommandStageResult> {
    co_return f;
  };
}

class Admin final : public module::Module {
 public:
  std::string_view name() const override { return "xep0133_admin"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0133", "1.3.1", "partial",
             "for the `admins` only (others get forbidden): add-user, delete-user (as XEP-0077 "
             "cancellation: contacts told, data removed, sessions ended), disable-user (sessions "
             "ended, SASL then fails with account-disabled), reenable-user, end-user-session "
             "(bare or full JID), change-user-password, get-registered-users-num/-list, "
             "get-online-users-num/-list, announce (to every online session), set-motd, "
             "edit-motd, delete-motd (stored per domain, delivered once per session); not: "
             "get-user-roster, get-user-lastlogin, user-stats, black/whitelists, disabled/active/"
             "idle user lists, welcome message, edit-admin, restart, shutdown",
             "tests/e2e/test_admin.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    for (const auto& d : ctx.config().domains) {
      motd_set_.try_emplace(d, false);
    }
    // Which domains have a MOTD, read once before the shards run.
    for (auto& [domain, flag] : motd_set_) {
      std::string d = domain;
      bool set = ctx.storage().run_sync([d](storage::Backend& b) {
        return b.kv_get(d, "", std::string(kMotdStore), "text").has_value();
      });
      flag.store(set);
    }
    ctx.on<events::SessionAvailable>([this](const events::SessionAvailable& e) {
      if (!e.first_non_negative) {
        return;
      }
      auto it = motd_set_.find(e.jid.domain());
      if (it == motd_set_.end() || !it->second.load(std::memory_order_relaxed)) {
        return;
      }
      boost::asio::co_spawn(e.executor, deliver_motd(e.jid), boost::asio::detached);
    });

    add(ctx, add_user());
    add(ctx, accounts_command("delete-user", "Delete a User", "Deleting a User",
                              "Fill out this form to delete a user.",
                              "The Jabber ID(s) to delete",
                              [this](CommandSession& s) { return delete_users(s); }));
    add(ctx, accounts_command("disable-user", "Disable a User", "Disabling a User",
                              "Fill out this form to disable a user.",
                              "The Jabber ID(s) to disable",
                              [this](CommandSession& s) { return set_disabled(s, true); }));
    add(ctx, accounts_command("reenable-user", "Re-Enable a User", "Re-Enable a User",
                              "Fill out this form to re-enable a user.",
                              "The Jabber ID(s) to re-enable",
                              [this](CommandSession& s) { return set_disabled(s, false); }));
    add(ctx, accounts_command("end-user-session", "End a User Session", "Ending a User Session",
                              "Fill out this form to end a user's session.",
                              "The Jabber ID(s) for which to end sessions",
                              [this](CommandSession& s) { return end_user_sessions(s); }));
    add(ctx, change_password());
    add(ctx, registered_users_num());
    add(ctx, registered_users_list());
    add(ctx, online_users_num());
    add(ctx, online_users_list());
    add(ctx, announce());
    add(ctx, set_motd());
    add(ctx, edit_motd());
    add(ctx, delete_motd());
  }

 private:
  static void add(module::ModuleContext& ctx, AdHocCommand cmd) {
    cmd.access = AdHocCommand::Access::kAdmin;
    ctx.add_command(module::Target::kServer, std::move(cmd));
  }

  // ---- accounts ------------------------------------------------------------------------------

  // §4.1 Add User.
  AdHocCommand add_user() {
    Form f = form("Adding a User", "Fill out this form to add a user.");
    f.add("accountjid", FieldType::kJidSingle, "The Jabber ID for the account to be added", true);
    f.add("password", FieldType::kTextPrivate, "The password for this account", true);
    f.add("password-verify", FieldType::kTextPrivate, "Retype password", true);
    f.add("email", FieldType::kTextSingle, "Email address");
    f.add("given_name", FieldType::kTextSingle, "Given name");
    f.add("surname", FieldType::kTextSingle, "Family name");
    AdHocCommand c;
    c.node = node("add-user");
    c.name = "Add a User";
    c.stages.push_back(show(std::move(f)));
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      auto acc = account_of(s.value(0, "accountjid"), s);
      if (auto* err = std::get_if<StanzaError>(&acc)) {
        co_return *err;
      }
      xmpp::Jid jid = std::get<xmpp::Jid>(acc);
      const std::string& password = s.value(0, "password");
      if (password != s.value(0, "password-verify")) {
        co_return bad_payload("The two passwords differ");
      }
      // RFC 8265 §4.2 OpaqueString; only SCRAM keys are stored, as `starlingctl adduser` does.
      auto creds = auth::derive_credentials(password);
      if (!creds) {
        co_return bad_payload("The password contains characters that are not allowed");
      }
      storage::Account account;
      account.domain = jid.domain();
      account.username = jid.local();
      account.credentials = std::move(*creds);
      account.created_at = static_cast<std::int64_t>(std::time(nullptr));
      auto op = ctx_->storage().run(
          [account = std::move(account)](storage::Backend& b) { return b.create_account(account); });
      storage::Status st = co_await std::move(op);
      if (st == storage::Status::kExists) {
        co_return StanzaError{ErrorType::kCancel, "conflict",
                              jid.bare_str() + " already exists"};  // §5
      }
      if (st != storage::Status::kOk) {
        co_return StanzaError::internal_server_error();
      }
      log::info("admin: {} added {}", s.requester.str(), jid.bare_str());
      co_return done("Added " + jid.bare_str());
    };
    return c;
  }

  using AccountsAction =
      std::function<boost::asio::awaitable<CommandCompleteResult>(CommandSession&)>;

  // §4.2-4.5: one form with the accountjids field.
  static AdHocCommand accounts_command(std::string_view name, std::string label, std::string title,
                                       std::string instructions, std::string field_label,
                                       AccountsAction action) {
    Form f = form(std::move(title), std::move(instructions));
    f.add("accountjids", FieldType::kJidMulti, std::move(field_label), true);
    AdHocCommand c;
    c.node = node(name);
    c.name = std::move(label);
    c.stages.push_back(show(std::move(f)));
    c.complete = std::move(action);
    return c;
  }

  // The accounts of an accountjids field (duplicates ignored, XEP-0004 §3.3).
  static std::variant<std::vector<xmpp::Jid>, StanzaError> accounts(const CommandSession& s,
                                                                    bool keep_resource = false) {
    std::vector<xmpp::Jid> out;
    for (const std::string& v : s.values(0, "accountjids")) {
      auto acc = account_of(v, s, keep_resource);
      if (auto* err = std::get_if<StanzaError>(&acc)) {
        return *err;
      }
      xmpp::Jid j = std::get<xmpp::Jid>(std::move(acc));
      if (std::find(out.begin(), out.end(), j) == out.end()) {
        out.push_back(std::move(j));
      }
    }
    return out;
  }

  // §4.6 note: a command that completes but fails carries an error note.
  static CommandOutcome summary(const std::string& verb, const std::vector<std::string>& ok,
                                const std::vector<std::string>& missing) {
    CommandOutcome out;
    if (!ok.empty()) {
      std::string list;
      for (const auto& j : ok) {
        list += (list.empty() ? "" : ", ") + j;
      }
      out.notes.push_back({CommandNote::Type::kInfo, verb + " " + list});
    }
    for (const auto& j : missing) {
      out.notes.push_back({CommandNote::Type::kError, "No such account: " + j});
    }
    return out;
  }

  // §4.2 Delete User: the one deletion path (module::remove_account, as XEP-0077 §3.2
  // cancellation: contacts are told, every store is cleared), then the
  // account's sessions end with <not-authorized/> once the reply has gone out.
  boost::asio::awaitable<CommandCompleteResult> delete_users(CommandSession& s) {
    auto list = accounts(s);
    if (auto* err = std::get_if<StanzaError>(&list)) {
      co_return *err;
    }
    std::vector<std::string> ok, missing;
    for (const xmpp::Jid& jid : std::get<std::vector<xmpp::Jid>>(list)) {
      auto op = ctx_->remove_account(jid);
      storage::Status st = co_await std::move(op);
      if (st == storage::Status::kNotFound) {
        missing.push_back(jid.bare_str());
        continue;
      }
      if (st != storage::Status::kOk) {
        co_return StanzaError::internal_server_error();
      }
      ok.push_back(jid.bare_str());
      log::info("admin: {} deleted {}", s.requester.str(), jid.bare_str());
      module::ModuleContext* ctx = ctx_;
      s.iq->then_run([ctx, jid] { ctx->end_sessions(jid, "not-authorized", "Account removed"); });
    }
    co_return summary("Deleted", ok, missing);
  }

  // §4.3 Disable User: sessions end and logins fail (the SASL path refuses a disabled account
  // with <account-disabled/>); the data stays. §4.4 Re-Enable User.
  boost::asio::awaitable<CommandCompleteResult> set_disabled(CommandSession& s, bool disabled) {
    auto list = accounts(s);
    if (auto* err = std::get_if<StanzaError>(&list)) {
      co_return *err;
    }
    std::vector<std::string> ok, missing;
    for (const xmpp::Jid& jid : std::get<std::vector<xmpp::Jid>>(list)) {
      std::string d = jid.domain(), u = jid.local();
      auto op = ctx_->storage().run(
          [d, u, disabled](storage::Backend& b) { return b.set_disabled(d, u, disabled); });
      storage::Status st = co_await std::move(op);
      if (st == storage::Status::kNotFound) {
        missing.push_back(jid.bare_str());
        continue;
      }
      if (st != storage::Status::kOk) {
        co_return StanzaError::internal_server_error();
      }
      ok.push_back(jid.bare_str());
      log::info("admin: {} {} {}", s.requester.str(), disabled ? "disabled" : "re-enabled",
                jid.bare_str());
      if (disabled) {
        module::ModuleContext* ctx = ctx_;
        s.iq->then_run(
            [ctx, jid] { ctx->end_sessions(jid, "policy-violation", "Account disabled"); });
      }
    }
    co_return summary(disabled ? "Disabled" : "Re-enabled", ok, missing);
  }

  // §4.5 End User Session: a bare JID ends every session, a full JID that one.
  boost::asio::awaitable<CommandCompleteResult> end_user_sessions(CommandSession& s) {
    auto list = accounts(s, true);
    if (auto* err = std::get_if<StanzaError>(&list)) {
      co_return *err;
    }
    std::vector<std::string> ended;
    for (const xmpp::Jid& jid : std::get<std::vector<xmpp::Jid>>(list)) {
      ended.push_back(jid.str());
      module::ModuleContext* ctx = ctx_;
      s.iq->then_run([ctx, jid] {
        ctx->end_sessions(jid, "policy-violation", "Session ended by an administrator");
      });
    }
    log::info("admin: {} ended the sessions of {}", s.requester.str(), joined(ended));
    co_return summary("Ended the sessions of", ended, {});
  }

  // §4.7 Change User Password.
  AdHocCommand change_password() {
    Form f = form("Changing a User Password", "Fill out this form to change a user's password.");
    f.add("accountjid", FieldType::kJidSingle, "The Jabber ID for this account", true);
    f.add("password", FieldType::kTextPrivate, "The password for this account", true);
    AdHocCommand c;
    c.node = node("change-user-password");
    c.name = "Change User Password";
    c.stages.push_back(show(std::move(f)));
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      auto acc = account_of(s.value(0, "accountjid"), s);
      if (auto* err = std::get_if<StanzaError>(&acc)) {
        co_return *err;
      }
      xmpp::Jid jid = std::get<xmpp::Jid>(acc);
      auto creds = auth::derive_credentials(s.value(0, "password"));
      if (!creds) {
        co_return bad_payload("The password contains characters that are not allowed");
      }
      std::string d = jid.domain(), u = jid.local();
      auto op = ctx_->storage().run([d, u, creds = std::move(*creds)](storage::Backend& b) {
        return b.set_credentials(d, u, creds);
      });
      storage::Status st = co_await std::move(op);
      if (st == storage::Status::kNotFound) {
        co_return StanzaError{ErrorType::kCancel, "item-not-found",
                              "No such account: " + jid.bare_str()};
      }
      if (st != storage::Status::kOk) {
        co_return StanzaError::internal_server_error();
      }
      log::info("admin: {} changed the password of {}", s.requester.str(), jid.bare_str());
      co_return done("Changed the password of " + jid.bare_str());
    };
    return c;
  }

  // ---- figures and lists ---------------------------------------------------------------------

  // §4.13 Get Number of Registered Users.
  AdHocCommand registered_users_num() {
    AdHocCommand c;
    c.node = node("get-registered-users-num");
    c.name = "Get Number of Registered Users";
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      std::string d = s.service.domain();
      auto op = ctx_->storage().run([d](storage::Backend& b) { return b.count_users(d); });
      std::int64_t n = co_await std::move(op);
      CommandOutcome out;
      out.form = result_form();
      out.form->add("registeredusersnum", FieldType::kTextSingle, "The number of registered users")
          .values.push_back(std::to_string(n));
      co_return out;
    };
    return c;
  }

  // §4.18 Get List of Registered Users, with the optional max_items form.
  AdHocCommand registered_users_list() {
    AdHocCommand c;
    c.node = node("get-registered-users-list");
    c.name = "Get List of Registered Users";
    c.stages.push_back(show(max_items_form(
        "Requesting List of Registered Users",
        "Fill out this form to request the registered users of this service.")));
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      std::string d = s.service.domain();
      auto op = ctx_->storage().run([d](storage::Backend& b) { return b.list_users(d); });
      std::vector<std::string> users = co_await std::move(op);
      CommandOutcome out;
      out.form = result_form();
      auto& f = out.form->add("registereduserjids", FieldType::kJidMulti, "The list of all users");
      for (std::size_t i = 0; i < users.size() && i < max_items(s); ++i) {
        f.values.push_back(users[i] + "@" + d);
      }
      co_return out;
    };
    return c;
  }

  // §4.15 Get Number of Online Users: accounts with at least one session.
  AdHocCommand online_users_num() {
    AdHocCommand c;
    c.node = node("get-online-users-num");
    c.name = "Get Number of Online Users";
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      auto op = ctx_->sink().online_accounts(s.service.domain(),
                                             std::numeric_limits<std::size_t>::max());
      auto online = co_await std::move(op);
      CommandOutcome out;
      out.form = result_form();
      out.form->add("onlineusersnum", FieldType::kTextSingle, "The number of online users")
          .values.push_back(std::to_string(online.size()));
      co_return out;
    };
    return c;
  }

  // §4.20 Get List of Online Users.
  AdHocCommand online_users_list() {
    AdHocCommand c;
    c.node = node("get-online-users-list");
    c.name = "Get List of Online Users";
    c.stages.push_back(
        show(max_items_form("Requesting List of Online Users",
                            "Fill out this form to request the online users of this service.")));
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      auto op = ctx_->sink().online_accounts(s.service.domain(), max_items(s));
      auto online = co_await std::move(op);
      std::vector<std::string> jids;
      for (const auto& a : online) {
        jids.push_back(a.bare);
      }
      std::sort(jids.begin(), jids.end());
      CommandOutcome out;
      out.form = result_form();
      out.form->add("onlineuserjids", FieldType::kJidMulti, "The list of all online users").values =
          std::move(jids);
      co_return out;
    };
    return c;
  }

  // ---- announcements and the message of the day ----------------------------------------------

  // A message from the domain to every online session of it.
  boost::asio::awaitable<std::size_t> send_to_online(std::string domain, std::string body) {
    auto op = ctx_->sink().online_accounts(domain, std::numeric_limits<std::size_t>::max());
    auto online = co_await std::move(op);
    std::size_t sent = 0;
    for (const auto& a : online) {
      for (const auto& r : a.resources) {
        ctx_->send(message(domain, a.bare + "/" + r, body));
        ++sent;
      }
    }
    co_return sent;
  }

  static xml::Element message(const std::string& from, const std::string& to,
                              const std::string& body) {
    xml::Element m("message", std::string(ns::kClient));
    m.set_attr("from", from);
    m.set_attr("to", to);
    m.set_attr("id", "admin-" + random_id(12));
    m.add_child("body", std::string(ns::kClient)).add_text(body);
    return m;
  }

  // §4.23 Send Announcement to Online Users.
  AdHocCommand announce() {
    Form f = form("Making an Announcement",
                  "Fill out this form to make an announcement to all active users of this "
                  "service.");
    f.add("announcement", FieldType::kTextMulti, "Announcement", true);
    AdHocCommand c;
    c.node = node("announce");
    c.name = "Send Announcement to Online Users";
    c.stages.push_back(show(std::move(f)));
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      auto op = send_to_online(s.service.domain(), joined(s.values(0, "announcement")));
      std::size_t n = co_await std::move(op);
      log::info("admin: {} sent an announcement to {} sessions", s.requester.str(), n);
      co_return done("Sent to " + std::to_string(n) + " online sessions");
    };
    return c;
  }

  Form motd_form(std::string title, std::string instructions) {
    Form f = form(std::move(title), std::move(instructions));
    f.add("motd", FieldType::kTextMulti, "Message of the Day", true);
    return f;
  }

  boost::asio::awaitable<std::optional<std::string>> load_motd(std::string domain) {
    auto op = ctx_->storage().run([domain](storage::Backend& b) {
      return b.kv_get(domain, "", std::string(kMotdStore), "text");
    });
    co_return co_await std::move(op);
  }

  boost::asio::awaitable<CommandCompleteResult> store_motd(CommandSession& s, bool send_now) {
    std::string domain = s.service.domain(), text = joined(s.values(0, "motd"));
    auto op = ctx_->storage().run([domain, text](storage::Backend& b) {
      return b.kv_set(domain, "", std::string(kMotdStore), "text", text);
    });
    storage::Status st = co_await std::move(op);
    if (st != storage::Status::kOk) {
      co_return StanzaError::internal_server_error();
    }
    motd_set_.at(domain).store(true);
    log::info("admin: {} set the message of the day of {}", s.requester.str(), domain);
    if (send_now) {
      auto sop = send_to_online(domain, text);
      co_await std::move(sop);
    }
    co_return done("The message of the day is set");
  }

  // §4.24 Set Message of the Day: stored, and sent at once to the online sessions (§4.24 note).
  AdHocCommand set_motd() {
    AdHocCommand c;
    c.node = node("set-motd");
    c.name = "Set Message of the Day";
    c.stages.push_back(show(motd_form("Setting the Message of the Day",
                                      "Fill out this form to set the message of the day.")));
    c.complete = [this](CommandSession& s) { return store_motd(s, true); };
    return c;
  }

  // §4.25 Edit Message of the Day: the form carries the current message.
  AdHocCommand edit_motd() {
    AdHocCommand c;
    c.node = node("edit-motd");
    c.name = "Edit Message of the Day";
    c.stages.push_back([this](CommandSession& s) -> boost::asio::awaitable<CommandStageResult> {
      Form f = motd_form("Editing the Message of the Day",
                         "Fill out this form to edit the message of the day.");
      auto op = load_motd(s.service.domain());
      std::optional<std::string> current = co_await std::move(op);
      if (current) {
        auto& values = f.field("motd")->values;
        std::string_view rest = *current;
        while (true) {
          auto nl = rest.find('\n');
          values.emplace_back(rest.substr(0, nl));
          if (nl == std::string_view::npos) {
            break;
          }
          rest.remove_prefix(nl + 1);
        }
      }
      co_return f;
    });
    c.complete = [this](CommandSession& s) { return store_motd(s, false); };
    return c;
  }

  // §4.26 Delete Message of the Day.
  AdHocCommand delete_motd() {
    AdHocCommand c;
    c.node = node("delete-motd");
    c.name = "Delete Message of the Day";
    c.complete = [this](CommandSession& s) -> boost::asio::awaitable<CommandCompleteResult> {
      std::string domain = s.service.domain();
      motd_set_.at(domain).store(false);
      auto op = ctx_->storage().run([domain](storage::Backend& b) {
        return b.kv_delete(domain, "", std::string(kMotdStore), "text");
      });
      co_await std::move(op);
      log::info("admin: {} deleted the message of the day of {}", s.requester.str(), domain);
      co_return done("The message of the day is deleted");
    };
    return c;
  }

  boost::asio::awaitable<void> deliver_motd(xmpp::Jid session) {
    auto op = load_motd(session.domain());
    std::optional<std::string> text = co_await std::move(op);
    if (text) {
      ctx_->send(message(session.domain(), session.str(), *text));
    }
  }

  module::ModuleContext* ctx_ = nullptr;
  // Per served domain: a MOTD is stored. Built at start-up; only the flags change afterwards.
  std::map<std::string, std::atomic<bool>> motd_set_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0133_admin() { return std::make_unique<Admin>(); }
}  // namespace starling::modules
