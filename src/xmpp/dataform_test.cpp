#include "xmpp/dataform.hpp"

#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"

namespace starling::xmpp::dataform {
namespace {

xml::Element el(const std::string& text) {
  xml::Element e;
  EXPECT_TRUE(xml::parse_element(text, e)) << text;
  return e;
}

Form parsed(const std::string& text) {
  auto r = parse(el(text));
  if (auto* err = std::get_if<StanzaError>(&r)) {
    ADD_FAILURE() << "parse failed: " << err->text;
    return {};
  }
  return std::get<Form>(std::move(r));
}

std::string parse_error(const std::string& text) {
  auto r = parse(el(text));
  auto* err = std::get_if<StanzaError>(&r);
  if (err == nullptr) {
    return "";
  }
  EXPECT_EQ(err->condition, "bad-request");
  return err->text;
}

// XEP-0004 Example 2: Service Returns Bot Creation Form.
const std::string kExample2 = R"(<x xmlns='jabber:x:data' type='form'>
  <title>Bot Configuration</title>
  <instructions>Fill out this form to configure your new bot!</instructions>
  <field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>
  <field type='fixed'><value>Section 1: Bot Info</value></field>
  <field type='text-single' label='The name of your bot' var='botname'/>
  <field type='text-multi' label='Helpful description of your bot' var='description'/>
  <field type='boolean' label='Public bot?' var='public'><required/></field>
  <field type='text-private' label='Password for special access' var='password'/>
  <field type='fixed'><value>Section 2: Features</value></field>
  <field type='list-multi' label='What features will the bot support?' var='features'>
    <option label='Contests'><value>contests</value></option>
    <option label='News'><value>news</value></option>
    <option label='Polls'><value>polls</value></option>
    <option label='Reminders'><value>reminders</value></option>
    <option label='Search'><value>search</value></option>
    <value>news</value>
    <value>search</value>
  </field>
  <field type='fixed'><value>Section 3: Subscriber List</value></field>
  <field type='list-single' label='Maximum number of subscribers' var='maxsubs'>
    <value>20</value>
    <option label='10'><value>10</value></option>
    <option label='20'><value>20</value></option>
    <option label='30'><value>30</value></option>
    <option label='50'><value>50</value></option>
    <option label='100'><value>100</value></option>
    <option label='None'><value>none</value></option>
  </field>
  <field type='fixed'><value>Section 4: Invitations</value></field>
  <field type='jid-multi' label='People to invite' var='invitelist'>
    <desc>Tell all your friends about your new bot!</desc>
  </field>
</x>)";

// XEP-0004 Example 3: User Submits Bot Creation Form.
const std::string kExample3 = R"(<x xmlns='jabber:x:data' type='submit'>
  <field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>
  <field type='text-single' var='botname'><value>The Jabber Google Bot</value></field>
  <field type='text-multi' var='description'>
    <value>This bot enables you to send requests to</value>
    <value>Google and receive the search results right</value>
    <value>in your Jabber client. It&apos; really cool!</value>
    <value>It even supports Google News!</value>
  </field>
  <field type='boolean' var='public'><value>0</value></field>
  <field type='text-private' var='password'><value>v3r0na</value></field>
  <field type='list-multi' var='features'><value>news</value><value>search</value></field>
  <field type='list-single' var='maxsubs'><value>50</value></field>
  <field type='jid-multi' var='invitelist'>
    <value>juliet@capulet.com</value>
    <value>benvolio@montague.net</value>
  </field>
</x>)";

// A submission like Example 3, with `var`'s field replaced by `field_xml`.
std::string submit_with(const std::string& field_xml) {
  return "<x xmlns='jabber:x:data' type='submit'>"
         "<field var='FORM_TYPE'><value>jabber:bot</value></field>"
         "<field var='public'><value>1</value></field>" +
         field_xml + "</x>";
}

