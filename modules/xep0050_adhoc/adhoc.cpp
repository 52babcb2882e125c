// XEP-0050 Ad-Hoc Commands on the server JID: the command list (disco#items on the node
// "http://jabber.org/protocol/commands", §2.2), disco#info per command node (registered with the
// command by ModuleContext::add_command), and execution with sessions, actions, <actions/>,
// notes and the errors of §4.6. Commands come from any module (module/adhoc.hpp); this module
// adds the `ping` command every user may run.
//
// Sessions live in one SessionStore per shard and a request uses the store of the shard it runs
// on (module::Iq::shard). The router runs every request to the server on the sender's partition
// shard, so all requests of one requester meet the same store: no lock on any stanza's path. A
// session is bound to the requester's full JID (§4.3: "valid only between one requester/responder
// pair"), idles out after adhoc.session_timeout and a user has at most adhoc.max_sessions.
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "base/random.hpp"
#include "module/adhoc.hpp"
#include "module/module.hpp"
#include "modules/xep0050_adhoc/session_store.hpp"
#include "server/config/config.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

namespace dataform = xmpp::dataform;
using adhoc::Clock;
using adhoc::Session;
using adhoc::SessionPtr;
using adhoc::SessionStore;
using module::AdHocCommand;
using module::IqResult;
using module::Target;
using xmpp::ErrorType;
using xmpp::StanzaError;

enum class Action { kExecute, kNext, kPrev, kComplete, kCancel };

std::optional<Action> parse_action(std::string_view s) {
  if (s.empty() || s == "execute") {
    return Action::kExecute;  // §3.4: execute is implied
  }
  if (s == "next") {
    return Action::kNext;
  }
  if (s == "prev") {
    return Action::kPrev;
  }
  if (s == "complete") {
    return Action::kComplete;
  }
  if (s == "cancel") {
    return Action::kCancel;
  }
  return std::nullopt;
}

// §4.6 errors: a general condition plus the commands namespace's specific condition.
StanzaError command_error(ErrorType type, std::string condition, std::string specific,
                          std::string text) {
  StanzaError e{type, std::move(condition), std::move(text)};
  e.app_condition = std::move(specific);
  e.app_ns = std::string(module::kCommandsNs);
  return e;
}
StanzaError malformed_action(std::string text) {
  return command_error(ErrorType::kModify, "bad-request", "malformed-action", std::move(text));
}
StanzaError bad_action(std::string text) {
  return command_error(ErrorType::kModify, "bad-request", "bad-action", std::move(text));
}
StanzaError bad_sessionid(std::string text) {
  return command_error(ErrorType::kModify, "bad-request", "bad-sessionid", std::move(text));
}
using module::bad_payload;
StanzaError session_expired() {
  return command_error(ErrorType::kCancel, "not-allowed", "session-expired",
                       "This command session has ended");
}

std::string_view to_string(module::CommandNote::Type t) {
  switch (t) {
    case module::CommandNote::Type::kWarn:
      return "warn";
    case module::CommandNote::Type::kError:
      return "error";
    case module::CommandNote::Type::kInfo:
      break;
  }
  return "info";
}

// The allowed actions at a stage of an n-stage command (§4.4 guidelines): <prev/> after the
// first stage, <next/> before the last, <complete/> on the last; "execute" is the way forward.
struct Actions {
  bool prev = false, next = false, complete = false;
  Action execute = Action::kComplete;
};
Actions actions_at(std::size_t stage, std::size_t stages) {
  Actions a;
  a.prev = stage > 0;
  a.next = stage + 1 < stages;
  a.complete = stage + 1 == stages;
  a.execute = a.next ? Action::kNext : Action::kComplete;
  return a;
}

xml::Element command_element(const std::string& node, const std::string& sessionid,
                             std::string_view status) {
  xml::Element c("command", std::string(module::kCommandsNs));
  c.set_attr("node", node);
  c.set_attr("sessionid", sessionid);
  c.set_attr("status", std::string(status));
  return c;
}

void add_notes(xml::Element& c, const std::vector<module::CommandNote>& notes) {
  const std::string ns(module::kCommandsNs);
  for (const auto& n : notes) {
    auto& e = c.add_child("note", ns);
    e.set_attr("type", std::string(to_string(n.type)));
    e.add_text(n.text);
  }
}

