// The `--volume SPEC` syntax, shared by the CLI and the volumes isolator.
//
//   SPEC   := TYPE ":" SOURCE ":" TARGET { ":" OPTION }     (at most 3 options)
//   TYPE   := "sandbox" | "parent" | "host" | "tmpfs"
//   OPTION := "rw" (default) | "ro"
//           | "create"                             host: make a missing directory
//           | "private" (default) | "rslave" | "rshared"   mount propagation
//
//   sandbox:data:/data          a directory `data` in the container's own sandbox
//   parent:shared:/shared       a directory `shared` in the parent's sandbox (nested only)
//   host:/srv/x:/x:ro           a host path (must be under --host_path_allowlist)
//   host:/srv/f.conf:/etc/f.conf a host file (mounted on a file)
//   host:/srv/new:/new:create   made (root, 0755) when missing, under the allowlist
//   host:/srv/m:/m:rslave       mounts made later on the host below /srv/m show inside
//   tmpfs:64m:/scratch          a fresh tmpfs of 64 MiB (SOURCE is the size)
//
// Sizes: a positive integer with an optional binary suffix k, m, g or t
// (case-insensitive, optionally followed by "b" or "ib": 64m = 64M = 64MiB).
// Paths may not contain ':'. Parsing checks the syntax and the paths' shape
// (absolute, normalized, no ".."); whether a host path exists and is allowed
// is decided by the isolator, which knows the allowlist.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren::volumes {

// One spec into a Volume; errors read "invalid volume 'SPEC': <reason>".
Result<v1::Volume> parseVolumeSpec(std::string_view spec);

// The spec of a volume (inverse of parseVolumeSpec for valid volumes); used
// to name a volume in error messages and listings.
std::string formatVolumeSpec(const v1::Volume& volume);

// "64m" -> 67108864. Errors for empty, zero, garbage and overflow.
Result<uint64_t> parseSize(std::string_view text);

// 67108864 -> "64m" (the largest exact binary suffix, else plain bytes).
std::string formatSize(uint64_t bytes);

}  // namespace warren::volumes
