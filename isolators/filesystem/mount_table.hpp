// The host's mount table through libmount, and the sweep that finds and
// removes mounts of ours: every mount strictly below a set of roots that
// belongs to no known container, unmounted lazily, deepest first.
#pragma once

#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::filesystem {

struct MountEntry {
  int id = 0;
  int parent_id = 0;
  std::string target;  // unescaped by libmount ("a b", not "a\040b")
  std::string source;
  std::string fstype;
};

// Parse a mountinfo file (default: this process's) once, in kernel order.
Result<std::vector<MountEntry>> readMountInfo(const std::string& path = "/proc/self/mountinfo");

// A directory that belongs to one container; `known` says whether that
// container is still known to warren (its mounts are kept) or not.
struct OwnedPath {
  std::string path;
  bool known = false;
};

struct SweepScope {
  std::vector<std::string> roots;  // candidates: mounts strictly below a root
  std::vector<std::string> skip;   // never touched (at or below)
  std::vector<OwnedPath> owned;    // the deepest owning path decides
  // A mount no owned path claims is kept when one of these is a path
  // component below its root (known container IDs: a safety net for
  // directories we hold no record of).
  std::vector<std::string> keep_components;
};

// The mounts to remove, in the order to unmount them: deepest path first,
// and for one path the mount listed last (the top of a stack) first.
// Pure: no system calls.
std::vector<MountEntry> planSweep(const std::vector<MountEntry>& table, const SweepScope& scope);

struct SweepResult {
  int unmounted = 0;
  std::vector<Error> errors;  // one per mount that could not be removed
};

// umount2(MNT_DETACH | UMOUNT_NOFOLLOW) each planned mount; a mount already
// gone (EINVAL, ENOENT: a lazily detached parent took it along) counts as
// removed. Continues past failures.
SweepResult unmountAll(const std::vector<MountEntry>& plan);

// "/a/b/" -> "/a/b"; realpath() when the path exists, so it compares equal
// to mountinfo's canonical targets.
std::string canonical(const std::string& path);

}  // namespace warren::isolators::filesystem
