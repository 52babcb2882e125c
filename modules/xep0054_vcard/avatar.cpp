#include "modules/xep0054_vcard/avatar.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "base/random.hpp"

namespace starling::modules::vcard {

std::string sha1_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

Photo photo_of(const xml::Element& vcard) {
  Photo p;
  const xml::Element* photo = vcard.child("PHOTO", kVcardNs);
  if (photo == nullptr) {
    return p;
  }
  const xml::Element* binval = photo->child("BINVAL", kVcardNs);
  if (binval == nullptr) {
    if (photo->child("EXTVAL", kVcardNs) != nullptr) {
      p.kind = Photo::Kind::kExternal;
    }
    return p;
  }
  std::string b64 = binval->text();
  std::erase_if(b64, [](unsigned char c) { return std::isspace(c) != 0; });
  if (b64.empty()) {
    return p;  // §4.3: an empty BINVAL means no image
  }
  std::string image;
  if (!base64_decode(b64, image)) {
    p.kind = Photo::Kind::kInvalid;
    return p;
  }
  p.kind = Photo::Kind::kHash;
  p.hash = sha1_hex(image);
  return p;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::optional<xml::Element> decorate(const xml::Element& presence, std::string_view hash) {
  if (presence.name() != "presence" || !presence.attr_or("type").empty()) {
    return std::nullopt;  // only available presence carries the hash
  }
  const xml::Element* x = presence.child("x", kUpdateNs);
  if (x != nullptr) {
    if (const xml::Element* photo = x->child("photo", kUpdateNs)) {
      std::string h = trimmed(photo->text());
      if (h.empty() || iequals(h, hash)) {
        return std::nullopt;  // XEP-0398 §4: an empty photo is not touched; or already right
      }
    }
  } else if (hash.empty()) {
    return std::nullopt;  // nothing to advertise
  }
  xml::Element out = presence;
  std::erase_if(out.nodes(), [](const xml::Element& n) {
    return !n.is_text() && n.name() == "x" && n.xmlns() == kUpdateNs;
  });
  xml::Element& nx = out.add_child("x", std::string(kUpdateNs));
  xml::Element& photo = nx.add_child("photo", std::string(kUpdateNs));
  if (!hash.empty()) {
    photo.add_text(std::string(hash));
  }
  return out;
}

}  // namespace starling::modules::vcard
