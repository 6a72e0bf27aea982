// The agent API calls: one decoded Call in, one HTTP status and body out.
// Transport-free (http_server.cpp does HTTP), so every call is testable and
// the streaming calls of the next issue (attach, sessions) can take the
// connection's fd from `Request`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "auth.hpp"
#include "mapping.hpp"
#include "supervisor.hpp"
#include "warren/agent/v1/agent.pb.h"
#include "warren/containerizer.hpp"

namespace warren::daemon {

struct Reply {
  Reply() = default;
  Reply(int s, std::string ct, std::string b) : status(s), content_type(std::move(ct)), body(std::move(b)) {}

  int status = 200;
  std::string content_type;  // empty: no body
  std::string body;
  // A streaming answer (attach output, sessions): the server sends a 200
  // header (Content-Type application/recordio, Message-Content-Type =
  // content_type, chunked) and hands the connection to `stream`, which
  // writes RecordIO records with writeRecord(); then the stream is ended
  // and the connection closed.
  std::function<void(int fd)> stream;
};

// One RecordIO record as one HTTP chunk; false when the client is gone or
// too slow (it does not take the record within 10 s).
bool writeRecord(int fd, const std::string& message);

struct Request {
  std::string content_type;
  std::string accept;
  std::string body;
  const Caller* caller = nullptr;
  std::function<bool()> client_gone;  // long polls give up when true
  int fd = -1;                        // the connection (for streaming calls)
  std::string message_accept;         // Message-Accept (streamed answers)
  std::string message_content_type;   // Message-Content-Type (streamed requests)
  // A streamed request (Content-Type application/recordio): its records,
  // one per call; false at the end of the request.
  std::function<bool(std::string* record)> next_record;
};

Reply errorReply(int status, const std::string& message);

class Api {
 public:
  Api(Containerizer& c, Supervisor& sup, std::shared_ptr<spdlog::logger> log, std::string agent_dir)
      : c_(c), sup_(sup), log_(std::move(log)), agent_dir_(std::move(agent_dir)) {}

  void setReady() { ready_ = true; }
  // Where the containers' I/O sockets are (<runtime_dir>/containers/...).
  void setRuntimeDir(std::string dir) { runtime_dir_ = std::move(dir); }
  bool ready() const { return ready_; }

  Reply handle(const Request& req);
  // ATTACH_CONTAINER_INPUT: a streamed request (api_io.cpp).
  Reply handleInputStream(const Request& req);

 private:
  using Call = agent::v1::Call;
  using Response = agent::v1::Response;

  Reply launchConfig(const Request& req, const v1::ContainerID& id, const v1::ContainerConfig& config);
  Reply wait(const Request& req, const v1::ContainerID& id, bool nested);
  Reply remove(const Request& req, const v1::ContainerID& id);
  Reply update(const Request& req, const v1::ContainerID& id, const Call::UpdateContainer& u);
  Reply getContainers(const Request& req, const Call::GetContainers& g);
  Reply launchGroup(const Request& req, const v1::ContainerID& parent, const Call::LaunchGroup& g);
  Reply waitGroup(const Request& req, const v1::ContainerID& parent, const Call::GroupRef& g);
  Reply killGroup(const Request& req, const v1::ContainerID& parent, const std::string& name, int signal);
  Reply kill(const Request& req, const v1::ContainerID& id, int signal, bool forwarded);

  // api_events.cpp: SUBSCRIBE, the lifecycle event stream.
  Reply subscribe(const Request& req, const Call::Subscribe& s);

  // api_io.cpp: the streaming calls.
  Reply attachOutput(const Request& req, const v1::ContainerID& id);
  Reply launchSession(const Request& req, const v1::ContainerID& id, v1::ContainerConfig config);
  Reply attachInput(const Request& req, const v1::ContainerID& id);
  // Copies a container's output (its io.sock) to the client as ProcessIO
  // records; true when the output ended, false when the client went away.
  bool pumpOutput(int io_fd, int client_fd, bool protobuf);

  Reply respond(const Request& req, const Response& r);
  Reply fromError(const Error& e);

  Containerizer& c_;
  Supervisor& sup_;
  std::shared_ptr<spdlog::logger> log_;
  std::string agent_dir_;
  std::string runtime_dir_;
  std::atomic<bool> ready_{false};
};

}  // namespace warren::daemon
