// XEP-0045 §8 moderator, §9 admin and §10 owner use cases, and §7.10 registration with a room:
// the muc#admin item lists (roles by nick, affiliations by bare JID), the muc#owner
// configuration form and room destruction, and jabber:iq:register on the room.
//
// Privileges follow §5.1.1 and §5.2.1. A request is checked in full before anything changes: a
// batch of items is all or nothing (§9.2: "SHOULD NOT apply any of the requested changes").
// The requester gets its result first; the occupants then see the changes.
#include <algorithm>
#include <set>

#include "modules/xep0045_muc/muc_ns.hpp"
#include "modules/xep0045_muc/room.hpp"
#include "modules/xep0045_muc/room_config.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/jid.hpp"

namespace starling::muc {
namespace {

namespace df = xmpp::dataform;
using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

constexpr std::string_view kAdminNs = "http://jabber.org/protocol/muc#admin";
constexpr std::string_view kOwnerNs = "http://jabber.org/protocol/muc#owner";
constexpr std::string_view kUserNs = "http://jabber.org/protocol/muc#user";
constexpr std::string_view kIqRegisterNs = "jabber:iq:register";
constexpr std::string_view kRegisterFormType = "http://jabber.org/protocol/muc#register";
constexpr std::string_view kRoomNickField = "muc#register_roomnick";
constexpr std::string_view kClientNs = "jabber:client";

StanzaError not_allowed(std::string text) {
  return {xmpp::ErrorType::kCancel, "not-allowed", std::move(text)};
}
StanzaError forbidden(std::string text) {
  return {xmpp::ErrorType::kAuth, "forbidden", std::move(text)};
}
StanzaError conflict(std::string text) {
  return {xmpp::ErrorType::kCancel, "conflict", std::move(text)};
}

int rank(Affiliation a) { return static_cast<int>(a); }

// One <item/> of a muc#admin set, checked.
struct Change {
  bool is_role = false;
  std::string nick;  // role change: the occupant's key in occupants_
  Role role = Role::kNone;
  std::string jid;  // affiliation change: bare JID (or a domain)
  Affiliation affiliation = Affiliation::kNone;
  std::optional<std::string> reserved_nick;  // §9.3: nick='' unsets it
  std::string reason;
};

}  // namespace

// room_admin.cpp's access to the room (a friend of Room).
struct AdminOps {
  // Who sent a request, as far as privileges go. The spec checks "the <user@host> of the 'from'
  // address" (§8, §9, §10), so any occupant of the same bare JID counts for the role.
  struct Requester {
    Jid jid;
    Affiliation affiliation = Affiliation::kNone;  // owner for service admins (affiliation_of)
    Role role = Role::kNone;
    std::string nick;  // an occupant nick of the requester's, for <actor nick/>
    bool moderator() const {
      return role == Role::kModerator || affiliation == Affiliation::kAdmin ||
             affiliation == Affiliation::kOwner;
    }
    bool admin() const { return rank(affiliation) >= rank(Affiliation::kAdmin); }
    bool owner() const { return affiliation == Affiliation::kOwner; }
  };

  static Requester requester(Room& room, const Jid& from) {
    Requester r;
    r.jid = from;
    r.affiliation = room.affiliation_of(from.bare());
    if (Occupant* o = room.occupant_by_jid(from)) {
      r.role = o->role;
      r.nick = o->nick;
    }
    const std::string bare = from.bare_str();
    for (const auto& [key, o] : room.occupants_) {
      if (o.bare.bare_str() == bare && static_cast<int>(o.role) > static_cast<int>(r.role)) {
        r.role = o.role;
        if (r.nick.empty()) {
          r.nick = o.nick;
        }
      }
    }
    return r;
  }

  // The affiliation stored for exactly this JID (no domain match), as lists show it.
  static Affiliation stored(const Room& room, const std::string& jid) {
    auto it = room.affiliations_.find(jid);
    return it == room.affiliations_.end() ? Affiliation::kNone : it->second;
  }

  // <actor/> and <reason/> for a broadcast item (§8.2, §9.1): the actor by nick when present,
  // else by bare JID.
  static Element item_extras(Room& room, const Jid& actor, const std::string& reason) {
    Element extra("item", std::string(kUserNs));
    if (!actor.empty()) {
      Element& a = extra.add_child("actor", std::string(kUserNs));
      std::string nick;
      if (Occupant* o = room.occupant_by_jid(actor)) {
        nick = o->nick;
      } else {
        for (const auto& [key, o] : room.occupants_) {
          if (o.bare.bare_str() == actor.bare_str()) {
            nick = o.nick;
            break;
          }
        }
      }
      if (!nick.empty()) {
        a.set_attr("nick", nick);
      } else {
        a.set_attr("jid", actor.bare_str());
      }
    }
    if (!reason.empty()) {
      extra.add_child("reason", std::string(kUserNs)).add_text(reason);
    }
    return extra;
  }

