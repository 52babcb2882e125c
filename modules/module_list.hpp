#pragma once
#include <memory>
#include <vector>

#include "module/module.hpp"

namespace starling::modules {
// Every module compiled in, in the order of modules/CMakeLists.txt.
std::vector<std::unique_ptr<module::Module>> create_all();
}  // namespace starling::modules
