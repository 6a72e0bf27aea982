// Applying the container edits of requested CDI devices to a LaunchInfo.
#pragma once

#include <string>
#include <vector>

#include "spec.hpp"
#include "warren/v1/launch.pb.h"

namespace warren::isolators::cdi {

inline constexpr const char* kShortName = "devices/cdi";

struct Options {
  std::vector<std::string> spec_dirs;
  bool skip_unsupported_hooks = false;
};

// The pure part: the LaunchInfo for `requested` devices from `reg`, for a
// container with (own_rootfs) or without a root filesystem of its own.
// Host nodes without major/minor in the spec are stat'ed.
Result<v1::LaunchInfo> applyEdits(const Registry& reg, const std::vector<std::string>& requested,
                                  bool own_rootfs, const Options& opts,
                                  std::vector<std::string>* skipped_hooks);

}  // namespace warren::isolators::cdi
