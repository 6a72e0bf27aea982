// warren-oci's command line: runc's, as go-runc (containerd's shim), conmon
// and Podman pass it. Flags take `--name value`, `--name=value` and the
// single-dash forms Go's flag packages accept (`-bundle x`). An unknown
// flag is an error naming it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::oci {

struct Global {
  std::string root = "/run/warren-oci";
  std::string log;                 // --log FILE
  std::string log_format = "text"; // text | json
  bool systemd_cgroup = false;
  bool debug = false;
  bool version = false;
  bool help = false;
};

struct Command {
  std::string name;
  std::map<std::string, std::string> flags;  // canonical long name -> value ("true" for switches)
  std::vector<std::string> args;             // positionals
  bool has(const std::string& f) const { return flags.count(f) > 0; }
  std::string get(const std::string& f, const std::string& def = "") const {
    auto it = flags.find(f);
    return it == flags.end() ? def : it->second;
  }
};

// Parses `argv` into the global flags and one command (name empty when
// only --version/--help was asked for).
Result<void> parseArgs(int argc, char** argv, Global& g, Command& cmd);

std::string usage();

}  // namespace warren::oci
