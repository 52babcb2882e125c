#pragma once
// XEP-0163 Personal Eventing Protocol: every local account's bare JID is a pubsub service whose
// nodes live on the account's partition shard (StanzaSink::shard_of), one NodeService per
// account, loaded from storage on first use. Registers everything itself (iq handlers for
// Target::kAccount, disco, the presence hooks for §4.3 notifications and last items, account
// removal, module::Pep for XEP-0411).
#include <memory>

#include "module/module.hpp"

namespace starling::pubsub {

class Pep {
 public:
  explicit Pep(module::ModuleContext& ctx);
  ~Pep();
  Pep(const Pep&) = delete;
  Pep& operator=(const Pep&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace starling::pubsub
