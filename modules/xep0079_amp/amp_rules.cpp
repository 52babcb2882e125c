#include "modules/xep0079_amp/amp_rules.hpp"

#include <algorithm>

#include "xmpp/datetime.hpp"

namespace starling::modules::amp {

namespace {

template <class E, std::size_t N>
std::optional<E> lookup(const std::string_view (&names)[N], std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

bool valid_value(Condition c, std::string_view v) {
  switch (c) {
    case Condition::kDeliver:  // §3.4.1
      return v == "direct" || v == "forward" || v == "gateway" || v == "none" || v == "stored";
    case Condition::kMatchResource:  // §3.4.3
      return v == "any" || v == "exact" || v == "other";
    case Condition::kExpireAt:
      return parse_utc_datetime(v).has_value();  // §3.4.2
  }
  return false;
}

}  // namespace

std::optional<std::int64_t> parse_utc_datetime(std::string_view s) {
  // §3.4.2: "the timezone MUST be UTC", written 'Z' (XEP-0082 §3.2).
  if (s.empty() || s.back() != 'Z') {
    return std::nullopt;
  }
  return xmpp::parse_datetime(s);
}

RuleSet parse(const xml::Element& amp) {
  RuleSet set;
  std::string_view per_hop = amp.attr_or("per-hop", "false");
  set.per_hop = per_hop == "true" || per_hop == "1";
  if (per_hop != "true" && per_hop != "false" && per_hop != "1" && per_hop != "0") {
    set.problem = "per-hop must be true or false";  // §4.1
  }
  if (amp.attr("status") != nullptr) {
    set.problem = "status is set by servers only";  // §4.1: MUST NOT be present
  }
  for (const auto* e : amp.elements()) {
    if (e->name() != "rule" || e->xmlns() != kNs) {
      continue;
    }
    const std::string* action = e->attr("action");
    const std::string* condition = e->attr("condition");
    const std::string* value = e->attr("value");
    if (action == nullptr || condition == nullptr || value == nullptr || value->empty()) {
      set.invalid.push_back(*e);  // §4.2: all three MUST be present, value not empty
      continue;
    }
    auto a = lookup<Action>(kActions, *action);
    auto c = lookup<Condition>(kConditions, *condition);
    if (!a) {
      set.unsupported_actions.push_back(*e);
    }
    if (!c) {
      set.unsupported_conditions.push_back(*e);
    }
    if (!a || !c) {
      continue;
    }
    if (!valid_value(*c, *value)) {
      set.invalid.push_back(*e);
      continue;
    }
    Rule r{*a, *c, *value, 0, *e};
    if (*c == Condition::kExpireAt) {
      r.expire_at = *parse_utc_datetime(*value);
    }
    set.rules.push_back(std::move(r));
  }
  if (set.rules.empty() && set.ok()) {
    set.problem = "an <amp/> element needs at least one rule";  // §4.1
  }
  return set;
}

const Rule* first_met(const RuleSet& set, const module::MessageDelivery& d,
                      std::string_view intended, std::int64_t now) {
  using Kind = module::MessageDelivery::Kind;
  for (const Rule& r : set.rules) {
    bool met = false;
    switch (r.condition) {
      case Condition::kDeliver:
        // §3.4.1: what the server would do at the moment of receipt. Starling neither forwards
        // nor gateways, so "forward" and "gateway" are never met.
        met = (r.value == "direct" && d.kind == Kind::kDirect) ||
              (r.value == "stored" && d.kind == Kind::kStored) ||
              (r.value == "none" && d.kind == Kind::kNone);
        break;
      case Condition::kExpireAt:
        met = now >= r.expire_at;  // §3.4.2: on or after the datetime
        break;
      case Condition::kMatchResource: {
        if (set.per_hop) {
          continue;  // §3.4.3: this rule shall be ignored
        }
        bool has = std::find(d.resources.begin(), d.resources.end(), intended) != d.resources.end();
        bool others = std::any_of(d.resources.begin(), d.resources.end(),
                                  [&](const std::string& r2) { return r2 != intended; });
        if (r.value == "any") {
          met = d.kind != Kind::kNone;
        } else if (d.kind == Kind::kDirect) {
          // A bare 'to' is never delivered to a JID without a resource when delivered directly.
          met = r.value == "exact" ? !intended.empty() && has : intended.empty() || others;
        } else if (d.kind == Kind::kStored) {
          // Offline storage is a destination without a resource (§3.4.3).
          met = r.value == "exact" ? intended.empty() : !intended.empty();
        }
        break;
      }
    }
    if (met) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace starling::modules::amp
