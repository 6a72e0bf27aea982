// The network isolator: which network namespace a container lives in and,
// in bridge mode, its veth, address and routes.
//
//   host    no NET entry: the container stays in the host's namespace
//   none    CREATE NET: a new namespace; isolate() brings `lo` up
//   bridge  CREATE NET; prepare() allocates an address (IPAM) and makes sure
//           the bridge exists; isolate() creates the veth pair with `eth0`
//           in the container's namespace, its address, `lo` and a default
//           route via the gateway
//   nested  ENTER the parent's namespace (no namespace, veth or address)
//
// Top-level containers also get /etc/hosts, /etc/hostname and
// /etc/resolv.conf (LaunchInfo.files). cleanup() removes the veth and frees
// the address, whatever state the container is in; recover() removes veths
// and addresses whose container warren no longer knows.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "ipam.hpp"
#include "network_config.hpp"
#include "warren/isolators/network/config.pb.h"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::network {

class NetworkIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<NetworkIsolator>> create(const v1::PluginContext& ctx);
  // The operator flags it reads (flags.cpp); the host reads them without an instance.
  static v1::PluginInfo describe();

  v1::PluginInfo info() const override;
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<void> isolate(const v1::IsolateRequest& req) override;
  Result<v1::ContainerStatus> status(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  NetworkIsolator(Settings settings, std::string scope, std::optional<Ipam> ipam);
  std::string veth(const std::string& id) const { return vethName(scope_, id); }

  Result<v1::LaunchInfo> prepareNested(const v1::ContainerContext& c);
  Result<v1::LaunchInfo> prepareTopLevel(const v1::ContainerContext& c, Mode mode);
  Result<void> isolateBridge(const std::string& id, pid_t pid);
  Result<void> removeOrphanVeths(const std::set<std::string>& known_veths);

  Settings settings_;
  std::string scope_;         // this instance's plugin work dir (veth names)
  std::optional<Ipam> ipam_;  // set when a CIDR is configured
  std::shared_ptr<sdk::Logger> log_;
  std::mutex mu_;
};

}  // namespace warren::isolators::network
