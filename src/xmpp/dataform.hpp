#pragma once
// XEP-0004 Data Forms (jabber:x:data): a value type for a form, its parser and serializer, and
// validation of a submission against the form that asked for it. Shared by every feature that
// gathers or reports structured data (in-band registration, MUC configuration, ad-hoc commands).
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

namespace starling::xmpp::dataform {

inline constexpr std::string_view kNs = "jabber:x:data";
// XEP-0122 Data Forms Validation.
inline constexpr std::string_view kValidateNs = "http://jabber.org/protocol/xdata-validate";

// XEP-0004 §3.1 form types.
enum class FormType { kForm, kSubmit, kCancel, kResult };
// XEP-0004 §3.3 field types.
enum class FieldType {
  kBoolean,
  kFixed,
  kHidden,
  kJidMulti,
  kJidSingle,
  kListMulti,
  kListSingle,
  kTextMulti,
  kTextPrivate,
  kTextSingle,
};

std::string_view to_string(FormType t);
std::string_view to_string(FieldType t);
std::optional<FormType> form_type_from(std::string_view s);
std::optional<FieldType> field_type_from(std::string_view s);
// XEP-0004 §3.3 boolean: "0"/"false" and "1"/"true" (xs:boolean lexical forms).
std::optional<bool> parse_bool(std::string_view s);

struct Option {
  std::string label;
  std::string value;
  bool operator==(const Option&) const = default;
};

// XEP-0122 <validate/>: a datatype and one validation method, plus an optional selection range
// for list-multi (§3.3).
struct Validation {
  enum class Method { kBasic, kOpen, kRange, kRegex };
  std::string datatype = "xs:string";  // §3.1 default
  Method method = Method::kBasic;      // §3.2: no method means basic
  std::optional<std::string> min, max;  // <range/>
  std::string regex;                    // <regex/>: a POSIX extended regular expression
  std::optional<std::size_t> list_min, list_max;  // <list-range/>
  bool operator==(const Validation&) const = default;

  static Validation range(std::string datatype, std::optional<std::string> min,
                          std::optional<std::string> max);
};

struct Field {
  std::string var;
  // Absent in submissions and results, where the type is inferred from context (§3.2).
  std::optional<FieldType> type;
  std::string label;
  std::string desc;
  bool required = false;
  std::vector<std::string> values;
  std::vector<Option> options;
  std::optional<Validation> validate;  // XEP-0122

  // §3.3: text-single is the default and what an unknown type is taken as.
  FieldType effective_type() const { return type.value_or(FieldType::kTextSingle); }
  // The first value, or "" when there is none.
  const std::string& value() const;
  bool operator==(const Field&) const = default;
};

struct Form {
  FormType type = FormType::kForm;
  std::string title;
  std::vector<std::string> instructions;
  std::vector<Field> fields;
  // §3.4 multiple items in results: the table header and its rows.
  std::vector<Field> reported;
  std::vector<std::vector<Field>> items;

  const Field* field(std::string_view var) const;
  Field* field(std::string_view var);
  // The value of the hidden FORM_TYPE field (XEP-0068), or "".
  std::string form_type() const;
  // Appends a field and returns it, for builders.
  Field& add(std::string var, FieldType type, std::string label = {}, bool required = false);
  // Appends the hidden FORM_TYPE field (XEP-0068 §2).
  void add_form_type(std::string value);
  bool operator==(const Form&) const = default;
};

// Parses an <x xmlns='jabber:x:data'/> element. On malformed input (an unknown form type, a
// non-fixed field without var, a duplicate var, an <option/> without exactly one <value/>,
// options on a non-list field, several values on a single-valued field, <required/> with
// content, <item/> before <reported/>) returns the bad-request error that explains it.
std::variant<Form, StanzaError> parse(const xml::Element& x);

// The <x/> element for `form`. A field's type attribute is written only when set.
xml::Element to_element(const Form& form);

// Checks the values of a submission (type "submit") against the form that asked for it (type
// "form"), which supplies each field's type, whether it is required and its options. Fields of
// the submission that the form does not have are ignored (§3.1). Returns the not-acceptable
// error naming the first invalid field (§3.3, §4 Data Validation), or nullopt when valid:
//  - a required field must have a non-empty value;
//  - boolean: one of 0, 1, false, true;
//  - jid-single, jid-multi: valid JIDs (RFC 7622);
//  - list-single, list-multi: only values among the form's options;
//  - single-valued types: at most one value;
//  - XEP-0122, where the form's field declares <validate/>: each value must be of the datatype
//    (xs:integer, xs:int, xs:long, xs:short, xs:byte, xs:decimal, xs:double, xs:boolean,
//    xs:date, xs:dateTime, xs:time, xs:language, xs:anyURI; any other datatype is taken as
//    xs:string, §5.1), within <range/> (numbers compared as numbers, dates and times as their
//    lexical form) and matching <regex/> (whole value, POSIX extended syntax); any method other
//    than basic lets list fields take values outside the options (§3.2); <list-range/> bounds
//    the number of values of a list-multi (§3.3).
std::optional<StanzaError> validate(const Form& submitted, const Form& form);

// XEP-0122 alone: whether `value` is of `datatype` (an unknown datatype accepts anything). For
// tests and for callers that check single values.
bool valid_datatype(std::string_view datatype, std::string_view value);

// Values of a jid-multi field with duplicates removed, compared after JID preparation (§3.3:
// "duplicate JIDs MUST be ignored"); invalid JIDs are dropped. Order of first appearance.
std::vector<std::string> unique_jids(const Field& field);

}  // namespace starling::xmpp::dataform
