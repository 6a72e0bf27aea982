// The Containerizer implementation. Split by concern:
//   containerizer_impl.cpp  creation, recovery, queries
//   launch.cpp              the launch sequence with per-step rollback
//   terminate.cpp           wait, kill, destroy, finishing a terminated container
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "host/plugin_host.hpp"
#include "launcher/launcher.hpp"
#include "merge.hpp"
#include "store.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/containerizer.hpp"

namespace warren::core {

class ContainerizerImpl final : public Containerizer {
 public:
  ContainerizerImpl(Options opts, std::shared_ptr<spdlog::logger> log,
                    std::unique_ptr<plugins::PluginHost> host, std::vector<plugins::Plugin*> isolators);
  ~ContainerizerImpl() override;

  Result<void> recover() override;
  Result<v1::ContainerStatus> launch(const v1::ContainerID& id,
                                     const v1::ContainerConfig& config) override;
  Result<v1::Termination> wait(const v1::ContainerID& id,
                               std::optional<std::chrono::milliseconds> timeout) override;
  Result<UniqueFd> waitFd(const v1::ContainerID& id) override;
  void waitAsync(const v1::ContainerID& id,
                 std::function<void(Result<v1::Termination>)> cb) override;
  Result<void> kill(const v1::ContainerID& id, int signal) override;
  Result<void> start(const v1::ContainerID& id) override;
  Result<void> forwardSignal(const v1::ContainerID& id, int signal) override;
  Result<v1::Termination> destroy(const v1::ContainerID& id,
                                  std::optional<std::chrono::milliseconds> grace = {}) override;
  Result<void> update(const v1::ContainerID& id, const v1::Resources& resources) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerID& id) override;
  Result<v1::ContainerStatus> status(const v1::ContainerID& id) override;
  Result<std::vector<ContainerInfo>> containers() override;
  Result<std::vector<v1::ContainerStatus>> launchGroup(const v1::ContainerID& parent,
                                                       const v1::TaskGroup& group) override;
  Result<std::vector<MemberTermination>> waitGroup(
      const v1::ContainerID& parent, const std::string& name,
      std::optional<std::chrono::milliseconds> timeout) override;
  Result<void> killGroup(const v1::ContainerID& parent, const std::string& name, int signal) override;
  Result<std::vector<MemberTermination>> destroyGroup(const v1::ContainerID& parent,
                                                      const std::string& name) override;
  Result<v1::ImageList> images() override;
  Result<v1::ImageInfo> pullImage(const std::string& reference) override;
  Result<v1::PruneResponse> pruneImages() override;
  std::vector<PluginListing> plugins() const override;
  std::vector<std::string> pluginErrors() const override;

 private:
  Result<void> signalContainer(const v1::ContainerID& id, int sig, bool as_kill);
  // A launch in progress (launch.cpp, group.cpp).
  struct Attempt {
    v1::ContainerState st;
    bool has_parent = false;
    v1::ContainerState parent;
    std::vector<plugins::Plugin*> isolators;  // those that apply to this container
    plugins::Plugin* provisioner = nullptr;
    v1::ImageConfig image;
    launcher::Launched launched;
    bool spawned = false;
    bool begun = false;
    bool provisioned = false;  // provision() ran (a group provisions every member first)
    std::string step;  // for error messages
    std::optional<FileLock> launch_lock;  // <runtime dir>/launch.lock, held throughout
    // When set, provision() releases this (the state lock) while the
    // provisioner pulls, so a slow pull blocks no other container.
    std::optional<FileLock>* state_lock = nullptr;
  };

