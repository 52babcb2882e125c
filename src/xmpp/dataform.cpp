#include "xmpp/dataform.hpp"

#include <regex.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <cstdlib>
#include <utility>

#include "xmpp/jid.hpp"

namespace starling::xmpp::dataform {

namespace {

constexpr std::array<std::pair<FormType, std::string_view>, 4> kFormTypes{{
    {FormType::kForm, "form"},
    {FormType::kSubmit, "submit"},
    {FormType::kCancel, "cancel"},
    {FormType::kResult, "result"},
}};

constexpr std::array<std::pair<FieldType, std::string_view>, 10> kFieldTypes{{
    {FieldType::kBoolean, "boolean"},
    {FieldType::kFixed, "fixed"},
    {FieldType::kHidden, "hidden"},
    {FieldType::kJidMulti, "jid-multi"},
    {FieldType::kJidSingle, "jid-single"},
    {FieldType::kListMulti, "list-multi"},
    {FieldType::kListSingle, "list-single"},
    {FieldType::kTextMulti, "text-multi"},
    {FieldType::kTextPrivate, "text-private"},
    {FieldType::kTextSingle, "text-single"},
}};

// §3.2: only list-multi, jid-multi, text-multi and hidden may carry several values.
bool multi_valued(FieldType t) {
  return t == FieldType::kListMulti || t == FieldType::kJidMulti || t == FieldType::kTextMulti ||
         t == FieldType::kHidden;
}

bool is_list(FieldType t) { return t == FieldType::kListMulti || t == FieldType::kListSingle; }

StanzaError bad(std::string text) { return StanzaError::bad_request(std::move(text)); }

StanzaError not_acceptable(const Field& f, std::string what) {
  return {ErrorType::kModify, "not-acceptable", "Field '" + f.var + "': " + std::move(what)};
}

// ---- XEP-0122 -----------------------------------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// xs:integer lexical form: an optional sign and at least one digit.
bool lexical_integer(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    s.remove_prefix(1);
  }
  return all_digits(s);
}

// xs:decimal: optional sign, digits with an optional fraction (".5" and "5." are allowed).
bool lexical_decimal(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    s.remove_prefix(1);
  }
  auto dot = s.find('.');
  if (dot == std::string_view::npos) {
    return all_digits(s);
  }
  std::string_view whole = s.substr(0, dot), frac = s.substr(dot + 1);
  if (whole.empty() && frac.empty()) {
    return false;
  }
  return (whole.empty() || all_digits(whole)) && (frac.empty() || all_digits(frac));
}

// xs:double: a decimal with an optional exponent, or INF, -INF, +INF, NaN.
bool lexical_double(std::string_view s) {
  if (s == "INF" || s == "-INF" || s == "+INF" || s == "NaN") {
    return true;
  }
  auto e = s.find_first_of("eE");
  if (e == std::string_view::npos) {
    return lexical_decimal(s);
  }
  return lexical_decimal(s.substr(0, e)) && lexical_integer(s.substr(e + 1));
}

// Bounds of the fixed-size integer types (XML Schema Part 2 §3.3.16-19).
std::optional<std::pair<long long, long long>> integer_bounds(std::string_view datatype) {
  if (datatype == "xs:long") {
    return std::pair{std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max()};
  }
  if (datatype == "xs:int") {
    return std::pair{-2147483648LL, 2147483647LL};
  }
  if (datatype == "xs:short") {
    return std::pair{-32768LL, 32767LL};
  }
  if (datatype == "xs:byte") {
    return std::pair{-128LL, 127LL};
  }
  return std::nullopt;
}

bool is_integer_type(std::string_view datatype) {
  return datatype == "xs:integer" || integer_bounds(datatype).has_value();
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Reads exactly `n` digits at `pos` into `out`.
bool digits_at(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size() || !all_digits(s.substr(pos, n))) {
    return false;
  }
  out = to_int(s.substr(pos, n));
  return true;
}

// A time zone: "Z" or "+hh:mm" / "-hh:mm" with hh <= 14 (XML Schema Part 2 §3.2.7.3).
bool lexical_zone(std::string_view z) {
  if (z == "Z") {
    return true;
  }
  int h = 0, m = 0;
  return z.size() == 6 && (z[0] == '+' || z[0] == '-') && digits_at(z, 1, 2, h) && z[3] == ':' &&
         digits_at(z, 4, 2, m) && h <= 14 && m <= 59;
}

