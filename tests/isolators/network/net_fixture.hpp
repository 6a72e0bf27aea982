// Test scaffolding for the network isolator: the plugin loaded through the
// real plugin host, processes holding real network namespaces (standing in
// for warren-init), commands run inside them with nsenter + busybox, and
// libnl helpers to look at and remove links the tests made.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/plugin_host.hpp"
#include "test_env.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::testing {

// A bridge name and CIDR for this test process only ("wtn<pid>",
// 10.213.<pid % 250>.0/24 or a narrower prefix).
std::string testBridge();
std::string testCidr(int prefix = 24);

class NetPlugin {
 public:
  // Loads <plugin_dir>/isolator_network.so into a fresh host with the
  // given flags and config; *error is set when the plugin refused to start.
  NetPlugin(const TestEnv& env, std::map<std::string, std::string> flags, std::string config = "");
  plugins::Plugin* operator->() const { return plugin_; }
  explicit operator bool() const { return plugin_ != nullptr; }
  const std::string& error() const { return error_; }

  Result<v1::LaunchInfo> prepare(const v1::ContainerContext& c);
  Result<void> isolate(const v1::ContainerContext& c, pid_t pid);
  Result<v1::ContainerStatus> status(const v1::ContainerID& id);
  Result<void> cleanup(const v1::ContainerID& id, const v1::LaunchInfo& li);
  Result<void> recover(const std::vector<v1::ContainerState>& known);

 private:
  std::unique_ptr<plugins::PluginHost> host_;
  plugins::Plugin* plugin_ = nullptr;
  std::string error_;
};

// A process that stands in for a blocked warren-init: it forks, optionally
// unshares a new network namespace, and sleeps until killed.
class NsProcess {
 public:
  explicit NsProcess(bool new_net = true);
  ~NsProcess();
  NsProcess(const NsProcess&) = delete;
  NsProcess& operator=(const NsProcess&) = delete;
  pid_t pid() const { return pid_; }
  std::string netns() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
  void kill();  // SIGKILL + reap (the namespace dies with it)

 private:
  pid_t pid_ = -1;
};

v1::ContainerContext topLevel(const TestEnv& env, const std::string& name,
                              const std::string& mode = "");
v1::ContainerContext nested(const TestEnv& env, const v1::ContainerContext& parent, pid_t parent_pid,
                            const std::string& name, const std::string& mode = "");
v1::ContainerState stateOf(const v1::ContainerContext& c, const v1::LaunchInfo& li, pid_t pid);

// Runs argv inside the network namespace at `netns_path` (nsenter).
CmdResult inNetns(const std::string& netns_path, std::vector<std::string> argv,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The NET entries of a LaunchInfo.
std::vector<v1::Namespace> netEntries(const v1::LaunchInfo& li);

bool linkExists(const std::string& name);            // in the test's namespace
std::vector<std::string> linkNames();                // in the test's namespace
void removeLink(const std::string& name);            // best effort, libnl
bool makeVethPair(const std::string& a, const std::string& b);  // libnl
ino_t nsInode(const std::string& path);

}  // namespace warren::testing
