// The devices/cdi isolator: applies the container edits of CDI devices a
// container asks for (isolator setting "devices/cdi.devices", e.g.
// "nvidia.com/gpu=0,vendor.com/dev=foo"): device nodes (LaunchInfo.devices
// for the cgroups isolator to allow, bind mounts into /dev), mounts, env,
// and startContainer hooks as pre_exec commands.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "warren/sdk/log.hpp"

#include "edits.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::cdi {

class CdiIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<CdiIsolator>> create(const v1::PluginContext& ctx);

  v1::PluginInfo info() const override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;

 private:
  CdiIsolator(Options opts, std::shared_ptr<sdk::Logger> log);
  Options opts_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::isolators::cdi
