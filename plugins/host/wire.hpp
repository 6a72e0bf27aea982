// The frames between the plugin host (warren) and a plugin process
// (warren-plugin-host) over a SOCK_STREAM socketpair. Every frame is a fixed
// header and `len` payload bytes; the payloads are the same serialized
// warren.v1 messages the in-process C ABI carries.
//
//   host -> plugin: CREATE (payload: PluginContext), CALL (arg: method,
//                   payload: request), DESTROY
//   plugin -> host: RESULT (id of the request, arg: warren_code, payload:
//                   response or one-line error), LOG (arg: level, payload:
//                   text), EVENT (payload: PluginEvent)
//
// No call carries file descriptors today (IsolateRequest passes a pid), so
// there is no SCM_RIGHTS; a method that needs one adds it here.
#pragma once

#include <cstdint>
#include <string>

#include "warren/sdk/result.hpp"

namespace warren::plugins::wire {

enum Type : uint32_t {
  kCreate = 1,
  kCall = 2,
  kDestroy = 3,
  kResult = 10,
  kLog = 11,
  kEvent = 12,
};

struct Header {
  uint32_t type;
  uint32_t len;  // payload bytes
  uint64_t id;   // request id (RESULT: the request it answers)
  int32_t arg;   // method, warren_code or log level
  uint32_t reserved;
};
static_assert(sizeof(Header) == 24);

constexpr uint32_t kMaxPayload = 256u << 20;  // 256 MiB: a sanity bound

struct Frame {
  Header h{};
  std::string payload;
};

// Writes one frame (loops over partial writes; EINTR-safe). Not thread-safe:
// callers serialize writers of one fd.
Result<void> writeFrame(int fd, uint32_t type, uint64_t id, int32_t arg, const std::string& payload);
// Reads one frame; Code::Unavailable with "closed" at a clean EOF.
Result<Frame> readFrame(int fd);

}  // namespace warren::plugins::wire
