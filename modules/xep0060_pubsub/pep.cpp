// XEP-0163 PEP. (Stub: pubsub-pep replaces it.)
#include "modules/xep0060_pubsub/pep.hpp"

namespace starling::pubsub {

struct Pep::Impl {};
Pep::Pep(module::ModuleContext&) : impl_(std::make_unique<Impl>()) {}
Pep::~Pep() = default;

}  // namespace starling::pubsub
