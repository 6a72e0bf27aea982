// libwarren: the Containerizer an agent embeds.
//
// Thread-safe. State lives on disk (work_dir, runtime_dir), so several
// Containerizer objects - in one process or in several `warren` CLI
// processes - can manage the same containers; a file lock serializes
// mutations. warren-init records each command's exit status in the runtime
// dir, so a termination survives restarts of whoever launched it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/group.pb.h"
#include "warren/v1/plugin.pb.h"
#include "warren/v1/status.pb.h"

namespace spdlog {
class logger;
}

namespace warren {

struct Options {
  std::string work_dir = "/var/lib/warren";
  std::string runtime_dir = "/run/warren";
  std::string cgroups_root = "/warren";  // absolute, never relative to our cgroup
  std::vector<std::string> plugin_dirs;   // default: <prefix>/<libdir>/warren/plugins of libwarren's install
  // The isolators, in order (short names). No default in the library: an
  // embedding agent states its isolators; empty is refused by create().
  // The front ends' default list is their --isolation flag's (cli/flags.cpp).
  std::vector<std::string> isolation;
  std::string init_path;                  // default: <prefix>/<libexecdir>/warren/warren-init of libwarren's install
  std::map<std::string, std::string> plugin_flags;    // handed to every plugin
  // Plugin events (e.g. image-pull progress): plugin short name + event.
  std::function<void(const std::string& plugin, const v1::PluginEvent& event)> plugin_event_sink;
  std::map<std::string, std::string> plugin_configs;  // short name -> JSON
  // --plugin_isolation: short name (or "*" for all others) -> "process" or
  // "inprocess". Default: process for third-party plugins, inprocess for
  // warren's own (README, "Plugin isolation").
  std::map<std::string, std::string> plugin_isolation;
  std::chrono::milliseconds plugin_call_deadline{std::chrono::seconds(60)};
  // destroy(): SIGTERM, then SIGKILL after this long (0: SIGKILL at once).
  std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};
  // Where instances claim their cgroups root (one marker file per root,
  // naming the owner's runtime dir, plus a lock). Empty: no claim.
  std::string claims_dir = "/run/warren-claims";
  // When true, a container sent any signal through kill() ends as KILLED
  // even if it traps the signal and exits 0 (warrend: a kill through the API
  // is a kill). Default: only SIGKILL does.
  bool signal_marks_killed = false;
  // OCI create/start (warren-oci): every container this instance launches
  // is held once set up - warren-init has made its namespaces, mounts and
  // user, and waits before starting the command - until start(id). launch()
  // returns when it is held. Not checkpointed: a held container is one whose
  // `<runtime dir>/start` fifo exists.
  bool hold_until_start = false;
  // With hold_until_start, a container whose config has tty and
  // inherit_stdio gets a pty of its own /dev/pts as the command's stdio and
  // controlling terminal; its master is handed here once the container is
  // created (warren-oci sends it to the OCI console socket). Needed then.
  std::function<Result<void>(const v1::ContainerID& id, UniqueFd pty_master)> console_sink;
};

// The claim file of a cgroups root: <claims_dir>/<root, '%' and '/' escaped>.
inline std::string cgroupsClaimPath(const std::string& claims_dir, const std::string& cgroups_root) {
  std::string name;
  for (char c : cgroups_root) {
    if (c == '%') name += "%25";
    else if (c == '/') name += "%2F";
    else name += c;
  }
  return claims_dir + "/" + name;
}

struct ContainerInfo {
  v1::ContainerID id;
  v1::State state = v1::STATE_UNSPECIFIED;
  int pid = -1;
  std::optional<v1::Termination> termination;
  v1::ContainerState checkpoint;
  // Launched with Options::hold_until_start and not start()ed yet: its
  // warren-init is set up and waits; the command does not exist.
  bool held = false;
};

class Containerizer {
 public:
  // Loads plugins and the checkpointed containers (does not recover).
  static Result<std::unique_ptr<Containerizer>> create(Options opts,
                                                       std::shared_ptr<spdlog::logger> log = {});
  virtual ~Containerizer() = default;

  // Reconcile with the world after a (re)start: adopt live containers (pid +
  // start time checked), finish those that exited (recorded status), destroy
  // orphans (half-launched containers, unknown cgroups/mounts/dirs).
  virtual Result<void> recover() = 0;

