// The oci isolator: the part of an OCI bundle's config.json that is not a
// ContainerConfig field (namespaces, mounts, rlimits, capabilities, masked
// and read-only paths, sysctl, oomScoreAdj) becomes its LaunchInfo, and
// linux.resources are applied at exactly linux.cgroupsPath (the shim and
// Podman read that cgroup themselves). Used by warren-oci, which hands it
// config.json as the isolator setting `oci.spec` (oci_spec.hpp).
#pragma once

#include <memory>

#include "oci_spec.hpp"
#include "warren/sdk/log.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::oci {

class OciIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<OciIsolator>> create(const v1::PluginContext& ctx);

  v1::PluginInfo info() const override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<void> isolate(const v1::IsolateRequest& req) override;
  Result<void> update(const v1::UpdateRequest& req) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  OciIsolator();
  std::shared_ptr<sdk::Logger> log_;
};

// cgroup v1 (cgroups_v1.cpp): the container's cgroup in every hierarchy of
// warren::oci::cgroupControllers() under `hierarchy` (/sys/fs/cgroup).
Result<void> createCgroups(const std::string& hierarchy, const warren::oci::CgroupSettings& cg);
Result<void> applyLimits(const std::string& hierarchy, const warren::oci::CgroupSettings& cg);
Result<void> joinCgroups(const std::string& hierarchy, const std::string& path, int pid);
Result<void> removeCgroups(const std::string& hierarchy, const std::string& path);
Result<v1::ResourceStatistics> cgroupUsage(const std::string& hierarchy, const std::string& path);
bool cgroupV2(const std::string& hierarchy);

}  // namespace warren::isolators::oci
