#include "module/adhoc.hpp"

#include <algorithm>
#include <stdexcept>

#include "module/module.hpp"
#include "server/config/config.hpp"

namespace starling::module {

const std::vector<std::string>& CommandSession::values(std::size_t stage,
                                                       std::string_view var) const {
  static const std::vector<std::string> kNone;
  if (stage >= answers.size()) {
    return kNone;
  }
  const xmpp::dataform::Field* f = answers[stage].field(var);
  return f == nullptr ? kNone : f->values;
}

const std::string& CommandSession::value(std::size_t stage, std::string_view var) const {
  static const std::string kEmpty;
  const auto& v = values(stage, var);
  return v.empty() ? kEmpty : v.front();
}

xmpp::StanzaError bad_payload(std::string text) {
  xmpp::StanzaError e{xmpp::ErrorType::kModify, "bad-request", std::move(text)};
  e.app_condition = "bad-payload";
  e.app_ns = std::string(kCommandsNs);
  return e;
}

bool is_admin(const std::vector<std::string>& admins, const xmpp::Jid& jid) {
  if (jid.local().empty()) {
    return false;
  }
  const std::string bare = jid.bare_str();
  return std::find(admins.begin(), admins.end(), bare) != admins.end();
}

void ModuleContext::add_command(Target target, AdHocCommand command) {
  if (registry_.find_command(target, command.node) != nullptr) {
    throw std::logic_error("module " + name_ + ": ad-hoc command " + command.node +
                           " registered twice");
  }
  auto cmd = std::make_shared<const AdHocCommand>(std::move(command));
  auto& list = registry_.commands_;
  auto it = list.emplace(list.end(), target, cmd);
  registrations_.emplace_back([&list, it] { list.erase(it); });

  // XEP-0050 §2.2: a command node answers disco#info with at least the command-node identity
  // and the commands feature (and SHOULD list jabber:x:data); forbidden when the command is not
  // available to the requester.
  const config::Config* cfg = &config_;
  DiscoNodeHandler h;
  h.info = [cmd, cfg](const Iq& iq) -> boost::asio::awaitable<DiscoInfoResult> {
    if (cmd->access == AdHocCommand::Access::kAdmin && !is_admin(cfg->admins, iq.from)) {
      co_return xmpp::StanzaError{xmpp::ErrorType::kCancel, "forbidden",
                                  "This command is for administrators"};
    }
    DiscoInfo info;
    info.identities.push_back({"automation", "command-node", cmd->name});
    info.features = {std::string(kCommandsNs), std::string(xmpp::dataform::kNs)};
    co_return info;
  };
  on_disco_node(target, cmd->node, std::move(h));
}

std::vector<const AdHocCommand*> Registry::commands(Target t) const {
  std::vector<const AdHocCommand*> out;
  for (const auto& [target, cmd] : commands_) {
    if (target == t) {
      out.push_back(cmd.get());
    }
  }
  return out;
}

const AdHocCommand* Registry::find_command(Target t, std::string_view node) const {
  for (const auto& [target, cmd] : commands_) {
    if (target == t && cmd->node == node) {
      return cmd.get();
    }
  }
  return nullptr;
}

}  // namespace starling::module
