// TEMPORARY stubs of the room_admin.cpp entry points (branch muc-admin implements them); this
// file goes away when that branch is merged. owner_iq accepts the §10.1.2 instant-room submit
// so that rooms can be unlocked meanwhile.
#include "modules/xep0045_muc/muc_ns.hpp"
#include "modules/xep0045_muc/room.hpp"
#include "xmpp/dataform.hpp"

namespace starling::muc {

void Room::admin_iq(const xml::Element& iq, const xml::Element&, const xmpp::Jid&) {
  reply_error(iq, xmpp::StanzaError::feature_not_implemented());
}

void Room::owner_iq(const xml::Element& iq, const xml::Element& query, const xmpp::Jid& from) {
  if (affiliation_of(from) != Affiliation::kOwner) {
    reply_error(iq, xmpp::StanzaError::forbidden());
    return;
  }
  const xml::Element* x = query.child("x", xmpp::dataform::kNs);
  if (iq.attr_or("type") == "set" && x != nullptr &&
      (x->attr_or("type") == "submit" || x->attr_or("type") == "cancel")) {
    unlock();
    reply(xmpp::make_iq_result(iq));
    return;
  }
  reply_error(iq, xmpp::StanzaError::feature_not_implemented());
}

void Room::register_iq(const xml::Element& iq, const xml::Element&, const xmpp::Jid&) {
  reply_error(iq, xmpp::StanzaError::feature_not_implemented());
}

void Room::set_affiliation(const std::string& real_bare, Affiliation a, const xmpp::Jid&,
                           const std::string&) {
  if (a == Affiliation::kNone) {
    affiliations_.erase(real_bare);
  } else {
    affiliations_[real_bare] = a;
  }
  host_.save(*this);
}

}  // namespace starling::muc