TEST(DataForm, ParsesExample2BotCreationForm) {
  Form f = parsed(kExample2);
  EXPECT_EQ(f.type, FormType::kForm);
  EXPECT_EQ(f.title, "Bot Configuration");
  ASSERT_EQ(f.instructions.size(), 1u);
  EXPECT_EQ(f.instructions[0], "Fill out this form to configure your new bot!");
  EXPECT_EQ(f.form_type(), "jabber:bot");
  ASSERT_EQ(f.fields.size(), 12u);  // 4 fixed section headers + 8 fields
  EXPECT_EQ(f.fields[1].effective_type(), FieldType::kFixed);
  EXPECT_EQ(f.fields[1].var, "");
  EXPECT_EQ(f.fields[1].value(), "Section 1: Bot Info");

  const Field* pub = f.field("public");
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(pub->type, FieldType::kBoolean);
  EXPECT_TRUE(pub->required);
  EXPECT_EQ(pub->label, "Public bot?");

  const Field* features = f.field("features");
  ASSERT_NE(features, nullptr);
  EXPECT_EQ(features->type, FieldType::kListMulti);
  ASSERT_EQ(features->options.size(), 5u);
  EXPECT_EQ(features->options[3], (Option{"Reminders", "reminders"}));
  EXPECT_EQ(features->values, (std::vector<std::string>{"news", "search"}));

  const Field* maxsubs = f.field("maxsubs");
  ASSERT_NE(maxsubs, nullptr);
  EXPECT_EQ(maxsubs->value(), "20");
  EXPECT_EQ(maxsubs->options.size(), 6u);

  const Field* invite = f.field("invitelist");
  ASSERT_NE(invite, nullptr);
  EXPECT_EQ(invite->desc, "Tell all your friends about your new bot!");
  EXPECT_TRUE(invite->values.empty());
}

TEST(DataForm, Example2RoundTripsThroughTheSerializer) {
  Form f = parsed(kExample2);
  xml::Element x = to_element(f);
  EXPECT_EQ(x.name(), "x");
  EXPECT_EQ(x.xmlns(), kNs);
  EXPECT_EQ(x.attr_or("type"), "form");
  auto back = parse(x);
  ASSERT_TRUE(std::holds_alternative<Form>(back));
  EXPECT_EQ(std::get<Form>(back), f);
}

TEST(DataForm, Example3SubmissionIsValidAgainstExample2) {
  Form form = parsed(kExample2);
  Form submit = parsed(kExample3);
  EXPECT_EQ(submit.type, FormType::kSubmit);
  EXPECT_EQ(submit.field("description")->values.size(), 4u);
  EXPECT_EQ(submit.field("description")->values[2], "in your Jabber client. It' really cool!");
  auto err = validate(submit, form);
  EXPECT_FALSE(err.has_value()) << err->text;
}

TEST(DataForm, SubmissionMissingARequiredFieldIsNotAcceptable) {
  // Example 2 marks 'public' required (§3.2 <required/>).
  Form form = parsed(kExample2);
  Form submit = parsed(
      "<x xmlns='jabber:x:data' type='submit'><field var='botname'><value>b</value></field></x>");
  auto err = validate(submit, form);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->condition, "not-acceptable");  // §4 Data Validation
  EXPECT_EQ(err->type, ErrorType::kModify);
  EXPECT_NE(err->text.find("public"), std::string::npos);

  // An empty value does not satisfy <required/> either.
  Form empty =
      parsed("<x xmlns='jabber:x:data' type='submit'><field var='public'><value/></field></x>");
  EXPECT_TRUE(validate(empty, form).has_value());
}

TEST(DataForm, BooleanAcceptsBothLexicalForms) {
  // §3.3 boolean, and the xs:boolean note: 0, 1, false, true.
  Form form = parsed(kExample2);
  for (const char* v : {"0", "1", "true", "false"}) {
    Form s = parsed("<x xmlns='jabber:x:data' type='submit'><field var='public'><value>" +
                    std::string(v) + "</value></field></x>");
    EXPECT_FALSE(validate(s, form).has_value()) << v;
  }
  for (const char* v : {"yes", "TRUE", "2"}) {
    Form s = parsed("<x xmlns='jabber:x:data' type='submit'><field var='public'><value>" +
                    std::string(v) + "</value></field></x>");
    EXPECT_TRUE(validate(s, form).has_value()) << v;
  }
  EXPECT_EQ(parse_bool("true"), true);
  EXPECT_EQ(parse_bool("0"), false);
  EXPECT_EQ(parse_bool(""), std::nullopt);
}

