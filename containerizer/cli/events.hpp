// `warren events`: warrend's lifecycle event stream (SUBSCRIBE), one line or
// one JSON object per event, until SIGINT/SIGTERM or warrend goes away.
#pragma once

#include <string>

#include "flags.hpp"

namespace warren::cli {

int eventsCommand(const std::string& socket, const po::variables_map& vm);

}  // namespace warren::cli
