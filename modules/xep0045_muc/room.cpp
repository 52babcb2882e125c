// XEP-0045 Multi-User Chat: the occupant use cases of a room (§7): entering, leaving, presence,
// groupchat messages, history, subject, nick changes, private messages and iq, invitations,
// voice requests; XEP-0410 self-ping; removal of occupants whose sessions are gone (§18.1).
// Also the room's disco#info (§6.4, with the muc#roominfo form) and disco#items (§6.5).
#include "modules/xep0045_muc/room.hpp"

#include <algorithm>

#include "modules/xep0045_muc/muc_ns.hpp"
#include "xml/writer.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/datetime.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::muc {

using xml::Element;
using xmpp::Jid;
using xmpp::StanzaError;

std::string_view to_string(Affiliation a) {
  switch (a) {
    case Affiliation::kOutcast:
      return "outcast";
    case Affiliation::kNone:
      return "none";
    case Affiliation::kMember:
      return "member";
    case Affiliation::kAdmin:
      return "admin";
    case Affiliation::kOwner:
      return "owner";
  }
  return "none";
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kNone:
      return "none";
    case Role::kVisitor:
      return "visitor";
    case Role::kParticipant:
      return "participant";
    case Role::kModerator:
      return "moderator";
  }
  return "none";
}

std::optional<Affiliation> parse_affiliation(std::string_view s) {
  for (Affiliation a : {Affiliation::kOutcast, Affiliation::kNone, Affiliation::kMember,
                        Affiliation::kAdmin, Affiliation::kOwner}) {
    if (s == to_string(a)) {
      return a;
    }
  }
  return std::nullopt;
}

std::optional<Role> parse_role(std::string_view s) {
  for (Role r : {Role::kNone, Role::kVisitor, Role::kParticipant, Role::kModerator}) {
    if (s == to_string(r)) {
      return r;
    }
  }
  return std::nullopt;
}

std::string_view to_string(WhoIs w) { return w == WhoIs::kAnyone ? "anyone" : "moderators"; }

std::string_view to_string(PmPolicy p) {
  switch (p) {
    case PmPolicy::kAnyone:
      return "anyone";
    case PmPolicy::kParticipants:
      return "participants";
    case PmPolicy::kModerators:
      return "moderators";
    case PmPolicy::kNone:
      return "none";
  }
  return "anyone";
}

std::optional<WhoIs> parse_whois(std::string_view s) {
  for (WhoIs w : {WhoIs::kModerators, WhoIs::kAnyone}) {
    if (s == to_string(w)) {
      return w;
    }
  }
  return std::nullopt;
}

std::optional<PmPolicy> parse_pm(std::string_view s) {
  for (PmPolicy p : {PmPolicy::kAnyone, PmPolicy::kParticipants, PmPolicy::kModerators,
                     PmPolicy::kNone}) {
    if (s == to_string(p)) {
      return p;
    }
  }
  return std::nullopt;
}

std::optional<std::string> prepare_nick(std::string_view raw) {
  return xmpp::prep_nickname(raw);  // RFC 8266 §2.2 enforcement
}

std::string nick_key(std::string_view nick) {
  // RFC 8266 §2.3 comparison (toLowerCase, NFKC); a stored nick always prepares.
  return xmpp::nickname_key(nick).value_or(std::string(nick));
}

namespace {

std::string type_of(const Element& s) { return std::string(s.attr_or("type")); }

const Element* muc_user_x(const Element& s) { return s.child("x", kMucUserNs); }

void add_status(Element& x, int code) {
  x.add_child("status", std::string(kMucUserNs)).set_attr("code", std::to_string(code));
}

// Errors bounced for a stanza the room sent that mean the session is gone (§18.1; XEP-0410 §3).
bool session_gone(const Element& error_stanza) {
  const Element* err = error_stanza.child("error");
  if (err == nullptr) {
    return false;
  }
  for (const Element* c : err->elements()) {
    if (c->xmlns() != ns::kStanzas) {
      continue;
    }
    const std::string& n = c->name();
    if (n == "remote-server-not-found" || n == "service-unavailable" ||
        n == "recipient-unavailable" || n == "gone" || n == "item-not-found" ||
        n == "remote-server-timeout" || n == "redirect" || n == "not-acceptable") {
      return true;
    }
  }
  return false;
}

}  // namespace

Room::Room(RoomHost& host, Jid jid, RoomConfig config)
    : host_(host), jid_(std::move(jid)), config_(std::move(config)) {}

// ---------------------------------------------------------------------------------------------
// Shared internals

Affiliation Room::affiliation_of(const Jid& real) const {
  if (host_.is_service_admin(real.bare())) {
    return Affiliation::kOwner;
  }
  if (auto it = affiliations_.find(real.bare_str()); it != affiliations_.end()) {
    return it->second;
  }
  // §9.1: a ban may name a whole server.
  if (auto it = affiliations_.find(real.domain()); it != affiliations_.end()) {
    return it->second;
  }
  return Affiliation::kNone;
}

Occupant* Room::occupant_by_jid(const Jid& full) {
  auto it = nick_of_.find(full.str());
  if (it == nick_of_.end()) {
    return nullptr;
  }
  return occupant_by_nick(it->second);
}

Occupant* Room::occupant_by_nick(std::string_view nick) {
  auto it = occupants_.find(std::string(nick));
  return it == occupants_.end() ? nullptr : &it->second;
}