// The executing stage: <actions/> (§3.4, §4.4) and the stage's form.
xml::Element executing(const Session& s) {
  xml::Element c = command_element(s.command->node, s.id, "executing");
  Actions a = actions_at(s.stage(), s.command->stages.size());
  const std::string ns(module::kCommandsNs);
  auto& actions = c.add_child("actions", ns);
  actions.set_attr("execute", a.execute == Action::kNext ? "next" : "complete");
  if (a.prev) {
    actions.add_child("prev", ns);
  }
  if (a.next) {
    actions.add_child("next", ns);
  }
  if (a.complete) {
    actions.add_child("complete", ns);
  }
  c.add_child(dataform::to_element(s.forms.back()));
  return c;
}

xml::Element completed(const std::string& node, const std::string& id,
                       const module::CommandOutcome& out) {
  xml::Element c = command_element(node, id, "completed");
  add_notes(c, out.notes);
  if (out.form) {
    c.add_child(dataform::to_element(*out.form));
  }
  return c;
}

// "Remembered" values (§3.4 note): a stage shown again after prev carries what was submitted.
void prefill(dataform::Form& form, const dataform::Form& answer) {
  for (auto& f : form.fields) {
    if (f.var.empty() || f.var == "FORM_TYPE" ||
        f.effective_type() == dataform::FieldType::kTextPrivate ||
        f.effective_type() == dataform::FieldType::kFixed) {
      continue;
    }
    if (const dataform::Field* a = answer.field(f.var)) {
      f.values = a->values;
    }
  }
}

// Marks a session busy for the duration of one request (two requests for one session may
// interleave at their co_await points).
class BusyGuard {
 public:
  explicit BusyGuard(Session& s) : s_(s) { s_.busy = true; }
  ~BusyGuard() { s_.busy = false; }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  Session& s_;
};

class AdHoc final : public module::Module {
 public:
  std::string_view name() const override { return "xep0050_adhoc"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0050", "1.3.0", "complete",
             "commands of the server JID, listed per requester (administrators see the "
             "XEP-0133 commands); multi-stage sessions bound to the requester's full JID with "
             "prev/next/complete/cancel, <actions/> and notes; §4.6 errors; sessions idle out "
             "(adhoc.session_timeout) and are bounded per user (adhoc.max_sessions); a `ping` "
             "command for every user; commands are registered by modules "
             "(ModuleContext::add_command); no xml:lang negotiation (bad-locale) and no "
             "announcement of the list by message",
             "tests/e2e/test_adhoc.py, modules/xep0050_adhoc/session_store_test.cpp"},
            {"XEP-0122", "1.0.2", "complete",
             "data forms validation in the shared data forms library: datatypes (xs:integer "
             "and the sized integers, decimal, double, boolean, date, dateTime, time, language, "
             "anyURI; others as xs:string), basic/open/range/regex methods and list-range, "
             "applied when a submitted form is validated against the form that asked for it; "
             "dates compare by their lexical form (same time zone assumed); <regex/> through "
             "POSIX regcomp (extended syntax, byte-oriented: no Unicode classes)",
             "src/xmpp/dataform_test.cpp, tests/e2e/test_admin.py"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.config().adhoc;
    for (std::size_t i = 0; i < std::max<std::size_t>(ctx.server_info().shards, 1); ++i) {
      stores_.push_back(std::make_unique<SessionStore>(std::chrono::seconds(cfg.session_timeout),
                                                       cfg.max_sessions));
    }
    const std::string ns(module::kCommandsNs);
    ctx.add_feature(Target::kServer, ns);  // §2.1
    module::DiscoNodeHandler list;
    // §2.2: the command list node, identity automation/command-list.
    list.info = [](const module::Iq&) -> boost::asio::awaitable<module::DiscoInfoResult> {
      module::DiscoInfo info;
      info.identities.push_back({"automation", "command-list", "Commands"});
      info.features.push_back(std::string(module::kCommandsNs));
      co_return info;
    };
    list.items = [this](const module::Iq& iq) -> boost::asio::awaitable<module::DiscoItemsResult> {
      co_return items(iq);
    };
    ctx.on_disco_node(Target::kServer, ns, std::move(list));
    ctx.on_iq({module::IqType::kSet, Target::kServer, ns, "command"},
              [this](const module::Iq& iq) { return execute(iq); });

    // Every user's ping (answers that the server is alive, in one stage).
    AdHocCommand ping;
    ping.node = "ping";
    ping.name = "Ping";
    ping.access = AdHocCommand::Access::kAnyone;
    ping.complete = [](module::CommandSession&)
        -> boost::asio::awaitable<module::CommandCompleteResult> {
      module::CommandOutcome out;
      out.notes.push_back({module::CommandNote::Type::kInfo, "Pong! The server is alive."});
      co_return out;
    };
    ctx.add_command(Target::kServer, std::move(ping));
  }

