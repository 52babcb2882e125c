#pragma once
// XEP-0045 Multi-User Chat: one room. A Room is pure logic: it lives on the shard that owns its
// bare JID (module::ServiceHandler), is touched only there, and acts on the world only through
// its RoomHost (send a stanza, persist, go away). That keeps it free of locks and lets the unit
// tests drive it with a fake host.
//
// Files: room.cpp (entering, leaving, presence, messages, history, subject, nick changes,
// private messages, invitations, voice requests, self-ping), room_admin.cpp (§8 moderator,
// §9 admin and §10 owner use cases: the muc#admin lists, destroy, configuration through
// muc#owner, registration §7.10), room_config.cpp (the muc#roomconfig form <-> RoomConfig,
// muc#roominfo), room_store.cpp (serialization for persistence).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace starling::muc {

// §5.2 affiliations (long-lived, by bare JID) and §5.1 roles (per visit), in rising order.
enum class Affiliation { kOutcast, kNone, kMember, kAdmin, kOwner };
enum class Role { kNone, kVisitor, kParticipant, kModerator };
std::string_view to_string(Affiliation a);
std::string_view to_string(Role r);
std::optional<Affiliation> parse_affiliation(std::string_view s);
std::optional<Role> parse_role(std::string_view s);

enum class WhoIs { kModerators, kAnyone };                       // muc#roomconfig_whois
enum class PmPolicy { kAnyone, kParticipants, kModerators, kNone };  // muc#roomconfig_allowpm
// The values of the form fields, the stored rooms and [muc.defaults] ("moderators", "anyone";
// "anyone", "participants", "moderators", "none").
std::string_view to_string(WhoIs w);
std::string_view to_string(PmPolicy p);
std::optional<WhoIs> parse_whois(std::string_view s);
std::optional<PmPolicy> parse_pm(std::string_view s);

// The room's configuration (§15.5.3 muc#roomconfig).
struct RoomConfig {
  std::string name;         // muc#roomconfig_roomname
  std::string description;  // muc#roomconfig_roomdesc
  std::string language;     // muc#roomconfig_lang
  bool persistent = false;
  bool public_room = true;  // listed in the service's disco#items
  bool members_only = false;
  bool moderated = false;
  bool password_protected = false;
  std::string password;  // muc#roomconfig_roomsecret
  std::size_t max_users = 200;  // muc#roomconfig_maxusers; 0 = no limit (still max_occupants)
  WhoIs whois = WhoIs::kModerators;
  bool change_subject = false;  // muc#roomconfig_changesubject
  bool allow_invites = false;   // muc#roomconfig_allowinvites
  PmPolicy allow_pm = PmPolicy::kAnyone;
  bool allow_voice_requests = true;  // muc#roomconfig_allowvoicerequests (ejabberd/Prosody)
  std::vector<Role> presence_broadcast{Role::kModerator, Role::kParticipant, Role::kVisitor};
  // muc#roomconfig_getmemberlist: occupants with these roles may get the member list (§9.5;
  // in semi-anonymous rooms only moderators, §5.2.1 footnote ***).
  std::vector<Role> get_member_list{Role::kModerator, Role::kParticipant, Role::kVisitor};
  bool enable_logging = false;  // muc#roomconfig_enablelogging (we keep no public logs)
  std::size_t history_length = 20;  // muc#maxhistoryfetch
  bool operator==(const RoomConfig&) const = default;
};

// One nickname in the room: one user (bare JID), possibly with several resources (§7.2: "multiple
// resources under one nickname"; the service sends to each).
struct Occupant {
  std::string nick;
  xmpp::Jid bare;                              // the user's real bare JID
  std::vector<xmpp::Jid> sessions;             // the full JIDs joined under this nick
  Role role = Role::kNone;
  // The occupant's last available presence as the room reflects it: from = room/nick, without
  // 'to' and without the muc#user <x/> (added per recipient).
  xml::Element presence;
};

// A message kept for history on entering (§7.2.15).
struct HistoryEntry {
  xml::Element message;     // from = room/nick, no 'to'; <delay/> added when sent
  std::int64_t stamp = 0;   // unix seconds the room received it
  std::string from_real;    // the sender's real full JID (for <delay from> / non-anonymous)
  std::size_t chars = 0;    // its serialized size, for maxchars
};

class Room;

