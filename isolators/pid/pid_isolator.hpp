// The pid isolator: decides, per container, which pid namespace warren-init
// lives in. It only describes (Namespace entries in LaunchInfo); the launcher
// acts.
//
//   top-level               CREATE PID (own pid ns, warren-init is its pid 1)
//   nested DEFAULT          ENTER the parent's pid ns, then CREATE PID (a pid
//                           ns nested under the parent's)
//   nested, share_pid_namespace / DEBUG
//                           ENTER the parent's pid ns only
#pragma once

#include <memory>

#include "warren/isolators/pid/config.pb.h"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::pid {

class PidIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<PidIsolator>> create(const v1::PluginContext& ctx);

  v1::PluginInfo info() const override;
  static v1::PluginInfo describe();  // container_fields: share_pid_namespace
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<v1::ContainerStatus> status(const v1::ContainerRequest& req) override;

 private:
  explicit PidIsolator(Config config);

  Config config_;
  std::shared_ptr<sdk::Logger> log_;
};

// The pure decision, exposed for tests: the PID entries for one container.
Result<v1::LaunchInfo> pidNamespaces(const v1::ContainerContext& container, const Config& config);

}  // namespace warren::isolators::pid
