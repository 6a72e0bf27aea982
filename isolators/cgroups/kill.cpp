// Reliable kill of every process of a cgroup subtree, including processes
// forking while we kill: v1 freezes the subtree first (freezer), v2 uses
// cgroup.kill (Linux 5.14+) or cgroup.freeze before that.
#include <signal.h>

#include <thread>

#include "cgroupfs.hpp"
#include "controllers.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::isolators::cgroups::kill {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<pid_t> allPids(const std::vector<std::string>& dirs) {
  std::vector<pid_t> out;
  for (const auto& d : dirs) {
    auto p = procsRecursive(d);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// Only pids read from a real cgroup filesystem are signalled: a
// cgroupfs-shaped test directory may name any pid.
void killAll(const std::vector<pid_t>& pids, bool real) {
  if (!real) return;
  for (pid_t p : pids) {
    if (p > 1) ::kill(p, SIGKILL);
  }
}

// Poll until no process is left in dirs (killing stragglers) or timeout.
Result<void> waitEmpty(const std::vector<std::string>& dirs, Clock::time_point deadline) {
  auto delay = std::chrono::milliseconds(1);
  while (true) {
    auto left = allPids(dirs);
    if (left.empty()) return {};
    if (Clock::now() >= deadline) {
      return fail(Code::Unavailable, std::to_string(left.size()) + " process(es) still in '" +
                                         dirs.front() + "' after SIGKILL (first: " +
                                         std::to_string(left.front()) + ")");
    }
    killAll(left, onCgroupFs(dirs.front()));
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

// Poll until `file` reads `want` or timeout; false on timeout.
bool waitFor(const std::string& file, const std::string& want, Clock::time_point deadline) {
  while (true) {
    auto v = readValue(file);
    if (!v || *v == want) return true;  // gone (nothing to wait for) or reached
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

Result<void> freezeAndKillV1(const std::string& freezer_dir, const std::vector<std::string>& dirs,
                             std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (allPids(dirs).empty()) return {};
  if (!freezer_dir.empty() && isDir(freezer_dir)) {
    std::string state = freezer_dir + "/freezer.state";
    WARREN_TRY(writeValue(state, "FROZEN"));
    // Thaw whatever happens next: a frozen cgroup left behind is never fine.
    Defer thaw([&] { (void)writeValue(state, "THAWED"); });
    // A task in uninterruptible sleep can keep the cgroup FREEZING; we kill
    // anyway after a bounded wait (new forks are already blocked then).
    (void)waitFor(state, "FROZEN", Clock::now() + timeout / 4);
    killAll(allPids(dirs), onCgroupFs(dirs.front()));
  } else {
    killAll(allPids(dirs), onCgroupFs(dirs.front()));
  }
  return waitEmpty(dirs, deadline);
}

Result<void> killV2(const std::string& dir, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string kill_file = dir + "/cgroup.kill";
  if (isFile(kill_file)) {
    WARREN_TRY(writeExisting(kill_file, "1"));
  } else if (!procsRecursive(dir).empty()) {
    std::string freeze = dir + "/cgroup.freeze";
    WARREN_TRY(writeValue(freeze, "1"));
    Defer thaw([&] { (void)writeValue(freeze, "0"); });
    auto until = Clock::now() + timeout / 4;
    while (readKey(dir + "/cgroup.events", "frozen").value_or(1) != 1 && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    killAll(procsRecursive(dir), onCgroupFs(dir));
  }
  return waitEmpty({dir}, deadline);
}

}  // namespace warren::isolators::cgroups::kill