  // Removes an occupant with unavailable presence carrying `codes` to everyone (the occupant's
  // own sessions get 110), then drops it.
  static void remove(Room& room, const std::string& key, const std::vector<int>& codes,
                     const Element* extras) {
    Occupant* o = room.occupant_by_nick(key);
    if (o == nullptr) {
      return;
    }
    // The unavailable presence carries none of the user's last <show/> or <status/>.
    Element p("presence", std::string(kClientNs));
    p.set_attr("from", room.jid_.with_resource(o->nick).value_or(room.jid_).str());
    o->presence = std::move(p);
    room.broadcast_presence(*o, codes, extras, true);
    room.drop_occupant(key);
  }

  // Occupant keys whose user the affiliation entry `jid` governs (a domain covers its users).
  static std::vector<std::string> governed(const Room& room, const std::string& jid) {
    std::vector<std::string> out;
    for (const auto& [key, o] : room.occupants_) {
      if (o.bare.bare_str() == jid || (o.bare.local().empty() ? false : o.bare.domain() == jid)) {
        out.push_back(key);
      }
    }
    return out;
  }

  // ---- muc#admin get: the lists ----

  static bool may_get_member_list(const Room& room, const Requester& r) {
    if (r.admin()) {
      return true;
    }
    if (room.config_.whois == WhoIs::kModerators) {
      return r.role == Role::kModerator;  // §5.2.1 footnote ***: semi-anonymous rooms hide JIDs
    }
    // §9.5: in a non-anonymous room members may get it even when not in the room.
    if (rank(r.affiliation) >= rank(Affiliation::kMember)) {
      return true;
    }
    const auto& roles = room.config_.get_member_list;
    return r.role != Role::kNone && std::find(roles.begin(), roles.end(), r.role) != roles.end();
  }

  static void get_list(Room& room, const Element& iq, const Element& query, const Jid& from) {
    std::vector<const Element*> items;
    for (const Element* e : query.elements()) {
      if (e->name() != "item" || e->xmlns() != kAdminNs) {
        room.reply_error(iq, StanzaError::bad_request("only <item/> children are allowed"));
        return;
      }
      items.push_back(e);
    }
    if (items.size() != 1) {
      room.reply_error(iq, StanzaError::bad_request("a list request has exactly one <item/>"));
      return;
    }
    const Element& item = *items.front();
    const std::string* role_attr = item.attr("role");
    const std::string* aff_attr = item.attr("affiliation");
    if ((role_attr == nullptr) == (aff_attr == nullptr)) {
      room.reply_error(iq, StanzaError::bad_request("give either a role or an affiliation"));
      return;
    }
    Requester r = requester(room, from);
    Element result("query", std::string(kAdminNs));
    if (role_attr != nullptr) {
      auto role = parse_role(*role_attr);
      if (!role || *role == Role::kNone) {
        room.reply_error(iq, StanzaError::bad_request("no list for role '" + *role_attr + "'"));
        return;
      }
      // §9.8 the moderator list is the admins'; §8.5 the voice list (and visitors) moderators'.
      bool allowed = *role == Role::kModerator ? r.admin() : r.moderator();
      if (!allowed) {
        room.reply_error(iq, forbidden("this list is for " + std::string(*role == Role::kModerator
                                                                             ? "admins"
                                                                             : "moderators")));
        return;
      }
      // §17.4 rule 5: nick, role, affiliation and the full JID.
      for (const auto& [key, o] : room.occupants_) {
        if (o.role != *role) {
          continue;
        }
        Element& i = result.add_child("item", std::string(kAdminNs));
        i.set_attr("affiliation", std::string(to_string(room.affiliation_of(o.bare))));
        if (!o.sessions.empty()) {
          i.set_attr("jid", o.sessions.front().str());
        }
        i.set_attr("nick", o.nick);
        i.set_attr("role", std::string(to_string(o.role)));
      }
    } else {
      auto aff = parse_affiliation(*aff_attr);
      if (!aff || *aff == Affiliation::kNone) {
        room.reply_error(iq,
                         StanzaError::bad_request("no list for affiliation '" + *aff_attr + "'"));
        return;
      }
      bool allowed = false;
      switch (*aff) {
        case Affiliation::kOutcast:
          allowed = r.admin();  // §9.2
          break;
        case Affiliation::kMember:
          allowed = may_get_member_list(room, r);  // §9.5
          break;
        case Affiliation::kAdmin:
        case Affiliation::kOwner:
          // §10.5/§10.8: owners; in non-anonymous rooms the service MAY show them to more.
          allowed = r.owner() ||
                    (room.config_.whois == WhoIs::kAnyone && may_get_member_list(room, r));
          break;
        case Affiliation::kNone:
          break;
      }
      if (!allowed) {
        room.reply_error(iq, forbidden("you may not see this list"));
        return;
      }
      // §17.4 rule 6: affiliation and bare JID, the reserved nick (not for outcasts), no role.
      for (const auto& [jid, a] : room.affiliations_) {
        if (a != *aff) {
          continue;
        }
        Element& i = result.add_child("item", std::string(kAdminNs));
        i.set_attr("affiliation", std::string(to_string(a)));
        i.set_attr("jid", jid);
        if (a != Affiliation::kOutcast) {
          if (auto it = room.registered_nicks_.find(jid); it != room.registered_nicks_.end()) {
            i.set_attr("nick", it->second);
          }
        }
      }
    }
    room.reply(xmpp::make_iq_result(iq, &result));
  }

