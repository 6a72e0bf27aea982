// warren-init processes left by a launch that died between spawning its
// init and checkpointing the pid (e.g. warrend SIGKILLed mid-launch): recovery
// removes such a launch's runtime dir, and its init - blocked, waiting to be
// released - would wait forever. warrend ends them after recovering.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace warren::daemon {

// Kills (SIGKILL) every warren-init whose runtime dir, given on its command
// line and under runtime_dir/containers, no longer exists. Returns their pids.
std::vector<pid_t> killOrphanInits(const std::string& runtime_dir, spdlog::logger& log);

}  // namespace warren::daemon
