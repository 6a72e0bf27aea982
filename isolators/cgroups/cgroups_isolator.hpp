// The cgroups isolator: every container, nested or not, gets its own cgroup
// <cgroups_root>/<top>/<child>/... with its own cpu, memory, pids, devices
// and cpuset limits; DEBUG containers (and nested ones with
// cgroups.share_parent) run in their parent's cgroups.
//
// Stateless between calls (several warren processes may drive the same
// containers): everything is derived from the container ID, the kernel's
// cgroup files and a small record of the limits applied per container in
// the plugin's runtime dir.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "warren/sdk/log.hpp"

#include "backend.hpp"
#include "limits.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::cgroups {

inline bool isDebug(const v1::ContainerConfig& c) { return c.container_class() == v1::DEBUG; }

// "cgroups.share_parent=true" (its syntax is checked by limitsFromConfig).
inline bool sharesParent(const v1::ContainerConfig& c) {
  auto it = c.isolator_settings().find("cgroups.share_parent");
  return it != c.isolator_settings().end() && it->second == "true";
}

// DEBUG containers and those sharing their parent's cgroups have none of
// their own: they run in their nearest ancestor's that has one.
inline bool hasNoCgroup(const v1::ContainerConfig& c) { return isDebug(c) || sharesParent(c); }

class CgroupsIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<CgroupsIsolator>> create(const v1::PluginContext& ctx);
  // The operator flags it reads (flags.cpp); the host reads them without an instance.
  static v1::PluginInfo describe();

  CgroupsIsolator(std::unique_ptr<Backend> backend, std::string root_rel, std::string records_dir,
                  Options opts, std::shared_ptr<sdk::Logger> log);

  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<void> isolate(const v1::IsolateRequest& req) override;
  Result<v1::WatchResponse> watch(const v1::WatchRequest& req) override;
  Result<void> update(const v1::UpdateRequest& req) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerRequest& req) override;
  Result<v1::ContainerStatus> status(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  v1::LaunchInfo ownCgroupView(const v1::ContainerContext& c) const;
  std::string rel(const v1::ContainerID& id) const;
  Result<void> requireControllers(const Limits& l, const std::string& id) const;
  // The nearest ancestor limits per resource, for checks against parents.
  Limits recordedLimits(const v1::ContainerID& id, bool* found) const;
  Result<void> checkAgainstAncestors(const v1::ContainerID& id, const Limits& l,
                                     const v1::ContainerState* parent) const;
  Result<void> checkAgainstChildren(const v1::ContainerID& id, const Limits& l) const;
  void writeRecord(const v1::ContainerID& id, const Limits& l) const;
  void removeRecords(const std::string& id_text) const;
  Result<void> removeOrphans(const std::string& rel_dir, const std::string& id_prefix,
                             const std::set<std::string>& known);

  std::unique_ptr<Backend> backend_;
  std::string root_rel_;     // cgroups_root without the leading '/'
  std::string records_dir_;  // "" when the host gave no runtime dir
  Options opts_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::isolators::cgroups
