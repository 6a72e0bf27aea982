// The agent API's request decoding, from bytes only: a body (JSON or
// protobuf, by Content-Type) into an agent Call, and a Call into what it
// asks of warren (IDs validated, a launch's ContainerConfig built by
// mapping.cpp, signals checked). Nothing here knows the caller or the
// Containerizer: Api::handle authorizes and acts on the result. Fuzzed by
// tests/fuzz/fuzz_api_request.cpp together with http_request.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "mapping.hpp"
#include "warren/agent/v1/agent.pb.h"

namespace warren::daemon {

// The HTTP status of an error warren reports (InvalidArgument 400, NotFound 404, ...).
int httpStatus(Code code);

// A body by its Content-Type: application/x-protobuf, or application/json
// (also when there is none). Anything else is 415; a bad body 400.
HttpResult<agent::v1::Call> decodeCall(std::string_view content_type, const std::string& body);

// One record of a streamed request (ATTACH_CONTAINER_INPUT), protobuf when
// Message-Content-Type says so, else JSON.
HttpResult<agent::v1::Call> decodeRecord(std::string_view message_content_type, const std::string& record);

// A decoded call, validated, before authorization.
struct ApiCall {
  agent::v1::Call call;
  // The container the call acts on (container_id, or a task group's parent);
  // none for GET_CONTAINERS.
  std::optional<v1::ContainerID> target;
  bool group = false;           // target is a task group's parent (authorizeParent)
  std::string verb;             // for an authorization error: "launch", "wait on", ...
  std::optional<v1::ContainerConfig> config;  // the LAUNCH_* calls
  int signal = 0;               // the KILL_* calls: 1..64
  bool forwarded = false;       // KILL_*: a signal the caller forwards (not a kill by the API)
};

// The call's shape checked: the message for its type present, IDs valid,
// a launch mapped to a ContainerConfig (agent_dir: see toConfig).
HttpResult<ApiCall> decodeApiCall(agent::v1::Call call, const std::string& agent_dir);

// The first record of ATTACH_CONTAINER_INPUT: its container.
HttpResult<v1::ContainerID> decodeInputHead(const agent::v1::Call& first);
// A later record of ATTACH_CONTAINER_INPUT: its ProcessIO, checked (STDIN
// data, or a control message).
HttpResult<agent::v1::ProcessIO> decodeInputBody(const agent::v1::Call& call);

}  // namespace warren::daemon
