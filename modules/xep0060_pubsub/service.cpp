// XEP-0060 pubsub service. (Stub: the lead replaces it.)
#include "modules/xep0060_pubsub/service.hpp"

namespace starling::pubsub {

class Service::ShardHost {};
struct Service::Shard {};

Service::Service(module::ModuleContext& ctx, std::string domain, std::string parent)
    : ctx_(ctx), domain_(std::move(domain)), parent_(std::move(parent)) {}
Service::~Service() = default;
void Service::load() {}
void Service::handle(xmpp::StanzaPtr, xmpp::Jid, xmpp::Jid) {}
std::size_t Service::shard_of_node(std::string_view) const { return 0; }

}  // namespace starling::pubsub
