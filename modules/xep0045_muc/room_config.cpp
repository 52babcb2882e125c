#include "modules/xep0045_muc/room_config.hpp"

#include <algorithm>
#include <charconv>

#include "xmpp/jid.hpp"

namespace starling::muc {
namespace {

namespace df = xmpp::dataform;
using df::FieldType;

// §15.5.3 field names.
constexpr std::string_view kRoomName = "muc#roomconfig_roomname";
constexpr std::string_view kRoomDesc = "muc#roomconfig_roomdesc";
constexpr std::string_view kLang = "muc#roomconfig_lang";
constexpr std::string_view kPersistent = "muc#roomconfig_persistentroom";
constexpr std::string_view kPublic = "muc#roomconfig_publicroom";
constexpr std::string_view kMembersOnly = "muc#roomconfig_membersonly";
constexpr std::string_view kModerated = "muc#roomconfig_moderatedroom";
constexpr std::string_view kPasswordProtected = "muc#roomconfig_passwordprotectedroom";
constexpr std::string_view kSecret = "muc#roomconfig_roomsecret";
constexpr std::string_view kMaxUsers = "muc#roomconfig_maxusers";
constexpr std::string_view kWhois = "muc#roomconfig_whois";
constexpr std::string_view kChangeSubject = "muc#roomconfig_changesubject";
constexpr std::string_view kAllowInvites = "muc#roomconfig_allowinvites";
constexpr std::string_view kAllowPm = "muc#roomconfig_allowpm";
constexpr std::string_view kAllowVoiceRequests = "muc#roomconfig_allowvoicerequests";
constexpr std::string_view kPresenceBroadcast = "muc#roomconfig_presencebroadcast";
constexpr std::string_view kGetMemberList = "muc#roomconfig_getmemberlist";
constexpr std::string_view kEnableLogging = "muc#roomconfig_enablelogging";
constexpr std::string_view kRoomAdmins = "muc#roomconfig_roomadmins";
constexpr std::string_view kRoomOwners = "muc#roomconfig_roomowners";
constexpr std::string_view kMaxHistory = "muc#maxhistoryfetch";

std::string bool_value(bool b) { return b ? "1" : "0"; }

df::Field& add_bool(df::Form& f, std::string_view var, std::string label, bool value) {
  auto& field = f.add(std::string(var), FieldType::kBoolean, std::move(label));
  field.values = {bool_value(value)};
  return field;
}

df::Field& add_text(df::Form& f, std::string_view var, std::string label, std::string value,
                    FieldType type = FieldType::kTextSingle) {
  auto& field = f.add(std::string(var), type, std::move(label));
  if (!value.empty()) {
    field.values = {std::move(value)};
  }
  return field;
}

const std::vector<df::Option>& role_options() {
  static const std::vector<df::Option> options{
      {"Moderator", "moderator"}, {"Participant", "participant"}, {"Visitor", "visitor"}};
  return options;
}

std::vector<std::string> role_values(const std::vector<Role>& roles) {
  std::vector<std::string> out;
  for (Role r : {Role::kModerator, Role::kParticipant, Role::kVisitor}) {
    if (std::find(roles.begin(), roles.end(), r) != roles.end()) {
      out.emplace_back(to_string(r));
    }
  }
  return out;
}

std::optional<std::size_t> parse_size(std::string_view s) {
  std::size_t n = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, n);
  if (r.ec != std::errc() || r.ptr != end || s.empty()) {
    return std::nullopt;
  }
  return n;
}

xmpp::StanzaError not_acceptable(std::string text) {
  return {xmpp::ErrorType::kModify, "not-acceptable", std::move(text)};
}

// The values of a jid-multi field as bare JIDs, without duplicates, in order.
std::vector<std::string> bare_jids(const df::Field& field) {
  std::vector<std::string> out;
  for (const std::string& s : df::unique_jids(field)) {
    auto j = xmpp::Jid::parse(s);
    if (!j) {
      continue;
    }
    std::string bare = j->bare_str();
    if (std::find(out.begin(), out.end(), bare) == out.end()) {
      out.push_back(std::move(bare));
    }
  }
  return out;
}

}  // namespace

