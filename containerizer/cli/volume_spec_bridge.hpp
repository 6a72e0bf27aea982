// --volume SPEC parsing for the CLI. The grammar belongs to the volumes
// isolator (isolators/volumes/README.md).
#pragma once

#include <string>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren::cli {

Result<v1::Volume> parseVolumeFlag(const std::string& spec);

}  // namespace warren::cli
