// The gpu/nvidia isolator: whole NVIDIA GPUs per container (resources.gpus),
// subsets of the parent's for nested containers. It describes what a
// container gets (LaunchInfo.devices for the cgroups isolator to allow, bind
// mounts of the nodes into its /dev, NVIDIA_VISIBLE_DEVICES, the driver's
// files); the cgroups isolator and warren-init act on it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "warren/sdk/log.hpp"

#include "allocation.hpp"
#include "nvml.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::gpu {

inline constexpr const char* kShortName = "gpu/nvidia";

// A host device node found under dev_dir.
struct Node {
  std::string name;       // "nvidia0", "nvidiactl"
  std::string host_path;  // <dev_dir>/<name>
  int64_t major = 0;
  int64_t minor = 0;
};

struct Inventory {
  std::vector<GpuInfo> gpus;  // sorted by minor
  std::vector<Node> gpu_nodes;      // parallel to gpus
  std::vector<Node> control_nodes;  // nvidiactl, nvidia-uvm, ... when present
};

// Stat the nodes of `gpus` and the control devices under dev_dir. A GPU
// without its node (or a node that is not a character device) is an error.
Result<Inventory> findNodes(std::vector<GpuInfo> gpus, const std::string& dev_dir);

class NvidiaGpuIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<NvidiaGpuIsolator>> create(const v1::PluginContext& ctx);

  v1::PluginInfo info() const override;
  static v1::PluginInfo describe();  // container_fields: resources.gpus
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerRequest& req) override;
  Result<v1::ContainerStatus> status(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  NvidiaGpuIsolator(Inventory inv, std::unique_ptr<Nvml> nvml, std::string driver_dir,
                    std::string records_dir, std::shared_ptr<sdk::Logger> log);
  v1::LaunchInfo describe(const v1::ContainerContext& c, const std::vector<uint32_t>& minors) const;

  Inventory inv_;
  std::unique_ptr<Nvml> nvml_;  // null with a static device list
  std::string driver_dir_;
  std::string records_dir_;  // <plugin_runtime_dir>/allocations
  std::string lock_path_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::isolators::gpu
