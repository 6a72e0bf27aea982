// Streaming calls of warrend's API (ATTACH_CONTAINER_OUTPUT/INPUT,
// LAUNCH_NESTED_CONTAINER_SESSION): RecordIO over chunked HTTP, as Mesos
// streams them. Dependency-free, like client.hpp (the CLI and tests use it).
#pragma once

#include <chrono>
#include <string>

namespace warren::daemon {

struct AgentStream {
  int fd = -1;
  int status = 0;            // the response's HTTP status (0: none yet)
  std::string content_type;
  std::string error;         // why there is no answer / the stream broke
  std::string body;          // a non-streaming (error) answer's body
  std::string raw;           // bytes read, not yet decoded
  std::string records;       // de-chunked body, not yet split into records
  bool chunked = false;
  bool ended = false;
};

// POST a call whose answer streams (200: RecordIO records follow). On
// another status `body` holds the answer and the stream is closed.
AgentStream openOutputStream(const std::string& socket_path, const std::string& call_json,
                             std::chrono::milliseconds header_timeout = std::chrono::seconds(30));

// The next record's bytes (a JSON ProcessIO). false at the stream's end, on
// an error, or when `timeout` passed without one (then error = "timeout").
bool nextRecord(AgentStream& s, std::string* record, std::chrono::milliseconds timeout);

// ATTACH_CONTAINER_INPUT: opens a chunked request whose records the caller
// sends with sendRecord (the first names the container); finishInput ends
// the request and reads the answer into status/body.
AgentStream openInputStream(const std::string& socket_path);
bool sendRecord(AgentStream& s, const std::string& record_json);
bool finishInput(AgentStream& s, std::chrono::milliseconds timeout = std::chrono::seconds(30));

void closeStream(AgentStream& s);

}  // namespace warren::daemon
