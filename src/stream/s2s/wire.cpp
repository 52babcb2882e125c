#include "stream/s2s/wire.hpp"

#include "xml/writer.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::stream::s2s {

namespace {
void attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "='";
  xml::escape_attr(value, out);
  out += '\'';
}
}  // namespace

std::string stream_header(std::string_view from, std::string_view to, std::string_view id) {
  std::string h =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'";
  if (!id.empty()) {
    attr(h, "id", id);
  }
  if (!from.empty()) {
    attr(h, "from", from);
  }
  if (!to.empty()) {
    attr(h, "to", to);
  }
  h += " version='1.0' xml:lang='en'>";
  return h;
}

xml::Element dialback_feature() {
  xml::Element f("dialback", std::string(kDialbackFeatureNs));
  f.add_child("errors", std::string(kDialbackFeatureNs));
  return f;
}

std::string dialback_element(std::string_view name, std::string_view from, std::string_view to,
                             std::string_view type, std::string_view id, std::string_view text,
                             std::string_view error_condition, std::string_view error_type) {
  std::string out = "<db:";
  out += name;
  attr(out, "from", from);
  attr(out, "to", to);
  if (!type.empty()) {
    attr(out, "type", type);
  }
  if (!id.empty()) {
    attr(out, "id", id);
  }
  if (text.empty() && error_condition.empty()) {
    out += "/>";
    return out;
  }
  out += '>';
  xml::escape_text(text, out);
  if (!error_condition.empty()) {
    // The <error/> is in jabber:server, the stream's default namespace.
    out += "<error";
    attr(out, "type", error_type);
    out += "><";
    out += error_condition;
    out += " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
  }
  out += "</db:";
  out += name;
  out += '>';
  return out;
}

}  // namespace starling::stream::s2s