Role Room::default_role(Affiliation a) const {
  // §5.1.2 default roles.
  switch (a) {
    case Affiliation::kOwner:
    case Affiliation::kAdmin:
      return Role::kModerator;
    case Affiliation::kMember:
      return Role::kParticipant;
    case Affiliation::kNone:
      return config_.moderated ? Role::kVisitor : Role::kParticipant;
    case Affiliation::kOutcast:
      return Role::kNone;
  }
  return Role::kNone;
}

Jid Room::occupant_jid(const std::string& nick) const {
  return jid_.with_resource(nick).value_or(jid_);
}

Element Room::stored_presence(const Element& p, const std::string& nick) const {
  Element out("presence", std::string(ns::kClient));
  out.set_attr("from", occupant_jid(nick).str());
  for (const Element& c : p.nodes()) {
    if (c.is_text()) {
      continue;
    }
    if (c.xmlns() == kMucNs || c.xmlns() == kMucUserNs) {
      continue;
    }
    out.add_child(c);
  }
  return out;
}

Element Room::presence_for(const Occupant& o, const Occupant& recipient,
                           const std::vector<int>& codes, const Element* extra_item_children,
                           bool unavailable, std::string_view item_nick) const {
  Element p = o.presence;
  if (p.name().empty()) {
    p = Element("presence", std::string(ns::kClient));
    p.set_attr("from", occupant_jid(o.nick).str());
  }
  if (unavailable) {
    p.set_attr("type", "unavailable");
  } else {
    p.remove_attr("type");
  }
  Element& x = p.add_child("x", std::string(kMucUserNs));
  Element& item = x.add_child("item", std::string(kMucUserNs));
  item.set_attr("affiliation", std::string(to_string(affiliation_of(o.bare))));
  item.set_attr("role", std::string(to_string(unavailable ? Role::kNone : o.role)));
  bool self = &recipient == &o;
  // §7.2.3/§7.2.4: the real JID only where the room is non-anonymous or the recipient may see it.
  if ((self || config_.whois == WhoIs::kAnyone || recipient.role == Role::kModerator) &&
      !o.sessions.empty()) {
    item.set_attr("jid", o.sessions.front().str());
  }
  if (!item_nick.empty()) {
    item.set_attr("nick", std::string(item_nick));
  }
  if (extra_item_children != nullptr) {
    for (const Element& c : extra_item_children->nodes()) {
      item.add_child(c);
    }
  }
  for (int code : codes) {
    if (code != 110) {
      add_status(x, code);
    }
  }
  if (self) {
    add_status(x, 110);  // last, as clients that look for it first expect
  }
  return p;
}

void Room::broadcast_presence(const Occupant& o, const std::vector<int>& codes,
                              const Element* extra_item_children, bool unavailable,
                              std::string_view item_nick) {
  bool broadcast_role = std::find(config_.presence_broadcast.begin(),
                                  config_.presence_broadcast.end(),
                                  o.role) != config_.presence_broadcast.end();
  // Two variants for the others (with and without the real JID), built once each.
  std::optional<Element> with_jid, without_jid;
  for (auto& [nick, r] : occupants_) {
    if (&r != &o && !broadcast_role) {
      continue;
    }
    Element* variant = nullptr;
    std::optional<Element> self_copy;
    if (&r == &o) {
      self_copy = presence_for(o, r, codes, extra_item_children, unavailable, item_nick);
      variant = &*self_copy;
    } else if (config_.whois == WhoIs::kAnyone || r.role == Role::kModerator) {
      if (!with_jid) {
        with_jid = presence_for(o, r, codes, extra_item_children, unavailable, item_nick);
      }
      variant = &*with_jid;
    } else {
      if (!without_jid) {
        without_jid = presence_for(o, r, codes, extra_item_children, unavailable, item_nick);
      }
      variant = &*without_jid;
    }
    for (const Jid& s : r.sessions) {
      Element copy = *variant;
      copy.set_attr("to", s.str());
      host_.send(std::move(copy));
    }
  }
}

void Room::broadcast(const Element& stanza) {
  for (auto& [nick, r] : occupants_) {
    for (const Jid& s : r.sessions) {
      Element copy = stanza;
      copy.set_attr("to", s.str());
      host_.send(std::move(copy));
    }
  }
}

void Room::drop_occupant(const std::string& nick) {
  auto it = occupants_.find(nick);
  if (it == occupants_.end()) {
    return;
  }
  for (const Jid& s : it->second.sessions) {
    nick_of_.erase(s.str());
  }
  occupants_.erase(it);
  if (occupants_.empty() && !config_.persistent) {
    host_.remove(*this);  // §10.1? temporary room: destroyed when the last occupant leaves
  }
}

void Room::remove_session(const Jid& full, const std::vector<int>& codes,
                          const Element* unavailable_presence) {
  Occupant* o = occupant_by_jid(full);
  if (o == nullptr) {
    return;
  }
  if (o->sessions.size() > 1) {
    // One of several sessions under the nick leaves: only that session learns it.
    Element p = presence_for(*o, *o, codes, nullptr, true);
    if (unavailable_presence != nullptr) {
      Element user = stored_presence(*unavailable_presence, o->nick);
      for (const Element& c : user.nodes()) {
        p.add_child(c);
      }
    }
    p.set_attr("to", full.str());
    o->sessions.erase(std::remove(o->sessions.begin(), o->sessions.end(), full), o->sessions.end());
    nick_of_.erase(full.str());
    host_.send(std::move(p));
    return;
  }
  if (unavailable_presence != nullptr) {
    o->presence = stored_presence(*unavailable_presence, o->nick);
  } else {
    o->presence = Element("presence", std::string(ns::kClient));
    o->presence.set_attr("from", occupant_jid(o->nick).str());
  }
  broadcast_presence(*o, codes, nullptr, true);
  std::string nick = o->nick;
  drop_occupant(nick);
}

