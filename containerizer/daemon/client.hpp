// A small, dependency-free client of warrend's API (one call per
// connection). Used by the tests, by the in-container test executor (linked
// statically), and meant for the CLI's --daemon=auto|always|never path.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace warren::daemon {

struct ClientReply {
  int status = 0;             // HTTP status; 0 when no answer came
  std::string content_type;
  std::string body;
  std::string error;          // why there is no answer (connect failed, ...)
};

// POST /api/v1 with `body` to the Unix socket at `socket_path`.
ClientReply callAgent(const std::string& socket_path, const std::string& body,
                      std::chrono::milliseconds timeout = std::chrono::minutes(5),
                      const std::string& content_type = "application/json",
                      const std::string& accept = "application/json");

// Several calls on one connection, sent at once (HTTP/1.1 pipelining) and
// answered in order: one connect, one server thread and no round trip
// between the calls (LAUNCH, WAIT, REMOVE of one container). An answer that
// never came has status 0 and `error` set.
std::vector<ClientReply> callAgentPipelined(const std::string& socket_path, const std::vector<std::string>& bodies,
                                            std::chrono::milliseconds timeout = std::chrono::minutes(5));

// Whether a warrend answers on the socket (for --daemon=auto).
bool daemonAnswers(const std::string& socket_path);

}  // namespace warren::daemon