// xs:date "[-]YYYY-MM-DD" (the year may have more digits), then an optional time zone.
bool lexical_date(std::string_view s, bool zone_allowed = true) {
  std::size_t i = 0;
  if (!s.empty() && s[0] == '-') {
    i = 1;
  }
  std::size_t year_end = i;
  while (year_end < s.size() && is_digit(s[year_end])) {
    ++year_end;
  }
  if (year_end - i < 4) {
    return false;
  }
  int year = to_int(s.substr(i, std::min<std::size_t>(year_end - i, 9)));
  int month = 0, day = 0;
  if (year_end + 6 > s.size() || s[year_end] != '-' || !digits_at(s, year_end + 1, 2, month) ||
      s[year_end + 3] != '-' || !digits_at(s, year_end + 4, 2, day)) {
    return false;
  }
  std::string_view zone = s.substr(year_end + 6);
  if (!zone.empty() && (!zone_allowed || !lexical_zone(zone))) {
    return false;
  }
  return month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

// xs:time "hh:mm:ss[.fff]" then an optional time zone; 24:00:00 is the end of the day.
bool lexical_time(std::string_view s) {
  int h = 0, min = 0, sec = 0;
  if (!digits_at(s, 0, 2, h) || s.size() < 8 || s[2] != ':' || !digits_at(s, 3, 2, min) ||
      s[5] != ':' || !digits_at(s, 6, 2, sec)) {
    return false;
  }
  std::size_t i = 8;
  bool fraction_zero = true;
  if (i < s.size() && s[i] == '.') {
    std::size_t j = i + 1;
    while (j < s.size() && is_digit(s[j])) {
      fraction_zero = fraction_zero && s[j] == '0';
      ++j;
    }
    if (j == i + 1) {
      return false;
    }
    i = j;
  }
  std::string_view zone = s.substr(i);
  if (!zone.empty() && !lexical_zone(zone)) {
    return false;
  }
  if (h == 24) {
    return min == 0 && sec == 0 && fraction_zero;
  }
  return h <= 23 && min <= 59 && sec <= 59;
}

bool lexical_date_time(std::string_view s) {
  auto t = s.find('T');
  return t != std::string_view::npos && lexical_date(s.substr(0, t), false) &&
         lexical_time(s.substr(t + 1));
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// xs:language (RFC 3066 shape): 1-8 letters, then "-" and 1-8 letters or digits, repeated.
bool lexical_language(std::string_view s) {
  bool first = true;
  while (true) {
    auto dash = s.find('-');
    std::string_view part = s.substr(0, dash);
    if (part.empty() || part.size() > 8 ||
        !std::all_of(part.begin(), part.end(),
                     [first](char c) { return is_alpha(c) || (!first && is_digit(c)); })) {
      return false;
    }
    if (dash == std::string_view::npos) {
      return true;
    }
    s.remove_prefix(dash + 1);
    first = false;
  }
}

// XEP-0122 §3.2.4: the whole value matches the POSIX extended regular expression. nullopt when
// the pattern does not compile.
std::optional<bool> regex_matches(const std::string& pattern, const std::string& value) {
  regex_t re;
  if (regcomp(&re, ("^(" + pattern + ")$").c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
    return std::nullopt;
  }
  bool match = regexec(&re, value.c_str(), 0, nullptr, 0) == 0;
  regfree(&re);
  return match;
}

// xs:anyURI is lax (XML Schema Part 2 §3.2.17); we refuse only what no URI reference contains.
bool lexical_any_uri(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == '"';
  });
}

// Compares two integers in lexical form of any size: <0, 0, >0.
int compare_integers(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      neg = s.front() == '-';
      s.remove_prefix(1);
    }
    while (s.size() > 1 && s.front() == '0') {
      s.remove_prefix(1);
    }
    if (s == "0") {
      neg = false;
    }
    return std::pair{neg, s};
  };
  auto [na, da] = split(a);
  auto [nb, db] = split(b);
  if (na != nb) {
    return na ? -1 : 1;
  }
  int mag = da.size() != db.size() ? (da.size() < db.size() ? -1 : 1) : da.compare(db);
  mag = mag < 0 ? -1 : (mag > 0 ? 1 : 0);
  return na ? -mag : mag;
}

