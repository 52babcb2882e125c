#include "modules/xep0160_offline/delay.hpp"

#include "xmpp/datetime.hpp"

namespace starling::modules::offline {

xml::Element make_delay(std::string_view from, std::chrono::system_clock::time_point t,
                        std::string_view reason) {
  xml::Element d("delay", std::string(kDelayNs));
  d.set_attr("from", std::string(from));
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t).time_since_epoch().count();
  d.set_attr("stamp", xmpp::format_datetime_ms(ms));
  if (!reason.empty()) {
    d.add_text(std::string(reason));
  }
  return d;
}

}  // namespace starling::modules::offline
