// One plugin served by a warren-plugin-host process over a socketpair
// (frames: wire.hpp). Requests from several threads are multiplexed by id;
// one reader thread routes results, log lines and events. When the process
// dies (crash, exit) every request in flight fails with one line saying how;
// a request past its deadline kills the process. start() makes a new one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::plugins {

// warren-plugin-host --describe PATH in a child: the plugin's descriptor and
// static info, read without running any of its code in this process. Errors
// name the file, e.g. "plugin '<path>': crashed while loading (killed by
// signal 11: Segmentation fault)".
Result<v1::PluginDescriptor> describeInChild(const std::string& helper, const std::string& path,
                                             std::chrono::milliseconds deadline);

// "killed by signal 11: Segmentation fault", "exited with status 3".
std::string describeWaitStatus(int status);

class PluginProcess {
 public:
  struct Reply {
    int32_t rc = 0;
    std::string out;
  };
  using LogFn = std::function<void(int32_t level, const std::string& text)>;
  using EventFn = std::function<void(const std::string& bytes)>;

  PluginProcess(std::string helper, std::string path, LogFn log, EventFn event);
  ~PluginProcess();  // kills the process if it still runs
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  // Spawns a new process when none runs. Returns true when it made one.
  Result<bool> ensureStarted();
  bool running() const;
  pid_t pid() const;
  int starts() const;

  // One request; waits for its result up to `deadline` (<= 0: no limit).
  // Errors (Code::Unavailable): "plugin process died (killed by signal 11:
  // Segmentation fault)", "exceeded its deadline of 500ms (plugin process
  // killed)".
  Result<Reply> request(uint32_t type, int32_t arg, const std::string& payload,
                        std::chrono::milliseconds deadline, const std::string& what);

  // Kills the running process (the reader then fails what is in flight).
  void kill(const std::string& why);

  // Orderly end: DESTROY, then wait for the exit (bounded by `deadline`).
  void stop(std::chrono::milliseconds deadline);

 private:
  struct Pending {
    bool done = false;
    Result<Reply> result = Reply{};
  };
  struct Proc;  // one spawned process: fd, pid, reader thread
  void readerLoop(std::shared_ptr<Proc> p);
  void killLocked(const std::string& why);

  const std::string helper_, path_;
  LogFn log_;
  EventFn event_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Proc> proc_;  // null when none runs
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
  uint64_t next_id_ = 1;
  int starts_ = 0;
  std::mutex write_mu_;
  std::mutex start_mu_;  // one ensureStarted() at a time
};

}  // namespace warren::plugins