// Compares two values of `datatype` for <range/>; nullopt when the datatype has no order we
// know (§6.6: range MUST NOT be used with xs:string) or a value does not parse.
std::optional<int> compare_values(std::string_view datatype, std::string_view a,
                                  std::string_view b) {
  if (!valid_datatype(datatype, a) || !valid_datatype(datatype, b)) {
    return std::nullopt;
  }
  if (is_integer_type(datatype)) {
    return compare_integers(a, b);
  }
  if (datatype == "xs:decimal" || datatype == "xs:double") {
    double x = std::strtod(std::string(a).c_str(), nullptr);
    double y = std::strtod(std::string(b).c_str(), nullptr);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (datatype == "xs:date" || datatype == "xs:dateTime" || datatype == "xs:time") {
    int c = a.compare(b);  // lexical order: exact for values written in the same time zone
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

std::optional<std::size_t> positive(std::string_view s) {
  std::size_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0) {
    return std::nullopt;
  }
  return v;
}

// Parses a <validate xmlns='http://jabber.org/protocol/xdata-validate'/> (XEP-0122 §3, §8).
std::variant<Validation, StanzaError> parse_validation(const xml::Element& e,
                                                       const std::string& var) {
  Validation v;
  if (const std::string* dt = e.attr("datatype"); dt != nullptr && !dt->empty()) {
    v.datatype = *dt;
  }
  bool have_method = false;
  for (const xml::Element* c : e.elements()) {
    if (c->xmlns() != kValidateNs) {
      continue;
    }
    if (c->name() == "list-range") {
      for (const char* a : {"min", "max"}) {
        if (const std::string* s = c->attr(a)) {
          auto n = positive(*s);
          if (!n) {
            return bad("<list-range/> " + std::string(a) + " of field '" + var +
                       "' must be a positive integer");  // §3.3
          }
          (std::string_view(a) == "min" ? v.list_min : v.list_max) = *n;
        }
      }
      continue;
    }
    std::optional<Validation::Method> m;
    if (c->name() == "basic") {
      m = Validation::Method::kBasic;
    } else if (c->name() == "open") {
      m = Validation::Method::kOpen;
    } else if (c->name() == "range") {
      m = Validation::Method::kRange;
      if (const std::string* s = c->attr("min")) {
        v.min = *s;
      }
      if (const std::string* s = c->attr("max")) {
        v.max = *s;
      }
    } else if (c->name() == "regex") {
      // §3.2.4: character data only.
      if (!c->elements().empty()) {
        return bad("<regex/> of field '" + var + "' must contain character data only");
      }
      m = Validation::Method::kRegex;
      v.regex = c->text();
    }
    if (!m) {
      continue;  // §5.1: an unknown method is validated as basic
    }
    if (have_method) {
      return bad("<validate/> of field '" + var + "' has more than one validation method");
    }
    have_method = true;
    v.method = *m;
  }
  return v;
}

void write_validation(xml::Element& field, const Validation& v) {
  const std::string ns(kValidateNs);
  auto& e = field.add_child("validate", ns);
  e.set_attr("datatype", v.datatype);
  switch (v.method) {
    case Validation::Method::kBasic:
      e.add_child("basic", ns);
      break;
    case Validation::Method::kOpen:
      e.add_child("open", ns);
      break;
    case Validation::Method::kRange: {
      auto& r = e.add_child("range", ns);
      if (v.min) {
        r.set_attr("min", *v.min);
      }
      if (v.max) {
        r.set_attr("max", *v.max);
      }
      break;
    }
    case Validation::Method::kRegex:
      e.add_child("regex", ns).add_text(v.regex);
      break;
  }
  if (v.list_min || v.list_max) {
    auto& lr = e.add_child("list-range", ns);
    if (v.list_min) {
      lr.set_attr("min", std::to_string(*v.list_min));
    }
    if (v.list_max) {
      lr.set_attr("max", std::to_string(*v.list_max));
    }
  }
}

// Checks one value against the field's XEP-0122 rules.
std::optional<StanzaError> check_validation(const Field& spec, const Validation& v,
                                            const std::string& value) {
  if (!valid_datatype(v.datatype, value)) {
    return not_acceptable(spec, "'" + value + "' is not a valid " + v.datatype);
  }
  if (v.method == Validation::Method::kRange) {
    if (v.min) {
      auto c = compare_values(v.datatype, value, *v.min);
      if (c && *c < 0) {
        return not_acceptable(spec, "'" + value + "' is less than the minimum " + *v.min);
      }
    }
    if (v.max) {
      auto c = compare_values(v.datatype, value, *v.max);
      if (c && *c > 0) {
        return not_acceptable(spec, "'" + value + "' is greater than the maximum " + *v.max);
      }
    }
  }
  if (v.method == Validation::Method::kRegex && !v.regex.empty()) {
    // The pattern is the form's own (never the submitter's); one that does not compile does not
    // constrain the value.
    if (regex_matches(v.regex, value) == false) {
      return not_acceptable(spec, "'" + value + "' does not match the pattern " + v.regex);
    }
  }
  return std::nullopt;
}

// Parses one <field/> (§3.2).
std::variant<Field, StanzaError> parse_field(const xml::Element& e) {
  Field f;
  f.var = std::string(e.attr_or("var"));
  f.label = std::string(e.attr_or("label"));
  if (const std::string* t = e.attr("type")) {
    // §3.3: a type we do not understand is taken as text-single.
    f.type = field_type_from(*t).value_or(FieldType::kTextSingle);
  }
  for (const xml::Element* c : e.elements()) {
    if (c->xmlns() == kValidateNs && c->name() == "validate") {
      auto v = parse_validation(*c, f.var);
      if (auto* err = std::get_if<StanzaError>(&v)) {
        return *err;
      }
      f.validate = std::get<Validation>(std::move(v));
      continue;
    }
    if (c->xmlns() != kNs) {
      continue;  // other foreign extensions are not ours to judge
    }
    if (c->name() == "value") {
      f.values.push_back(c->text());
    } else if (c->name() == "required") {
      // §3.2: <required/> MUST be empty.
      if (!c->nodes().empty()) {
        return bad("<required/> of field '" + f.var + "' must be empty");
      }
      f.required = true;
    } else if (c->name() == "desc") {
      f.desc = c->text();
    } else if (c->name() == "option") {
      // §3.2: exactly one <value/> per option.
      std::vector<const xml::Element*> vals;
      for (const xml::Element* v : c->elements()) {
        if (v->name() == "value" && v->xmlns() == kNs) {
          vals.push_back(v);
        }
      }
      if (vals.size() != 1) {
        return bad("an <option/> of field '" + f.var + "' must contain exactly one <value/>");
      }
      f.options.push_back({std::string(c->attr_or("label")), vals.front()->text()});
    }
  }
  const FieldType t = f.effective_type();
  // §3.2: only fixed fields may lack a var.
  if (f.var.empty() && t != FieldType::kFixed) {
    return bad("a field of type '" + std::string(to_string(t)) + "' needs a 'var' attribute");
  }
  if (!f.options.empty() && f.type && !is_list(*f.type)) {
    return bad("field '" + f.var + "' of type '" + std::string(to_string(t)) +
               "' must not have options");
  }
  if (f.type && !multi_valued(*f.type) && f.values.size() > 1) {
    return bad("field '" + f.var + "' of type '" + std::string(to_string(t)) +
               "' must not have more than one value");
  }
  return f;
}

// Parses the <field/> children of `parent` into `out`; vars must be unique (§3.2).
std::optional<StanzaError> parse_fields(const xml::Element& parent, std::vector<Field>& out) {
  for (const xml::Element* c : parent.elements()) {
    if (c->name() != "field" || c->xmlns() != kNs) {
      continue;
    }
    auto parsed = parse_field(*c);
    if (auto* err = std::get_if<StanzaError>(&parsed)) {
      return *err;
    }
    Field f = std::get<Field>(std::move(parsed));
    if (!f.var.empty() &&
        std::any_of(out.begin(), out.end(), [&](const Field& o) { return o.var == f.var; })) {
      return bad("field var '" + f.var + "' appears twice");
    }
    out.push_back(std::move(f));
  }
  return std::nullopt;
}

void write_field(xml::Element& parent, const Field& f) {
  const std::string ns(kNs);
  auto& e = parent.add_child("field", ns);
  if (f.type) {
    e.set_attr("type", std::string(to_string(*f.type)));
  }
  if (!f.label.empty()) {
    e.set_attr("label", f.label);
  }
  if (!f.var.empty()) {
    e.set_attr("var", f.var);
  }
  if (!f.desc.empty()) {
    e.add_child("desc", ns).add_text(f.desc);
  }
  if (f.required) {
    e.add_child("required", ns);
  }
  for (const auto& v : f.values) {
    e.add_child("value", ns).add_text(v);
  }
  for (const auto& o : f.options) {
    auto& oe = e.add_child("option", ns);
    if (!o.label.empty()) {
      oe.set_attr("label", o.label);
    }
    oe.add_child("value", ns).add_text(o.value);
  }
  if (f.validate) {
    write_validation(e, *f.validate);
  }
}

}  // namespace

std::string_view to_string(FormType t) {
  for (const auto& [k, v] : kFormTypes) {
    if (k == t) {
      return v;
    }
  }
  return "form";
}

std::string_view to_string(FieldType t) {
  for (const auto& [k, v] : kFieldTypes) {
    if (k == t) {
      return v;
    }
  }
  return "text-single";
}

std::optional<FormType> form_type_from(std::string_view s) {
  for (const auto& [k, v] : kFormTypes) {
    if (v == s) {
      return k;
    }
  }
  return std::nullopt;
}

std::optional<FieldType> field_type_from(std::string_view s) {
  for (const auto& [k, v] : kFieldTypes) {
    if (v == s) {
      return k;
    }
  }
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "1" || s == "true") {
    return true;
  }
  if (s == "0" || s == "false") {
    return false;
  }
  return std::nullopt;
}

