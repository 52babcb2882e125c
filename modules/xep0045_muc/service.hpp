#pragma once
// XEP-0045 Multi-User Chat: one MUC service (a domain such as conference.example.org). Each room
// lives on the shard that owns its bare JID (module::ServiceHandler); the service keeps, per
// shard, the rooms of that shard, touched only there: no locks.
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "module/module.hpp"
#include "modules/xep0045_muc/room.hpp"

namespace starling::muc {

class Service {
 public:
  // `parent` is the served domain whose users count as local (create_rooms = "local").
  Service(module::ModuleContext& ctx, std::string domain, std::string parent);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // At start-up, before the shards run: loads the persistent rooms onto their shards.
  void load();
  // Every stanza to the service's domain or an address on it, on the shard owning `to`'s bare
  // JID.
  void handle(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from);

  const std::string& domain() const { return domain_; }
  // The configuration a new room starts with (config.muc.defaults).
  static RoomConfig default_config(const config::Config& cfg);

 private:
  class Host;
  struct Shard;
  void handle_domain(const xml::Element& s, const xmpp::Jid& to, const xmpp::Jid& from,
                     std::size_t shard);
  void handle_new_room(const xml::Element& s, const xmpp::Jid& to, const xmpp::Jid& from,
                       Shard& sh);
  bool may_create(const xmpp::Jid& from) const;
  void public_rooms(xml::Element iq, std::size_t shard);
  void reply(const xml::Element& request, const xmpp::StanzaError& err);
  // Removes the rooms the current call asked to remove, with their stored copies.
  void collect(Shard& sh);

  module::ModuleContext& ctx_;
  std::string domain_, parent_;
  std::set<std::string> admins_;  // bare JIDs with owner rights in every room
  RoomConfig defaults_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> room_count_{0};

  friend class Host;
};

}  // namespace starling::muc
