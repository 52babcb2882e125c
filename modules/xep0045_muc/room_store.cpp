// XEP-0045 persistent rooms: what survives a restart (configuration, affiliations, registered
// nicks, subject) as one element, stored by the service under the room's localpart.
#include <charconv>

#include "modules/xep0045_muc/room.hpp"
#include "xmpp/jid.hpp"

namespace starling::muc {

namespace {

constexpr std::string_view kStoreNs = "urn:starling:muc:room:1";

std::string_view b(bool v) { return v ? "1" : "0"; }

bool read_bool(const xml::Element& e, std::string_view name, bool fallback) {
  std::string_view v = e.attr_or(name);
  if (v == "1" || v == "true") {
    return true;
  }
  if (v == "0" || v == "false") {
    return false;
  }
  return fallback;
}

std::size_t read_size(const xml::Element& e, std::string_view name, std::size_t fallback) {
  std::string_view v = e.attr_or(name);
  std::size_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
    return fallback;
  }
  return out;
}

}  // namespace

xml::Element Room::serialize() const {
  xml::Element room("room", std::string(kStoreNs));
  xml::Element& c = room.add_child("config", std::string(kStoreNs));
  c.set_attr("name", config_.name);
  c.set_attr("description", config_.description);
  c.set_attr("language", config_.language);
  c.set_attr("persistent", std::string(b(config_.persistent)));
  c.set_attr("public", std::string(b(config_.public_room)));
  c.set_attr("members-only", std::string(b(config_.members_only)));
  c.set_attr("moderated", std::string(b(config_.moderated)));
  c.set_attr("password-protected", std::string(b(config_.password_protected)));
  c.set_attr("password", config_.password);
  c.set_attr("max-users", std::to_string(config_.max_users));
  c.set_attr("whois", std::string(to_string(config_.whois)));
  c.set_attr("change-subject", std::string(b(config_.change_subject)));
  c.set_attr("allow-invites", std::string(b(config_.allow_invites)));
  c.set_attr("allow-pm", std::string(to_string(config_.allow_pm)));
  c.set_attr("allow-voice-requests", std::string(b(config_.allow_voice_requests)));
  c.set_attr("logging", std::string(b(config_.enable_logging)));
  c.set_attr("history-length", std::to_string(config_.history_length));
  auto role_list = [](const std::vector<Role>& list) {
    std::string roles;
    for (Role r : list) {
      if (!roles.empty()) {
        roles += ' ';
      }
      roles += to_string(r);
    }
    return roles;
  };
  c.set_attr("presence-broadcast", role_list(config_.presence_broadcast));
  c.set_attr("get-member-list", role_list(config_.get_member_list));
  room.set_attr("locked", std::string(b(locked_)));
  for (const auto& [jid, a] : affiliations_) {
    xml::Element& e = room.add_child("affiliation", std::string(kStoreNs));
    e.set_attr("jid", jid);
    e.set_attr("value", std::string(to_string(a)));
  }
  for (const auto& [jid, nick] : registered_nicks_) {
    xml::Element& e = room.add_child("nick", std::string(kStoreNs));
    e.set_attr("jid", jid);
    e.set_attr("nick", nick);
  }
  if (!subject_.empty()) {
    xml::Element& s = room.add_child("subject", std::string(kStoreNs));
    s.set_attr("by", subject_by_);
    s.add_text(subject_);
  }
  return room;
}

std::unique_ptr<Room> Room::deserialize(RoomHost& host, const xmpp::Jid& jid,
                                        const xml::Element& stored) {
  if (stored.name() != "room" || stored.xmlns() != kStoreNs) {
    return nullptr;
  }
  RoomConfig cfg;
  if (const xml::Element* c = stored.child("config", kStoreNs)) {
    cfg.name = std::string(c->attr_or("name"));
    cfg.description = std::string(c->attr_or("description"));
    cfg.language = std::string(c->attr_or("language"));
    cfg.persistent = read_bool(*c, "persistent", true);
    cfg.public_room = read_bool(*c, "public", cfg.public_room);
    cfg.members_only = read_bool(*c, "members-only", cfg.members_only);
    cfg.moderated = read_bool(*c, "moderated", cfg.moderated);
    cfg.password_protected = read_bool(*c, "password-protected", cfg.password_protected);
    cfg.password = std::string(c->attr_or("password"));
    cfg.max_users = read_size(*c, "max-users", cfg.max_users);
    cfg.whois = parse_whois(c->attr_or("whois")).value_or(WhoIs::kModerators);
    cfg.change_subject = read_bool(*c, "change-subject", cfg.change_subject);
    cfg.allow_invites = read_bool(*c, "allow-invites", cfg.allow_invites);
    cfg.allow_pm = parse_pm(c->attr_or("allow-pm")).value_or(cfg.allow_pm);
    cfg.allow_voice_requests = read_bool(*c, "allow-voice-requests", cfg.allow_voice_requests);
    cfg.enable_logging = read_bool(*c, "logging", cfg.enable_logging);
    cfg.history_length = read_size(*c, "history-length", cfg.history_length);
    auto read_roles = [&](std::string_view name, std::vector<Role>& out) {
      if (const std::string* roles = c->attr(name)) {
        out.clear();
        std::string_view rest = *roles;
        while (!rest.empty()) {
          std::size_t sp = rest.find(' ');
          std::string_view word = rest.substr(0, sp);
          if (auto r = parse_role(word); r && *r != Role::kNone) {
            out.push_back(*r);
          }
          rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        }
      }
    };
    read_roles("presence-broadcast", cfg.presence_broadcast);
    read_roles("get-member-list", cfg.get_member_list);  // muc-admin: muc#roomconfig_getmemberlist
  }
  auto room = std::make_unique<Room>(host, jid, std::move(cfg));
  room->locked_ = read_bool(stored, "locked", false);
  for (const xml::Element* e : stored.elements()) {
    if (e->xmlns() != kStoreNs) {
      continue;
    }
    if (e->name() == "affiliation") {
      auto a = parse_affiliation(e->attr_or("value"));
      std::string key(e->attr_or("jid"));
      if (a && *a != Affiliation::kNone && !key.empty()) {
        room->affiliations_[key] = *a;
      }
    } else if (e->name() == "nick") {
      std::string key(e->attr_or("jid"));
      std::string nick(e->attr_or("nick"));
      if (!key.empty() && !nick.empty()) {
        room->registered_nicks_[key] = nick;
      }
    } else if (e->name() == "subject") {
      room->subject_ = e->text();
      room->subject_by_ = std::string(e->attr_or("by"));
    }
  }
  return room;
}

}  // namespace starling::muc
