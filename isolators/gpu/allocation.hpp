// Whole-GPU allocation: which GPUs (by minor number) a container gets, and
// the per-container records that make the allocation survive restarts.
// Pure decisions here (tested without root or GPU); the isolator holds a
// file lock around read-decide-write.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren::isolators::gpu {

// Container ID text ("pod.web") -> the minors of its GPUs, ascending.
using Allocations = std::map<std::string, std::vector<uint32_t>>;

// The GPUs for `id` asking for `count` (> 0):
//   top-level: `count` free host GPUs (free = held by no other top-level one);
//   nested:    `count` of its parent's GPUs not held by a sibling.
// Errors (one line each): more than the host / the parent has, a parent
// with none, not enough free (naming the holders). Lowest minors first.
Result<std::vector<uint32_t>> allocate(const v1::ContainerID& id, uint32_t count,
                                       const std::vector<uint32_t>& host_gpus,
                                       const Allocations& held);

std::string formatMinors(const std::vector<uint32_t>& minors);  // "0,2"

// Records: one file per container in `dir`, named by its ID, holding its
// minors ("0,2\n"). Written atomically.
Result<Allocations> loadRecords(const std::string& dir);
Result<void> writeRecord(const std::string& dir, const std::string& id,
                         const std::vector<uint32_t>& minors);
void removeRecord(const std::string& dir, const std::string& id);

}  // namespace warren::isolators::gpu
