// `warren images ls|pull|prune`.
#pragma once

#include "flags.hpp"
#include "warren/containerizer.hpp"

namespace warren::cli {

int imagesCommand(Containerizer& c, const CommandSpec& spec, const po::variables_map& vm);

}  // namespace warren::cli