TEST(DataForm, ListValuesMustBeAmongTheOptions) {
  // §3.3 list-single / list-multi: the submitter MUST NOT insert new options.
  Form form = parsed(kExample2);
  EXPECT_FALSE(
      validate(parsed(submit_with("<field var='maxsubs'><value>100</value></field>")), form));
  auto e1 = validate(parsed(submit_with("<field var='maxsubs'><value>25</value></field>")), form);
  ASSERT_TRUE(e1.has_value());
  EXPECT_NE(e1->text.find("maxsubs"), std::string::npos);
  EXPECT_TRUE(validate(
      parsed(submit_with("<field var='features'><value>news</value><value>golf</value></field>")),
      form));
  // Two values for the list-single field (type inferred from the form).
  EXPECT_TRUE(validate(
      parsed(submit_with("<field var='maxsubs'><value>10</value><value>20</value></field>")),
      form));
}

TEST(DataForm, JidFieldsNeedValidJids) {
  // §3.3 note: jid-single and jid-multi MUST contain valid Jabber IDs.
  Form form = parsed(kExample2);
  auto err = validate(parsed(submit_with("<field var='invitelist'><value>juliet@capulet.com</value>"
                                         "<value>not a jid@@</value></field>")),
                      form);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->condition, "not-acceptable");

  Form single;
  single.type = FormType::kForm;
  single.add("owner", FieldType::kJidSingle, "Owner", true);
  EXPECT_FALSE(validate(parsed("<x xmlns='jabber:x:data' type='submit'><field var='owner'>"
                               "<value>romeo@montague.net</value></field></x>"),
                        single));
  EXPECT_TRUE(validate(parsed("<x xmlns='jabber:x:data' type='submit'><field var='owner'>"
                              "<value>@montague.net</value></field></x>"),
                       single));
}

TEST(DataForm, JidMultiDuplicatesAreIgnored) {
  // §3.3 jid-multi: duplicate JIDs MUST be ignored (compared after preparation).
  Form s = parsed(
      "<x xmlns='jabber:x:data' type='submit'><field var='invitelist'>"
      "<value>juliet@capulet.com</value><value>Juliet@Capulet.com</value>"
      "<value>benvolio@montague.net</value></field></x>");
  EXPECT_EQ(unique_jids(*s.field("invitelist")),
            (std::vector<std::string>{"juliet@capulet.com", "benvolio@montague.net"}));
}

TEST(DataForm, UnknownSubmittedFieldsAreIgnored) {
  // §3.1 submit: the processing entity MUST ignore fields it does not understand.
  Form form = parsed(kExample2);
  EXPECT_FALSE(validate(parsed(submit_with("<field var='x-extra'><value>a</value>"
                                           "<value>b</value></field>")),
                        form));
}

TEST(DataForm, ParsesExample8SearchResultsWithReportedAndItems) {
  // XEP-0004 Example 8: Service Returns Search Results (§3.4).
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='result'>
      <title>Joogle Search: verona</title>
      <reported><field var='name'/><field var='url'/></reported>
      <item>
        <field var='name'><value>Comune di Verona - Benvenuti nel sito ufficiale</value></field>
        <field var='url'><value>http://www.comune.verona.it/</value></field>
      </item>
      <item>
        <field var='name'><value>benvenuto!</value></field>
        <field var='url'><value>http://www.hellasverona.it/</value></field>
      </item>
    </x>)");
  EXPECT_EQ(f.type, FormType::kResult);
  EXPECT_EQ(f.title, "Joogle Search: verona");
  ASSERT_EQ(f.reported.size(), 2u);
  EXPECT_EQ(f.reported[1].var, "url");
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(f.items[1][0].value(), "benvenuto!");
  EXPECT_TRUE(f.fields.empty());
  auto back = parse(to_element(f));
  ASSERT_TRUE(std::holds_alternative<Form>(back));
  EXPECT_EQ(std::get<Form>(back), f);
}

