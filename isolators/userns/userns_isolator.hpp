// The userns isolator: a container that asks for it (ContainerConfig.
// user_namespace, CLI --userns) runs in a user namespace of its own, its ids
// 0..size-1 mapped to a disjoint slot of the operator's --userns_range.
// It only describes (a USER namespace entry and the uid/gid mappings in
// LaunchInfo); the launcher makes the namespace and warren-init idmaps the
// rootfs and bind mounts with it, then creates every other namespace inside.
//
//   top-level, user_namespace        CREATE USER + mappings {0, slot, size}
//   nested/DEBUG of such a container ENTER the parent's USER + its mappings
//                                    (always: never more privileged than it)
//   nested, user_namespace, parent without one    refused
#pragma once

#include <memory>
#include <string>

#include "range.hpp"
#include "warren/sdk/log.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::userns {

inline constexpr const char* kShortName = "userns";

class UsernsIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<UsernsIsolator>> create(const v1::PluginContext& ctx);
  static v1::PluginInfo describe();

  v1::PluginInfo info() const override;
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<v1::ContainerStatus> status(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  UsernsIsolator(Range range, uint32_t size, std::string records_dir);
  Result<Allocations> load() const;  // under the lock
  Result<Range> allocateFor(const std::string& cid);

  Range range_;
  uint32_t size_;
  std::string records_dir_;  // <plugin_runtime_dir>/ranges, one sealed record per top-level container
  std::string lock_path_;
  std::shared_ptr<sdk::Logger> log_;
};

// The pure decision for a nested container (tested without root): its
// parent's user namespace and mappings, or nothing when the parent has none.
Result<v1::LaunchInfo> nestedUserNamespace(const v1::ContainerContext& c);
// A top-level container's entries for its slot.
v1::LaunchInfo topLevelUserNamespace(const Range& slot);

}  // namespace warren::isolators::userns
