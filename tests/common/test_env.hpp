// Shared test helpers: per-process scratch dirs and cgroups root, the paths of
// built binaries and plugins, a static busybox rootfs, and running commands.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace warren::testing {

// "warren-test-<pid>": every kernel object a test makes carries it.
std::string tag();

bool isRoot();

#define WARREN_REQUIRE_ROOT()                                              \
  do {                                                                     \
    if (!::warren::testing::isRoot()) GTEST_SKIP() << "skipped: needs root"; \
  } while (0)

struct TestEnv {
  TestEnv();
  ~TestEnv();
  TestEnv(const TestEnv&) = delete;
  TestEnv& operator=(const TestEnv&) = delete;

  std::string root;          // /tmp/<tag>/<n>
  std::string work_dir;      // root/work
  std::string runtime_dir;   // root/run
  std::string cgroups_root;  // /<tag>
  std::string plugin_dir;    // the build tree's plugins
  std::string init_path;     // the build tree's warren-init
  std::string warren_bin;    // the build tree's warren CLI

  // A directory holding static busybox and a symlink per applet; built once
  // per process and shared (read-only use).
  static const std::string& busyboxRootfs();
  // A fresh writable copy of the busybox rootfs under root.
  std::string makeRootfs(const std::string& name = "rootfs");
};

struct CmdResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Run argv (no shell), capture stdout/stderr, kill after `timeout`.
CmdResult runCmd(const std::vector<std::string>& argv,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60),
                 const std::vector<std::string>& extra_env = {});

// The runtime dir a warren-init process holds open (its command line is
// just "warren-init": nothing of the host), " (deleted)" stripped; "" when
// `pid` is no warren-init.
std::string initRuntimeDir(const std::string& pid);

// Poll `pred` every 10ms until true or timeout.
template <typename F>
bool eventually(F pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    usleep(10000);
  }
  return pred();
}

}  // namespace warren::testing
