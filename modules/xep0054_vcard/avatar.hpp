#pragma once
// XEP-0153 vCard-based avatars: the photo hash of a vCard and the server's part of the user's
// presence (XEP-0398 §4).
#include <optional>
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace starling::modules::vcard {

inline constexpr std::string_view kVcardNs = "vcard-temp";
inline constexpr std::string_view kUpdateNs = "vcard-temp:x:update";

// What a vCard says about its avatar.
struct Photo {
  enum class Kind {
    kNone,      // no PHOTO, or a PHOTO with an empty BINVAL: no image (XEP-0153 §4.3)
    kHash,      // `hash` is the SHA-1 of the decoded BINVAL, lower-case hex (XEP-0153 §3.1)
    kExternal,  // only an EXTVAL (§4.5 says SHOULD NOT): the server cannot know the hash
    kInvalid,   // the BINVAL is not base64
  };
  Kind kind = Kind::kNone;
  std::string hash;
};

// The first <PHOTO/> of a vcard-temp <vCard/>. Whitespace in the BINVAL is ignored (§4.6 #5).
Photo photo_of(const xml::Element& vcard);

// Lower-case hex SHA-1 of `data`.
std::string sha1_hex(std::string_view data);

// The server's decoration of a client's available presence, given the avatar hash the server
// knows ("" = no image), following XEP-0398 §4 and XEP-0153 §4.1:
//  - an <x xmlns='vcard-temp:x:update'> with an empty <photo/> is left alone (the client says
//    it advertises no image);
//  - an <x/> whose <photo/> already holds the hash (in any case) is left alone;
//  - otherwise every update <x/> is replaced by one with the server's hash, or with an empty
//    <photo/> when there is no image; an empty <x/> (no <photo/>) is always overwritten;
//  - a presence without <x/> gets one only when there is an image to advertise.
// Returns nullopt when the presence stays as it is.
std::optional<xml::Element> decorate(const xml::Element& presence, std::string_view hash);

}  // namespace starling::modules::vcard