  // ---- muc#admin set: role and affiliation changes ----

  // Parses and checks one item against the room as it is; the error for the whole request.
  static std::variant<Change, StanzaError> check_item(Room& room, const Element& item,
                                                     const Requester& r) {
    const std::string* role_attr = item.attr("role");
    const std::string* aff_attr = item.attr("affiliation");
    // §17.4 rule 4: an item changes a role or an affiliation, never both.
    if (role_attr != nullptr && aff_attr != nullptr) {
      return StanzaError::bad_request("an item may not change both role and affiliation");
    }
    if (role_attr == nullptr && aff_attr == nullptr) {
      return StanzaError::bad_request("an item needs a role or an affiliation");
    }
    Change c;
    c.reason = item.child_text("reason", kAdminNs);
    const std::string* nick_attr = item.attr("nick");
    if (role_attr != nullptr) {
      auto role = parse_role(*role_attr);
      if (!role) {
        return StanzaError::bad_request("unknown role '" + *role_attr + "'");
      }
      if (nick_attr == nullptr || nick_attr->empty()) {
        return StanzaError::bad_request("a role is changed by nick (§8)");
      }
      if (!r.moderator()) {
        return forbidden("only moderators change roles");  // §8
      }
      Occupant* o = room.occupant_by_nick(*nick_attr);
      if (o == nullptr) {
        return StanzaError{xmpp::ErrorType::kCancel, "item-not-found",
                           "no occupant '" + *nick_attr + "'"};
      }
      c.is_role = true;
      c.role = *role;
      c.nick = *nick_attr;
      for (const auto& [key, occ] : room.occupants_) {
        if (&occ == o) {
          c.nick = key;
        }
      }
      const Affiliation target = room.affiliation_of(o->bare);
      const Role current = o->role;
      const bool self = o->bare.bare_str() == r.jid.bare_str();
      switch (*role) {
        case Role::kNone:
          // §8.2: no kicking by a moderator of lower affiliation; an admin or owner is kicked
          // only by someone ranked above (§5.1.3 chart: a moderator only by an admin or owner).
          if (self) {
            return conflict("you cannot kick yourself");  // §8.2 MAY
          }
          if (rank(target) > rank(r.affiliation) ||
              (rank(target) >= rank(Affiliation::kAdmin) && target == r.affiliation)) {
            return not_allowed("you cannot kick someone of a higher affiliation");
          }
          if (current == Role::kModerator && !r.admin()) {
            return not_allowed("only admins and owners can kick a moderator");
          }
          break;
        case Role::kVisitor:
          // §8.4: never from an admin or owner, nor from a higher affiliation.
          if (rank(target) >= rank(Affiliation::kAdmin)) {
            return not_allowed("voice cannot be revoked from an admin or owner");
          }
          if (rank(target) > rank(r.affiliation)) {
            return not_allowed("you cannot revoke voice from a higher affiliation");
          }
          if (current == Role::kModerator && !r.admin()) {
            return not_allowed("only admins and owners revoke moderator status");  // §9.7
          }
          break;
        case Role::kParticipant:
          if (current == Role::kModerator) {
            // §9.7 revoking moderator status: admins and owners, never from an admin or owner.
            if (!r.admin()) {
              return forbidden("only admins and owners revoke moderator status");
            }
            if (rank(target) >= rank(Affiliation::kAdmin)) {
              return not_allowed("moderator status cannot be revoked from an admin or owner");
            }
          }
          break;
        case Role::kModerator:
          if (!r.admin()) {
            return forbidden("only admins and owners grant moderator status");  // §9.6
          }
          break;
      }
      return c;
    }
    auto aff = parse_affiliation(*aff_attr);
    if (!aff) {
      return StanzaError::bad_request("unknown affiliation '" + *aff_attr + "'");
    }
    c.affiliation = *aff;
    if (const std::string* j = item.attr("jid")) {
      auto jid = Jid::parse(*j);
      if (!jid) {
        return StanzaError::jid_malformed();
      }
      // §10.3: a full JID stands for its bare JID. A domain names a whole server (§9.2).
      c.jid = jid->bare_str();
    } else if (nick_attr != nullptr && !nick_attr->empty()) {
      // Not in the spec's examples, but clients ban by nick: the occupant's bare JID.
      Occupant* o = room.occupant_by_nick(*nick_attr);
      if (o == nullptr) {
        return StanzaError{xmpp::ErrorType::kCancel, "item-not-found",
                           "no occupant '" + *nick_attr + "'"};
      }
      c.jid = o->bare.bare_str();
    } else {
      return StanzaError::bad_request("an affiliation is changed by jid (§9)");
    }
    if (!r.admin()) {
      return forbidden("only admins and owners change affiliations");  // §9
    }
    if (*aff == Affiliation::kOutcast && c.jid == r.jid.bare_str()) {
      return conflict("you cannot ban yourself");  // §9.1 MUST
    }
    const Affiliation current = stored(room, c.jid);
    // §9.1: not by an admin of lower affiliation; §10.3-§10.8: the owner and admin lists are
    // the owners'.
    if (rank(current) > rank(r.affiliation)) {
      return not_allowed("you cannot change the affiliation of a higher affiliation");
    }
    const bool owner_list = rank(current) >= rank(Affiliation::kAdmin) ||
                            rank(*aff) >= rank(Affiliation::kAdmin);
    if (owner_list && !r.owner()) {
      return forbidden("only owners change the admin and owner lists");
    }
    if (nick_attr != nullptr && item.attr("jid") != nullptr &&
        (*aff == Affiliation::kMember || *aff == Affiliation::kAdmin ||
         *aff == Affiliation::kOwner)) {
      // §9.3: the nick becomes the user's reserved nick; '' removes it (§9.5).
      if (nick_attr->empty()) {
        c.reserved_nick = std::string();
      } else {
        auto nick = prepare(*nick_attr);
        if (!nick) {
          return StanzaError::jid_malformed();
        }
        for (const auto& [user, n] : room.registered_nicks_) {
          if (user != c.jid && key_of(n) == key_of(*nick)) {
            return conflict("the nick '" + *nick + "' is reserved by another user");
          }
        }
        c.reserved_nick = *nick;
      }
    }
    return c;
  }

