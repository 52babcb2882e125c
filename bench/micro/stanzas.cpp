#include "stanzas.hpp"

namespace starling::microbench {

std::string chat_message() {
  return "<message to='juliet@example.com' type='chat' id='a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'>"
         "<body>Good morrow, sweet Juliet! Wilt thou meet me at the orchard wall when the moon "
         "is up tonight?</body>"
         "<active xmlns='http://jabber.org/protocol/chatstates'/>"
         "<request xmlns='urn:xmpp:receipts'/>"
         "<origin-id xmlns='urn:xmpp:sid:0' id='a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'/>"
         "</message>";
}

std::string caps_presence() {
  return "<presence id='p-7f3a9c'><show>away</show><status>In a meeting until 3 pm</status>"
         "<priority>5</priority>"
         "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
         "node='http://conversations.im' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
         "</presence>";
}

std::string roster_result(int items) {
  std::string s =
      "<iq type='result' id='roster-1' to='romeo@example.com/orchard'>"
      "<query xmlns='jabber:iq:roster' ver='ver-1234567'>";
  for (int i = 0; i < items; ++i) {
    const std::string n = std::to_string(i);
    s += "<item jid='contact" + n + "@example.net' name='Contact " + n +
         "' subscription='both'><group>Friends</group></item>";
  }
  s += "</query></iq>";
  return s;
}

}  // namespace starling::microbench
