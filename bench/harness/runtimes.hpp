// How the harness drives each runtime: argv builders plus the few state
// queries the cases need. Every cgroup goes under an absolute root
// (/warren-bench/...), never under the caller's own cgroup.
#pragma once

#include <string>
#include <vector>

#include "spawn.hpp"

namespace bench {

constexpr const char* kCgroupRoot = "/warren-bench";

struct Warren {
  std::string bin, plugin_dir, init_path, work_dir, runtime_dir;
  std::string cgroups_root = std::string(kCgroupRoot) + "/warren";
  std::string isolation;  // empty: the CLI's default
  std::vector<std::string> extra;  // more global flags (--daemon=always)

  std::vector<std::string> argv(const std::vector<std::string>& sub) const;
  Run exec(const std::vector<std::string>& sub, bool capture = false) const;

  struct Container {
    std::string id;
    int pid = 0;
    int depth = 0;
  };
  std::vector<Container> ps() const;
  std::string help() const;  // `warren help` text
};

struct Crun {
  std::string root;  // state dir
  int mntns = -1;    // mount ns without /sys/fs/cgroup/unified
  Run exec(const std::vector<std::string>& sub, bool capture = false) const;
  int pidOf(const std::string& id) const;  // from `crun state`
};

struct Runc {
  std::string root;
  Run exec(const std::vector<std::string>& sub, bool capture = false) const;
  int pidOf(const std::string& id) const;
};

// VmRSS (status) and Pss (smaps_rollup) of a process, kB; 0 when unknown.
long vmRssKb(int pid);
long pssKb(int pid);
long ussKb(int pid);  // Private_Clean + Private_Dirty: what this process alone holds

// rmdir every cgroup under kCgroupRoot in every mounted hierarchy, deepest
// first; returns the paths it could not remove.
std::vector<std::string> removeBenchCgroups();

// Mount points at or under `dir` (from /proc/self/mountinfo).
std::vector<std::string> mountsUnder(const std::string& dir);

}  // namespace bench
