// The warren-init processes on this host, found in /proc. The core ends the
// inits of one container (destroy, recovery); warrend ends the inits whose
// runtime dir is gone (a launch that died before checkpointing its pid).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "warren/sdk/fd.hpp"

namespace warren::launcher {

struct RunningInit {
  pid_t pid = -1;
  UniqueFd pidfd;           // pinned before anything of the process is read
  std::string runtime_dir;  // what it holds on kRuntimeDirFd, " (deleted)" cut off
  bool dir_deleted = false; // the kernel says that dir was removed
};

// Calls `fn` for every warren-init (its command line is exactly "warren-init";
// nothing of the host is on it) other than this process.
void forEachInit(const std::function<void(RunningInit&)>& fn);

}  // namespace warren::launcher
