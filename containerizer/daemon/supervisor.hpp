// The one observer of every container under warrend's dirs.
//
// A thread watches every running container's init through its pidfd (epoll).
// When one exits, a worker finishes it through the Containerizer right away
// (under the state lock: exit status -> termination, limitations from the
// isolators' watch, group policy, kernel objects released), so a termination
// is recorded once, when it happens, whether or not anybody waits. Waiters
// only read that record.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "warren/containerizer.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::daemon {

class Supervisor {
 public:
  Supervisor(Containerizer& c, std::shared_ptr<spdlog::logger> log, int workers);
  ~Supervisor();

  Result<void> start();
  void stop();

  // Something was launched or removed: look again now (also done every second).
  void refresh();

  // Runs on the supervisor's thread every few seconds (set before start()).
  void setHousekeeping(std::function<void()> f) { housekeeping_ = std::move(f); }

  // Blocks until the container has a recorded termination (returned), it is
  // unknown or removed (NotFound), or cancelled() turns true (Unavailable).
  Result<v1::Termination> await(const v1::ContainerID& id, const std::function<bool()>& cancelled);

  // The record, if the container has ended.
  std::optional<v1::Termination> ended(const v1::ContainerID& id);

  struct Live {
    v1::ContainerID id;
    pid_t pid = -1;
    uint64_t start_time = 0;
  };
  // Containers whose init is being watched (running), parents first. With
  // fresh, the records are read again first: a container whose launch has
  // just released its init (its command may already be calling us) is
  // included before the watcher would have picked it up.
  std::vector<Live> live(bool fresh = false);

  // /proc/<pid>/stat says the process is exiting (or is gone).
  static bool exiting(pid_t pid);

 private:
  struct Watched {
    v1::ContainerID id;
    pid_t pid = -1;
    uint64_t start_time = 0;
    UniqueFd fd;
    uint64_t token = 0;
  };

  void loop();
  void rescan();
  void worker();
  void finishOne(const v1::ContainerID& id);

  Containerizer& c_;
  std::shared_ptr<spdlog::logger> log_;
  int nworkers_;

  std::mutex mu_;
  std::condition_variable cv_;       // waiters: records changed
  std::condition_variable work_cv_;  // workers: a job is queued
  std::map<std::string, Watched> watched_;
  std::map<uint64_t, std::string> by_token_;
  uint64_t next_token_ = 1;
  std::map<std::string, v1::Termination> ended_;
  std::set<std::string> known_;  // every checkpointed container at the last scan
  std::deque<v1::ContainerID> jobs_;
  std::set<std::string> queued_;
  // Nested containers that ended with an exiting ancestor: the ancestor's
  // finish records them; looked at again only after a while.
  std::map<std::string, std::chrono::steady_clock::time_point> deferred_;

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: rescan now
  std::atomic<bool> stopping_{false};
  std::thread loop_;
  std::vector<std::thread> workers_;
  std::mutex scan_mu_;  // one scan at a time
  std::function<void()> housekeeping_;
};

}  // namespace warren::daemon