df::Form config_form(const RoomConfig& c, const AdminLists& lists, std::string_view room,
                     const ConfigLimits& limits) {
  df::Form f;
  f.type = df::FormType::kForm;
  f.title = "Configuration for \"" + std::string(room) + "\" Room";
  f.instructions = {"Complete this form to modify the configuration of your room."};
  f.add_form_type(std::string(kRoomConfigFormType));
  add_text(f, kRoomName, "Natural-Language Room Name", c.name);
  add_text(f, kRoomDesc, "Short Description of Room", c.description);
  {
    auto& lang = add_text(f, kLang, "Natural Language for Room Discussions", c.language);
    lang.validate = df::Validation{};
    lang.validate->datatype = "xs:language";
  }
  add_bool(f, kPersistent, "Make Room Persistent?", c.persistent);
  add_bool(f, kPublic, "Make Room Publicly Searchable?", c.public_room);
  add_bool(f, kMembersOnly, "Make Room Members-Only?", c.members_only);
  add_bool(f, kModerated, "Make Room Moderated?", c.moderated);
  add_bool(f, kPasswordProtected, "Password Required to Enter?", c.password_protected);
  add_text(f, kSecret, "Password", c.password, FieldType::kTextPrivate).desc =
      "If a password is required to enter this room, specify it here.";
  {
    auto& max =
        f.add(std::string(kMaxUsers), FieldType::kListSingle, "Maximum Number of Occupants");
    max.values = {c.max_users == 0 ? std::string("none") : std::to_string(c.max_users)};
    bool listed = c.max_users == 0;
    for (std::size_t n : {10, 20, 30, 50, 100, 200, 500, 1000, 5000}) {
      if (n > limits.max_occupants) {
        break;
      }
      listed = listed || n == c.max_users;
      max.options.push_back({std::to_string(n), std::to_string(n)});
    }
    if (!listed) {
      max.options.push_back({std::to_string(c.max_users), std::to_string(c.max_users)});
    }
    max.options.push_back({"No limit", "none"});
    // XEP-0122 §3.2 "open": other numbers are accepted too (checked in apply_config_form).
    max.validate = df::Validation{};
    max.validate->method = df::Validation::Method::kOpen;
  }
  {
    auto& whois = f.add(std::string(kWhois), FieldType::kListSingle, "Who May Discover Real JIDs?");
    whois.values = {std::string(to_string(c.whois))};
    whois.options = {{"Moderators Only", "moderators"}, {"Anyone", "anyone"}};
  }
  add_bool(f, kChangeSubject, "Allow Occupants to Change Subject?", c.change_subject);
  add_bool(f, kAllowInvites, "Allow Occupants to Invite Others?", c.allow_invites);
  {
    auto& pm =
        f.add(std::string(kAllowPm), FieldType::kListSingle, "Who Can Send Private Messages?");
    pm.values = {std::string(to_string(c.allow_pm))};
    pm.options = {{"Anyone", "anyone"},
                  {"Anyone with Voice", "participants"},
                  {"Moderators Only", "moderators"},
                  {"Nobody", "none"}};
  }
  add_bool(f, kAllowVoiceRequests, "Allow Visitors to Request Voice?", c.allow_voice_requests);
  {
    auto& pb = f.add(std::string(kPresenceBroadcast), FieldType::kListMulti,
                     "Roles for which Presence is Broadcasted");
    pb.values = role_values(c.presence_broadcast);
    pb.options = role_options();
  }
  {
    auto& gm = f.add(std::string(kGetMemberList), FieldType::kListMulti,
                     "Roles that May Retrieve Member List");
    gm.values = role_values(c.get_member_list);
    gm.options = role_options();
  }
  add_bool(f, kEnableLogging, "Enable Public Logging?", c.enable_logging);
  {
    auto& h = add_text(f, kMaxHistory, "Maximum Number of History Messages Returned by Room",
                       std::to_string(c.history_length));
    h.validate = df::Validation::range("xs:integer", "0", std::to_string(limits.max_history));
  }
  // No type='fixed' explanations: some clients (slixmpp 1.8) submit them back without a type,
  // which XEP-0004 makes a var-less text-single field: a malformed submission. The field
  // descriptions say it instead.
  {
    auto& admins = f.add(std::string(kRoomAdmins), FieldType::kJidMulti, "Room Admins");
    admins.desc = "The full list of room admins, one JID per line.";
    admins.values = lists.admins;
    auto& owners = f.add(std::string(kRoomOwners), FieldType::kJidMulti, "Room Owners");
    owners.desc = "The full list of room owners, one JID per line.";
    owners.values = lists.owners;
  }
  return f;
}