  static void set_items(Room& room, const Element& iq, const Element& query, const Jid& from) {
    Requester r = requester(room, from);
    std::vector<Change> changes;
    for (const Element* e : query.elements()) {
      if (e->name() != "item" || e->xmlns() != kAdminNs) {
        room.reply_error(iq, StanzaError::bad_request("only <item/> children are allowed"));
        return;
      }
      auto checked = check_item(room, *e, r);
      if (auto* err = std::get_if<StanzaError>(&checked)) {
        room.reply_error(iq, *err);
        return;
      }
      changes.push_back(std::get<Change>(std::move(checked)));
    }
    if (changes.empty()) {
      room.reply_error(iq, StanzaError::bad_request("no <item/>"));
      return;
    }
    // §10.2/§10.6: the room keeps at least one owner.
    std::map<std::string, Affiliation> after;
    for (const auto& [jid, a] : room.affiliations_) {
      after[jid] = a;
    }
    for (const Change& c : changes) {
      if (!c.is_role) {
        after[c.jid] = c.affiliation;
      }
    }
    if (std::none_of(after.begin(), after.end(),
                     [](const auto& e) { return e.second == Affiliation::kOwner; })) {
      room.reply_error(iq, conflict("the room must keep an owner"));
      return;
    }
    room.reply(xmpp::make_iq_result(iq));
    for (const Change& c : changes) {
      if (c.is_role) {
        apply_role(room, c, from);
      } else {
        if (c.reserved_nick) {
          if (c.reserved_nick->empty()) {
            room.registered_nicks_.erase(c.jid);
          } else {
            room.registered_nicks_[c.jid] = *c.reserved_nick;
          }
        }
        room.set_affiliation(c.jid, c.affiliation, from, c.reason);
      }
    }
  }