 private:
  bool allowed(const AdHocCommand& cmd, const xmpp::Jid& who) const {
    return cmd.access == AdHocCommand::Access::kAnyone ||
           module::is_admin(ctx_->config().admins, who);
  }

  // §2.2: only the commands this requester may run ("The responder is not required to send the
  // same list of commands to all requesters"); each item's jid is the responder's own (§7).
  std::vector<module::DiscoItem> items(const module::Iq& iq) const {
    std::vector<module::DiscoItem> out;
    for (const AdHocCommand* cmd : ctx_->registry().commands(Target::kServer)) {
      if (allowed(*cmd, iq.from)) {
        out.push_back({iq.to.str(), cmd->node, cmd->name});
      }
    }
    return out;
  }

  SessionStore& store(const module::Iq& iq) { return *stores_[iq.shard % stores_.size()]; }

  boost::asio::awaitable<IqResult> execute(const module::Iq& iq) {
    const xml::Element& req = iq.payload;
    std::string node(req.attr_or("node"));
    if (node.empty()) {
      co_return StanzaError::bad_request("A command needs a 'node'");  // §4.1: MUST be present
    }
    auto action = parse_action(req.attr_or("action"));
    if (!action) {
      co_return malformed_action("Unknown action '" + std::string(req.attr_or("action")) + "'");
    }
    const AdHocCommand* cmd = ctx_->registry().find_command(Target::kServer, node);
    if (cmd == nullptr) {
      co_return StanzaError::item_not_found();  // §4.6: no such command node
    }
    if (!allowed(*cmd, iq.from)) {
      co_return StanzaError{ErrorType::kCancel, "forbidden",
                            "This command is for administrators"};  // §4.6, XEP-0133 §5
    }
    SessionStore& st = store(iq);
    auto now = Clock::now();
    st.expire(now);
    std::string sessionid(req.attr_or("sessionid"));
    if (sessionid.empty()) {
      if (*action != Action::kExecute) {
        co_return bad_action("A new command session starts with the 'execute' action");
      }
      auto op = start_session(iq, *cmd);
      co_return co_await std::move(op);
    }
    SessionPtr s = st.find(sessionid, now);
    if (s == nullptr) {
      if (st.ended_recently(iq.from.str(), sessionid)) {
        co_return session_expired();  // completed, canceled or timed out
      }
      co_return bad_sessionid("No such command session");
    }
    // §4.3: a session is valid only between one requester and the responder.
    if (s->data.requester != iq.from || s->command != cmd) {
      co_return bad_sessionid("No such command session for this requester and node");
    }
    if (s->busy) {
      co_return StanzaError{ErrorType::kWait, "unexpected-request",
                            "The previous request of this session is still being processed"};
    }
    s->last_used = now;
    if (*action == Action::kCancel) {
      st.end(s->id);  // §3.5: the responder MUST reply with the success of the cancel
      co_return command_element(cmd->node, s->id, "canceled");
    }
    auto op = continue_session(iq, s, *action);
    co_return co_await std::move(op);
  }

  boost::asio::awaitable<IqResult> start_session(const module::Iq& iq, const AdHocCommand& cmd) {
    auto s = std::make_shared<Session>();
    s->id = random_id(16);
    s->command = &cmd;
    s->data.requester = iq.from;
    s->data.service = iq.to;
    s->data.iq = &iq;
    SessionStore& st = store(iq);
    if (cmd.stages.empty()) {
      // One stage: complete at once (§3.4 "Simple Execution").
      auto op = cmd.complete(s->data);
      module::CommandCompleteResult r = co_await std::move(op);
      if (auto* err = std::get_if<StanzaError>(&r)) {
        co_return *err;
      }
      st.remember(*s);
      co_return completed(cmd.node, s->id, std::get<module::CommandOutcome>(r));
    }
    s->busy = true;
    auto op = cmd.stages.front()(s->data);
    module::CommandStageResult r = co_await std::move(op);
    s->busy = false;
    if (auto* err = std::get_if<StanzaError>(&r)) {
      co_return *err;
    }
    s->forms.push_back(std::get<dataform::Form>(std::move(r)));
    s->data.iq = nullptr;
    st.add(s, Clock::now());
    co_return executing(*s);
  }

