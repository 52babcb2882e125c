#include "modules/xep0077_register/register_query.hpp"

namespace starling::modules::registration {

namespace df = xmpp::dataform;
using xmpp::StanzaError;

namespace {
const std::string kNs(kRegisterNs);
}

std::variant<Request, StanzaError> parse_set(const xml::Element& query) {
  Request r;
  auto children = query.elements();
  if (query.child("remove", kRegisterNs) != nullptr) {
    // §3.2: <remove/> must be the only child of <query/>.
    if (children.size() != 1) {
      return StanzaError::bad_request("<remove/> must be the only child of <query/>");
    }
    r.remove = true;
    return r;
  }
  if (const xml::Element* x = query.child("x", df::kNs)) {
    // §6: the data form takes precedence over the legacy fields.
    auto parsed = df::parse(*x);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      return *err;
    }
    const df::Form& form = std::get<df::Form>(parsed);
    if (form.type != df::FormType::kSubmit) {
      return StanzaError::bad_request("the registration data form must be of type 'submit'");
    }
    const std::string form_type = form.form_type();
    if (form_type == kChangePasswordFormType) {
      if (const df::Field* f = form.field("old_password")) {
        r.old_password = f->value();
      }
    } else if (form_type != kFormType) {
      return StanzaError::bad_request("unknown FORM_TYPE '" + form_type + "'");
    } else if (auto err = df::validate(form, registration_form())) {
      return *err;
    }
    if (const df::Field* f = form.field("username")) {
      r.username = f->value();
    }
    if (const df::Field* f = form.field("password")) {
      r.password = f->value();
    }
    return r;
  }
  if (const xml::Element* u = query.child("username", kRegisterNs)) {
    r.username = u->text();
  }
  if (const xml::Element* p = query.child("password", kRegisterNs)) {
    r.password = p->text();
  }
  return r;
}

df::Form registration_form() {
  df::Form f;
  f.type = df::FormType::kForm;
  f.title = "Account Registration";
  f.instructions.push_back("Choose a username and password for use with this server.");
  f.add_form_type(std::string(kFormType));
  f.add("username", df::FieldType::kTextSingle, "Username", true);
  f.add("password", df::FieldType::kTextPrivate, "Password", true);
  return f;
}

xml::Element registration_fields() {
  xml::Element q("query", kNs);
  q.add_child("instructions", kNs)
      .add_text("Choose a username and password for use with this server.");
  q.add_child("username", kNs);
  q.add_child("password", kNs);
  q.add_child(df::to_element(registration_form()));
  return q;
}

xml::Element registered_query(std::string_view username) {
  xml::Element q("query", kNs);
  q.add_child("registered", kNs);
  q.add_child("instructions", kNs)
      .add_text(
          "You are registered. Send a new password to change it, or <remove/> to delete the "
          "account.");
  q.add_child("username", kNs).add_text(std::string(username));
  q.add_child("password", kNs);
  return q;
}

}  // namespace starling::modules::registration