TEST(DataForm, ParsesXep0077Example6RegistrationForm) {
  // XEP-0077 Example 6: Host Returns Registration Form to Entity (the <x/> part).
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='form'>
      <title>Contest Registration</title>
      <instructions>Please provide the following information to sign up for our special contests!</instructions>
      <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
      <field type='text-single' label='Given Name' var='first'><required/></field>
      <field type='text-single' label='Family Name' var='last'><required/></field>
      <field type='text-single' label='Email Address' var='email'><required/></field>
      <field type='list-single' label='Gender' var='x-gender'>
        <option label='Male'><value>M</value></option>
        <option label='Female'><value>F</value></option>
      </field>
    </x>)");
  EXPECT_EQ(f.form_type(), "jabber:iq:register");
  EXPECT_EQ(f.fields.size(), 5u);
  // XEP-0077 Example 7: the user's submission is valid.
  Form s = parsed(R"(<x xmlns='jabber:x:data' type='submit'>
      <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
      <field type='text-single' label='Given Name' var='first'><value>Juliet</value></field>
      <field type='text-single' label='Family Name' var='last'><value>Capulet</value></field>
      <field type='text-single' label='Email Address' var='email'>
        <value>juliet@capulet.com</value></field>
      <field type='list-single' label='Gender' var='x-gender'><value>F</value></field>
    </x>)");
  EXPECT_FALSE(validate(s, f).has_value());
}

TEST(DataForm, MalformedFormsAreBadRequests) {
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='bogus'/>"), "");
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data'/>"), "");
  // §3.2: non-fixed fields need a var; vars are unique.
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='form'><field type='text-single'/></x>"),
            "");
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='submit'><field var='a'/>"
                        "<field var='a'/></x>"),
            "");
  // §3.2: an option has exactly one value; only list fields have options.
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='form'><field type='list-single' "
                        "var='l'><option label='x'/></field></x>"),
            "");
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='form'><field type='text-single' "
                        "var='t'><option><value>a</value></option></field></x>"),
            "");
  // §3.2: single-valued types carry at most one value.
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='form'><field type='boolean' var='b'>"
                        "<value>1</value><value>0</value></field></x>"),
            "");
  // <required/> MUST be empty.
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='form'><field var='r'>"
                        "<required>yes</required></field></x>"),
            "");
  // §3.4: <reported/> before the items, and only once.
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='result'><item><field var='a'/></item>"
                        "<reported><field var='a'/></reported></x>"),
            "");
  EXPECT_NE(parse_error("<x xmlns='jabber:x:data' type='result'><reported><field var='a'/>"
                        "</reported><reported><field var='a'/></reported></x>"),
            "");
  EXPECT_NE(parse_error("<query xmlns='jabber:iq:register'/>"), "");
}

TEST(DataForm, UnknownFieldTypeIsTextSingle) {
  // §3.3: text-single MUST be assumed for a type the receiver does not understand.
  Form f = parsed("<x xmlns='jabber:x:data' type='form'><field type='x-color' var='c'/></x>");
  EXPECT_EQ(f.fields[0].effective_type(), FieldType::kTextSingle);
  // Without a type attribute (submissions) the type is left unset.
  Form s = parsed("<x xmlns='jabber:x:data' type='submit'><field var='c'/></x>");
  EXPECT_FALSE(s.fields[0].type.has_value());
}

TEST(DataForm, BuilderAndSerializerWriteTheExpectedElements) {
  Form f;
  f.title = "Registration";
  f.instructions.push_back("Choose a username and password.");
  f.add_form_type("jabber:iq:register");
  f.add("username", FieldType::kTextSingle, "Username", true);
  f.add("password", FieldType::kTextPrivate, "Password", true);
  xml::Element x = to_element(f);
  auto fields = x.elements();
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[0]->name(), "title");
  EXPECT_EQ(fields[1]->name(), "instructions");
  EXPECT_EQ(fields[2]->attr_or("type"), "hidden");
  EXPECT_EQ(fields[2]->child_text("value", kNs), "jabber:iq:register");
  EXPECT_EQ(fields[4]->attr_or("type"), "text-private");
  EXPECT_NE(fields[4]->child("required", kNs), nullptr);
}