  boost::asio::awaitable<IqResult> continue_session(const module::Iq& iq, SessionPtr s,
                                                    Action action) {
    const AdHocCommand& cmd = *s->command;
    const std::size_t stage = s->stage();
    Actions allowed = actions_at(stage, cmd.stages.size());
    if (action == Action::kExecute) {
      action = allowed.execute;  // §4.4: execute is what the 'execute' attribute names
    }
    if ((action == Action::kPrev && !allowed.prev) || (action == Action::kNext && !allowed.next) ||
        (action == Action::kComplete && !allowed.complete)) {
      co_return bad_action("That action is not allowed at this stage of the command");
    }
    BusyGuard guard(*s);
    s->data.iq = &iq;
    IqResult result;
    if (action == Action::kPrev) {
      auto op = cmd.stages[stage - 1](s->data);
      module::CommandStageResult r = co_await std::move(op);
      if (auto* err = std::get_if<StanzaError>(&r)) {
        result = *err;
      } else {
        dataform::Form form = std::get<dataform::Form>(std::move(r));
        if (stage - 1 < s->data.answers.size()) {
          prefill(form, s->data.answers[stage - 1]);
        }
        s->data.answers.resize(stage - 1);
        s->forms.pop_back();
        s->forms.back() = std::move(form);
        result = executing(*s);
      }
    } else {
      auto submitted = submission(iq.payload, s->forms.back());
      if (auto* err = std::get_if<StanzaError>(&submitted)) {
        result = *err;
      } else {
        s->data.answers.resize(stage);
        s->data.answers.push_back(std::get<dataform::Form>(std::move(submitted)));
        if (action == Action::kNext) {
          auto op = cmd.stages[stage + 1](s->data);
          module::CommandStageResult r = co_await std::move(op);
          if (auto* err = std::get_if<StanzaError>(&r)) {
            s->data.answers.pop_back();
            result = *err;
          } else {
            s->forms.push_back(std::get<dataform::Form>(std::move(r)));
            result = executing(*s);
          }
        } else {
          auto op = cmd.complete(s->data);
          module::CommandCompleteResult r = co_await std::move(op);
          if (auto* err = std::get_if<StanzaError>(&r)) {
            s->data.answers.pop_back();  // the session stays on its last stage
            result = *err;
          } else {
            store(iq).end(s->id);
            result = completed(cmd.node, s->id, std::get<module::CommandOutcome>(r));
          }
        }
      }
    }
    s->data.iq = nullptr;
    s->last_used = Clock::now();
    co_return result;
  }

  // The data form submitted with a next/complete request, checked against the stage's form
  // (XEP-0004 §3.3 and XEP-0122). §4.5.1: a form of type cancel counts as a submission. Errors
  // are §4.6's <bad-payload/>.
  static std::variant<dataform::Form, StanzaError> submission(const xml::Element& command,
                                                              const dataform::Form& asked) {
    const xml::Element* x = command.child("x", dataform::kNs);
    if (x == nullptr) {
      return bad_payload("Submit the stage's form (<x xmlns='jabber:x:data' type='submit'/>)");
    }
    auto parsed = dataform::parse(*x);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      return bad_payload(err->text);
    }
    dataform::Form form = std::get<dataform::Form>(std::move(parsed));
    if (form.type != dataform::FormType::kSubmit && form.type != dataform::FormType::kCancel) {
      return bad_payload("The form must be of type 'submit'");
    }
    if (auto err = dataform::validate(form, asked)) {
      return bad_payload(err->text);
    }
    return form;
  }

  module::ModuleContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<SessionStore>> stores_;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0050_adhoc() { return std::make_unique<AdHoc>(); }
}  // namespace starling::modules
