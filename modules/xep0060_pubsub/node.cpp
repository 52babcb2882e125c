// XEP-0060: enum wire names and Node helpers.
#include "modules/xep0060_pubsub/node.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace starling::pubsub {
namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, n] : table) {
    if (v == e) {
      return n;
    }
  }
  return {};
}

template <class E, std::size_t N>
std::optional<E> parse_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [v, n] : table) {
    if (n == s) {
      return v;
    }
  }
  return std::nullopt;
}

constexpr std::array<std::pair<Affiliation, std::string_view>, 6> kAffiliations{{
    {Affiliation::kOwner, "owner"},
    {Affiliation::kPublisher, "publisher"},
    {Affiliation::kPublishOnly, "publish-only"},
    {Affiliation::kMember, "member"},
    {Affiliation::kNone, "none"},
    {Affiliation::kOutcast, "outcast"},
}};
constexpr std::array<std::pair<AccessModel, std::string_view>, 5> kAccess{{
    {AccessModel::kOpen, "open"},
    {AccessModel::kPresence, "presence"},
    {AccessModel::kRoster, "roster"},
    {AccessModel::kAuthorize, "authorize"},
    {AccessModel::kWhitelist, "whitelist"},
}};
constexpr std::array<std::pair<PublishModel, std::string_view>, 3> kPublish{{
    {PublishModel::kPublishers, "publishers"},
    {PublishModel::kSubscribers, "subscribers"},
    {PublishModel::kOpen, "open"},
}};
constexpr std::array<std::pair<SendLast, std::string_view>, 3> kSendLast{{
    {SendLast::kNever, "never"},
    {SendLast::kOnSub, "on_sub"},
    {SendLast::kOnSubAndPresence, "on_sub_and_presence"},
}};
constexpr std::array<std::pair<NotificationType, std::string_view>, 2> kNotification{{
    {NotificationType::kHeadline, "headline"},
    {NotificationType::kNormal, "normal"},
}};
constexpr std::array<std::pair<ItemReply, std::string_view>, 2> kItemReply{{
    {ItemReply::kOwner, "owner"},
    {ItemReply::kPublisher, "publisher"},
}};
constexpr std::array<std::pair<SubState, std::string_view>, 3> kSubState{{
    {SubState::kPending, "pending"},
    {SubState::kUnconfigured, "unconfigured"},
    {SubState::kSubscribed, "subscribed"},
}};

}  // namespace

std::string_view to_string(Affiliation a) { return name_of(kAffiliations, a); }
std::string_view to_string(AccessModel a) { return name_of(kAccess, a); }
std::string_view to_string(PublishModel p) { return name_of(kPublish, p); }
std::string_view to_string(SendLast s) { return name_of(kSendLast, s); }
std::string_view to_string(NotificationType t) { return name_of(kNotification, t); }
std::string_view to_string(ItemReply r) { return name_of(kItemReply, r); }
std::string_view to_string(SubState s) { return name_of(kSubState, s); }
std::optional<Affiliation> parse_affiliation(std::string_view s) { return parse_of(kAffiliations, s); }
std::optional<AccessModel> parse_access_model(std::string_view s) { return parse_of(kAccess, s); }
std::optional<PublishModel> parse_publish_model(std::string_view s) { return parse_of(kPublish, s); }
std::optional<SendLast> parse_send_last(std::string_view s) { return parse_of(kSendLast, s); }
std::optional<NotificationType> parse_notification_type(std::string_view s) {
  return parse_of(kNotification, s);
}
std::optional<ItemReply> parse_itemreply(std::string_view s) { return parse_of(kItemReply, s); }
std::optional<SubState> parse_sub_state(std::string_view s) { return parse_of(kSubState, s); }

Affiliation Node::affiliation_of(const xmpp::Jid& who) const {
  auto it = affiliations.find(who.bare_str());
  return it == affiliations.end() ? Affiliation::kNone : it->second;
}

const Item* Node::find_item(std::string_view id) const {
  auto it = std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.id == id; });
  return it == items.end() ? nullptr : &*it;
}

std::vector<std::string> Node::owners() const {
  std::vector<std::string> out;
  for (const auto& [jid, a] : affiliations) {
    if (a == Affiliation::kOwner) {
      out.push_back(jid);
    }
  }
  return out;
}

}  // namespace starling::pubsub
