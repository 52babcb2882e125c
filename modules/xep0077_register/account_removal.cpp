#include "modules/xep0077_register/account_removal.hpp"

#include "modules/rfc6121_roster/presence.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "storage/storage.hpp"

namespace starling::modules::registration {

boost::asio::awaitable<storage::Status> remove_account(module::ModuleContext* ctx,
                                                       xmpp::Jid bare) {
  std::string domain = bare.domain(), user = bare.local();
  // The contacts learn that the account is gone as if the user had removed each of them
  // from the roster (RFC 6121 §2.5.2): unavailable presence and "unsubscribed" to those who
  // see the user's presence, "unsubscribe" to those whose presence the user sees.
  auto roster_op = ctx->storage().run(
      [domain, user](storage::Backend& b) { return roster::load(b, domain, user).items; });
  auto items = co_await std::move(roster_op);
  auto res_op = ctx->sink().available_resources(bare);
  auto resources = co_await std::move(res_op);
  for (const auto& item : items) {
    roster::send_cancellation(*ctx, bare, item, false, resources);
  }
  // Backend::delete_account removes the account and the data of every store (roster,
  // offline messages, ...), in one transaction.
  auto op = ctx->storage().run(
      [domain, user](storage::Backend& b) { return b.delete_account(domain, user); });
  co_return co_await std::move(op);
}

}  // namespace starling::modules::registration