std::variant<ConfigChange, xmpp::StanzaError> apply_config_form(const df::Form& submitted,
                                                                const RoomConfig& current,
                                                                const ConfigLimits& limits) {
  if (submitted.type != df::FormType::kSubmit) {
    return xmpp::StanzaError::bad_request("the configuration form must be of type 'submit'");
  }
  if (const std::string ft = submitted.form_type(); !ft.empty() && ft != kRoomConfigFormType) {
    return xmpp::StanzaError::bad_request("the FORM_TYPE must be " +
                                          std::string(kRoomConfigFormType));
  }
  // XEP-0004 §3.3 and XEP-0122 against the form we hand out (its lists are the current ones;
  // validate() does not look at values).
  const df::Form form = config_form(current, {}, "", limits);
  if (auto err = df::validate(submitted, form)) {
    return *err;
  }
  ConfigChange out;
  RoomConfig& c = out.config;
  c = current;
  auto text = [&](std::string_view var, std::string& into) {
    if (const df::Field* f = submitted.field(var)) {
      into = f->value();
    }
  };
  auto flag = [&](std::string_view var, bool& into) {
    if (const df::Field* f = submitted.field(var); f != nullptr && !f->value().empty()) {
      into = df::parse_bool(f->value()).value_or(into);
    }
  };
  auto roles = [&](std::string_view var, std::vector<Role>& into) {
    if (const df::Field* f = submitted.field(var)) {
      into.clear();
      for (const std::string& v : f->values) {
        if (auto r = parse_role(v); r && std::find(into.begin(), into.end(), *r) == into.end()) {
          into.push_back(*r);
        }
      }
    }
  };
  text(kRoomName, c.name);
  text(kRoomDesc, c.description);
  text(kLang, c.language);
  flag(kPersistent, c.persistent);
  flag(kPublic, c.public_room);
  flag(kMembersOnly, c.members_only);
  flag(kModerated, c.moderated);
  flag(kPasswordProtected, c.password_protected);
  text(kSecret, c.password);
  flag(kChangeSubject, c.change_subject);
  flag(kAllowInvites, c.allow_invites);
  flag(kAllowVoiceRequests, c.allow_voice_requests);
  flag(kEnableLogging, c.enable_logging);
  roles(kPresenceBroadcast, c.presence_broadcast);
  roles(kGetMemberList, c.get_member_list);
  if (const df::Field* f = submitted.field(kMaxUsers); f != nullptr && !f->value().empty()) {
    if (f->value() == "none") {
      c.max_users = 0;
    } else {
      auto n = parse_size(f->value());
      if (!n || *n == 0) {
        return not_acceptable("muc#roomconfig_maxusers: '" + f->value() +
                              "' is neither a positive number nor 'none'");
      }
      if (*n > limits.max_occupants) {
        return not_acceptable("muc#roomconfig_maxusers: this service allows at most " +
                              std::to_string(limits.max_occupants) + " occupants");
      }
      c.max_users = *n;
    }
  }
  if (const df::Field* f = submitted.field(kWhois); f != nullptr && !f->value().empty()) {
    c.whois = parse_whois(f->value()).value_or(WhoIs::kModerators);
  }
  if (const df::Field* f = submitted.field(kAllowPm); f != nullptr && !f->value().empty()) {
    c.allow_pm = parse_pm(f->value()).value_or(c.allow_pm);
  }
  if (const df::Field* f = submitted.field(kMaxHistory); f != nullptr && !f->value().empty()) {
    c.history_length = parse_size(f->value()).value_or(c.history_length);
  }
  // §10.1.3: "the password for a password-protected room is blank" is the spec's own example
  // of a configuration that violates service policy.
  if (c.password_protected && c.password.empty()) {
    return not_acceptable("a password-protected room needs a password (muc#roomconfig_roomsecret)");
  }
  if (const df::Field* f = submitted.field(kRoomOwners)) {
    out.owners = bare_jids(*f);
    if (out.owners->empty()) {
      // §10.2: the last owner cannot be removed.
      return xmpp::StanzaError{xmpp::ErrorType::kCancel, "conflict",
                               "a room must have at least one owner"};
    }
  }
  if (const df::Field* f = submitted.field(kRoomAdmins)) {
    out.admins = bare_jids(*f);
    if (out.owners) {
      std::erase_if(*out.admins, [&](const std::string& j) {
        return std::find(out.owners->begin(), out.owners->end(), j) != out.owners->end();
      });
    }
  }
  return out;
}

std::vector<int> config_change_codes(const RoomConfig& before, const RoomConfig& after) {
  std::vector<int> codes;
  if (before.enable_logging != after.enable_logging) {
    codes.push_back(after.enable_logging ? 170 : 171);
  }
  if (before.whois != after.whois) {
    codes.push_back(after.whois == WhoIs::kAnyone ? 172 : 173);
  }
  RoomConfig rest = after;
  rest.enable_logging = before.enable_logging;
  rest.whois = before.whois;
  if (!(rest == before)) {
    codes.push_back(104);
  }
  return codes;
}

}  // namespace starling::muc