// ---- XEP-0122 Data Forms Validation ------------------------------------------------------------

std::optional<StanzaError> check(const Form& form, const std::string& var,
                                 std::vector<std::string> values) {
  std::string x = "<x xmlns='jabber:x:data' type='submit'><field var='" + var + "'>";
  for (const auto& v : values) {
    x += "<value>" + v + "</value>";
  }
  x += "</field></x>";
  return validate(parsed(x), form);
}

TEST(DataFormValidation, ParsesExample2BasicValidation) {
  // XEP-0122 Example 2: <basic/> with datatype xs:dateTime.
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='form'>
    <field var='evt.date' type='text-single' label='Event Date/Time'>
      <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:dateTime'>
        <basic/>
      </validate>
      <value>2003-10-06T11:22:00-07:00</value>
    </field></x>)");
  const Field* fd = f.field("evt.date");
  ASSERT_NE(fd, nullptr);
  ASSERT_TRUE(fd->validate.has_value());
  EXPECT_EQ(fd->validate->datatype, "xs:dateTime");
  EXPECT_EQ(fd->validate->method, Validation::Method::kBasic);
  EXPECT_FALSE(check(f, "evt.date", {"2003-10-06T11:22:00-07:00"}));
  EXPECT_FALSE(check(f, "evt.date", {"2003-10-06T11:22:00Z"}));
  EXPECT_TRUE(check(f, "evt.date", {"yesterday"}));
  EXPECT_TRUE(check(f, "evt.date", {"2003-02-30T11:22:00Z"}));  // no 30 February
  EXPECT_TRUE(check(f, "evt.date", {"2003-10-06T25:22:00Z"}));
}

TEST(DataFormValidation, DefaultDatatypeIsStringAndMethodBasic) {
  // §3.1: datatype defaults to xs:string; §3.2: no method means basic.
  Form f = parsed("<x xmlns='jabber:x:data' type='form'><field var='a'>"
                  "<validate xmlns='http://jabber.org/protocol/xdata-validate'/></field></x>");
  ASSERT_TRUE(f.field("a")->validate.has_value());
  EXPECT_EQ(f.field("a")->validate->datatype, "xs:string");
  EXPECT_EQ(f.field("a")->validate->method, Validation::Method::kBasic);
  EXPECT_FALSE(check(f, "a", {"anything at all"}));
}

TEST(DataFormValidation, IntegerRangeExample) {
  // §3.2.3 <range/> with an integer datatype (§6.6: only for datatypes with an order).
  Form f;
  f.add("max", FieldType::kTextSingle, "Maximum").validate =
      Validation::range("xs:integer", "1", "100");
  EXPECT_FALSE(check(f, "max", {"1"}));
  EXPECT_FALSE(check(f, "max", {"100"}));
  EXPECT_FALSE(check(f, "max", {"+042"}));
  auto low = check(f, "max", {"0"});
  ASSERT_TRUE(low.has_value());
  EXPECT_EQ(low->condition, "not-acceptable");
  EXPECT_NE(low->text.find("minimum"), std::string::npos);
  auto high = check(f, "max", {"101"});
  ASSERT_TRUE(high.has_value());
  EXPECT_NE(high->text.find("maximum"), std::string::npos);
  EXPECT_TRUE(check(f, "max", {"100000000000000000000000000000"}));  // beyond any machine int
  EXPECT_TRUE(check(f, "max", {"-5"}));
  EXPECT_TRUE(check(f, "max", {"12.5"}));  // not an integer
  EXPECT_TRUE(check(f, "max", {"ten"}));
}