  static void apply_role(Room& room, const Change& c, const Jid& actor) {
    Occupant* o = room.occupant_by_nick(c.nick);
    if (o == nullptr) {
      return;  // removed by an earlier item of the same request (a ban)
    }
    if (c.role == Role::kNone) {
      // §8.2: unavailable with 307, <actor/> and <reason/>.
      Element extras = item_extras(room, actor, c.reason);
      remove(room, c.nick, {307}, &extras);
      return;
    }
    if (o->role == c.role) {
      return;
    }
    o->role = c.role;
    // §8.3-§8.5, §9.6-§9.8: updated presence with the new role (and the reason).
    Element extras = item_extras(room, Jid(), c.reason);
    room.broadcast_presence(*o, {}, &extras);
  }

  // ---- muc#owner ----

  static AdminLists admin_lists(const Room& room) {
    AdminLists lists;
    for (const auto& [jid, a] : room.affiliations_) {
      if (a == Affiliation::kOwner) {
        lists.owners.push_back(jid);
      } else if (a == Affiliation::kAdmin) {
        lists.admins.push_back(jid);
      }
    }
    return lists;
  }

  static ConfigLimits limits(const Room& room) {
    return {room.host_.max_occupants(), room.host_.max_history()};
  }

  // §10.9: every occupant gets one unavailable presence with <destroy/>; the room goes.
  static void destroy(Room& room, const Element* destroy_el) {
    Element destroy("destroy", std::string(kUserNs));
    if (destroy_el != nullptr) {
      if (const std::string* j = destroy_el->attr("jid")) {
        destroy.set_attr("jid", *j);
      }
      if (const Element* reason = destroy_el->child("reason", kOwnerNs)) {
        destroy.add_child("reason", std::string(kUserNs)).add_text(reason->text());
      }
      if (const Element* pw = destroy_el->child("password", kOwnerNs)) {
        destroy.add_child("password", std::string(kUserNs)).add_text(pw->text());
      }
    }
    for (const auto& [key, o] : room.occupants_) {
      Element p("presence", std::string(kClientNs));
      p.set_attr("from", room.jid_.with_resource(o.nick).value_or(room.jid_).str());
      p.set_attr("type", "unavailable");
      Element& x = p.add_child("x", std::string(kUserNs));
      Element& item = x.add_child("item", std::string(kUserNs));
      item.set_attr("affiliation", "none");
      item.set_attr("role", "none");
      x.add_child(destroy);
      for (const Jid& s : o.sessions) {
        Element copy = p;
        copy.set_attr("to", s.str());
        room.host_.send(std::move(copy));
      }
    }
    room.occupants_.clear();
    room.nick_of_.clear();
    room.host_.remove(room);
  }

