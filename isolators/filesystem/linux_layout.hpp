// What filesystem/linux asks warren-init to do, as a pure function of the
// container: pivot into its rootfs, a minimal /dev, a read-only /sys,
// masked and read-only /proc and /sys paths, optionally a read-only rootfs.
// No system calls here except checking the rootfs exists, so every rule is
// unit-testable without root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/launch.pb.h"
#include "warren/v1/plugin.pb.h"

namespace warren::isolators::filesystem {

inline constexpr const char* kShortName = "filesystem/linux";

enum class SysMode { Sysfs, Bind, None };

struct LayoutOptions {
  bool readonly_rootfs = false;  // default; the per-container setting wins
  bool mqueue = true;            // mount /dev/mqueue
  SysMode sys = SysMode::Sysfs;
  uint64_t shm_bytes = 64ull << 20;
  std::vector<std::string> extra_masked_paths;
  std::vector<std::string> extra_readonly_paths;
};

// The defaults every container gets (see README.md for why each is there).
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();
// Host device nodes bind-mounted into the container's /dev.
const std::vector<std::string>& deviceNodes();

// True when the container brings its own root filesystem: it has one and,
// when nested, it is not simply its parent's.
bool hasOwnRootfs(const v1::ContainerContext& c);

// ContainerConfig.ipc_mode / shm_size_bytes (issue #18; this plugin owns
// them since it mounts /dev/shm). A top-level container has its own IPC
// namespace (the core's); a nested one shares its parent's unless
// "private": then a new one (the core skips entering the parent's) and its
// own /dev/shm. shm_size_bytes sizes a /dev/shm of its own (own rootfs, or
// private); asked for without one it is refused, as are both on a DEBUG
// container and "share_parent" at the top level.
struct IpcPlan {
  bool new_namespace = false;  // a nested container's own IPC namespace
  bool own_shm = false;        // a /dev/shm of its own
};
Result<IpcPlan> ipcPlan(const v1::ContainerContext& c);

// The container's "filesystem/linux.*" isolator settings: only
// "filesystem/linux.readonly_rootfs" = "true" | "false" exists. Unknown keys
// or values are InvalidArgument naming the key.
Result<std::optional<bool>> readonlyRootfsSetting(const v1::ContainerConfig& config);

Result<v1::LaunchInfo> buildLaunchInfo(const v1::ContainerContext& c, const LayoutOptions& o);

}  // namespace warren::isolators::filesystem
