#include "modules/xep0045_muc/room_config.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::muc {
namespace {

namespace df = xmpp::dataform;

df::Form submission(const std::string& fields) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element("<x xmlns='jabber:x:data' type='submit'>" + fields + "</x>", e));
  auto f = df::parse(e);
  EXPECT_TRUE(std::holds_alternative<df::Form>(f));
  return std::get<df::Form>(f);
}

std::string field(std::string_view var, const std::string& value) {
  return "<field var='" + std::string(var) + "'><value>" + value + "</value></field>";
}

const ConfigLimits kLimits{1000, 50};

ConfigChange ok(const df::Form& f, const RoomConfig& current = {}) {
  auto r = apply_config_form(f, current, kLimits);
  if (auto* err = std::get_if<xmpp::StanzaError>(&r)) {
    ADD_FAILURE() << err->condition << ": " << err->text;
    return {};
  }
  return std::get<ConfigChange>(r);
}

std::string error(const df::Form& f, const RoomConfig& current = {}) {
  auto r = apply_config_form(f, current, kLimits);
  auto* err = std::get_if<xmpp::StanzaError>(&r);
  return err ? err->condition : "";
}

TEST(RoomConfigForm, HasTheRegisteredFieldsWithCurrentValues) {
  // §15.5.3 (muc#roomconfig FORM_TYPE) and Example 163 (the form with current values).
  RoomConfig c;
  c.name = "A Dark Cave";
  c.password_protected = true;
  c.password = "cauldronburn";
  c.max_users = 10;
  AdminLists lists{{"wiccarocks@shakespeare.lit", "hecate@shakespeare.lit"},
                   {"crone1@shakespeare.lit"}};
  df::Form f = config_form(c, lists, "coven", kLimits);
  EXPECT_EQ(f.type, df::FormType::kForm);
  EXPECT_EQ(f.form_type(), kRoomConfigFormType);
  for (const char* var :
       {"muc#roomconfig_roomname", "muc#roomconfig_roomdesc", "muc#roomconfig_lang",
        "muc#roomconfig_persistentroom", "muc#roomconfig_publicroom",
        "muc#roomconfig_membersonly", "muc#roomconfig_moderatedroom",
        "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret",
        "muc#roomconfig_maxusers", "muc#roomconfig_whois", "muc#roomconfig_changesubject",
        "muc#roomconfig_allowinvites", "muc#roomconfig_allowpm",
        "muc#roomconfig_presencebroadcast", "muc#roomconfig_getmemberlist",
        "muc#roomconfig_enablelogging", "muc#roomconfig_roomadmins",
        "muc#roomconfig_roomowners", "muc#maxhistoryfetch",
        "muc#roomconfig_allowvoicerequests"}) {
    EXPECT_NE(f.field(var), nullptr) << var;
  }
  EXPECT_EQ(f.field("muc#roomconfig_roomname")->value(), "A Dark Cave");
  EXPECT_EQ(f.field("muc#roomconfig_passwordprotectedroom")->value(), "1");
  EXPECT_EQ(f.field("muc#roomconfig_roomsecret")->type, df::FieldType::kTextPrivate);
  EXPECT_EQ(f.field("muc#roomconfig_roomsecret")->value(), "cauldronburn");
  EXPECT_EQ(f.field("muc#roomconfig_maxusers")->value(), "10");
  EXPECT_EQ(f.field("muc#roomconfig_whois")->value(), "moderators");
  EXPECT_EQ(f.field("muc#roomconfig_roomadmins")->values, lists.admins);
  EXPECT_EQ(f.field("muc#roomconfig_roomowners")->values, lists.owners);
  EXPECT_EQ(f.field("muc#roomconfig_presencebroadcast")->values,
            (std::vector<std::string>{"moderator", "participant", "visitor"}));
  // The form serializes (and parses back) as XEP-0004 requires.
  auto back = df::parse(df::to_element(f));
  ASSERT_TRUE(std::holds_alternative<df::Form>(back));
  EXPECT_EQ(std::get<df::Form>(back).fields.size(), f.fields.size());
}

TEST(RoomConfigForm, Example160SubmissionApplies) {
  // §10.1.3 Example 160: Owner Submits Configuration Form.
  df::Form f = submission(
      field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig") +
      field("muc#roomconfig_roomname", "A Dark Cave") +
      field("muc#roomconfig_roomdesc", "The place for all good witches!") +
      field("muc#roomconfig_enablelogging", "0") + field("muc#roomconfig_changesubject", "1") +
      field("muc#roomconfig_allowinvites", "0") + field("muc#roomconfig_allowpm", "anyone") +
      field("muc#roomconfig_maxusers", "10") + field("muc#roomconfig_publicroom", "0") +
      field("muc#roomconfig_persistentroom", "0") + field("muc#roomconfig_moderatedroom", "0") +
      field("muc#roomconfig_membersonly", "0") +
      field("muc#roomconfig_passwordprotectedroom", "1") +
      field("muc#roomconfig_roomsecret", "cauldronburn") +
      field("muc#roomconfig_whois", "moderators") + field("muc#maxhistoryfetch", "50") +
      "<field var='muc#roomconfig_roomadmins'><value>wiccarocks@shakespeare.lit</value>"
      "<value>hecate@shakespeare.lit</value></field>");
  ConfigChange c = ok(f);
  EXPECT_EQ(c.config.name, "A Dark Cave");
  EXPECT_EQ(c.config.description, "The place for all good witches!");
  EXPECT_TRUE(c.config.change_subject);
  EXPECT_EQ(c.config.max_users, 10u);
  EXPECT_FALSE(c.config.public_room);
  EXPECT_TRUE(c.config.password_protected);
  EXPECT_EQ(c.config.password, "cauldronburn");
  EXPECT_EQ(c.config.history_length, 50u);
  ASSERT_TRUE(c.admins);
  EXPECT_EQ(*c.admins,
            (std::vector<std::string>{"wiccarocks@shakespeare.lit", "hecate@shakespeare.lit"}));
  EXPECT_FALSE(c.owners);  // not in the submission: unchanged
}

