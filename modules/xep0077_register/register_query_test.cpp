#include "modules/xep0077_register/register_query.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::modules::registration {
namespace {

namespace df = xmpp::dataform;

xml::Element el(const std::string& text) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(text, e)) << text;
  return e;
}

Request ok(const std::string& query) {
  auto r = parse_set(el(query));
  if (auto* err = std::get_if<xmpp::StanzaError>(&r)) {
    ADD_FAILURE() << err->condition << ": " << err->text;
    return {};
  }
  return std::get<Request>(r);
}

std::string error(const std::string& query) {
  auto r = parse_set(el(query));
  auto* err = std::get_if<xmpp::StanzaError>(&r);
  return err ? err->condition : "";
}

TEST(RegisterQuery, Example3LegacyFields) {
  // XEP-0077 Example 3: Entity Provides Required Information (<email/> is ignored).
  Request r =
      ok("<query xmlns='jabber:iq:register'><username>bill</username>"
         "<password>Calliope</password><email>bard@shakespeare.lit</email></query>");
  EXPECT_FALSE(r.remove);
  EXPECT_EQ(r.username, "bill");
  EXPECT_EQ(r.password, "Calliope");
}

TEST(RegisterQuery, EmptyPasswordIsKeptAsEmpty) {
  // §3.1: <password/> counts as not provided; the module answers not-acceptable.
  Request r = ok("<query xmlns='jabber:iq:register'><username>bill</username><password/></query>");
  ASSERT_TRUE(r.password.has_value());
  EXPECT_EQ(*r.password, "");
  Request none = ok("<query xmlns='jabber:iq:register'><username>bill</username></query>");
  EXPECT_FALSE(none.password.has_value());
}

TEST(RegisterQuery, Example12RemoveMustBeTheOnlyChild) {
  // XEP-0077 Example 12, and §3.2's bad-request when <remove/> is not the only child.
  EXPECT_TRUE(ok("<query xmlns='jabber:iq:register'><remove/></query>").remove);
  EXPECT_EQ(error("<query xmlns='jabber:iq:register'><remove/><username>bill</username>"
                  "</query>"),
            "bad-request");
}

TEST(RegisterQuery, DataFormSubmissionTakesPrecedence) {
  // §6: the x:data form takes precedence over the legacy fields.
  Request r =
      ok("<query xmlns='jabber:iq:register'><username>legacy</username>"
         "<x xmlns='jabber:x:data' type='submit'>"
         "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>"
         "<field var='username'><value>juliet</value></field>"
         "<field var='password'><value>R0m30</value></field></x></query>");
  EXPECT_EQ(r.username, "juliet");
  EXPECT_EQ(r.password, "R0m30");
}

TEST(RegisterQuery, DataFormMissingRequiredFieldIsNotAcceptable) {
  // XEP-0004 §4 validation against registration_form(): username and password are required.
  EXPECT_EQ(error("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
                  "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
                  "<field var='username'><value>juliet</value></field></x></query>"),
            "not-acceptable");
}

TEST(RegisterQuery, MalformedOrForeignFormsAreBadRequests) {
  EXPECT_EQ(error("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'>"
                  "<field var='username'/></x></query>"),
            "bad-request");
  EXPECT_EQ(error("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
                  "<field var='FORM_TYPE'><value>urn:other</value></field></x></query>"),
            "bad-request");
  EXPECT_EQ(error("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
                  "<field type='list-single' var='u'><option/></field></x></query>"),
            "bad-request");
}

TEST(RegisterQuery, Example24ChangePasswordForm) {
  // XEP-0077 Example 24: User Returns Password Change Form (bare JID as username).
  Request r =
      ok("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
         "<field type='hidden' var='FORM_TYPE'>"
         "<value>jabber:iq:register:changepassword</value></field>"
         "<field type='text-single' var='username'><value>bill@shakespeare.lit</value></field>"
         "<field type='text-private' var='old_password'><value>theglobe</value></field>"
         "<field type='text-private' var='password'><value>groundlings</value></field>"
         "<field type='text-single' var='x-mmn'><value>Throckmorton</value></field>"
         "</x></query>");
  EXPECT_EQ(r.username, "bill@shakespeare.lit");
  EXPECT_EQ(r.old_password, "theglobe");
  EXPECT_EQ(r.password, "groundlings");
}

TEST(RegisterQuery, RegistrationFieldsOfferLegacyFieldsAndTheForm) {
  // §3.1 Example 2 (fields) and §6 (a data form with FORM_TYPE jabber:iq:register).
  xml::Element q = registration_fields();
  EXPECT_EQ(q.name(), "query");
  EXPECT_EQ(q.xmlns(), kRegisterNs);
  EXPECT_NE(q.child("instructions", kRegisterNs), nullptr);
  EXPECT_NE(q.child("username", kRegisterNs), nullptr);
  EXPECT_NE(q.child("password", kRegisterNs), nullptr);
  const xml::Element* x = q.child("x", df::kNs);
  ASSERT_NE(x, nullptr);
  auto form = df::parse(*x);
  ASSERT_TRUE(std::holds_alternative<df::Form>(form));
  const df::Form& f = std::get<df::Form>(form);
  EXPECT_EQ(f.type, df::FormType::kForm);
  EXPECT_EQ(f.form_type(), "jabber:iq:register");
  ASSERT_NE(f.field("username"), nullptr);
  EXPECT_TRUE(f.field("username")->required);
  ASSERT_NE(f.field("password"), nullptr);
  EXPECT_EQ(f.field("password")->type, df::FieldType::kTextPrivate);
}

TEST(RegisterQuery, RegisteredQueryHasRegisteredAndNoPassword) {
  // §3.1 Example 4: <registered/>, the username on file; the password MAY be empty.
  xml::Element q = registered_query("juliet");
  EXPECT_NE(q.child("registered", kRegisterNs), nullptr);
  EXPECT_EQ(q.child_text("username", kRegisterNs), "juliet");
  ASSERT_NE(q.child("password", kRegisterNs), nullptr);
  EXPECT_EQ(q.child_text("password", kRegisterNs), "");
}

}  // namespace
}  // namespace starling::modules::registration
