// A warrend process over a TestEnv's dirs, driven over its socket.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client.hpp"
#include "test_env.hpp"

namespace warren::testing {

using Json = nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
  Json json;  // parsed body (null when empty or not JSON)
};

class Warrend {
 public:
  Warrend(TestEnv& env, std::vector<std::string> isolation, std::vector<std::string> extra = {});
  ~Warrend();

  // Starts it and waits until it answers (200 to GET_CONTAINERS).
  void start();
  void kill9();     // SIGKILL, reaped
  void stop();      // SIGTERM, reaped
  pid_t pid() const { return pid_; }
  // A cgroup (absolute path of its directory) warrend starts in, as a
  // systemd unit's main process does; "" = the test's own.
  std::string start_in_cgroup;
  const std::string& socket() const { return socket_; }
  std::string log() const;
  long rssKb() const;

  Reply call(const Json& body) const;
  Reply callRaw(const std::string& body, const std::string& content_type = "application/json") const;

  // Kill, wait and remove every top-level container (test cleanup).
  void removeAll();

 private:
  TestEnv& env_;
  std::vector<std::string> args_;
  std::string socket_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// Calls, as JSON.
Json cid(const std::string& dotted);  // "a.b" -> {value:"b", parent:{value:"a"}}
Json launchCall(const std::string& id, const std::string& script, const std::string& rootfs,
                bool agent_api = false);
Json waitCall(const std::string& id);
Json killCall(const std::string& id, int signal = 0);
Json removeCall(const std::string& id);
Json getContainers();

// The termination record in a WAIT reply.
Json termination(const Reply& r);

}  // namespace warren::testing