TEST(DataFormValidation, FixedSizeIntegerTypesHaveTheirBounds) {
  // §8.4.2 datatypes registry: xs:byte -128..127, xs:short, xs:int, xs:long.
  EXPECT_TRUE(valid_datatype("xs:byte", "-128"));
  EXPECT_TRUE(valid_datatype("xs:byte", "127"));
  EXPECT_FALSE(valid_datatype("xs:byte", "128"));
  EXPECT_FALSE(valid_datatype("xs:short", "32768"));
  EXPECT_TRUE(valid_datatype("xs:int", "-2147483648"));
  EXPECT_FALSE(valid_datatype("xs:int", "2147483648"));
  EXPECT_TRUE(valid_datatype("xs:long", "9223372036854775807"));
  EXPECT_FALSE(valid_datatype("xs:long", "9223372036854775808"));
  EXPECT_TRUE(valid_datatype("xs:integer", "-99999999999999999999999"));
  EXPECT_FALSE(valid_datatype("xs:integer", ""));
  EXPECT_FALSE(valid_datatype("xs:integer", "1e3"));
}

TEST(DataFormValidation, OtherBuiltInDatatypes) {
  EXPECT_TRUE(valid_datatype("xs:decimal", "-1.50"));
  EXPECT_TRUE(valid_datatype("xs:decimal", ".5"));
  EXPECT_FALSE(valid_datatype("xs:decimal", "."));
  EXPECT_FALSE(valid_datatype("xs:decimal", "1e3"));
  EXPECT_TRUE(valid_datatype("xs:double", "1e3"));
  EXPECT_TRUE(valid_datatype("xs:double", "-INF"));
  EXPECT_FALSE(valid_datatype("xs:double", "1e"));
  EXPECT_TRUE(valid_datatype("xs:boolean", "true"));
  EXPECT_FALSE(valid_datatype("xs:boolean", "yes"));
  EXPECT_TRUE(valid_datatype("xs:date", "2024-02-29"));
  EXPECT_FALSE(valid_datatype("xs:date", "2023-02-29"));
  EXPECT_TRUE(valid_datatype("xs:time", "23:59:59.5Z"));
  EXPECT_TRUE(valid_datatype("xs:time", "24:00:00"));
  EXPECT_FALSE(valid_datatype("xs:time", "24:00:01"));
  EXPECT_TRUE(valid_datatype("xs:language", "en-US"));
  EXPECT_FALSE(valid_datatype("xs:language", "english language"));
  EXPECT_TRUE(valid_datatype("xs:anyURI", "xmpp:romeo@montague.net?message"));
  EXPECT_FALSE(valid_datatype("xs:anyURI", "two words"));
  // §5.1: an unknown datatype is validated as xs:string.
  EXPECT_TRUE(valid_datatype("x:mytype", "whatever"));
}

TEST(DataFormValidation, DateRangeExample) {
  // XEP-0122 Example 4: a dateTime range.
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='form'>
    <field var='evt.date' type='text-single' label='Event Date/Time'>
      <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:dateTime'>
        <range min='2003-10-05T00:00:00-07:00' max='2003-10-24T23:59:59-07:00'/>
      </validate></field></x>)");
  EXPECT_EQ(f.field("evt.date")->validate->method, Validation::Method::kRange);
  EXPECT_FALSE(check(f, "evt.date", {"2003-10-06T11:22:00-07:00"}));
  EXPECT_TRUE(check(f, "evt.date", {"2003-10-25T11:22:00-07:00"}));
  EXPECT_TRUE(check(f, "evt.date", {"2003-10-04T11:22:00-07:00"}));
}

TEST(DataFormValidation, RegexExample) {
  // XEP-0122 Example 5: the whole value must match the POSIX extended expression.
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='form'>
    <field var='ssn' type='text-single' label='Social Security Number'>
      <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'>
        <regex>([0-9]{3})-([0-9]{2})-([0-9]{4})</regex>
      </validate></field></x>)");
  EXPECT_EQ(f.field("ssn")->validate->regex, "([0-9]{3})-([0-9]{2})-([0-9]{4})");
  EXPECT_FALSE(check(f, "ssn", {"123-12-1234"}));
  auto err = check(f, "ssn", {"123-12-12345"});
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->text.find("pattern"), std::string::npos);
  EXPECT_TRUE(check(f, "ssn", {"x123-12-1234"}));
}

