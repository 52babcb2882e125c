#pragma once
// XEP-0079 rules: parsing and validation (§2.2.1, §4) and evaluation (§3.3), apart from the
// module so that they can be tested without a server.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "module/module.hpp"
#include "xml/element.hpp"

namespace starling::modules::amp {

inline constexpr std::string_view kNs = "http://jabber.org/protocol/amp";
inline constexpr std::string_view kErrorsNs = "http://jabber.org/protocol/amp#errors";
inline constexpr std::string_view kFeatureNs = "http://jabber.org/features/amp";

enum class Action { kAlert, kDrop, kError, kNotify };
enum class Condition { kDeliver, kExpireAt, kMatchResource };

inline constexpr std::string_view kActions[] = {"alert", "drop", "error", "notify"};
inline constexpr std::string_view kConditions[] = {"deliver", "expire-at", "match-resource"};

struct Rule {
  Action action;
  Condition condition;
  std::string value;
  std::int64_t expire_at = 0;  // kExpireAt: unix seconds
  xml::Element element;        // the <rule/> as sent, for replies
};

// The outcome of validating an <amp/> element (§3.1): the rules, or the rules at issue.
struct RuleSet {
  std::vector<Rule> rules;  // in document order
  bool per_hop = false;
  std::vector<xml::Element> unsupported_actions;     // §6: bad-request
  std::vector<xml::Element> unsupported_conditions;  // §6: bad-request
  std::vector<xml::Element> invalid;                 // malformed rule: bad-request
  std::string problem;  // an <amp/> that is wrong as a whole (no rules, 'status' from a client)
  bool ok() const {
    return unsupported_actions.empty() && unsupported_conditions.empty() && invalid.empty() &&
           problem.empty();
  }
};

RuleSet parse(const xml::Element& amp);

// XEP-0082 DateTime in UTC ("CCYY-MM-DDThh:mm:ss[.sss]Z"); nullopt otherwise.
std::optional<std::int64_t> parse_utc_datetime(std::string_view s);

// §3.3: the first rule whose condition is met, or nullptr. `intended_resource` is the resource
// of the message's 'to' ("" for a bare JID); `now` unix seconds. match-resource rules are
// ignored when the ruleset is per-hop (§3.4.3).
const Rule* first_met(const RuleSet& set, const module::MessageDelivery& delivery,
                      std::string_view intended_resource, std::int64_t now);

}  // namespace starling::modules::amp