  static void configure(Room& room, const Element& iq, const df::Form& submitted,
                        const Jid& from) {
    const bool was_locked = room.locked_;
    // §10.1.2: an empty submission accepts the current (default) configuration.
    const bool empty = std::all_of(submitted.fields.begin(), submitted.fields.end(),
                                   [](const df::Field& f) { return f.var == "FORM_TYPE"; });
    if (empty) {
      if (const std::string ft = submitted.form_type();
          !ft.empty() && ft != kRoomConfigFormType) {
        room.reply_error(iq, StanzaError::bad_request("the FORM_TYPE must be " +
                                                      std::string(kRoomConfigFormType)));
        return;
      }
      room.locked_ = false;
      room.reply(xmpp::make_iq_result(iq));
      room.host_.save(room);
      return;
    }
    auto applied = apply_config_form(submitted, room.config_, limits(room));
    if (auto* err = std::get_if<StanzaError>(&applied)) {
      room.reply_error(iq, *err);
      return;
    }
    ConfigChange change = std::get<ConfigChange>(std::move(applied));
    const RoomConfig before = room.config_;
    room.config_ = change.config;
    room.locked_ = false;
    room.reply(xmpp::make_iq_result(iq));

    // §10.2: the admin and owner fields are the full lists.
    if (change.owners || change.admins) {
      std::set<std::string> jids;
      for (const auto& [jid, a] : room.affiliations_) {
        jids.insert(jid);
      }
      for (const auto* list : {&change.owners, &change.admins}) {
        if (*list) {
          jids.insert((*list)->begin(), (*list)->end());
        }
      }
      auto listed = [](const std::optional<std::vector<std::string>>& l, const std::string& j) {
        return l && std::find(l->begin(), l->end(), j) != l->end();
      };
      for (const std::string& jid : jids) {
        const Affiliation current = stored(room, jid);
        Affiliation next = current;
        if (change.owners) {
          if (listed(change.owners, jid)) {
            next = Affiliation::kOwner;
          } else if (current == Affiliation::kOwner) {
            next = Affiliation::kNone;
          }
        }
        if (change.admins && next != Affiliation::kOwner) {
          if (listed(change.admins, jid)) {
            next = Affiliation::kAdmin;
          } else if (next == Affiliation::kAdmin) {
            next = Affiliation::kNone;
          }
        }
        if (next != current) {
          room.set_affiliation(jid, next, from, {});
        }
      }
    }

    // §10.2: a room made members-only loses its non-members (322).
    if (room.config_.members_only && !before.members_only) {
      std::vector<std::string> out;
      for (const auto& [key, o] : room.occupants_) {
        if (rank(room.affiliation_of(o.bare)) < rank(Affiliation::kMember)) {
          out.push_back(key);
        }
      }
      for (const std::string& key : out) {
        remove(room, key, {322}, nullptr);
      }
    }
    // An unmoderated room has no visitors (§5.1.2 defaults): they get voice.
    if (!room.config_.moderated && before.moderated) {
      for (auto& [key, o] : room.occupants_) {
        if (o.role == Role::kVisitor) {
          o.role = Role::kParticipant;
          room.broadcast_presence(o, {});
        }
      }
    }
    // §10.2.1: tell the occupants (not for the initial configuration of a locked room).
    if (!was_locked) {
      std::vector<int> codes = config_change_codes(before, room.config_);
      if (!codes.empty() && !room.occupants_.empty()) {
        Element m("message", std::string(kClientNs));
        m.set_attr("from", room.jid_.str());
        m.set_attr("type", "groupchat");
        m.set_attr("id", "config-" + std::to_string(room.host_.now()));
        Element& x = m.add_child("x", std::string(kUserNs));
        for (int code : codes) {
          x.add_child("status", std::string(kUserNs)).set_attr("code", std::to_string(code));
        }
        room.broadcast(m);
      }
    }
    room.host_.save(room);  // persists, or forgets a room that stopped being persistent
    if (room.occupants_.empty() && !room.config_.persistent) {
      room.host_.remove(room);
    }
  }

  // ---- §7.10 registration ----

  static df::Form registration_form(const Room& room) {
    df::Form f;
    f.type = df::FormType::kForm;
    f.title = "Registration with " + (room.config_.name.empty() ? room.jid_.local()
                                                                 : room.config_.name);
    f.instructions = {"Choose the nickname to reserve in this room; you become a member."};
    f.add_form_type(std::string(kRegisterFormType));
    f.add(std::string(kRoomNickField), df::FieldType::kTextSingle, "Desired Nickname", true);
    return f;
  }

  // Whether `bare` may register: not banned, and in a members-only room already on the list
  // (registration would otherwise be a way in).
  static std::optional<StanzaError> may_register(const Room& room, const Jid& bare) {
    const Affiliation a = room.affiliation_of(bare);
    if (a == Affiliation::kOutcast) {
      return not_allowed("you are banned from this room");
    }
    if (room.config_.members_only && rank(a) < rank(Affiliation::kMember)) {
      return not_allowed("this room is members-only: ask an admin for membership");
    }
    return std::nullopt;
  }

