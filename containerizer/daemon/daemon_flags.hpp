// warrend's flags: every flag of `warren` (parsed by the CLI's own parser,
// containerizer/cli/flags.cpp) plus the daemon's own, which are taken out of
// argv first. The daemon's flags are also settable as WARREN_<NAME>.
#pragma once

#include <chrono>
#include <string>

#include "cli/flags.hpp"
#include "warren/sdk/result.hpp"

namespace warren::daemon {

struct DaemonFlags {
  cli::GlobalFlags global;
  std::string api_socket;             // default <runtime_dir>/warrend.sock
  uint64_t max_body_bytes = 4 << 20;  // larger bodies get 413 before they are read
  int max_connections = 1024;         // more get 503 at once
  std::chrono::milliseconds header_timeout{10000};  // a request's header (and idle keep-alive)
  std::chrono::milliseconds body_timeout{30000};    // a request's body
  std::string log_format = "text";    // text or json
  int worker_threads = 4;             // finishing terminated containers
  bool delegated_cgroup = false;      // run in <own cgroup>/supervisor, containers below it (delegation.hpp)
};

Result<DaemonFlags> parseDaemonFlags(int argc, char** argv);
std::string daemonHelp();

}  // namespace warren::daemon