const std::string& Field::value() const {
  static const std::string kEmpty;
  return values.empty() ? kEmpty : values.front();
}

const Field* Form::field(std::string_view var) const {
  for (const auto& f : fields) {
    if (f.var == var) {
      return &f;
    }
  }
  return nullptr;
}

Field* Form::field(std::string_view var) {
  return const_cast<Field*>(std::as_const(*this).field(var));
}

std::string Form::form_type() const {
  const Field* f = field("FORM_TYPE");
  return f != nullptr ? f->value() : std::string();
}

Field& Form::add(std::string var, FieldType type, std::string label, bool required) {
  Field f;
  f.var = std::move(var);
  f.type = type;
  f.label = std::move(label);
  f.required = required;
  fields.push_back(std::move(f));
  return fields.back();
}

void Form::add_form_type(std::string value) {
  add("FORM_TYPE", FieldType::kHidden).values.push_back(std::move(value));
}

std::variant<Form, StanzaError> parse(const xml::Element& x) {
  if (x.name() != "x" || x.xmlns() != kNs) {
    return bad("expected <x xmlns='jabber:x:data'/>");
  }
  Form form;
  auto type = form_type_from(x.attr_or("type"));
  if (!type) {
    return bad("data form type must be form, submit, cancel or result");
  }
  form.type = *type;
  bool seen_reported = false;
  for (const xml::Element* c : x.elements()) {
    if (c->xmlns() != kNs) {
      continue;
    }
    if (c->name() == "title") {
      form.title = c->text();
    } else if (c->name() == "instructions") {
      form.instructions.push_back(c->text());  // §3: several are allowed
    } else if (c->name() == "reported") {
      // §3.4: one and only one <reported/>, before any <item/>.
      if (seen_reported) {
        return bad("a data form has at most one <reported/>");
      }
      if (!form.items.empty()) {
        return bad("<reported/> must come before the <item/> elements");
      }
      seen_reported = true;
      if (auto err = parse_fields(*c, form.reported)) {
        return *err;
      }
    } else if (c->name() == "item") {
      std::vector<Field> row;
      if (auto err = parse_fields(*c, row)) {
        return *err;
      }
      form.items.push_back(std::move(row));
    }
  }
  if (auto err = parse_fields(x, form.fields)) {
    return *err;
  }
  return form;
}

