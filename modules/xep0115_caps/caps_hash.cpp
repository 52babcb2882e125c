#include "modules/xep0115_caps/caps_hash.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <vector>

#include "base/random.hpp"
#include "xmpp/dataform.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules::caps {

namespace {

struct FormKey {
  std::string form_type;
  const xml::Element* form;
};

// The values of one field, in document order.
std::vector<std::string> values_of(const xml::Element& field) {
  std::vector<std::string> out;
  for (const auto* v : field.elements()) {
    if (v->name() == "value" && v->xmlns() == xmpp::dataform::kNs) {
      out.push_back(v->text());
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> verification_string(const xml::Element& query, std::string* why) {
  auto fail = [why](std::string w) -> std::optional<std::string> {
    if (why != nullptr) {
      *why = std::move(w);
    }
    return std::nullopt;
  };
  // §5.1 step 2: category/type/lang/name, sorted by category, type, lang ("i;octet").
  std::vector<std::array<std::string, 4>> identities;
  std::vector<std::string> features;
  std::vector<FormKey> forms;
  for (const auto* e : query.elements()) {
    if (e->xmlns() == ns::kDiscoInfo && e->name() == "identity") {
      identities.push_back({std::string(e->attr_or("category")), std::string(e->attr_or("type")),
                            std::string(e->attr_or("xml:lang")), std::string(e->attr_or("name"))});
    } else if (e->xmlns() == ns::kDiscoInfo && e->name() == "feature") {
      features.emplace_back(e->attr_or("var"));
    } else if (e->xmlns() == xmpp::dataform::kNs && e->name() == "x") {
      const xml::Element* form_type = nullptr;
      for (const auto* f : e->elements()) {
        if (f->name() == "field" && f->attr_or("var") == "FORM_TYPE") {
          form_type = f;
          break;
        }
      }
      if (form_type == nullptr || form_type->attr_or("type") != "hidden") {
        continue;  // §5.4 3.6: ignored, processing goes on
      }
      auto values = values_of(*form_type);
      if (values.empty()) {
        continue;
      }
      for (const auto& v : values) {
        if (v != values.front()) {
          return fail("a FORM_TYPE field has differing values");  // §5.4 3.5
        }
      }
      forms.push_back({values.front(), e});
    }
  }
  std::sort(identities.begin(), identities.end(), [](const auto& a, const auto& b) {
    return std::tie(a[0], a[1], a[2], a[3]) < std::tie(b[0], b[1], b[2], b[3]);
  });
  if (std::adjacent_find(identities.begin(), identities.end()) != identities.end()) {
    return fail("duplicate identity");  // §5.4 3.3
  }
  std::sort(features.begin(), features.end());
  if (std::adjacent_find(features.begin(), features.end()) != features.end()) {
    return fail("duplicate feature");  // §5.4 3.4
  }
  std::sort(forms.begin(), forms.end(),
            [](const FormKey& a, const FormKey& b) { return a.form_type < b.form_type; });
  if (std::adjacent_find(forms.begin(), forms.end(), [](const FormKey& a, const FormKey& b) {
        return a.form_type == b.form_type;
      }) != forms.end()) {
    return fail("two forms with the same FORM_TYPE");  // §5.4 3.5
  }
  std::string s;
  for (const auto& id : identities) {  // §5.1 step 3
    s += id[0] + '/' + id[1] + '/' + id[2] + '/' + id[3] + '<';
  }
  for (const auto& f : features) {  // step 5
    s += f + '<';
  }
  for (const auto& [form_type, form] : forms) {  // step 7
    s += form_type + '<';
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    for (const auto* f : form->elements()) {
      if (f->name() != "field" || f->attr_or("var") == "FORM_TYPE") {
        continue;
      }
      auto values = values_of(*f);
      std::sort(values.begin(), values.end());
      fields.emplace_back(std::string(f->attr_or("var")), std::move(values));
    }
    std::sort(fields.begin(), fields.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [var, values] : fields) {
      s += var + '<';
      for (const auto& v : values) {
        s += v + '<';
      }
    }
  }
  return s;
}

std::optional<std::string> hash_ver(std::string_view hash_name, std::string_view s) {
  // IANA Hash Function Textual Names; MD5 is deliberately not accepted for verification.
  static const std::map<std::string_view, const EVP_MD* (*)()> kHashes = {
      {"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
      {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
  };
  auto it = kHashes.find(hash_name);
  if (it == kHashes.end()) {
    return std::nullopt;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), digest, &len, it->second(), nullptr) != 1) {
    return std::nullopt;
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

module::EntityCaps caps_of(const xml::Element& query) {
  module::EntityCaps c;
  for (const auto* e : query.elements()) {
    if (e->xmlns() == ns::kDiscoInfo && e->name() == "identity") {
      c.identities.push_back({std::string(e->attr_or("category")), std::string(e->attr_or("type")),
                              std::string(e->attr_or("name"))});
    } else if (e->xmlns() == ns::kDiscoInfo && e->name() == "feature") {
      c.features.emplace_back(e->attr_or("var"));
    } else if (e->xmlns() == xmpp::dataform::kNs && e->name() == "x") {
      c.forms.push_back(*e);
    }
  }
  std::sort(c.features.begin(), c.features.end());
  return c;
}

}  // namespace starling::modules::caps
