#include "xmpp/stanza.hpp"

#include "xmpp/namespaces.hpp"

namespace starling::xmpp {

StanzaKind kind_of(const xml::Element& e) {
  if (e.xmlns() != ns::kClient && e.xmlns() != ns::kServer) {
    return StanzaKind::kOther;
  }
  if (e.name() == "message") {
    return StanzaKind::kMessage;
  }
  if (e.name() == "presence") {
    return StanzaKind::kPresence;
  }
  if (e.name() == "iq") {
    return StanzaKind::kIq;
  }
  return StanzaKind::kOther;
}

std::string_view to_string(ErrorType t) {
  switch (t) {
    case ErrorType::kAuth:
      return "auth";
    case ErrorType::kCancel:
      return "cancel";
    case ErrorType::kContinue:
      return "continue";
    case ErrorType::kModify:
      return "modify";
    case ErrorType::kWait:
      return "wait";
  }
  return "cancel";
}

xml::Element make_error_element(const StanzaError& err, std::string_view by) {
  xml::Element error("error", std::string(ns::kClient));
  error.set_attr("type", std::string(to_string(err.type)));
  if (!by.empty()) {
    error.set_attr("by", std::string(by));
  }
  error.add_child(err.condition, std::string(ns::kStanzas));
  if (!err.text.empty()) {
    auto& t = error.add_child("text", std::string(ns::kStanzas));
    t.set_attr("xml:lang", "en");
    t.add_text(err.text);
  }
  if (!err.app_condition.empty()) {
    auto& app = error.add_child(err.app_condition, err.app_ns);
    if (!err.app_feature.empty()) {
      app.set_attr("feature", err.app_feature);
    }
  }
  return error;
}

xml::Element make_error_reply(const xml::Element& original, const StanzaError& err) {
  xml::Element reply = original;
  std::string from(original.attr_or("from"));
  std::string to(original.attr_or("to"));
  reply.remove_attr("from");
  reply.remove_attr("to");
  if (!to.empty()) {
    reply.set_attr("from", to);
  }
  if (!from.empty()) {
    reply.set_attr("to", from);
  }
  reply.set_attr("type", "error");
  // Drop any earlier <error/> so the reply carries exactly one.
  auto& nodes = reply.nodes();
  std::erase_if(nodes, [](const xml::Element& n) {
    return !n.is_text() && n.name() == "error" &&
           (n.xmlns() == ns::kClient || n.xmlns() == ns::kServer);
  });
  if (err.payload) {
    nodes.clear();
    reply.add_child(*err.payload);
  }
  reply.add_child(make_error_element(err));
  return reply;
}

xml::Element make_iq_result(const xml::Element& request, const xml::Element* payload) {
  xml::Element reply("iq", std::string(ns::kClient));
  reply.set_attr("type", "result");
  if (auto* id = request.attr("id")) {
    reply.set_attr("id", *id);
  }
  if (auto* to = request.attr("to")) {
    reply.set_attr("from", *to);
  }
  if (auto* from = request.attr("from")) {
    reply.set_attr("to", *from);
  }
  if (payload != nullptr) {
    reply.add_child(*payload);
  }
  return reply;
}

xml::Element make_stream_error(std::string_view condition, std::string_view text) {
  xml::Element e("error", std::string(ns::kStream));
  e.add_child(std::string(condition), std::string(ns::kStreams));
  if (!text.empty()) {
    auto& t = e.add_child("text", std::string(ns::kStreams));
    t.set_attr("xml:lang", "en");
    t.add_text(std::string(text));
  }
  return e;
}

}  // namespace starling::xmpp
