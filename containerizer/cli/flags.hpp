// The CLI's argument parser: Boost.Program_options, one description for the
// global flags and one per subcommand, prefix guessing disabled everywhere.
// Global flags are also read from WARREN_<NAME> and from --config FILE
// (command line first, then environment, then file).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "logging.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/result.hpp"

namespace warren::cli {

namespace po = boost::program_options;

// The default --isolation of warren and warrend (libwarren has none: an
// embedding agent names its isolators in Options::isolation).
inline const std::string kDefaultIsolation = "filesystem/linux,pid,network,volumes,cgroups,seccomp";

struct GlobalFlags {
  Options options;
  LogSettings log;
  std::string log_level = "warn";  // = log.level (warrend reads this one)
  bool json = false;
  bool help = false;
  bool version = false;
  std::string daemon = "auto";  // --daemon: auto, always, never (the CLI only)
  std::string api_socket;       // --api_socket: warrend's (default <runtime_dir>/warrend.sock)
  bool cgroups_root_given = false;  // --cgroups_root set, not its default (warrend --delegated_cgroup)
};

// One subcommand: its name (words: "group launch"), synopsis, summary, and
// its options; the positional arguments are named in `positional`
// (a trailing "..." takes the rest).
struct CommandSpec {
  std::string name;
  std::string synopsis;
  std::string summary;
  po::options_description (*options)();
  std::vector<std::string> positional;
};

const std::vector<CommandSpec>& commands();
const CommandSpec* findCommand(const std::string& name);

// Global flags, parsed strictly (no prefixes, unknown refused, values
// checked); `sub` receives the index of the subcommand in argv (argc when
// none).
Result<void> parseGlobal(int argc, char** argv, GlobalFlags& out, int& sub);
// The same, returning the subcommand's index (warrend's flags use it).
Result<int> parseGlobal(int argc, char** argv, GlobalFlags& out);
std::string globalHelp();  // the global and plugin flags' help
po::options_description globalDescription();  // core + plugin flags
po::options_description coreDescription();    // warren's own

// A subcommand's arguments, parsed strictly into `vm`; -h/--help and --json
// are accepted by every one.
Result<void> parseCommand(const CommandSpec& spec, const std::vector<std::string>& args,
                          po::variables_map& vm);

std::string usageText();                       // `warren --help`
std::string commandHelp(const CommandSpec& c);  // `warren CMD --help`
std::string versionText();
std::string versionNumber();  // "0.1.0"

// Splits repeated list values on commas (and ':' when `colons`).
std::vector<std::string> splitList(const std::vector<std::string>& values, bool colons = false);

Result<uint64_t> parseSize(const std::string& flag, const std::string& text);
Result<double> parseCpus(const std::string& text);
// "1500ms", "90s", "5m", "2h" (a unit is required) -> milliseconds, at least 1.
Result<uint64_t> parseDurationMs(const std::string& flag, const std::string& text);
Result<uint64_t> parsePositive(const std::string& flag, const std::string& text);
Result<int> parseSignal(const std::string& text);

}  // namespace warren::cli