  // Launch a container (top-level, or nested when id has a parent).
  virtual Result<v1::ContainerStatus> launch(const v1::ContainerID& id,
                                             const v1::ContainerConfig& config) = 0;

  // Block until the container terminated (and was cleaned up); returns its
  // termination. A container that exited while nothing watched is finished
  // here. Works on containers launched by other processes.
  virtual Result<v1::Termination> wait(const v1::ContainerID& id,
                                       std::optional<std::chrono::milliseconds> timeout = {}) = 0;

  // A pollable fd that becomes readable when the container's init exits
  // (a pidfd); call wait() afterwards to collect the termination.
  virtual Result<UniqueFd> waitFd(const v1::ContainerID& id) = 0;

  // Callback flavour of wait: runs `cb` on a background thread.
  virtual void waitAsync(const v1::ContainerID& id,
                         std::function<void(Result<v1::Termination>)> cb) = 0;

  // A container launched with Options::hold_until_start (OCI create): let its
  // warren-init start the command. Returns once warren-init took the start;
  // FailedPrecondition when it is not held (already started, or ended).
  virtual Result<void> start(const v1::ContainerID& id) = 0;

  // Send a signal (default SIGKILL) to the container's command.
  virtual Result<void> kill(const v1::ContainerID& id, int signal = 9) = 0;

  // Pass a signal on to the command as its own (the Ctrl-C or SIGTERM a
  // `warren run` received): unlike kill(), it never makes the end KILLED
  // (Options::signal_marks_killed does not apply), except SIGKILL, so the
  // container's real outcome is recorded - e.g. exit 7 from a TERM trap.
  virtual Result<void> forwardSignal(const v1::ContainerID& id, int signal) { return kill(id, signal); }

  // Kill (descendants first; SIGTERM, then SIGKILL after `grace`, default
  // Options::kill_grace, 0 = SIGKILL at once), clean up every isolator and
  // provisioner resource, and forget the container. Returns its termination.
  // A container whose launcher died midway is resolved here too.
  virtual Result<v1::Termination> destroy(
      const v1::ContainerID& id, std::optional<std::chrono::milliseconds> grace = {}) = 0;

  virtual Result<void> update(const v1::ContainerID& id, const v1::Resources& resources) = 0;
  virtual Result<v1::ResourceStatistics> usage(const v1::ContainerID& id) = 0;
  virtual Result<v1::ContainerStatus> status(const v1::ContainerID& id) = 0;

  // Every known container (any depth), parents before children.
  virtual Result<std::vector<ContainerInfo>> containers() = 0;

  // ---- Task groups: nested containers under one parent, all-or-nothing.
  // Phase 1 provisions, prepares and spawns every member (blocked); any
  // failure rolls every member back - no member's command ever runs. Phase 2
  // checkpoints the decision, then releases them all.
  virtual Result<std::vector<v1::ContainerStatus>> launchGroup(const v1::ContainerID& parent,
                                                               const v1::TaskGroup& group) = 0;
  struct MemberTermination {
    v1::ContainerID id;
    v1::Termination termination;
  };
  // Waits for every member (applying the group's failure policy on the way).
  virtual Result<std::vector<MemberTermination>> waitGroup(
      const v1::ContainerID& parent, const std::string& name,
      std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  virtual Result<void> killGroup(const v1::ContainerID& parent, const std::string& name,
                                 int signal = 9) = 0;
  virtual Result<std::vector<MemberTermination>> destroyGroup(const v1::ContainerID& parent,
                                                              const std::string& name) = 0;

  // ---- Images (every provisioner plugin).
  virtual Result<v1::ImageList> images() = 0;
  virtual Result<v1::ImageInfo> pullImage(const std::string& reference) = 0;
  // Removes layers and images no container uses.
  virtual Result<v1::PruneResponse> pruneImages() = 0;

  // Loaded plugins and load errors, for `warren plugins`.
  struct PluginListing {
    std::string name, short_name, version, kind, path;
  };
  virtual std::vector<PluginListing> plugins() const = 0;
  virtual std::vector<std::string> pluginErrors() const = 0;
};

}  // namespace warren
