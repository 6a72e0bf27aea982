// Fork/exec one command and time it from fork to reap (CLOCK_MONOTONIC).
#pragma once

#include <string>
#include <vector>

namespace bench {

struct Run {
  int status = -1;        // exit code; 128+N when killed by signal N; -1: not started
  double ms = 0;          // fork -> reaped
  long maxrss_kb = 0;     // peak RSS of the child tree (wait4 rusage)
  std::string out;        // stdout, when captured
  std::string err;        // first bytes of stderr
  bool ok() const { return status == 0; }
};

struct SpawnOpts {
  int mntns_fd = -1;        // setns() into this mount namespace before exec
  bool capture_out = false; // else stdout goes to /dev/null
  int timeout_s = 60;
};

Run spawn(const std::vector<std::string>& argv, const SpawnOpts& o = {});

// A mount namespace where /sys/fs/cgroup/unified is gone: this machine's
// crun refuses the hybrid layout otherwise. Returns an fd (or -1 and a message).
int makeCrunMountNs(std::string& why);

// "a b c" for messages.
std::string join(const std::vector<std::string>& argv);

}  // namespace bench
