// Plugin-declared operator flags (PluginInfo.flags, read through each
// plugin's static describe()): discovered before the command line is parsed
// and registered like warren's own flags - on the command line under the
// declared name and its aliases, as WARREN_<NAME> and in --config. The CLI
// knows no plugin's flags; it hands the values to every plugin
// (Options.plugin_flags, keyed by the declared name).
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "warren/containerizer.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::cli {

struct PluginFlag {
  std::string plugin;  // short name of the declaring plugin
  v1::FlagSpec spec;
};

// Scans `dirs` (reads descriptors; creates no instance, writes nothing) and
// remembers every declared flag; a flag name declared twice is kept once,
// the second declaration reported in pluginFlagErrors().
// `cache`: the descriptor cache (as the Containerizer uses it), so that
// unchanged plugin files are not even opened; empty: read every file.
void discoverPluginFlags(const std::vector<std::string>& dirs, const std::string& cache);
const std::vector<PluginFlag>& pluginFlags();
const std::vector<std::string>& pluginFlagErrors();

// One section per plugin for the parser (values are strings; lists repeat).
boost::program_options::options_description pluginFlagDescription();

// Checks each set value against its declared type and fills plugin_flags.
Result<void> applyPluginFlags(const boost::program_options::variables_map& vm, Options& o);

// Where plugins are when --plugin_dir is not given: the build tree's, then
// the install's (relative to this binary).
std::vector<std::string> defaultPluginDirs();

}  // namespace warren::cli
