#pragma once
// XEP-0077 payloads: the <query xmlns='jabber:iq:register'/> a client sends, parsed into a
// request, and the queries the server answers with.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "xml/element.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/stanza.hpp"

namespace starling::modules::registration {

inline constexpr std::string_view kRegisterNs = "jabber:iq:register";
inline constexpr std::string_view kFeatureNs = "http://jabber.org/features/iq-register";
// XEP-0077 §10.4 FORM_TYPEs.
inline constexpr std::string_view kFormType = "jabber:iq:register";
inline constexpr std::string_view kChangePasswordFormType = "jabber:iq:register:changepassword";

// What an iq set asks for.
struct Request {
  bool remove = false;                  // §3.2 <remove/>
  std::optional<std::string> username;  // as sent (not prepared)
  std::optional<std::string> password;
  std::optional<std::string> old_password;  // only from a changepassword form
};

// Parses an iq set's query. Errors: bad-request when <remove/> is not the only child (§3.2) or
// the data form is malformed, not a submission, or of another FORM_TYPE; not-acceptable when a
// submitted form lacks a required field (XEP-0004 §4 validation against registration_form()).
// Per §6 the data form, when present, takes precedence over the legacy fields.
std::variant<Request, xmpp::StanzaError> parse_set(const xml::Element& query);

// The data form for account creation (§3.1, §6): FORM_TYPE, username, password.
xmpp::dataform::Form registration_form();

// The answer to an iq get before login (§3.1 and §6: legacy fields plus the data form).
xml::Element registration_fields();

// The answer to an iq get from a logged-in account (§3.1: <registered/> and what is on file;
// the password is never returned, as the XEP allows).
xml::Element registered_query(std::string_view username);

}  // namespace starling::modules::registration
