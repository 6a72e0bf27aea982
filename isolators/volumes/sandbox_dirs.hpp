// Creating directories inside a sandbox without following symlinks, so a
// container that planted `shared -> /etc` in its sandbox cannot make the
// host bind-mount /etc into a sibling.
#pragma once

#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::volumes {

// Checks that every existing component of `base/relative` is a real
// directory (not a symlink); creates nothing.
Result<void> checkBeneath(const std::string& base, const std::string& relative);

// mkdir -p `relative` under `base`, refusing symlinks. Appends the paths it
// created (outermost first) to `created`, so a caller can undo them.
Result<void> mkdirBeneath(const std::string& base, const std::string& relative,
                          std::vector<std::string>* created);

}  // namespace warren::volumes
