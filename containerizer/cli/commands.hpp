#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "flags.hpp"

namespace warren::cli {

// Runs one subcommand; returns the process exit code.
int dispatch(const std::string& cmd, const std::vector<std::string>& args, GlobalFlags& g,
             std::shared_ptr<spdlog::logger> log);

}  // namespace warren::cli
