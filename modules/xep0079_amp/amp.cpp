// XEP-0079 Advanced Message Processing, for messages between local accounts (Starling is the
// edge server of both ends; federation does not exist yet).
//
// The router hands a message carrying <amp xmlns='http://jabber.org/protocol/amp'/> to this
// module on the recipient's partition shard, with what delivery would do at that moment
// (direct to which resources, stored offline, or none). The module validates every rule (§2.2.1:
// unsupported actions and conditions, malformed rules), checks that the sender may learn what
// the rules would reveal (§9), then evaluates the rules in order (§2.2.3); the first whose
// condition is met acts (§3.5): drop, alert (reply, then drop), error (an error reply with
// <failed-rules/>, then drop) or notify (reply, then the default delivery). With no rule met the
// message is delivered as usual, its <amp/> carrying the original 'from' and 'to' (§4.1).
//
// A message stored offline keeps its <amp/> (with 'from' and 'to'); when it is delivered later only
// an expired "expire-at"/"drop" rule is applied again (§7), silently.
#include <chrono>

#include "module/module.hpp"
#include "modules/rfc6121_roster/roster_store.hpp"
#include "modules/rfc6121_roster/subscription.hpp"
#include "modules/xep0079_amp/amp_rules.hpp"
#include "storage/storage.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::modules {
namespace {

namespace asio = boost::asio;
using module::Target;
using xmpp::StanzaError;

class Amp final : public module::Module {
 public:
  std::string_view name() const override { return "xep0079_amp"; }
  std::vector<module::SpecInfo> specs() const override {
    return {
        {"XEP-0079", "1.2", "partial",
         "conditions deliver, expire-at, match-resource; actions drop, alert, error, notify; "
         "unsupported/invalid rules rejected with the §6 errors; alert/error/notify on "
         "deliver and match-resource only for senders allowed to see the recipient's "
         "presence (§9, otherwise not-acceptable); stream feature and disco nodes; between "
         "local accounts only (no federation); for offline messages delivered later only "
         "expired expire-at/drop rules apply again",
         "tests/e2e/test_amp.py, modules/xep0079_amp/amp_rules_test.cpp"}};
  }

  void start(module::ModuleContext& ctx) override {
    ctx_ = &ctx;
    std::string ns(amp::kNs);
    ctx.add_feature(Target::kServer, ns);                                       // §2.1.1
    ctx.add_stream_feature(xml::Element("amp", std::string(amp::kFeatureNs)));  // §8
    // §2.1.1: the node lists the supported actions and conditions; each has a node of its own.
    std::vector<std::string> features{ns};
    for (auto a : amp::kActions) {
      features.push_back(ns + "?action=" + std::string(a));
    }
    for (auto c : amp::kConditions) {
      features.push_back(ns + "?condition=" + std::string(c));
    }
    for (const auto& node : features) {
      module::DiscoInfo info{{{"server", "im", "Starling AMP support"}},
                             node == ns ? features : std::vector<std::string>{ns, node},
                             {}};
      ctx.on_disco_node(Target::kServer, node,
                        {[info](const module::Iq&) -> asio::awaitable<module::DiscoInfoResult> {
                           co_return info;
                         },
                         nullptr});
    }
    ctx.on_message_payload(
        ns, "amp",
        [this](xmpp::StanzaPtr s, xmpp::Jid to, xmpp::Jid from, module::MessageDelivery d) {
          return process(std::move(s), std::move(to), std::move(from), std::move(d));
        });
  }

