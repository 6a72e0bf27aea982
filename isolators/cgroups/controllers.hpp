// Per-controller knobs, one namespace per controller, each with its v1 and
// v2 spelling. Functions take the controller's directory of one cgroup.
// Implementations: cpu.cpp, memory.cpp, pids.cpp, devices.cpp, cpuset.cpp,
// kill.cpp (freezer v1 / cgroup.kill v2), pressure.cpp (PSI).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend.hpp"

namespace warren::isolators::cgroups {

// The options with the container's recorded CFS choice, when it has one.
inline Options withCfsOf(Options o, const Limits& l) {
  if (l.cfs >= 0) {
    o.enable_cfs = l.cfs == 1;
    if (l.cfs_period_us != 0) o.cfs_period_us = l.cfs_period_us;
  }
  return o;
}

namespace cpu {
uint64_t shares(double cpus);                 // v1 cpu.shares: 1024 per cpu, >= 2
uint64_t weight(double cpus);                 // v2 cpu.weight from the same shares, 1..10000
int64_t quota(double cpus, uint64_t period);  // CFS quota in us, >= 1000
Result<void> applyV1(const std::string& dir, double cpus, const Options& o);
Result<void> applyV2(const std::string& dir, double cpus, const Options& o);
void statsV1(const std::string& cpuacct_dir, const std::string& cpu_dir, Stats& s);
void statsV2(const std::string& dir, Stats& s);
}  // namespace cpu

namespace memory {
Result<void> applyV1(const std::string& dir, uint64_t mem, uint64_t swap);
Result<void> applyV2(const std::string& dir, uint64_t mem, uint64_t swap);
void statsV1(const std::string& dir, Stats& s);
void statsV2(const std::string& dir, Stats& s);
uint64_t oomKillsV1(const std::string& dir);  // memory.oom_control oom_kill (this cgroup)
uint64_t oomKillsV2(const std::string& dir);  // memory.events oom_kill (subtree)
}  // namespace memory

namespace pids {
Result<void> apply(const std::string& dir, uint64_t max);  // same file on v1 and v2
void stats(const std::string& dir, Stats& s);
}  // namespace pids

namespace io {
uint32_t weightV1(uint32_t weight);  // v2's 1..10000 weight on v1's 1..1000 scale
Result<void> applyV1(const std::string& dir, uint32_t weight, const std::vector<IoMax>& max);
Result<void> applyV2(const std::string& dir, uint32_t weight, const std::vector<IoMax>& max);
}  // namespace io

namespace devices {
// The devices every container may use: null, zero, full, random, urandom,
// tty, console, ptmx, pts, and mknod of any node.
const std::vector<std::string>& standardRules();
// v1: deny everything, then allow the standard rules and `extra`.
Result<void> applyV1(const std::string& dir, const std::vector<std::string>& extra);
}  // namespace devices

namespace cpuset {
// v1 cpusets start empty: copy the parent's cpus/mems into a new cgroup.
Result<void> inheritV1(const std::string& dir);
Result<void> apply(const std::string& dir, const std::string& cpus, const std::string& mems);
}  // namespace cpuset

namespace pressure {
// Parses a <resource>.pressure file ("some avg10=.. avg60=.. avg300=..
// total=..", then "full ..."); nullopt when absent or unreadable (no PSI).
std::optional<Pressure> read(const std::string& file);
// cpu/memory/io pressure of one cgroup2 directory into s.
void stats(const std::string& dir, Stats& s);
}  // namespace pressure

namespace kill {
// Freeze (freezer_dir may be empty: no freezer), SIGKILL every pid found in
// `dirs` and below, thaw, wait until all are gone.
Result<void> freezeAndKillV1(const std::string& freezer_dir, const std::vector<std::string>& dirs,
                             std::chrono::milliseconds timeout);
// cgroup.kill when the kernel has it, else cgroup.freeze + SIGKILL.
Result<void> killV2(const std::string& dir, std::chrono::milliseconds timeout);
}  // namespace kill

}  // namespace warren::isolators::cgroups
