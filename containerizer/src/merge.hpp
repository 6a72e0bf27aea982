// Merging the LaunchInfo contributions of every isolator. Lists concatenate
// (in isolator order); a single-valued field or a map key set by two plugins
// is an error naming both.
#pragma once

#include <map>
#include <string>

#include "warren/sdk/result.hpp"
#include "warren/v1/launch.pb.h"

namespace warren::core {

class LaunchInfoMerger {
 public:
  // Add `part`, contributed by `who` (a plugin short name, or "warren").
  Result<void> add(const std::string& who, const v1::LaunchInfo& part);
  const v1::LaunchInfo& merged() const { return merged_; }
  v1::LaunchInfo& merged() { return merged_; }

 private:
  Result<void> claim(const std::string& field, const std::string& who);
  v1::LaunchInfo merged_;
  std::map<std::string, std::string> owners_;  // field -> plugin
};

}  // namespace warren::core
