// `warren group launch|wait|kill|destroy`: task groups from a JSON spec.
#pragma once

#include <string>

#include "flags.hpp"
#include "warren/containerizer.hpp"

namespace warren::cli {

Result<v1::TaskGroup> parseGroupSpec(const std::string& text, const std::string& source);
int groupCommand(Containerizer& c, const CommandSpec& spec, const po::variables_map& vm);

}  // namespace warren::cli
