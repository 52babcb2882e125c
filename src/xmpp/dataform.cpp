#include "xmpp/dataform.hpp"

#include <algorithm>
#include <array>
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
    if (c->xmlns() != kNs) {
      continue;  // foreign extensions (e.g. XEP-0122 validation) are not ours to judge
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
    if (!has_value) {
      if (spec.required) {
        return not_acceptable(spec, "a value is required");
      }
      continue;
    }
    if (!multi_valued(t) && got->values.size() > 1) {
      return not_acceptable(spec, "only one value is allowed");
    }
    for (const std::string& v : got->values) {
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
          // §3.3: the submitter MUST NOT insert new options.
          if (std::none_of(spec.options.begin(), spec.options.end(),
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
