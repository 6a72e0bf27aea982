// The volumes isolator: turns ContainerConfig.volumes into bind and tmpfs
// mounts that warren-init performs inside the container's mount namespace.
// It acts on the host only to create sandbox directories; everything is
// validated before the first directory is made.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "warren/sdk/log.hpp"

#include "warren/sdk/plugin.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::isolators::volumes {

class VolumesIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<VolumesIsolator>> create(const v1::PluginContext& ctx);
  // The operator flags it reads (flags.cpp); the host reads them without an instance.
  static v1::PluginInfo describe();

  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& request) override;
  // Sandbox volumes go with their sandbox; tmpfs volumes with the container's
  // mount namespace; so there is nothing of ours to remove.
  Result<void> cleanup(const v1::ContainerRequest& request) override { return {}; }

 private:
  // One validated volume: where its source is on the host and, for sandbox
  // volumes, the base directory and relative path still to be created.
  struct Planned {
    v1::Volume volume;
    std::string source;      // host path (bind) or "tmpfs"
    std::string sandbox;     // sandbox volumes: the sandbox holding it
    std::string relative;    // sandbox volumes: path inside `sandbox`
    // Trusted directory `source` lies beneath (the sandbox, or the matched
    // allowlist prefix): a container may write below it, so warren-init
    // resolves `source` beneath it without following symlinks.
    std::string source_root;
    // host volumes with `create` whose path is missing: made beneath
    // source_root (no symlink followed) once every volume is valid.
    std::string create_relative;
    bool file = false;  // the source is not a directory: mounted on a file
  };

  VolumesIsolator(std::vector<std::string> allowlist, std::string tmpfs_mode,
                  uint64_t max_tmpfs_bytes);
  Result<Planned> plan(const v1::ContainerContext& container, const v1::Volume& volume) const;
  v1::Mount mountFor(const Planned& planned) const;

  std::vector<std::string> allowlist_;
  std::string tmpfs_mode_;
  uint64_t max_tmpfs_bytes_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::isolators::volumes
