// A container's sandbox as the container sees it, and its rootfs as a
// read-only lower layer (issue #18): pure decisions plus the one host step
// (making the upper layer's directories).
#pragma once

#include <string>

#include "warren/sdk/result.hpp"
#include "warren/v1/launch.pb.h"
#include "warren/v1/status.pb.h"

namespace warren::core {

// Where a container with a root of its own (a rootfs, an image, or an
// ancestor's) sees its sandbox. Documented in README ("Sandbox").
inline constexpr const char* kSandboxPath = "/mnt/mesos/sandbox";
// The rootfs overlay's `upper` and `work` dirs, inside the sandbox.
inline constexpr const char* kRootfsUpperDir = ".warren/rootfs";

// True when the container's root is the host's `/`: no rootfs of its own
// and (nested) a parent whose root is the host's too.
bool rootIsHost(const v1::ContainerState& st, const v1::ContainerState* parent);
// The same for a launched container, from its checkpointed LaunchInfo.
bool runsOnHostRoot(const v1::ContainerState& launched);

// The sandbox path inside the container: kSandboxPath, or the host path
// when its root is the host's.
std::string sandboxInContainer(const v1::ContainerState& st, bool host_root);

// The core's sandbox contribution: the bind mount (unless host root), the
// WARREN_SANDBOX/MESOS_SANDBOX variables and the paths handed to the
// container's user. Not for DEBUG containers (they live in their parent's).
void addSandbox(const v1::ContainerState& st, const std::string& sandboxes_root, bool host_root,
                v1::LaunchInfo& li);

// When the container's rootfs is the config's `rootfs` directory (not a
// provisioned image) and it did not ask for rootfs_writable: makes
// <sandbox>/.warren/rootfs/{upper,work}, the upper's root with the rootfs
// root's owner (its host ids under li's uid/gid mappings) and mode, and
// describes the overlay in `li` (the merged LaunchInfo).
Result<void> addRootfsOverlay(const v1::ContainerState& st, const std::string& sandboxes_root,
                              v1::LaunchInfo& li);

}  // namespace warren::core
