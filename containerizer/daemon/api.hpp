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
  int status = 200;
  std::string content_type;  // empty: no body
  std::string body;
};

struct Request {
  std::string content_type;
  std::string accept;
  std::string body;
  const Caller* caller = nullptr;
  std::function<bool()> client_gone;  // long polls give up when true
  int fd = -1;                        // the connection (for streaming calls)
};

Reply errorReply(int status, const std::string& message);

class Api {
 public:
  Api(Containerizer& c, Supervisor& sup, std::shared_ptr<spdlog::logger> log, std::string agent_dir)
      : c_(c), sup_(sup), log_(std::move(log)), agent_dir_(std::move(agent_dir)) {}

  void setReady() { ready_ = true; }
  bool ready() const { return ready_; }

  Reply handle(const Request& req);

 private:
  using Call = agent::v1::Call;
  using Response = agent::v1::Response;

  Reply launch(const Request& req, const v1::ContainerID& id, const LaunchShape& shape);
  Reply wait(const Request& req, const v1::ContainerID& id, bool nested);
  Reply kill(const Request& req, const v1::ContainerID& id, int signal);
  Reply remove(const Request& req, const v1::ContainerID& id);
  Reply update(const Request& req, const Call::UpdateContainer& u);
  Reply getContainers(const Request& req, const Call::GetContainers& g);
  Reply launchGroup(const Request& req, const Call::LaunchGroup& g);
  Reply waitGroup(const Request& req, const Call::GroupRef& g);
  Reply killGroup(const Request& req, const Call::GroupRef& g);

  Reply respond(const Request& req, const Response& r);
  Reply fromError(const Error& e);

  Containerizer& c_;
  Supervisor& sup_;
  std::shared_ptr<spdlog::logger> log_;
  std::string agent_dir_;
  std::atomic<bool> ready_{false};
};

}  // namespace warren::daemon