  // --- launch.cpp
  Result<void> beginAttempt(Attempt& a, const v1::ContainerID& id, const v1::ContainerConfig& config);
  Result<void> prepareAttempt(Attempt& a);
  Result<void> commitAttempt(Attempt& a);
  Result<void> validateLaunch(const v1::ContainerID& id, const v1::ContainerConfig& config,
                              v1::ContainerState* parent);
  Result<void> provision(Attempt& a);
  // fields.hpp: every set config field is the core's or a used isolator's.
  Result<void> checkConfigFields(const Attempt& a, const v1::ContainerConfig& config) const;
  bool takesField(plugins::Plugin* p, const std::string& field) const;
  // After the state lock was given up (provisioning): fails when a destroy
  // asked this launch (or its task group) to stop, or the parent ended.
  Result<void> checkNotCancelled(const Attempt& a);
  Result<void> prepareIsolators(Attempt& a);
  Result<void> buildLaunch(Attempt& a, launcher::LaunchRequest& req);
  void rollback(Attempt& a, const Error& why);
  v1::LaunchInfo coreLaunchInfo(const Attempt& a) const;

  // --- terminate.cpp (callers hold the file lock)
  Result<v1::Termination> finish(v1::ContainerState& st, v1::Termination::Reason reason,
                                 const std::string& message);
  v1::Termination readTermination(const v1::ContainerState& st);
  // SIGTERM, then SIGKILL once `grace` is over (0: SIGKILL at once).
  Result<void> killAndWait(v1::ContainerState& st, v1::Termination::Reason reason,
                           const std::string& message,
                           std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  // A launch whose launcher died (the caller holds the lock and the state
  // is still PROVISIONING/PREPARING/ISOLATING): a task group member whose
  // release was decided is released; anything else is undone completely.
  // Returns true when the container still exists afterwards.
  Result<bool> resolveInterrupted(v1::ContainerState& st);
  // Whether the launch of id is no longer in progress anywhere (its launch
  // lock is free, or gone with the dir). Meaningful only while the state
  // says it is launching. Never creates the lock file: a launch rolling back
  // may be removing the dir right now (O_CREAT there left a dir behind).
  bool launcherGone(const v1::ContainerID& id) const {
    std::string path = store_.layout().launchLockFile(id);
    return FileLock::tryAcquire(path, false).has_value() || !fs::exists(path);
  }
  static bool launching(const v1::ContainerState& st) {
    return st.state() == v1::PROVISIONING || st.state() == v1::PREPARING ||
           st.state() == v1::ISOLATING || st.state() == v1::STATE_UNSPECIFIED;
  }
  // Asks the live launcher of st to stop (cancel file; the group's too).
  Result<void> cancelLaunch(const v1::ContainerState& st);
  Result<void> cleanupIsolators(const v1::ContainerState& st);
  Result<void> destroyProvisioned(const v1::ContainerState& st);
  Result<void> removeContainer(const v1::ContainerState& st);

  // --- group.cpp
  std::string groupFile(const v1::ContainerID& parent, const std::string& name) const;
  Result<v1::TaskGroupState> loadGroup(const v1::ContainerID& parent, const std::string& name) const;
  Result<std::vector<v1::ContainerID>> validateGroup(const v1::ContainerID& parent,
                                                     const v1::TaskGroup& group) const;
  bool finishGroupRelease(v1::ContainerState& st);
  Result<void> linkDecision(const v1::ContainerID& member, const std::string& group);
  bool groupReleased(const v1::ContainerID& parent, const std::string& group);
  void recoverGroups();
  void applyGroupPolicy(const v1::ContainerState& st, const v1::Termination& t);

  // --- helpers
  v1::ContainerContext contextFor(const v1::ContainerState& st) const;
  Result<plugins::Plugin*> isolatorByName(const std::string& name);
  Result<plugins::Plugin*> provisionerFor(const std::string& image);
  Result<FileLock> lock() const { return FileLock::acquire(store_.layout().lockFile()); }
  std::optional<FileLock> tryLock() const { return FileLock::tryAcquire(store_.layout().lockFile()); }
  bool running(const v1::ContainerState& st) const;

  Options opts_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<plugins::PluginHost> host_;
  std::vector<plugins::Plugin*> isolators_;  // --isolation, dependency-ordered
  Store store_;
  // The sealed memfd copy of warren-init every launch execs (made at the
  // first launch; see launcher::sealInit).
  std::mutex init_mu_;
  UniqueFd init_fd_;
  Result<int> sealedInit();
  std::mutex threads_mu_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace warren::core