xml::Element to_element(const Form& form) {
  const std::string ns(kNs);
  xml::Element x("x", ns);
  x.set_attr("type", std::string(to_string(form.type)));
  if (!form.title.empty()) {
    x.add_child("title", ns).add_text(form.title);
  }
  for (const auto& i : form.instructions) {
    x.add_child("instructions", ns).add_text(i);
  }
  if (!form.reported.empty() || !form.items.empty()) {
    auto& r = x.add_child("reported", ns);
    for (const auto& f : form.reported) {
      write_field(r, f);
    }
    for (const auto& row : form.items) {
      auto& item = x.add_child("item", ns);
      for (const auto& f : row) {
        write_field(item, f);
      }
    }
  }
  for (const auto& f : form.fields) {
    write_field(x, f);
  }
  return x;
}

std::optional<StanzaError> validate(const Form& submitted, const Form& form) {
  for (const Field& spec : form.fields) {
    const FieldType t = spec.effective_type();
    if (t == FieldType::kFixed || spec.var.empty()) {
      continue;
    }
    const Field* got = submitted.field(spec.var);
    const bool has_value =
        got != nullptr && std::any_of(got->values.begin(), got->values.end(),
                                      [](const std::string& v) { return !v.empty(); });
    const Validation* xv = spec.validate ? &*spec.validate : nullptr;
    if (xv != nullptr && t == FieldType::kListMulti) {
      // XEP-0122 §3.3: the number of selected values.
      std::size_t n = has_value ? got->values.size() : 0;
      if (xv->list_min && n < *xv->list_min && (has_value || spec.required)) {
        return not_acceptable(spec, "select at least " + std::to_string(*xv->list_min));
      }
      if (xv->list_max && n > *xv->list_max) {
        return not_acceptable(spec, "select at most " + std::to_string(*xv->list_max));
      }
    }
    if (!has_value) {
      if (spec.required) {
        return not_acceptable(spec, "a value is required");
      }
      continue;
    }
    if (!multi_valued(t) && got->values.size() > 1) {
      return not_acceptable(spec, "only one value is allowed");
    }
    // XEP-0122 §3.2: any method but basic opens a list field to values outside its options.
    const bool open_list = xv != nullptr && xv->method != Validation::Method::kBasic;
    for (const std::string& v : got->values) {
      if (xv != nullptr) {
        if (auto err = check_validation(spec, *xv, v)) {
          return err;
        }
      }
      switch (t) {
        case FieldType::kBoolean:
          if (!parse_bool(v)) {
            return not_acceptable(spec, "expected a boolean (0, 1, false or true)");
          }
          break;
        case FieldType::kJidSingle:
        case FieldType::kJidMulti:
          if (!Jid::parse(v)) {
            return not_acceptable(spec, "'" + v + "' is not a valid JID");
          }
          break;
        case FieldType::kListSingle:
        case FieldType::kListMulti:
          // §3.3: the submitter MUST NOT insert new options (unless XEP-0122 opens the list).
          if (!open_list && std::none_of(spec.options.begin(), spec.options.end(),
                           [&](const Option& o) { return o.value == v; })) {
            return not_acceptable(spec, "'" + v + "' is not one of the options");
          }
          break;
        case FieldType::kFixed:
        case FieldType::kHidden:
        case FieldType::kTextMulti:
        case FieldType::kTextPrivate:
        case FieldType::kTextSingle:
          break;
      }
    }
  }
  return std::nullopt;
}