// What a Room needs from the service. Implemented by the service on the room's shard.
class RoomHost {
 public:
  virtual ~RoomHost() = default;
  // Routes a stanza (from and to set) to a local account or a federated server.
  virtual void send(xml::Element stanza) = 0;
  // The room changed something persistent (configuration, affiliations, subject): store it if
  // the room is persistent (and remove it from storage when it stopped being persistent).
  virtual void save(const Room& room) = 0;
  // The room is empty and not persistent, or was destroyed: the host removes it (and its
  // stored copy) after the current call returns.
  virtual void remove(const Room& room) = 0;
  // Server or MUC admins (config.admins, config.muc.admins): owner rights in every room.
  virtual bool is_service_admin(const xmpp::Jid& bare) const = 0;
  virtual std::int64_t now() const = 0;  // unix seconds
  virtual std::size_t max_history() const = 0;
  virtual std::size_t max_occupants() const = 0;
};

class Room {
 public:
  Room(RoomHost& host, xmpp::Jid jid, RoomConfig config);

  // Every stanza addressed to the room (bare JID) or an occupant (room/nick). `from` is the
  // sender's full JID. Never throws; every bad input gets its XEP-0045 error.
  void handle(const xml::Element& stanza, const xmpp::Jid& to, const xmpp::Jid& from);

  const xmpp::Jid& jid() const { return jid_; }
  const RoomConfig& config() const { return config_; }
  bool locked() const { return locked_; }  // §10.1.1: created, not yet configured
  bool empty() const { return occupants_.empty(); }
  std::size_t occupant_count() const { return occupants_.size(); }
  const std::string& subject() const { return subject_; }

  // Affiliations by bare JID string (a user, or a domain: §9.1 bans of whole servers).
  Affiliation affiliation_of(const xmpp::Jid& real) const;
  const std::map<std::string, Affiliation>& affiliations() const { return affiliations_; }

  // Persistence (room_store.cpp): the state that survives a restart (configuration,
  // affiliations, registered nicks, subject) as one element, and back.
  xml::Element serialize() const;
  static std::unique_ptr<Room> deserialize(RoomHost& host, const xmpp::Jid& jid,
                                           const xml::Element& stored);

  // For the service's disco#items / disco#info (room_config.cpp: muc#roominfo, §6.4).
  xml::Element disco_info() const;

  // For tests.
  const std::map<std::string, Occupant>& occupants() const { return occupants_; }

  // ---- Room internals shared by room.cpp and room_admin.cpp ----
  // The occupant a full JID is joined as; nullptr when not an occupant.
  Occupant* occupant_by_jid(const xmpp::Jid& full);
  Occupant* occupant_by_nick(std::string_view nick);
  // The role an affiliation gets on entering (§5.1.2, depends on moderated).
  Role default_role(Affiliation a) const;
  // The presence of `o` as `recipient` sees it: <x xmlns=muc#user><item affiliation role
  // [jid] [nick]/> + status codes (+ extra children such as <reason/>, <actor/>).
  // `item_nick` (non-empty) becomes the item's 'nick' attribute (§7.6 status 303).
  xml::Element presence_for(const Occupant& o, const Occupant& recipient,
                            const std::vector<int>& codes, const xml::Element* extra_item_children,
                            bool unavailable, std::string_view item_nick = {}) const;
  // Sends presence_for(o) to every occupant session (per-recipient jid visibility, §7.2.3 codes;
  // the occupant's own sessions get 110).
  void broadcast_presence(const Occupant& o, const std::vector<int>& codes,
                          const xml::Element* extra_item_children = nullptr,
                          bool unavailable = false, std::string_view item_nick = {});
  // Sends `stanza` (from already set to room/nick or room) to every occupant session, each copy
  // with its own 'to'.
  void broadcast(const xml::Element& stanza);
  // Removes an occupant after it left or was kicked/banned (broadcast done by the caller);
  // removes the room through the host when it is temporary and now empty.
  void drop_occupant(const std::string& nick);
  // Removes one session of an occupant (the occupant itself when it was its last session) and
  // tells the room: unavailable presence with `codes` (110 added for the session itself), built
  // from `unavailable_presence` (the user's own, for its <status/>) when given.
  void remove_session(const xmpp::Jid& full, const std::vector<int>& codes,
                      const xml::Element* unavailable_presence = nullptr);
  // §10.1.1: the room was just created by `creator`: owner affiliation, locked until configured,
  // status 201 in the creator's first self-presence.
  void set_creator(const xmpp::Jid& creator);
  // §10.1.2/§10.1.3: the owner submitted the configuration (or accepted the defaults).
  void unlock() { locked_ = false; }
  RoomHost& host() { return host_; }
  // The registered nick of a user (§7.10), "" when none.
  const std::map<std::string, std::string>& registered_nicks() const { return registered_nicks_; }
  // Sets an affiliation (kNone erases it), persists, and applies it to present occupants (role
  // changes and presence broadcasts, §9/§10 status codes 321/322); `actor`/`reason` go in the
  // broadcast item.
  void set_affiliation(const std::string& real_bare, Affiliation a, const xmpp::Jid& actor,
                       const std::string& reason);
  // Sends an error reply to `stanza`.
  void reply_error(const xml::Element& stanza, xmpp::StanzaError err);
  void reply(xml::Element stanza) { host_.send(std::move(stanza)); }

