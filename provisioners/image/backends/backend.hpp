// Rootfs backends: assemble unpacked layers (bottom first, overlay whiteout
// form) into one container root filesystem.
//   overlay  read-only lower layers + the container's upper/work, mounted
//   copy     each layer copied in order, whiteouts applied while copying
//   bind     a single layer bind-mounted read-only
#pragma once

#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

struct Assembly {
  std::vector<std::string> layers;  // layer rootfs dirs, bottom first
  std::string rootfs;               // target (exists, empty)
  std::string scratch;              // the container's own dir in the store
};

Result<void> assembleOverlay(const Assembly& a);
Result<void> assembleCopy(const Assembly& a);
Result<void> assembleBind(const Assembly& a);

// Whether an overlay mount works here: mounts a tiny one under `probe_dir`.
bool overlayUsable(const std::string& probe_dir);

// Unmounts everything mounted at `path` (stacked mounts too); a path that is
// not a mount point is fine.
Result<void> unmountAll(const std::string& path);

// Copies one layer tree onto `dest`, applying overlay-form whiteouts
// (0/0 char devices delete, trusted.overlay.opaque=y dirs replace).
Result<void> copyLayer(const std::string& layer, const std::string& dest);

}  // namespace warren::provisioners::image