bool valid_datatype(std::string_view datatype, std::string_view value) {
  if (auto bounds = integer_bounds(datatype)) {
    if (!lexical_integer(value)) {
      return false;
    }
    std::string_view digits = value.front() == '+' ? value.substr(1) : value;
    long long n = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return r.ec == std::errc() && n >= bounds->first && n <= bounds->second;
  }
  if (datatype == "xs:integer") {
    return lexical_integer(value);
  }
  if (datatype == "xs:decimal") {
    return lexical_decimal(value);
  }
  if (datatype == "xs:double") {
    return lexical_double(value);
  }
  if (datatype == "xs:boolean") {
    return parse_bool(value).has_value();
  }
  if (datatype == "xs:date") {
    return lexical_date(value);
  }
  if (datatype == "xs:dateTime") {
    return lexical_date_time(value);
  }
  if (datatype == "xs:time") {
    return lexical_time(value);
  }
  if (datatype == "xs:language") {
    return lexical_language(value);
  }
  if (datatype == "xs:anyURI") {
    return lexical_any_uri(value);
  }
  return true;  // xs:string and datatypes we do not know (§5.1: validated as xs:string)
}

Validation Validation::range(std::string datatype, std::optional<std::string> min,
                             std::optional<std::string> max) {
  Validation v;
  v.datatype = std::move(datatype);
  v.method = Method::kRange;
  v.min = std::move(min);
  v.max = std::move(max);
  return v;
}

std::vector<std::string> unique_jids(const Field& field) {
  std::vector<std::string> out;
  for (const std::string& v : field.values) {
    auto j = Jid::parse(v);
    if (!j) {
      continue;
    }
    std::string s = j->str();
    if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace starling::xmpp::dataform
