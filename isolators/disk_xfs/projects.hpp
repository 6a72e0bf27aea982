// The disk/xfs isolator's pure part (tested without root or XFS): the
// operator's project-id range, allocation from it, and the per-project
// record a container's quota is checkpointed in.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "warren/sdk/result.hpp"

namespace warren::isolators::disk_xfs {

// Project ids first .. last, inclusive.
struct ProjectRange {
  uint32_t first = 0;
  uint32_t last = 0;
};

// "FIRST-LAST" with 1 <= FIRST <= LAST <= 4294967294 (0 is the file
// system's default project, -1 is not an id). "" is the default range.
Result<ProjectRange> parseProjectRange(const std::string& text);
inline constexpr const char* kDefaultProjectRange = "5000-9999";

// What one project id is held for.
struct Holding {
  std::string container;  // formatted container ID
  std::string sandbox;    // the directory tree carrying the project id
  uint64_t limit = 0;     // bytes (the hard limit)
};

// Project id -> its holder.
using Held = std::map<uint32_t, Holding>;

// The id `container` already holds, else the lowest free id of `range`.
// Error: all taken, naming the range and how many there are.
Result<uint32_t> allocateProject(const std::string& container, const ProjectRange& range, const Held& held);

// Record payload: "CONTAINER LIMIT\nSANDBOX\n" (a sandbox path may hold
// spaces; a container ID may not).
std::string formatHolding(const Holding& h);
Result<Holding> parseHolding(const std::string& payload);

// A record's file name is its project id in decimal; anything else in the
// records directory is not a record (nullopt-like: 0).
uint32_t projectOfRecordName(const std::string& name);

}  // namespace warren::isolators::disk_xfs