TEST(RoomConfigForm, AbsentFieldsKeepTheirValues) {
  RoomConfig current;
  current.name = "kept";
  current.moderated = true;
  ConfigChange c = ok(submission(field("muc#roomconfig_roomdesc", "new")), current);
  EXPECT_EQ(c.config.name, "kept");
  EXPECT_TRUE(c.config.moderated);
  EXPECT_EQ(c.config.description, "new");
}

TEST(RoomConfigForm, ListsAndOpenMaxUsers) {
  ConfigChange c = ok(submission(
      "<field var='muc#roomconfig_presencebroadcast'><value>moderator</value></field>"
      "<field var='muc#roomconfig_getmemberlist'><value>moderator</value>"
      "<value>participant</value></field>" +
      field("muc#roomconfig_maxusers", "25") + field("muc#roomconfig_whois", "anyone") +
      field("muc#roomconfig_allowpm", "moderators") + field("muc#roomconfig_lang", "en")));
  EXPECT_EQ(c.config.presence_broadcast, std::vector<Role>{Role::kModerator});
  EXPECT_EQ(c.config.get_member_list,
            (std::vector<Role>{Role::kModerator, Role::kParticipant}));
  EXPECT_EQ(c.config.max_users, 25u);  // XEP-0122 open list: other numbers are fine
  EXPECT_EQ(c.config.whois, WhoIs::kAnyone);
  EXPECT_EQ(c.config.allow_pm, PmPolicy::kModerators);
  EXPECT_EQ(c.config.language, "en");
  EXPECT_EQ(ok(submission(field("muc#roomconfig_maxusers", "none"))).config.max_users, 0u);
}

TEST(RoomConfigForm, OwnersAndAdminsAreBareDeduplicatedLists) {
  ConfigChange c = ok(submission(
      "<field var='muc#roomconfig_roomowners'><value>crone1@shakespeare.lit/desktop</value>"
      "<value>crone1@shakespeare.lit</value><value>hecate@shakespeare.lit</value></field>"
      "<field var='muc#roomconfig_roomadmins'><value>hecate@shakespeare.lit</value>"
      "<value>wiccarocks@shakespeare.lit</value></field>"));
  ASSERT_TRUE(c.owners && c.admins);
  EXPECT_EQ(*c.owners,
            (std::vector<std::string>{"crone1@shakespeare.lit", "hecate@shakespeare.lit"}));
  EXPECT_EQ(*c.admins, std::vector<std::string>{"wiccarocks@shakespeare.lit"});
}

TEST(RoomConfigForm, Errors) {
  // §10.1.3 Example 162: a password-protected room without a password is not acceptable.
  EXPECT_EQ(error(submission(field("muc#roomconfig_passwordprotectedroom", "1"))),
            "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_maxusers", "many"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_maxusers", "0"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_maxusers", "5000"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_persistentroom", "maybe"))), "not-acceptable");
  // whois "none" (fully anonymous, status 174) is deprecated and not offered.
  EXPECT_EQ(error(submission(field("muc#roomconfig_whois", "none"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_allowpm", "everyone"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#maxhistoryfetch", "51"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#maxhistoryfetch", "-1"))), "not-acceptable");
  EXPECT_EQ(error(submission(field("muc#roomconfig_lang", "not a language"))), "not-acceptable");
  EXPECT_EQ(error(submission("<field var='muc#roomconfig_roomadmins'><value>@bad</value></field>")),
            "not-acceptable");
  EXPECT_EQ(error(submission("<field var='muc#roomconfig_presencebroadcast'>"
                             "<value>owner</value></field>")),
            "not-acceptable");
  // §10.2: the owner list may not be emptied.
  EXPECT_EQ(error(submission("<field var='muc#roomconfig_roomowners'/>")), "conflict");
  EXPECT_EQ(error(submission(field("FORM_TYPE", "urn:other"))), "bad-request");
  df::Form not_submit = submission("");
  not_submit.type = df::FormType::kForm;
  EXPECT_EQ(error(not_submit), "bad-request");
}

TEST(RoomConfigCodes, PrivacyAndOtherChanges) {
  // §10.2.1 Notification of Configuration Changes.
  RoomConfig a;
  RoomConfig b = a;
  EXPECT_TRUE(config_change_codes(a, b).empty());
  b.enable_logging = true;
  EXPECT_EQ(config_change_codes(a, b), std::vector<int>{170});
  EXPECT_EQ(config_change_codes(b, a), std::vector<int>{171});
  b = a;
  b.whois = WhoIs::kAnyone;
  EXPECT_EQ(config_change_codes(a, b), std::vector<int>{172});
  EXPECT_EQ(config_change_codes(b, a), std::vector<int>{173});
  b.name = "renamed";
  EXPECT_EQ(config_change_codes(a, b), (std::vector<int>{172, 104}));
  b = a;
  b.max_users = 5;
  EXPECT_EQ(config_change_codes(a, b), std::vector<int>{104});
}

}  // namespace
}  // namespace starling::muc
