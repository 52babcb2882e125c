#pragma once
// Stanza helpers: kinds, stanza errors (RFC 6120 §8.3) and stream errors (RFC 6120 §4.9).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace starling::xmpp {

// A routed stanza is immutable (STYLE.md): share it, copy to modify.
using StanzaPtr = std::shared_ptr<const xml::Element>;

enum class StanzaKind { kMessage, kPresence, kIq, kOther };
StanzaKind kind_of(const xml::Element& e);

// RFC 6120 §8.3.2 error types.
enum class ErrorType { kAuth, kCancel, kContinue, kModify, kWait };
std::string_view to_string(ErrorType t);

struct StanzaError {
  ErrorType type = ErrorType::kCancel;
  std::string condition;  // "service-unavailable", "bad-request", ...
  std::string text;       // optional human-readable text (English)
  // RFC 6120 §8.3.4 application-specific condition (e.g. XEP-0050 <bad-action/>): an empty
  // element named app_condition in the namespace app_ns, written after the text.
  std::string app_condition = {};
  std::string app_ns = {};
  // A 'feature' attribute on that element (XEP-0060 §7-§8: <unsupported feature='...'/>).
  std::string app_feature = {};
  // What the error reply carries instead of the request's payload (RFC 6120 §8.3.1 makes
  // echoing it optional; XEP-0060 §8.8.2.4 / §8.9.2.4 answer a batch modification with only
  // the entries that failed). nullopt: the request's payload, as make_error_reply does.
  std::optional<xml::Element> payload = {};

  static StanzaError bad_request(std::string text = {}) {
    return {ErrorType::kModify, "bad-request", std::move(text)};
  }
  static StanzaError service_unavailable() {
    return {ErrorType::kCancel, "service-unavailable", {}};
  }
  static StanzaError item_not_found() { return {ErrorType::kCancel, "item-not-found", {}}; }
  static StanzaError feature_not_implemented() {
    return {ErrorType::kCancel, "feature-not-implemented", {}};
  }
  static StanzaError jid_malformed() { return {ErrorType::kModify, "jid-malformed", {}}; }
  static StanzaError forbidden() { return {ErrorType::kAuth, "forbidden", {}}; }
  static StanzaError not_allowed() { return {ErrorType::kCancel, "not-allowed", {}}; }
  static StanzaError remote_server_not_found() {
    return {ErrorType::kCancel, "remote-server-not-found", {}};
  }
  static StanzaError internal_server_error() {
    return {ErrorType::kCancel, "internal-server-error", {}};
  }
  static StanzaError conflict() { return {ErrorType::kCancel, "conflict", {}}; }
  static StanzaError resource_constraint() { return {ErrorType::kWait, "resource-constraint", {}}; }
};

// The <error/> child for `err`, with `by` set when given.
xml::Element make_error_element(const StanzaError& err, std::string_view by = {});
// The error reply to `original` (RFC 6120 §8.3.1): to/from swapped, type='error', the original
// payload kept (or replaced by err.payload), the <error/> appended. Must not be called for
// stanzas of type 'error'.
xml::Element make_error_reply(const xml::Element& original, const StanzaError& err);
// An iq result to `request` with an optional payload.
xml::Element make_iq_result(const xml::Element& request, const xml::Element* payload = nullptr);

// A stream error (RFC 6120 §4.9.3) as an element in the streams namespace.
xml::Element make_stream_error(std::string_view condition, std::string_view text = {});

}  // namespace starling::xmpp
