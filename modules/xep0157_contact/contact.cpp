// XEP-0157 Contact Addresses for XMPP Services: the addresses of the [contact] configuration,
// published in the server's disco#info as the XEP-0128 form "http://jabber.org/network/serverinfo"
// (§3), one "<role>-addresses" field per configured role. The form is part of the server's
// XEP-0115 'ver'.
#include "module/module.hpp"
#include "server/config/config.hpp"
#include "xmpp/dataform.hpp"

namespace starling::modules {
namespace {

class Contact final : public module::Module {
 public:
  std::string_view name() const override { return "xep0157_contact"; }
  std::vector<module::SpecInfo> specs() const override {
    return {{"XEP-0157", "1.1.1", "complete",
             "abuse, admin, feedback, sales, security, status and support addresses from "
             "[contact], in the server's disco#info",
             "tests/e2e/test_disco.py"}};
  }
  void start(module::ModuleContext& ctx) override {
    const auto& contact = ctx.config().contact;
    if (contact.empty()) {
      return;
    }
    std::string x(xmpp::dataform::kNs);
    xml::Element form("x", x);
    form.set_attr("type", "result");
    auto& ft = form.add_child("field", x);
    ft.set_attr("var", "FORM_TYPE");
    ft.set_attr("type", "hidden");
    ft.add_child("value", x).add_text("http://jabber.org/network/serverinfo");
    for (const auto& [role, uris] : contact) {
      auto& f = form.add_child("field", x);
      f.set_attr("var", role + "-addresses");
      f.set_attr("type", "list-multi");
      for (const auto& uri : uris) {
        f.add_child("value", x).add_text(uri);
      }
    }
    ctx.add_disco_form(module::Target::kServer, std::move(form));
  }
};

}  // namespace

std::unique_ptr<module::Module> make_xep0157_contact() { return std::make_unique<Contact>(); }
}  // namespace starling::modules