  // room_admin.cpp entry points, called by handle():
  void admin_iq(const xml::Element& iq, const xml::Element& query, const xmpp::Jid& from);  // muc#admin
  void owner_iq(const xml::Element& iq, const xml::Element& query, const xmpp::Jid& from);  // muc#owner
  void register_iq(const xml::Element& iq, const xml::Element& query,
                   const xmpp::Jid& from);  // jabber:iq:register §7.10

 private:
  friend class RoomTestAccess;
  // room.cpp
  void handle_presence(const xml::Element& p, const xmpp::Jid& to, const xmpp::Jid& from);
  void handle_message(const xml::Element& m, const xmpp::Jid& to, const xmpp::Jid& from);
  void handle_iq(const xml::Element& iq, const xmpp::Jid& to, const xmpp::Jid& from);
  void handle_error(const xml::Element& stanza, const xmpp::Jid& to, const xmpp::Jid& from);
  void enter(const xml::Element& p, const xmpp::Jid& to, const xmpp::Jid& from);
  void change_nick(Occupant& o, const xml::Element& p, const xmpp::Jid& to,
                   const xmpp::Jid& from);
  void send_history(const xmpp::Jid& session, const xml::Element* request);
  void send_subject(const xmpp::Jid& session);
  void groupchat(const xml::Element& m, Occupant& sender);
  void private_message(const xml::Element& m, const xmpp::Jid& to, const xmpp::Jid& from);
  void invite(const xml::Element& m, const xml::Element& x, const xmpp::Jid& from);
  void decline(const xml::Element& m, const xml::Element& x, const xmpp::Jid& from);
  void voice_request(const xml::Element& m, const xml::Element& form, const xmpp::Jid& from);
  void private_iq(const xml::Element& iq, const xmpp::Jid& to, const xmpp::Jid& from);
  void occupant_items(const xml::Element& iq, const xmpp::Jid& from);
  // Why `bare` may not use `nick` (another user's occupant or registered nick): conflict.
  bool nick_taken(const std::string& nick, const xmpp::Jid& bare) const;
  xmpp::Jid occupant_jid(const std::string& nick) const;
  // A user's presence as the room keeps it: from = room/nick, no 'to', no MUC <x/>.
  xml::Element stored_presence(const xml::Element& p, const std::string& nick) const;
  bool just_created_ = false;
  // Private iq forwarded to an occupant (§7.5-style routing, XEP-0410 §3.2): our id -> where the
  // response goes. Bounded: the oldest are forgotten.
  struct PendingIq {
    xmpp::Jid requester;    // full JID
    std::string id;         // the requester's id
    std::string requester_nick;
    std::string target_nick;
  };
  std::map<std::uint64_t, PendingIq> pending_iqs_;
  std::uint64_t next_iq_ = 1;
  RoomHost& host_;
  xmpp::Jid jid_;
  RoomConfig config_;
  bool locked_ = false;
  std::string subject_;
  std::string subject_by_;  // nick (room/nick) of who set it
  std::map<std::string, Affiliation> affiliations_;  // real bare JID (or domain) -> affiliation
  std::map<std::string, std::string> registered_nicks_;  // real bare JID -> nick (§7.10)
  std::map<std::string, Occupant> occupants_;  // by nick as joined (prepared)
  std::map<std::string, std::string> nick_of_;  // occupant full JID -> nick
  std::vector<HistoryEntry> history_;          // newest last, at most host.max_history()
  friend struct AdminOps;  // room_admin.cpp's helpers
};

}  // namespace starling::muc