 private:
  asio::awaitable<xmpp::StanzaPtr> process(xmpp::StanzaPtr stanza, xmpp::Jid to, xmpp::Jid from,
                                           module::MessageDelivery d) {
    const xml::Element& amp_el = *stanza->child("amp", amp::kNs);
    if (stanza->attr_or("type") == "error" || from.local().empty()) {
      // Never answer an error (RFC 6120 §8.3.1); a server's own AMP events (§2.2.5, with
      // 'status') are delivered as they are.
      co_return stanza;
    }
    if (stanza->attr_or("id").empty()) {
      // §1.3: the message MUST have a non-empty id, so that replies can be related to it.
      reply_error(*stanza, from, amp_el,
                  StanzaError::bad_request("Advanced Message Processing needs a message id"), {},
                  {});
      co_return nullptr;
    }
    if (amp_el.attr("from") != nullptr) {
      // Already processed by this server (§4.1: only servers set 'from'): an offline message
      // being delivered now. Its rules were applied on receipt; an expired "drop" still drops it
      // (§7), silently, so that nothing tells the sender when the recipient came online.
      amp::RuleSet stored = amp::parse(amp_el);
      using namespace std::chrono;
      std::int64_t now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
      for (const auto& r : stored.rules) {
        if (r.condition == amp::Condition::kExpireAt && r.action == amp::Action::kDrop &&
            now >= r.expire_at) {
          co_return nullptr;
        }
      }
      co_return stanza;
    }
    amp::RuleSet set = amp::parse(amp_el);
    if (!set.ok()) {
      // §2.2.1, §6: every rule at issue, in the element of its kind.
      if (!set.unsupported_actions.empty()) {
        reply_error(*stanza, from, amp_el, StanzaError::bad_request(), "unsupported-actions",
                    set.unsupported_actions);
      } else if (!set.unsupported_conditions.empty()) {
        reply_error(*stanza, from, amp_el, StanzaError::bad_request(), "unsupported-conditions",
                    set.unsupported_conditions);
      } else if (!set.invalid.empty()) {
        reply_error(*stanza, from, amp_el, StanzaError::bad_request("Malformed rule"),
                    "invalid-rules", set.invalid);
      } else {
        reply_error(*stanza, from, amp_el, StanzaError::bad_request(set.problem), "invalid-rules",
                    {});
      }
      co_return nullptr;
    }
    // §9 (recommended behaviour): a rule whose reply would tell an unauthorized sender whether
    // the recipient is online is not acceptable. "drop" sends nothing back; "expire-at" is
    // decided by the clock alone.
    std::vector<xml::Element> revealing;
    for (const auto& r : set.rules) {
      if (r.action != amp::Action::kDrop && r.condition != amp::Condition::kExpireAt) {
        revealing.push_back(r.element);
      }
    }
    if (!revealing.empty() && from.bare() != to.bare()) {
      auto op = sees_presence(from.bare(), to.bare());
      if (!co_await std::move(op)) {
        reply_error(*stanza, from, amp_el,
                    StanzaError{xmpp::ErrorType::kModify, "not-acceptable",
                                "Only contacts who see the recipient's presence may ask for this"},
                    "invalid-rules", revealing);
        co_return nullptr;
      }
    }
    using namespace std::chrono;
    std::int64_t now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    const amp::Rule* met = amp::first_met(set, d, to.resource(), now);
    if (met == nullptr) {
      co_return annotated(*stanza, from, to);  // the default behaviour
    }
    switch (met->action) {
      case amp::Action::kDrop:  // §3.5.2: silently, and never stored offline
        co_return nullptr;
      case amp::Action::kAlert:  // §3.5.1: a reply, then as "drop"
        ctx_->send(event(*stanza, from, to, "alert", *met));
        co_return nullptr;
      case amp::Action::kError: {  // §3.5.3
        xml::Element reply = event(*stanza, from, to, "error", *met);
        reply.set_attr("type", "error");
        xml::Element err =
            xmpp::make_error_element({xmpp::ErrorType::kModify, "undefined-condition", {}});
        err.add_child("failed-rules", std::string(amp::kErrorsNs)).add_child(met->element);
        reply.add_child(std::move(err));
        ctx_->send(std::move(reply));
        co_return nullptr;
      }
      case amp::Action::kNotify:  // §3.5.4: a reply, then the default behaviour
        ctx_->send(event(*stanza, from, to, "notify", *met));
        co_return annotated(*stanza, from, to);
    }
    co_return nullptr;
  }

  // §4.1: a message a supporting server sends on carries the original 'from' and 'to' in <amp/>.
  static xmpp::StanzaPtr annotated(const xml::Element& stanza, const xmpp::Jid& from,
                                   const xmpp::Jid& to) {
    auto copy = std::make_shared<xml::Element>(stanza);
    xml::Element* a = copy->child("amp", amp::kNs);
    a->set_attr("from", from.str());
    a->set_attr("to", to.str());
    return copy;
  }

  // §2.2.5: an event for the sender: the original id, the rule that was met, no body.
  static xml::Element event(const xml::Element& stanza, const xmpp::Jid& from, const xmpp::Jid& to,
                            std::string status, const amp::Rule& rule) {
    xml::Element m("message", std::string(ns::kClient));
    m.set_attr("from", from.domain());
    m.set_attr("to", from.str());
    m.set_attr("id", std::string(stanza.attr_or("id")));
    auto& a = m.add_child("amp", std::string(amp::kNs));
    a.set_attr("status", std::move(status));
    a.set_attr("from", from.str());
    a.set_attr("to", to.str());
    a.add_child(rule.element);
    return m;
  }

  // §6: an error from the server to the sender, with the original <amp/> and, in the error, the
  // rules at issue in <`what` xmlns='http://jabber.org/protocol/amp'/>.
  void reply_error(const xml::Element& stanza, const xmpp::Jid& from, const xml::Element& amp_el,
                   const StanzaError& error, std::string_view what,
                   const std::vector<xml::Element>& rules) {
    xml::Element m("message", std::string(ns::kClient));
    m.set_attr("from", from.domain());
    m.set_attr("to", from.str());
    if (const std::string* id = stanza.attr("id")) {
      m.set_attr("id", *id);
    }
    m.set_attr("type", "error");
    m.add_child(amp_el);
    xml::Element err = xmpp::make_error_element(error);
    if (!what.empty()) {
      auto& list = err.add_child(std::string(what), std::string(amp::kNs));
      for (const auto& r : rules) {
        list.add_child(r);
      }
    }
    m.add_child(std::move(err));
    ctx_->send(std::move(m));
  }

  // The recipient's roster gives the sender a subscription of "from" or "both" (RFC 6121).
  asio::awaitable<bool> sees_presence(xmpp::Jid sender, xmpp::Jid recipient) {
    std::string domain = recipient.domain(), local = recipient.local(), who = sender.str();
    auto op = ctx_->storage().run([domain, local, who](storage::Backend& b) {
      auto item = roster::get_item(b, domain, local, who);
      return item && roster::has_from(item->subscription);
    });
    co_return co_await std::move(op);
  }

  module::ModuleContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<module::Module> make_xep0079_amp() { return std::make_unique<Amp>(); }
}  // namespace starling::modules