TEST(DataFormValidation, OpenListAcceptsCustomValues) {
  // XEP-0122 Example 3: <open/> on a list-single lets the user enter a value of its own.
  const std::string open = R"(<x xmlns='jabber:x:data' type='form'>
    <field var='evt.category' type='list-single' label='Event Category'>
      <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'>
        <open/>
      </validate>
      <option><value>holiday</value></option>
      <option><value>reminder</value></option>
    </field></x>)";
  Form f = parsed(open);
  EXPECT_FALSE(check(f, "evt.category", {"holiday"}));
  EXPECT_FALSE(check(f, "evt.category", {"birthday"}));
  // Still a single value (XEP-0004 §3.3).
  EXPECT_TRUE(check(f, "evt.category", {"holiday", "reminder"}));
  // Without <open/> (basic) the options are closed.
  Form closed = f;
  closed.field("evt.category")->validate->method = Validation::Method::kBasic;
  EXPECT_TRUE(check(closed, "evt.category", {"birthday"}));
}

TEST(DataFormValidation, OpenListValuesStillNeedTheDatatype) {
  Form f;
  Field& fd = f.add("n", FieldType::kListSingle, "Number");
  fd.options = {{"", "25"}, {"", "50"}};
  fd.validate = Validation::range("xs:integer", "1", "1000");
  EXPECT_FALSE(check(f, "n", {"25"}));
  EXPECT_FALSE(check(f, "n", {"300"}));  // §3.2: range implies open
  EXPECT_TRUE(check(f, "n", {"5000"}));
  EXPECT_TRUE(check(f, "n", {"many"}));
}

TEST(DataFormValidation, ListRangeBoundsTheSelection) {
  // §3.3 <list-range/> on a list-multi.
  Form f = parsed(R"(<x xmlns='jabber:x:data' type='form'>
    <field var='m' type='list-multi' label='Notify me by'>
      <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'>
        <basic/><list-range min='1' max='2'/>
      </validate>
      <option><value>e-mail</value></option>
      <option><value>xmpp</value></option>
      <option><value>phone</value></option>
    </field></x>)");
  EXPECT_EQ(f.field("m")->validate->list_min, 1u);
  EXPECT_EQ(f.field("m")->validate->list_max, 2u);
  EXPECT_FALSE(check(f, "m", {"e-mail", "xmpp"}));
  EXPECT_TRUE(check(f, "m", {"e-mail", "xmpp", "phone"}));
}

TEST(DataFormValidation, MalformedValidationIsABadRequest) {
  // §3.2: at most one method.
  EXPECT_NE(parse_error(R"(<x xmlns='jabber:x:data' type='form'><field var='a'>
    <validate xmlns='http://jabber.org/protocol/xdata-validate'><basic/><open/></validate>
    </field></x>)").find("more than one"), std::string::npos);
  // §3.3: list-range bounds are positive integers.
  EXPECT_NE(parse_error(R"(<x xmlns='jabber:x:data' type='form'><field var='a' type='list-multi'>
    <validate xmlns='http://jabber.org/protocol/xdata-validate'><list-range min='0'/></validate>
    </field></x>)").find("positive"), std::string::npos);
}

TEST(DataFormValidation, RoundTripsThroughTheSerializer) {
  Form f;
  f.type = FormType::kForm;
  Field& a = f.add("a", FieldType::kTextSingle, "A");
  a.validate = Validation::range("xs:int", "-5", "5");
  Field& b = f.add("b", FieldType::kTextSingle, "B");
  b.validate = Validation{};
  b.validate->method = Validation::Method::kRegex;
  b.validate->regex = "[a-z]+";
  Field& c = f.add("c", FieldType::kListMulti, "C");
  c.options = {{"", "x"}, {"", "y"}};
  c.validate = Validation{};
  c.validate->method = Validation::Method::kOpen;
  c.validate->list_max = 1;
  xml::Element x = to_element(f);
  const xml::Element* v = x.elements()[0]->child("validate", kValidateNs);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->attr_or("datatype"), "xs:int");
  auto back = parse(x);
  ASSERT_TRUE(std::holds_alternative<Form>(back));
  EXPECT_EQ(std::get<Form>(back), f);
}

}  // namespace
}  // namespace starling::xmpp::dataform
