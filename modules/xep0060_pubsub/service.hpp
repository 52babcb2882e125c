#pragma once
// XEP-0060 pubsub service on a domain of its own (pubsub.example.org), served through
// module::ModuleContext::add_service. Its nodes are spread over the shards by a hash of the
// node name: each shard has one NodeService with its part, touched only there. A request about
// one node is handled on that node's shard; requests about no node (disco#items of the service,
// all own subscriptions or affiliations) gather every shard's part.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "module/module.hpp"
#include "modules/xep0060_pubsub/engine.hpp"

namespace starling::pubsub {

class Service {
 public:
  // `parent` is the served domain whose users count as local (create_nodes = "local").
  Service(module::ModuleContext& ctx, std::string domain, std::string parent);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // At start-up, before the shards run: loads the stored nodes and items onto their shards.
  void load();
  // Every stanza to the service's domain or an address on it.
  void handle(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);
  const std::string& domain() const { return domain_; }

 private:
  class ShardHost;
  struct Shard;
  std::size_t shard_of_node(std::string_view node) const;
  // Coroutines run on a shard's executor (static: they take everything by value).
  static boost::asio::awaitable<void> on_shard(Service* self, std::size_t shard,
                                               xmpp::StanzaPtr stanza, xmpp::Jid from);
  static boost::asio::awaitable<void> on_message(Service* self, std::size_t shard,
                                                 xmpp::StanzaPtr stanza, xmpp::Jid from);
  static boost::asio::awaitable<module::IqResult> part_of(Service* self, std::size_t shard,
                                                          xml::Element iq, xmpp::Jid from);
  static boost::asio::awaitable<module::DiscoItemsResult> items_of(Service* self,
                                                                   std::size_t shard,
                                                                   std::string node,
                                                                   xmpp::Jid from);
  static boost::asio::awaitable<module::DiscoInfoResult> info_of(Service* self, std::size_t shard,
                                                                 std::string node,
                                                                 xmpp::Jid from);
  static boost::asio::awaitable<void> gather(Service* self, xmpp::StanzaPtr stanza,
                                             xmpp::Jid from);
  static boost::asio::awaitable<void> disco(Service* self, xmpp::StanzaPtr stanza,
                                            xmpp::Jid from);

  module::ModuleContext& ctx_;
  std::string domain_, parent_;
  std::set<std::string> admins_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> node_count_{0};
};

}  // namespace starling::pubsub
