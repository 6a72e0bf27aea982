// The CLI's flags: global ones (also from WARREN_<NAME> and --config) and
// parsing helpers for sizes, signals and IDs.
#pragma once

#include <string>
#include <vector>

#include "warren/containerizer.hpp"
#include "warren/sdk/result.hpp"

namespace warren::cli {

struct GlobalFlags {
  Options options;
  std::string log_level = "warn";
  bool json = false;
};

// Parses the global flags in front of the subcommand; returns the index of
// the subcommand in argv (or argc when none).
Result<int> parseGlobal(int argc, char** argv, GlobalFlags& out);
std::string globalHelp();

Result<uint64_t> parseSize(const std::string& flag, const std::string& text);
Result<double> parseCpus(const std::string& text);
Result<uint64_t> parsePositive(const std::string& flag, const std::string& text);
Result<int> parseSignal(const std::string& text);

}  // namespace warren::cli
