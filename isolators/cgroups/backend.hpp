// One interface over cgroup v1 (a hierarchy per controller) and cgroup v2
// (one unified hierarchy). Paths given to a backend are relative to the
// hierarchy ("warren/pod/web"); every container's processes live in a leaf
// below its cgroup ("warren/pod/web/init.leaf") so nested children can sit
// beside them (cgroup v2's no-internal-process rule; v1 does the same).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "limits.hpp"
#include "warren/sdk/result.hpp"

namespace warren::isolators::cgroups {

// Not a valid container name (names never contain '.'), so it never
// collides with a nested container's cgroup.
inline constexpr const char* kLeaf = "init.leaf";

enum class Controller { Cpu, Cpuacct, Memory, Pids, Devices, Cpuset, Freezer, Io };
const char* controllerName(Controller c);

struct Options {
  bool enable_cfs = false;
  uint64_t cfs_period_us = 100000;
  bool devices = true;                      // default-deny device access
  // The v1 cpuset hierarchy is used only when enabled: moving a task into a
  // cpuset costs milliseconds per launch and most containers never pin CPUs.
  bool cpuset = false;
  // The v1 blkio / v2 io controller, for the cgroups.io_* settings: opt-in
  // for the same reason.
  bool io = false;
  std::vector<std::string> extra_devices;   // allowed for every container
  std::chrono::milliseconds kill_timeout{5000};
  std::chrono::milliseconds rmdir_timeout{5000};
};

// One line pair of a <cgroup>/<resource>.pressure file.
struct Pressure {
  double some[3] = {0, 0, 0};  // avg10, avg60, avg300 (percent)
  uint64_t some_total_usecs = 0;
  double full[3] = {0, 0, 0};
  uint64_t full_total_usecs = 0;
};

struct Stats {
  double user_secs = 0;
  double system_secs = 0;
  uint64_t nr_throttled = 0;
  double throttled_secs = 0;
  uint64_t mem_usage = 0;
  uint64_t mem_peak = 0;
  uint64_t mem_limit = 0;  // kUnlimited when none
  uint64_t oom_kills = 0;  // in the whole subtree
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;  // kUnlimited when none
  std::optional<Pressure> cpu_pressure, memory_pressure, io_pressure;  // unset: no PSI
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual int version() const = 0;
  virtual bool has(Controller c) const = 0;
  virtual std::string describe() const = 0;  // "cgroup v1 at /sys/fs/cgroup"

  // Make rel (and missing ancestors), apply limits, make its leaf. Fails
  // with AlreadyExists when rel exists; on failure nothing new remains.
  virtual Result<void> create(const std::string& rel, const Limits& limits) = 0;
  // Apply the limits set (> 0) in `limits`; others stay as they are.
  virtual Result<void> update(const std::string& rel, const Limits& limits) = 0;
  // Move pid into rel's leaf in every hierarchy.
  virtual Result<void> attach(const std::string& rel, pid_t pid) = 0;
  virtual bool exists(const std::string& rel) const = 0;
  virtual Result<Stats> stats(const std::string& rel) const = 0;
  // OOM kills of rel's own processes (its leaf), not of nested children.
  virtual uint64_t ownOomKills(const std::string& rel) const = 0;
  // SIGKILL every process in rel and below (v1 freezer / v2 cgroup.kill) and
  // wait until they are gone (bounded). Never leaves a cgroup frozen.
  virtual Result<void> kill(const std::string& rel) = 0;
  // kill() then remove rel and everything below it, deepest first.
  virtual Result<void> destroy(const std::string& rel) = 0;
  // Child cgroups of rel (nested containers), without the leaf.
  virtual std::vector<std::string> children(const std::string& rel) const = 0;
  // Where a user finds the cgroup (v2: the directory; v1: the memory one).
  virtual std::string cgroupPath(const std::string& rel) const = 0;
};

// Detect the layout under `hierarchy` (usually /sys/fs/cgroup): a cgroup2
// root (cgroup.controllers present) is v2; directories per controller are v1
// (hybrid machines with a near-empty cgroup2 at unified/ count as v1).
Result<std::unique_ptr<Backend>> makeBackend(const std::string& hierarchy, const Options& opts);

std::unique_ptr<Backend> makeV1Backend(const std::string& hierarchy, const Options& opts);
std::unique_ptr<Backend> makeV2Backend(const std::string& hierarchy, const Options& opts);

}  // namespace warren::isolators::cgroups
