// Helpers for the launcher tests: a LaunchRequest with sane defaults, output
// capture, and waiting for a warren-init to exit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/exit_status.hpp"
#include "launcher/launcher.hpp"
#include "test_env.hpp"

namespace warren::testing {

v1::Namespace makeNs(v1::Namespace::Type t, v1::Namespace::Action a, const std::string& path = "");
std::string nsPath(pid_t pid, const char* type);

// One container's request: own runtime dir, stdout/stderr to files.
struct Box {
  Box(TestEnv& env, const std::string& name);
  ~Box();
  // Top-level defaults: CREATE mnt/uts/ipc/pid (+ net), a fresh busybox rootfs.
  void topLevel(bool rootfs = true, bool net = false);
  std::string out() const;
  std::string err() const;

  launcher::LaunchRequest req;
  launcher::Launched launched;
  std::string dir;
  int out_fd = -1, err_fd = -1;
};

// Poll the pidfd until init exits (reaping it when it is our child) and read
// its exit_status; nullopt on timeout or when none was written.
std::optional<launcher::ExitStatus> waitDone(Box& b, int timeout_ms = 20000);
bool alive(const launcher::Launched& l);
// Number of entries on the NSpid line of /proc/<pid>/status.
int nsLevels(pid_t pid);

}  // namespace warren::testing