  static std::optional<std::string> prepare(std::string_view nick) { return prepare_nick(nick); }
  static std::string key_of(std::string_view nick) { return nick_key(nick); }
};

// ---------------------------------------------------------------------------------------------
// Entry points (room.hpp)

void Room::admin_iq(const Element& iq, const Element& query, const Jid& from) {
  if (iq.attr_or("type") == "get") {
    AdminOps::get_list(*this, iq, query, from);
  } else {
    AdminOps::set_items(*this, iq, query, from);
  }
}

void Room::owner_iq(const Element& iq, const Element& query, const Jid& from) {
  // §10.2, §10.9: owners only (service admins are owners, affiliation_of).
  if (affiliation_of(from.bare()) != Affiliation::kOwner) {
    reply_error(iq, forbidden("only owners configure or destroy the room"));
    return;
  }
  std::vector<const Element*> children = query.elements();
  if (iq.attr_or("type") == "get") {
    if (!children.empty()) {
      reply_error(iq, StanzaError::bad_request("the configuration request is an empty <query/>"));
      return;
    }
    // §10.1.3 (locked) and §10.2: the form with the current values.
    Element q("query", std::string(kOwnerNs));
    q.add_child(df::to_element(
        config_form(config_, AdminOps::admin_lists(*this), jid_.local(), AdminOps::limits(*this))));
    reply(xmpp::make_iq_result(iq, &q));
    return;
  }
  if (children.size() != 1) {
    reply_error(iq, StanzaError::bad_request("expected one <x/> or <destroy/>"));
    return;
  }
  const Element& child = *children.front();
  if (child.name() == "destroy" && child.xmlns() == kOwnerNs) {
    if (const std::string* j = child.attr("jid"); j != nullptr && !Jid::parse(*j)) {
      reply_error(iq, StanzaError::jid_malformed());
      return;
    }
    // §10.9: the occupants learn it first, then the owner gets the result.
    AdminOps::destroy(*this, &child);
    reply(xmpp::make_iq_result(iq));
    return;
  }
  if (child.name() != "x" || child.xmlns() != df::kNs) {
    reply_error(iq, StanzaError::bad_request("expected one <x/> or <destroy/>"));
    return;
  }
  auto parsed = df::parse(child);
  if (auto* err = std::get_if<StanzaError>(&parsed)) {
    reply_error(iq, *err);
    return;
  }
  const df::Form& form = std::get<df::Form>(parsed);
  if (form.type == df::FormType::kCancel) {
    // §10.1.3: cancelling the initial configuration destroys the new room; §10.2: a later
    // cancellation leaves the configuration as it was.
    if (locked_) {
      AdminOps::destroy(*this, nullptr);
    }
    reply(xmpp::make_iq_result(iq));
    return;
  }
  if (form.type != df::FormType::kSubmit) {
    reply_error(iq, StanzaError::bad_request("the configuration form must be of type 'submit'"));
    return;
  }
  AdminOps::configure(*this, iq, form, from);
}

void Room::register_iq(const Element& iq, const Element& query, const Jid& from) {
  const Jid bare = from.bare();
  const std::string user = bare.str();
  auto registered = registered_nicks_.find(user);
  if (iq.attr_or("type") == "get") {
    if (registered != registered_nicks_.end()) {
      // §7.10: already registered: <registered/> and the nick.
      Element q("query", std::string(kIqRegisterNs));
      q.add_child("registered", std::string(kIqRegisterNs));
      q.add_child("username", std::string(kIqRegisterNs)).add_text(registered->second);
      reply(xmpp::make_iq_result(iq, &q));
      return;
    }
    if (auto err = AdminOps::may_register(*this, bare)) {
      reply_error(iq, *err);
      return;
    }
    Element q("query", std::string(kIqRegisterNs));
    q.add_child("instructions", std::string(kIqRegisterNs))
        .add_text("Complete the form to reserve a nickname in this room.");
    q.add_child(df::to_element(AdminOps::registration_form(*this)));
    reply(xmpp::make_iq_result(iq, &q));
    return;
  }
  if (query.child("remove", kIqRegisterNs) != nullptr) {
    // XEP-0077 §3.2 applied to the room: the reservation and the membership go.
    const bool member = AdminOps::stored(*this, user) == Affiliation::kMember;
    if (registered == registered_nicks_.end() && !member) {
      reply_error(iq, StanzaError::item_not_found());
      return;
    }
    registered_nicks_.erase(user);
    reply(xmpp::make_iq_result(iq));
    if (member) {
      set_affiliation(user, Affiliation::kNone, Jid(), {});
    } else {
      host_.save(*this);
    }
    return;
  }
  const Element* x = query.child("x", df::kNs);
  if (x == nullptr) {
    reply_error(iq, StanzaError::bad_request("submit the muc#register data form"));
    return;
  }
  auto parsed = df::parse(*x);
  if (auto* err = std::get_if<StanzaError>(&parsed)) {
    reply_error(iq, *err);
    return;
  }
  const df::Form& form = std::get<df::Form>(parsed);
  if (form.type == df::FormType::kCancel) {
    reply(xmpp::make_iq_result(iq));
    return;
  }
  if (form.type != df::FormType::kSubmit ||
      (!form.form_type().empty() && form.form_type() != kRegisterFormType)) {
    // §7.10: "If the user did not include a valid data form ... bad-request".
    reply_error(iq, StanzaError::bad_request("submit the muc#register data form"));
    return;
  }
  if (auto err = AdminOps::may_register(*this, bare)) {
    reply_error(iq, *err);
    return;
  }
  const df::Field* field = form.field(kRoomNickField);
  if (field == nullptr || field->value().empty()) {
    reply_error(iq, StanzaError::bad_request("muc#register_roomnick is required"));
    return;
  }
  auto nick = AdminOps::prepare(field->value());
  if (!nick) {
    reply_error(iq, StanzaError::jid_malformed());
    return;
  }
  // §7.10: a nick reserved (or in use) by someone else: conflict.
  const std::string key = AdminOps::key_of(*nick);
  for (const auto& [other, n] : registered_nicks_) {
    if (other != user && AdminOps::key_of(n) == key) {
      reply_error(iq, conflict("the nickname is reserved by another user"));
      return;
    }
  }
  for (const auto& [k, o] : occupants_) {
    if (AdminOps::key_of(o.nick) == key && o.bare.bare_str() != user) {
      reply_error(iq, conflict("the nickname is in use by another occupant"));
      return;
    }
  }
  registered_nicks_[user] = *nick;
  reply(xmpp::make_iq_result(iq));
  // §7.10: the user becomes a member (§5.2.3 "user registers as member").
  if (rank(affiliation_of(bare)) < rank(Affiliation::kMember)) {
    set_affiliation(user, Affiliation::kMember, Jid(), {});
  } else {
    host_.save(*this);
  }
}

void Room::set_affiliation(const std::string& real_bare, Affiliation a, const Jid& actor,
                           const std::string& reason) {
  // The present occupants this entry governs, with the affiliation they had.
  std::vector<std::pair<std::string, Affiliation>> affected;
  for (const std::string& key : AdminOps::governed(*this, real_bare)) {
    affected.emplace_back(key, affiliation_of(occupants_.at(key).bare));
  }
  const Affiliation previous = AdminOps::stored(*this, real_bare);
  if (a == Affiliation::kNone) {
    affiliations_.erase(real_bare);
  } else {
    affiliations_[real_bare] = a;
  }
  if (a == Affiliation::kOutcast || a == Affiliation::kNone) {
    registered_nicks_.erase(real_bare);  // §9.1 MUST; §9.4 the registration goes with membership
  }
  host_.save(*this);

  const Element removal = AdminOps::item_extras(*this, actor, reason);
  const Element update = AdminOps::item_extras(*this, Jid(), reason);
  for (const auto& [key, before] : affected) {
    Occupant* o = occupant_by_nick(key);
    if (o == nullptr) {
      continue;
    }
    const Affiliation now = affiliation_of(o->bare);
    if (now == before) {
      continue;
    }
    if (now == Affiliation::kOutcast) {
      AdminOps::remove(*this, key, {301}, &removal);  // §9.1
      continue;
    }
    if (config_.members_only && rank(now) < rank(Affiliation::kMember)) {
      // §9.4: only the removal, no affiliation update first.
      AdminOps::remove(*this, key, {321}, &removal);
      continue;
    }
    // §5.1.3 note: the role an affiliation brings is gained; the role lost with admin status
    // falls back to the default for the new affiliation.
    if (rank(now) >= rank(Affiliation::kAdmin)) {
      o->role = Role::kModerator;
    } else if (rank(before) >= rank(Affiliation::kAdmin)) {
      o->role = default_role(now);
    } else if (static_cast<int>(default_role(now)) > static_cast<int>(o->role)) {
      o->role = default_role(now);
    }
    broadcast_presence(*o, {}, &update);
  }
  // §9.5: a user added to a members-only room's list is invited (when not already affiliated
  // and not in the room).
  if (a == Affiliation::kMember && config_.members_only && previous == Affiliation::kNone &&
      affected.empty() && real_bare.find('@') != std::string::npos) {
    Element m("message", std::string(kClientNs));
    m.set_attr("from", jid_.str());
    m.set_attr("to", real_bare);
    m.set_attr("id", "invite-" + std::to_string(host_.now()));
    Element& x = m.add_child("x", std::string(kUserNs));
    Element& invite = x.add_child("invite", std::string(kUserNs));
    if (!actor.empty()) {
      invite.set_attr("from", actor.bare_str());
    }
    if (config_.password_protected) {
      x.add_child("password", std::string(kUserNs)).add_text(config_.password);
    }
    host_.send(std::move(m));
  }
}

}  // namespace starling::muc
