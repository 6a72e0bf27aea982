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
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "warren/agent/v1/agent.pb.h"
#include "warren/containerizer.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::daemon {

// One subscriber's queue of lifecycle events (SUBSCRIBE). Filled by the
// supervisor as it sees records change; read by the streaming call.
class Subscription {
 public:
  // The next event, waiting up to `timeout`; nullopt on timeout or once
  // closed (closed() then says so).
  std::optional<agent::v1::Event> next(std::chrono::milliseconds timeout);
  bool closed();
  std::string closeReason();

 private:
  friend class Supervisor;
  static constexpr size_t kMaxQueued = 10000;
  void push(const agent::v1::Event& e);
  void close(std::string why);
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<agent::v1::Event> q_;
  bool closed_ = false;
  std::string why_;
};

class Supervisor {
 public:
  Supervisor(Containerizer& c, std::shared_ptr<spdlog::logger> log, int workers);
  ~Supervisor();

  Result<void> start();
  void stop();

  // Something was launched or removed: look again now (also done every second).
  void refresh();

  // `id` and its descendants were removed: drop their records now, so a
  // wait right after REMOVE answers 404 rather than the record a rescan
  // still held (waits for the scan in progress, if any).
  void forget(const v1::ContainerID& id);

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

  // Lifecycle events from now on (every container; the caller filters).
  // Events are derived from the records as the supervisor sees them change,
  // so each container's events come in order (LAUNCHED, RUNNING,
  // LIMITATION*, TERMINATED, DESTROYED) even when steps happened between
  // two looks. A subscriber more than Subscription::kMaxQueued behind is closed.
  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& s);
  // A plugin's event (Options.plugin_event_sink) to every subscriber, as a
  // PULL_PROGRESS event (the stream passes it to those that asked).
  void publishPluginEvent(const std::string& plugin, const v1::PluginEvent& ev);

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
  // The recorded termination, if this call finished it (or found it finished).
  std::optional<v1::Termination> finishOne(const v1::ContainerID& id);
  bool ancestorMayBeExiting(const v1::ContainerID& id);

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
  // Events: the stage each container was last seen at (1 launched, 2
  // running, 3 terminated) and who listens. Guarded by scan_mu_ (stages) and
  // subs_mu_ (subscribers).
  void emit(const std::vector<ContainerInfo>& all);
  std::map<std::string, std::pair<int, v1::ContainerID>> stages_;
  bool stages_seeded_ = false;
  std::mutex subs_mu_;
  std::vector<std::shared_ptr<Subscription>> subs_;
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
