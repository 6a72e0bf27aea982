// Orders isolators so each follows the ones it depends on, keeping the
// operator's order wherever dependencies allow it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::plugins {

struct DependencyNode {
  std::string name;
  std::vector<std::string> dependencies;
};

// Indexes into `nodes` in dependency order. Errors:
//   "isolator 'a' depends on 'b', which is not in --isolation"
//   "isolators form a dependency cycle: a -> b -> a"
Result<std::vector<size_t>> dependencyOrder(const std::vector<DependencyNode>& nodes);

}  // namespace warren::plugins