void Room::set_creator(const Jid& creator) {
  affiliations_[creator.bare_str()] = Affiliation::kOwner;
  locked_ = true;
  just_created_ = true;
}

void Room::reply_error(const Element& stanza, StanzaError err) {
  if (stanza.attr_or("type") == "error") {
    return;  // RFC 6120 §8.3.1: never answer an error with an error
  }
  host_.send(xmpp::make_error_reply(stanza, err));
}

bool Room::nick_taken(const std::string& nick, const Jid& bare) const {
  std::string key = nick_key(nick);
  for (const auto& [n, o] : occupants_) {
    if (nick_key(n) == key && o.bare.bare_str() != bare.bare_str()) {
      return true;
    }
  }
  // §7.10: a nick registered by another user is theirs.
  for (const auto& [user, registered] : registered_nicks_) {
    if (nick_key(registered) == key && user != bare.bare_str()) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

void Room::handle(const Element& stanza, const Jid& to, const Jid& from) {
  if (type_of(stanza) == "error") {
    handle_error(stanza, to, from);
    return;
  }
  switch (xmpp::kind_of(stanza)) {
    case xmpp::StanzaKind::kPresence:
      handle_presence(stanza, to, from);
      break;
    case xmpp::StanzaKind::kMessage:
      handle_message(stanza, to, from);
      break;
    case xmpp::StanzaKind::kIq:
      handle_iq(stanza, to, from);
      break;
    case xmpp::StanzaKind::kOther:
      break;
  }
}

void Room::handle_error(const Element& stanza, const Jid& to, const Jid& from) {
  if (xmpp::kind_of(stanza) == xmpp::StanzaKind::kIq) {
    private_iq(stanza, to, from);  // a response to a forwarded iq
    return;
  }
  // §18.1 / §17 "kick on error": an error bounced for a message or presence the room sent to an
  // occupant's session means that session is gone: remove it, status 333.
  if (occupant_by_jid(from) != nullptr && session_gone(stanza)) {
    remove_session(from, {333});
  }
}

// ---------------------------------------------------------------------------------------------
// Presence (§7.2 entering, §7.3 leaving, §7.6 nick change, §7.7 presence change)

void Room::handle_presence(const Element& p, const Jid& to, const Jid& from) {
  std::string type = type_of(p);
  Occupant* o = occupant_by_jid(from);
  if (type == "unavailable") {
    if (o != nullptr) {
      remove_session(from, {}, &p);  // §7.14 exiting a room
    }
    return;
  }
  if (!type.empty()) {
    // Subscription requests and probes have no meaning for a room.
    if (type == "subscribe" || type == "unsubscribe") {
      reply_error(p, StanzaError::service_unavailable());
    }
    return;
  }
  if (to.resource().empty()) {
    // §7.2.1: entering without a nickname.
    reply_error(p, StanzaError::jid_malformed());
    return;
  }
  if (o == nullptr) {
    enter(p, to, from);
    return;
  }
  std::optional<std::string> nick = prepare_nick(to.resource());
  if (nick && *nick == o->nick) {
    // §7.7 presence change, or a rejoin from the same session (answered as a presence update).
    o->presence = stored_presence(p, o->nick);
    if (p.child("x", kMucNs) != nullptr) {
      // A session that believes it is not joined (XEP-0410 desync): resend the room state.
      for (auto& [n, other] : occupants_) {
        if (&other != o) {
          Element op = presence_for(other, *o, {}, nullptr, false);
          op.set_attr("to", from.str());
          host_.send(std::move(op));
        }
      }
    }
    broadcast_presence(*o, {});
    if (p.child("x", kMucNs) != nullptr) {
      send_history(from, p.child("x", kMucNs)->child("history", kMucNs));
      send_subject(from);
    }
    return;
  }
  change_nick(*o, p, to, from);
}

void Room::enter(const Element& p, const Jid& to, const Jid& from) {
  const Element* muc = p.child("x", kMucNs);
  if (muc == nullptr) {
    // §7.2.1 (groupchat 1.0): presence without <x/> from a non-occupant is answered with an
    // explicit kick (110, 307, 333) rather than taken as a join.
    Element kick("presence", std::string(ns::kClient));
    kick.set_attr("from", to.str());
    kick.set_attr("to", from.str());
    kick.set_attr("type", "unavailable");
    Element& x = kick.add_child("x", std::string(kMucUserNs));
    Element& item = x.add_child("item", std::string(kMucUserNs));
    item.set_attr("affiliation", std::string(to_string(affiliation_of(from))));
    item.set_attr("role", "none");
    item.add_child("reason", std::string(kMucUserNs)).add_text("You are not in the room.");
    add_status(x, 110);
    add_status(x, 307);
    add_status(x, 333);
    host_.send(std::move(kick));
    return;
  }
  Affiliation aff = affiliation_of(from);
  // §10.1.1: a locked room does not exist for anyone but its owners.
  if (locked_ && aff != Affiliation::kOwner) {
    reply_error(p, StanzaError::item_not_found());
    return;
  }
  std::optional<std::string> nick = prepare_nick(to.resource());
  if (!nick) {
    reply_error(p, StanzaError::jid_malformed());
    return;
  }
  // §7.2.8 banned users.
  if (aff == Affiliation::kOutcast) {
    reply_error(p, StanzaError::forbidden());
    return;
  }
  // §7.2.7 members-only rooms.
  if (config_.members_only && aff < Affiliation::kMember) {
    reply_error(p, {xmpp::ErrorType::kAuth, "registration-required", {}});
    return;
  }
  // §7.2.6 password-protected rooms.
  if (config_.password_protected) {
    if (muc->child_text("password", kMucNs) != config_.password) {
      reply_error(p, {xmpp::ErrorType::kAuth, "not-authorized", {}});
      return;
    }
  }
  // §7.2.9 nickname conflicts (occupants and §7.10 registered nicks).
  if (nick_taken(*nick, from)) {
    reply_error(p, StanzaError::conflict());
    return;
  }
  Occupant* existing = occupant_by_nick(*nick);
  if (existing == nullptr) {
    // §7.2.10 maximum number of users: admins and owners may still enter.
    std::size_t limit = config_.max_users == 0 ? host_.max_occupants()
                                                : std::min(config_.max_users, host_.max_occupants());
    if (occupants_.size() >= limit && aff < Affiliation::kAdmin) {
      reply_error(p, {xmpp::ErrorType::kWait, "service-unavailable", {}});
      return;
    }
  }
  std::vector<int> self_codes;
  if (config_.whois == WhoIs::kAnyone) {
    self_codes.push_back(100);  // §7.2.3 non-anonymous room
  }
  if (config_.enable_logging) {
    self_codes.push_back(170);  // §7.2.12
  }
  if (just_created_) {
    self_codes.push_back(201);  // §10.1.1
    just_created_ = false;
  }
  if (*nick != to.resource()) {
    self_codes.push_back(210);  // §7.2.11: the service changed the nick
  }
  if (existing != nullptr) {
    // Another session of the same user under the same nick: it joins the occupant. Only it
    // learns the room state; the others see no change.
    existing->sessions.push_back(from);
    nick_of_[from.str()] = existing->nick;
    for (auto& [n, other] : occupants_) {
      if (&other != existing) {
        Element op = presence_for(other, *existing, {}, nullptr, false);
        op.set_attr("to", from.str());
        host_.send(std::move(op));
      }
    }
    Element self = presence_for(*existing, *existing, self_codes, nullptr, false);
    self.set_attr("to", from.str());
    host_.send(std::move(self));
    send_history(from, muc->child("history", kMucNs));
    send_subject(from);
    return;
  }
  Occupant o;
  o.nick = *nick;
  o.bare = from.bare();
  o.sessions.push_back(from);
  o.role = default_role(aff);
  o.presence = stored_presence(p, o.nick);
  auto [it, inserted] = occupants_.emplace(o.nick, std::move(o));
  Occupant& me = it->second;
  nick_of_[from.str()] = me.nick;
  // §7.2.3: the presence of the occupants already there first ...
  for (auto& [n, other] : occupants_) {
    if (&other == &me) {
      continue;
    }
    if (std::find(config_.presence_broadcast.begin(), config_.presence_broadcast.end(),
                  other.role) == config_.presence_broadcast.end()) {
      continue;
    }
    Element op = presence_for(other, me, {}, nullptr, false);
    op.set_attr("to", from.str());
    host_.send(std::move(op));
  }
  // ... then the new occupant's presence to everyone, the self-presence last.
  bool broadcast_role = std::find(config_.presence_broadcast.begin(),
                                  config_.presence_broadcast.end(),
                                  me.role) != config_.presence_broadcast.end();
  if (broadcast_role) {
    std::optional<Element> with_jid, without_jid;
    for (auto& [n, other] : occupants_) {
      if (&other == &me) {
        continue;
      }
      bool sees = config_.whois == WhoIs::kAnyone || other.role == Role::kModerator;
      std::optional<Element>& variant = sees ? with_jid : without_jid;
      if (!variant) {
        variant = presence_for(me, other, {}, nullptr, false);
      }
      for (const Jid& s : other.sessions) {
        Element copy = *variant;
        copy.set_attr("to", s.str());
        host_.send(std::move(copy));
      }
    }
  }
  Element self = presence_for(me, me, self_codes, nullptr, false);
  self.set_attr("to", from.str());
  host_.send(std::move(self));
  // §7.2.15 history, then §7.2.16 the subject.
  send_history(from, muc->child("history", kMucNs));
  send_subject(from);
}

void Room::change_nick(Occupant& o, const Element& p, const Jid& to, const Jid& from) {
  std::optional<std::string> nick = prepare_nick(to.resource());
  if (!nick) {
    reply_error(p, StanzaError::jid_malformed());
    return;
  }
  // §7.6: the new nick must be free (occupants, registered nicks of others).
  if (nick_taken(*nick, from) || occupant_by_nick(*nick) != nullptr) {
    reply_error(p, StanzaError::conflict());
    return;
  }
  std::string old = o.nick;
  std::vector<int> codes{303};
  // Unavailable for the old nick with the new one in the item ...
  broadcast_presence(o, codes, nullptr, true, *nick);
  // ... then available for the new nick.
  Occupant moved = std::move(o);
  occupants_.erase(old);
  moved.nick = *nick;
  moved.presence = stored_presence(p, moved.nick);
  for (const Jid& s : moved.sessions) {
    nick_of_[s.str()] = moved.nick;
  }
  auto [it, inserted] = occupants_.emplace(moved.nick, std::move(moved));
  std::vector<int> after;
  if (*nick != to.resource()) {
    after.push_back(210);
  }
  broadcast_presence(it->second, after);
}

void Room::send_history(const Jid& session, const Element* request) {
  if (history_.empty()) {
    return;
  }
  std::size_t max_stanzas = history_.size();
  std::size_t max_chars = static_cast<std::size_t>(-1);
  std::int64_t since = 0;
  if (request != nullptr) {
    auto number = [&](std::string_view name) -> std::optional<std::size_t> {
      const std::string* v = request->attr(name);
      if (v == nullptr || v->empty() || v->size() > 18 ||
          !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      return static_cast<std::size_t>(std::stoull(*v));
    };
    if (auto n = number("maxstanzas")) {
      max_stanzas = std::min(max_stanzas, *n);
    }
    if (auto n = number("maxchars")) {
      max_chars = *n;
    }
    if (auto n = number("seconds")) {
      since = std::max<std::int64_t>(since, host_.now() - static_cast<std::int64_t>(*n));
    }
    if (const std::string* s = request->attr("since")) {
      if (auto t = xmpp::parse_datetime(*s)) {
        since = std::max(since, *t);
      }
    }
  }
  // Newest first until a limit is reached, then sent oldest first.
  std::size_t count = 0, chars = 0, first = history_.size();
  while (first > 0 && count < max_stanzas) {
    const HistoryEntry& e = history_[first - 1];
    if (e.stamp < since || chars + e.chars > max_chars) {
      break;
    }
    chars += e.chars;
    ++count;
    --first;
  }
  for (std::size_t i = first; i < history_.size(); ++i) {
    Element m = history_[i].message;
    m.set_attr("to", session.str());
    Element& delay = m.add_child("delay", std::string(kDelayNs));
    delay.set_attr("from", jid_.str());  // §7.2.15: the room's JID
    delay.set_attr("stamp", xmpp::format_datetime(history_[i].stamp));
    host_.send(std::move(m));
  }
}

void Room::send_subject(const Jid& session) {
  // §7.2.16: always, as the last stanza of entering; an empty <subject/> when none is set.
  Element m("message", std::string(ns::kClient));
  Jid from = jid_;
  if (!subject_by_.empty()) {
    if (auto j = jid_.with_resource(subject_by_)) {
      from = *j;
    }
  }
  m.set_attr("from", from.str());
  m.set_attr("to", session.str());
  m.set_attr("type", "groupchat");
  Element& s = m.add_child("subject", std::string(ns::kClient));
  if (!subject_.empty()) {
    s.add_text(subject_);
  }
  host_.send(std::move(m));
}

// ---------------------------------------------------------------------------------------------
// Messages (§7.4 groupchat, §7.5 private, §7.8 invitations, §7.13 voice requests, §8.1 subject)

void Room::handle_message(const Element& m, const Jid& to, const Jid& from) {
  std::string type = type_of(m);
  if (!to.resource().empty()) {
    if (type == "groupchat") {
      reply_error(m, StanzaError::bad_request());  // §7.5: groupchat to an occupant
      return;
    }
    private_message(m, to, from);
    return;
  }
  Occupant* o = occupant_by_jid(from);
  if (type == "groupchat") {
    if (o == nullptr) {
      reply_error(m, {xmpp::ErrorType::kModify, "not-acceptable", {}});  // §7.4
      return;
    }
    groupchat(m, *o);
    return;
  }
  if (locked_ && affiliation_of(from) != Affiliation::kOwner) {
    reply_error(m, StanzaError::item_not_found());
    return;
  }
  if (const Element* x = muc_user_x(m)) {
    if (x->child("invite", kMucUserNs) != nullptr) {
      invite(m, *x, from);
      return;
    }
    if (x->child("decline", kMucUserNs) != nullptr) {
      decline(m, *x, from);
      return;
    }
  }
  if (const Element* form = m.child("x", xmpp::dataform::kNs)) {
    voice_request(m, *form, from);
    return;
  }
  if (type == "headline") {
    return;  // RFC 6121 §8.5.2.1.1-like: headlines are never answered with an error
  }
  reply_error(m, StanzaError::bad_request());
}

void Room::groupchat(const Element& m, Occupant& sender) {
  const Element* subject = m.child("subject", ns::kClient);
  bool has_body = m.child("body", ns::kClient) != nullptr;
  if (sender.role == Role::kVisitor || sender.role == Role::kNone) {
    // §7.4: visitors have no voice in a moderated room.
    reply_error(m, StanzaError::forbidden());
    return;
  }
  Element out = m;
  out.set_attr("from", occupant_jid(sender.nick).str());
  out.remove_attr("to");
  if (subject != nullptr && !has_body) {
    // §8.1 subject change: moderators, or participants when allowed.
    if (sender.role != Role::kModerator && !config_.change_subject) {
      reply_error(m, StanzaError::forbidden());
      return;
    }
    subject_ = subject->text();
    subject_by_ = subject_.empty() ? std::string() : sender.nick;
    host_.save(*this);
    broadcast(out);
    return;
  }
  broadcast(out);
  if (has_body) {
    std::size_t limit = std::min(config_.history_length, host_.max_history());
    if (limit == 0) {
      history_.clear();
      return;
    }
    HistoryEntry e;
    e.chars = xml::to_string(out).size();
    e.message = std::move(out);
    e.stamp = host_.now();
    e.from_real = sender.sessions.empty() ? std::string() : sender.sessions.front().str();
    history_.push_back(std::move(e));
    if (history_.size() > limit) {
      history_.erase(history_.begin(),
                     history_.begin() + static_cast<std::ptrdiff_t>(history_.size() - limit));
    }
  }
}

void Room::private_message(const Element& m, const Jid& to, const Jid& from) {
  Occupant* sender = occupant_by_jid(from);
  if (sender == nullptr) {
    reply_error(m, {xmpp::ErrorType::kModify, "not-acceptable", {}});
    return;
  }
  bool allowed = false;
  switch (config_.allow_pm) {
    case PmPolicy::kAnyone:
      allowed = true;
      break;
    case PmPolicy::kParticipants:
      allowed = sender->role >= Role::kParticipant;
      break;
    case PmPolicy::kModerators:
      allowed = sender->role == Role::kModerator;
      break;
    case PmPolicy::kNone:
      allowed = false;
      break;
  }
  if (!allowed) {
    reply_error(m, StanzaError::forbidden());
    return;
  }
  Occupant* target = occupant_by_nick(to.resource());
  if (target == nullptr) {
    reply_error(m, StanzaError::item_not_found());  // §7.5
    return;
  }
  Element out = m;
  out.set_attr("from", occupant_jid(sender->nick).str());
  // §7.5: the service SHOULD mark private messages with an empty muc#user <x/>.
  if (muc_user_x(out) == nullptr) {
    out.add_child("x", std::string(kMucUserNs));
  }
  for (const Jid& s : target->sessions) {
    Element copy = out;
    copy.set_attr("to", s.str());
    host_.send(std::move(copy));
  }
}

void Room::invite(const Element& m, const Element& x, const Jid& from) {
  Occupant* inviter = occupant_by_jid(from);
  if (inviter == nullptr) {
    reply_error(m, {xmpp::ErrorType::kModify, "not-acceptable", {}});
    return;
  }
  Affiliation aff = affiliation_of(from);
  if (config_.members_only && aff < Affiliation::kAdmin &&
      !(config_.allow_invites && aff >= Affiliation::kMember)) {
    // §7.8.2: in members-only rooms invitations are for those who may edit the member list.
    reply_error(m, StanzaError::forbidden());
    return;
  }
  std::vector<Jid> invitees;
  for (const Element* inv : x.elements()) {
    if (inv->name() != "invite" || inv->xmlns() != kMucUserNs) {
      continue;
    }
    auto to = Jid::parse(inv->attr_or("to"));
    if (!to || inv->attr("to") == nullptr) {
      reply_error(m, StanzaError::jid_malformed());
      return;
    }
    invitees.push_back(*to);
  }
  std::size_t index = 0;
  for (const Element* inv : x.elements()) {
    if (inv->name() != "invite" || inv->xmlns() != kMucUserNs) {
      continue;
    }
    const Jid& invitee = invitees[index++];
    Element out("message", std::string(ns::kClient));
    out.set_attr("from", jid_.str());
    out.set_attr("to", invitee.str());
    if (const std::string* id = m.attr("id")) {
      out.set_attr("id", *id);
    }
    Element& ox = out.add_child("x", std::string(kMucUserNs));
    Element& oi = ox.add_child("invite", std::string(kMucUserNs));
    oi.set_attr("from", from.str());
    if (const Element* reason = inv->child("reason", kMucUserNs)) {
      oi.add_child(*reason);
    }
    if (const Element* cont = inv->child("continue", kMucUserNs)) {
      oi.add_child(*cont);
    }
    if (config_.password_protected) {
      ox.add_child("password", std::string(kMucUserNs)).add_text(config_.password);
    }
    // §7.8.2: in a members-only room the invitee becomes a member (MAY).
    if (config_.members_only && affiliation_of(invitee) == Affiliation::kNone) {
      affiliations_[invitee.bare_str()] = Affiliation::kMember;
      host_.save(*this);
    }
    host_.send(std::move(out));
  }
}

void Room::decline(const Element& m, const Element& x, const Jid& from) {
  const Element* d = x.child("decline", kMucUserNs);
  auto to = Jid::parse(d->attr_or("to"));
  if (!to || d->attr("to") == nullptr) {
    reply_error(m, StanzaError::jid_malformed());
    return;
  }
  // §7.8.3: forwarded to the inviter, from the room, with the decliner's bare JID.
  Element out("message", std::string(ns::kClient));
  out.set_attr("from", jid_.str());
  out.set_attr("to", to->str());
  if (const std::string* id = m.attr("id")) {
    out.set_attr("id", *id);
  }
  Element& ox = out.add_child("x", std::string(kMucUserNs));
  Element& od = ox.add_child("decline", std::string(kMucUserNs));
  od.set_attr("from", from.bare_str());
  if (const Element* reason = d->child("reason", kMucUserNs)) {
    od.add_child(*reason);
  }
  host_.send(std::move(out));
}

void Room::voice_request(const Element& m, const Element& x, const Jid& from) {
  auto parsed = xmpp::dataform::parse(x);
  if (std::holds_alternative<StanzaError>(parsed)) {
    reply_error(m, std::get<StanzaError>(parsed));
    return;
  }
  const auto& form = std::get<xmpp::dataform::Form>(parsed);
  if (form.form_type() != kMucRequestNs) {
    reply_error(m, StanzaError::bad_request());
    return;
  }
  Occupant* o = occupant_by_jid(from);
  if (o == nullptr) {
    reply_error(m, {xmpp::ErrorType::kModify, "not-acceptable", {}});
    return;
  }
  if (o->role == Role::kModerator) {
    // §8.6: a moderator's answer to a voice request.
    const auto* allow = form.field("muc#request_allow");
    const auto* nick = form.field("muc#roomnick");
    if (allow == nullptr || nick == nullptr) {
      reply_error(m, StanzaError::bad_request());
      return;
    }
    if (xmpp::dataform::parse_bool(allow->value()).value_or(false)) {
      if (Occupant* target = occupant_by_nick(nick->value());
          target != nullptr && target->role == Role::kVisitor) {
        target->role = Role::kParticipant;
        broadcast_presence(*target, {});
      }
    }
    return;
  }
  // §7.13: a visitor asks for voice; the request goes to every moderator.
  if (!config_.moderated || o->role != Role::kVisitor || !config_.allow_voice_requests) {
    reply_error(m, StanzaError::not_allowed());
    return;
  }
  xmpp::dataform::Form req;
  req.title = "Voice request";
  req.instructions.push_back(
      "To approve this request for voice, select the \"Grant voice to this person?\" checkbox "
      "and click OK. To skip this request, click the cancel button.");
  req.add_form_type(std::string(kMucRequestNs));
  auto& role = req.add("muc#role", xmpp::dataform::FieldType::kListSingle, "Requested role");
  role.values.push_back("participant");
  role.options.push_back({"participant", "participant"});
  req.add("muc#jid", xmpp::dataform::FieldType::kJidSingle, "User ID")
      .values.push_back(from.bare_str());
  req.add("muc#roomnick", xmpp::dataform::FieldType::kTextSingle, "Room Nickname")
      .values.push_back(o->nick);
  req.add("muc#request_allow", xmpp::dataform::FieldType::kBoolean,
          "Grant voice to this person?")
      .values.push_back("false");
  Element out("message", std::string(ns::kClient));
  out.set_attr("from", jid_.str());
  out.add_child(xmpp::dataform::to_element(req));
  for (auto& [n, mod] : occupants_) {
    if (mod.role != Role::kModerator) {
      continue;
    }
    for (const Jid& s : mod.sessions) {
      Element copy = out;
      copy.set_attr("to", s.str());
      host_.send(std::move(copy));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Iq

void Room::handle_iq(const Element& iq, const Jid& to, const Jid& from) {
  std::string type = type_of(iq);
  if (!to.resource().empty()) {
    private_iq(iq, to, from);
    return;
  }
  if (type == "result") {
    return;
  }
  if (type != "get" && type != "set") {
    reply_error(iq, StanzaError::bad_request());
    return;
  }
  std::vector<const Element*> children = iq.elements();
  if (children.size() != 1) {
    reply_error(iq, StanzaError::bad_request());  // RFC 6120 §8.2.3
    return;
  }
  const Element& q = *children.front();
  if (q.name() == "query" && q.xmlns() == kMucOwnerNs) {
    owner_iq(iq, q, from);
    return;
  }
  if (locked_ && affiliation_of(from) != Affiliation::kOwner) {
    reply_error(iq, StanzaError::item_not_found());  // §10.1.1
    return;
  }
  if (q.name() == "query" && q.xmlns() == kMucAdminNs) {
    admin_iq(iq, q, from);
    return;
  }
  if (q.name() == "query" && q.xmlns() == kRegisterNs) {
    register_iq(iq, q, from);
    return;
  }
  if (type == "get" && q.name() == "query" && q.xmlns() == ns::kDiscoInfo) {
    const std::string* node = q.attr("node");
    if (node == nullptr) {
      Element info = disco_info();
      host_.send(xmpp::make_iq_result(iq, &info));
      return;
    }
    if (*node == "x-roomuser-item") {
      // §7.10.1 discovering one's reserved nick.
      Element info("query", std::string(ns::kDiscoInfo));
      info.set_attr("node", *node);
      if (auto it = registered_nicks_.find(from.bare_str()); it != registered_nicks_.end()) {
        Element& id = info.add_child("identity", std::string(ns::kDiscoInfo));
        id.set_attr("category", "conference");
        id.set_attr("name", it->second);
        id.set_attr("type", "text");
      }
      host_.send(xmpp::make_iq_result(iq, &info));
      return;
    }
    reply_error(iq, StanzaError::item_not_found());
    return;
  }
  if (type == "get" && q.name() == "query" && q.xmlns() == ns::kDiscoItems) {
    if (q.attr("node") != nullptr) {
      reply_error(iq, StanzaError::item_not_found());
      return;
    }
    occupant_items(iq, from);
    return;
  }
  if (type == "get" && q.name() == "ping" && q.xmlns() == ns::kPing) {
    host_.send(xmpp::make_iq_result(iq));
    return;
  }
  reply_error(iq, StanzaError::service_unavailable());
}

void Room::occupant_items(const Element& iq, const Jid& from) {
  // §6.5: the occupants' room JIDs, to occupants only (others see an empty list, which keeps
  // the room's participants private).
  Element q("query", std::string(ns::kDiscoItems));
  if (occupant_by_jid(from) != nullptr) {
    for (const auto& [nick, o] : occupants_) {
      Element& item = q.add_child("item", std::string(ns::kDiscoItems));
      item.set_attr("jid", occupant_jid(nick).str());
    }
  }
  host_.send(xmpp::make_iq_result(iq, &q));
}

void Room::private_iq(const Element& iq, const Jid& to, const Jid& from) {
  std::string type = type_of(iq);
  if (type == "result" || type == "error") {
    // A response to an iq the room forwarded: the id says where it goes.
    std::string_view id_str = iq.attr_or("id");
    if (id_str.size() < 5 || id_str.rfind("muc-", 0) != 0) {
      return;
    }
    std::uint64_t n = 0;
    for (char c : id_str.substr(4)) {
      if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) {
        return;
      }
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    auto it = pending_iqs_.find(n);
    if (it == pending_iqs_.end()) {
      return;
    }
    Occupant* responder = occupant_by_jid(from);
    if (responder == nullptr || responder->nick != it->second.target_nick ||
        to.resource() != it->second.requester_nick) {
      return;
    }
    Element out = iq;
    out.set_attr("from", occupant_jid(responder->nick).str());
    out.set_attr("to", it->second.requester.str());
    out.set_attr("id", it->second.id);
    pending_iqs_.erase(it);
    host_.send(std::move(out));
    return;
  }
  if (type != "get" && type != "set") {
    reply_error(iq, StanzaError::bad_request());
    return;
  }
  Occupant* sender = occupant_by_jid(from);
  if (sender == nullptr) {
    // XEP-0410 §3: not joined (also for a ping to one's own former nick).
    reply_error(iq, {xmpp::ErrorType::kCancel, "not-acceptable", {}});
    return;
  }
  Occupant* target = occupant_by_nick(to.resource());
  if (target == nullptr) {
    reply_error(iq, StanzaError::item_not_found());
    return;
  }
  const Element* ping = iq.child("ping", ns::kPing);
  if (target == sender && ping != nullptr && type == "get") {
    // XEP-0410 §3.2 server optimization: the service answers a self-ping itself.
    host_.send(xmpp::make_iq_result(iq));
    return;
  }
  if (target->sessions.empty()) {
    reply_error(iq, StanzaError::item_not_found());
    return;
  }
  constexpr std::size_t kMaxPending = 256;
  while (pending_iqs_.size() >= kMaxPending) {
    pending_iqs_.erase(pending_iqs_.begin());
  }
  std::uint64_t n = next_iq_++;
  pending_iqs_[n] = PendingIq{from, std::string(iq.attr_or("id")), sender->nick, target->nick};
  Element out = iq;
  out.set_attr("from", occupant_jid(sender->nick).str());
  out.set_attr("to", target->sessions.front().str());
  out.set_attr("id", "muc-" + std::to_string(n));
  host_.send(std::move(out));
}

// ---------------------------------------------------------------------------------------------
// §6.4 room disco#info with the muc#roominfo form (XEP-0128)

Element Room::disco_info() const {
  Element q("query", std::string(ns::kDiscoInfo));
  Element& id = q.add_child("identity", std::string(ns::kDiscoInfo));
  id.set_attr("category", "conference");
  if (!config_.name.empty()) {
    id.set_attr("name", config_.name);
  }
  id.set_attr("type", "text");
  auto feature = [&q](std::string_view var) {
    q.add_child("feature", std::string(ns::kDiscoInfo)).set_attr("var", std::string(var));
  };
  feature(ns::kDiscoInfo);
  feature(ns::kDiscoItems);
  feature(kMucNs);
  feature(kMucSelfPingOptimization);
  feature(ns::kPing);
  feature(kRegisterNs);  // §7.10 registration with the room
  if (config_.allow_voice_requests) {
    feature(kMucRequestNs);  // §7.13 voice requests
  }
  feature(config_.persistent ? "muc_persistent" : "muc_temporary");
  feature(config_.public_room ? "muc_public" : "muc_hidden");
  feature(config_.members_only ? "muc_membersonly" : "muc_open");
  feature(config_.moderated ? "muc_moderated" : "muc_unmoderated");
  feature(config_.whois == WhoIs::kAnyone ? "muc_nonanonymous" : "muc_semianonymous");
  feature(config_.password_protected ? "muc_passwordprotected" : "muc_unsecured");
  xmpp::dataform::Form f;
  f.type = xmpp::dataform::FormType::kResult;
  f.add_form_type(std::string(kMucRoomInfoNs));
  f.add("muc#roominfo_description", xmpp::dataform::FieldType::kTextSingle, "Description")
      .values.push_back(config_.description);
  f.add("muc#roominfo_occupants", xmpp::dataform::FieldType::kTextSingle,
        "Number of occupants")
      .values.push_back(std::to_string(occupants_.size()));
  f.add("muc#roominfo_subject", xmpp::dataform::FieldType::kTextSingle, "Current subject")
      .values.push_back(subject_);
  f.add("muc#roomconfig_changesubject", xmpp::dataform::FieldType::kBoolean,
        "Occupants may change the subject")
      .values.push_back(config_.change_subject ? "1" : "0");
  if (!config_.language.empty()) {
    f.add("muc#roominfo_lang", xmpp::dataform::FieldType::kTextSingle, "Language")
        .values.push_back(config_.language);
  }
  if (!config_.name.empty()) {
    f.add("muc#roomconfig_roomname", xmpp::dataform::FieldType::kTextSingle, "Name")
        .values.push_back(config_.name);
  }
  q.add_child(xmpp::dataform::to_element(f));
  return q;
}

}  // namespace starling::muc
