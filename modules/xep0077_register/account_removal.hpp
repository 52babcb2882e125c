#pragma once
// Deleting an account, as XEP-0077 §3.2 cancellation does it; shared with XEP-0133 delete-user
// so that both remove an account the same way.
#include <boost/asio/awaitable.hpp>

#include "module/module.hpp"
#include "storage/backend.hpp"
#include "xmpp/jid.hpp"

namespace starling::modules::registration {

// Tells the account's contacts that it is gone, as if the user had removed each of them from the
// roster (RFC 6121 §2.5.2), then deletes the account and everything stored for it in one
// transaction (Backend::delete_account). Returns kNotFound when there is no such account. Does
// not end the account's sessions: the caller does that when its reply has gone out
// (ModuleContext::end_sessions, with "not-authorized" as XEP-0077 §3.2 does).
boost::asio::awaitable<storage::Status> remove_account(module::ModuleContext* ctx, xmpp::Jid bare);

}  // namespace starling::modules::registration
