#pragma once
// Ad-hoc commands (XEP-0050) as modules declare them. A module registers a command with
// ModuleContext::add_command; the xep0050_adhoc module lists the commands a requester may run
// (disco#items on the node "http://jabber.org/protocol/commands", §2.2), answers disco#info on
// each command node and drives the sessions: session ids, the actions next/prev/complete/cancel,
// <actions/>, validation of each submitted form (XEP-0004 and XEP-0122) and the spec's errors.
// A command is a list of form stages followed by a completion step, so the module owning it
// writes only what each stage shows and what completing does.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "xmpp/dataform.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::module {

struct Iq;

inline constexpr std::string_view kCommandsNs = "http://jabber.org/protocol/commands";

// XEP-0050 §4.4 <note/>.
struct CommandNote {
  enum class Type { kInfo, kWarn, kError };
  Type type = Type::kInfo;
  std::string text;
};

// One execution of a command between one requester (a full JID) and the service. Kept by the
// ad-hoc module between stages; a callback may read it and add to `data`.
struct CommandSession {
  xmpp::Jid requester;  // full JID
  xmpp::Jid service;    // the JID the command runs on (the domain)
  // The forms the requester submitted, one per stage already passed, in order; each was
  // validated against the form of its stage.
  std::vector<xmpp::dataform::Form> answers;
  // The request being answered, during a callback only (e.g. for Iq::then_run).
  const Iq* iq = nullptr;

  // The submitted values of a field of stage `stage` (empty when absent).
  const std::vector<std::string>& values(std::size_t stage, std::string_view var) const;
  // Its first value, or "".
  const std::string& value(std::size_t stage, std::string_view var) const;
};

// What completing a command shows (status "completed", §3.4): notes and an optional form
// (usually of type "result"). §4.6: a command that completes but fails carries a note of type
// error.
struct CommandOutcome {
  std::vector<CommandNote> notes;
  std::optional<xmpp::dataform::Form> form;
};

// A stage's form (type "form"), or an error that refuses to enter the stage (the session stays
// on the stage it was on).
using CommandStageResult = std::variant<xmpp::dataform::Form, xmpp::StanzaError>;
// The completion, or an error stanza (XEP-0133 §5: e.g. <conflict/> when the user exists); after
// an error the session stays on its last stage, so the requester may correct and resubmit.
using CommandCompleteResult = std::variant<CommandOutcome, xmpp::StanzaError>;

struct AdHocCommand {
  enum class Access {
    kAnyone,  // every requester who reaches the service (local users)
    kAdmin,   // only the JIDs of the `admins` configuration key
  };
  std::string node;  // unique per target, e.g. "http://jabber.org/protocol/admin#add-user"
  std::string name;  // the human-readable label of the disco item and identity
  Access access = Access::kAdmin;
  // The form stages, in order. Stage i is built when the requester reaches it (the ad-hoc
  // module prefills it with the values submitted earlier when the requester comes back with
  // "prev"). Empty: the command completes at once (one stage, no form).
  std::vector<std::function<boost::asio::awaitable<CommandStageResult>(CommandSession&)>> stages;
  // Runs once the last stage's form is submitted and valid.
  std::function<boost::asio::awaitable<CommandCompleteResult>(CommandSession&)> complete;
};

// XEP-0050 §4.6 <bad-request/><bad-payload/>: the submitted data is not acceptable (for checks
// a stage's form cannot express, e.g. two passwords that differ).
xmpp::StanzaError bad_payload(std::string text);

// True when `jid`'s bare JID is among the configured `admins` (a list of prepared bare JIDs).
bool is_admin(const std::vector<std::string>& admins, const xmpp::Jid& jid);

}  // namespace starling::module
