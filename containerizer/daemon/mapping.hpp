// Between the Mesos v1 agent shapes (warren.agent.v1) and warren's own.
#pragma once

#include "warren/agent/v1/agent.pb.h"
#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"
#include "warren/v1/status.pb.h"

namespace warren::daemon {

// Where a container that asks for the agent API finds the socket.
inline constexpr const char* kAgentMountDir = "/run/warren-agent";
inline constexpr const char* kAgentSocketName = "warrend.sock";
inline constexpr const char* kAgentSocketEnv = "WARREN_AGENT_SOCKET";

// {value: "c", parent: {value: "p"}} -> p.c (validated).
Result<v1::ContainerID> fromAgentId(const agent::v1::ContainerID& id, const std::string& field);
agent::v1::ContainerID toAgentId(const v1::ContainerID& id);

struct LaunchShape {
  const agent::v1::CommandInfo* command = nullptr;
  const google::protobuf::RepeatedPtrField<agent::v1::Resource>* resources = nullptr;
  const agent::v1::ContainerInfo* container = nullptr;
  const agent::v1::WarrenLaunch* warren = nullptr;
};

// The warren config a launch call asks for. agent_dir: the host directory
// holding the agent socket (mounted when warren.agent_api is set).
Result<v1::ContainerConfig> toConfig(const LaunchShape& s, const std::string& agent_dir);

// A termination as Mesos reports a wait (exit_status is a wait status).
agent::v1::WaitResult toWaitResult(const v1::Termination& t);

agent::v1::ResourceStatistics toAgentStats(const v1::ResourceStatistics& s);

}  // namespace warren::daemon
