// `warren group ...`: task groups from a JSON spec (see README, "Task groups").
#pragma once

#include <string>
#include <vector>

#include "warren/containerizer.hpp"

namespace warren::cli {

// Parses the documented JSON spec into a TaskGroup.
Result<v1::TaskGroup> parseGroupSpec(const std::string& json, const std::string& source);

int groupCommand(Containerizer& c, const std::vector<std::string>& args, bool json);

}  // namespace warren::cli
