// Small helpers over cgroup interface files: read and write values with the
// file named in every error, list child cgroups and member pids, and remove
// a cgroup directory, retrying while the kernel still reports it busy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::cgroups {

// The value the kernel prints for "no limit" (v1 prints a huge number, v2 "max").
inline constexpr uint64_t kUnlimited = UINT64_MAX;

Result<std::string> readValue(const std::string& file);  // trimmed
Result<uint64_t> readU64(const std::string& file);       // "max" and >= 2^62 -> kUnlimited
// Write one value; the error reads "write '<value>' to '<file>': <strerror>".
Result<void> writeValue(const std::string& file, const std::string& value);
// Like writeValue but never creates the file (for interface files that must exist).
Result<void> writeExisting(const std::string& file, const std::string& value);

// "key value" lines (cpu.stat, memory.events, memory.stat, cpuacct.stat ...).
std::optional<uint64_t> readKey(const std::string& file, const std::string& key);

bool isDir(const std::string& path);
bool isFile(const std::string& path);
// Names of the subdirectories of dir (child cgroups), sorted.
std::vector<std::string> childDirs(const std::string& dir);
// Pids in <dir>/cgroup.procs (empty when the file is absent).
std::vector<pid_t> procs(const std::string& dir);
// Whether `pid` is listed in <dir>/cgroup.procs (reading it takes no lock
// that a write waits for).
bool alreadyIn(const std::string& dir, pid_t pid);
// Pids in dir and every cgroup below it.
std::vector<pid_t> procsRecursive(const std::string& dir);

// True when path lies on a cgroup (v1) or cgroup2 filesystem.
bool onCgroupFs(const std::string& path);

// rmdir, retried on EBUSY with a doubling backoff up to `budget`. A missing
// directory is success.
Result<void> removeDir(const std::string& dir, std::chrono::milliseconds budget);
// Remove dir and all cgroups below it, deepest first.
Result<void> removeTreeCgroups(const std::string& dir, std::chrono::milliseconds budget);

}  // namespace warren::isolators::cgroups
