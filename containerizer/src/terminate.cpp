// Ending containers: wait, kill, destroy, and finishing a container whose
// init exited (exit status -> termination, limitations, cleanup in reverse).
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include <cstring>

#include "containerizer_impl.hpp"
#include "launcher/exit_status.hpp"
#include "proc.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::core {

namespace {

std::string signalName(int sig) {
  const char* d = ::sigabbrev_np(sig);
  return d != nullptr ? std::string("SIG") + d : "signal " + std::to_string(sig);
}

}  // namespace

v1::Termination ContainerizerImpl::readTermination(const v1::ContainerState& st) {
  v1::Termination t;
  auto text = fs::readFile(store_.layout().exitStatusFile(st.id()));
  std::optional<launcher::ExitStatus> es;
  if (text) es = launcher::parseExitStatus(*text);
  if (!es) {
    if (st.kill_signal() == SIGKILL) {
      t.set_signal(SIGKILL);
      t.set_reason(v1::Termination::KILLED);
      t.set_message("killed by SIGKILL");
    } else {
      t.set_reason(v1::Termination::INIT_DIED);
      t.set_message("warren-init ended without recording an exit status");
    }
    return t;
  }
  t.set_wait_status(es->wait_status);
  if (es->reason == "exec_failed") {
    t.set_has_exit_status(true);
    t.set_exit_code(127);
    t.set_reason(v1::Termination::COMMAND_NOT_FOUND);
    t.set_message(es->message);
  } else if (es->reason == "max_completion_time") {
    t.set_signal(WIFSIGNALED(es->wait_status) ? WTERMSIG(es->wait_status) : SIGKILL);
    t.set_reason(v1::Termination::MAX_COMPLETION_TIME);
    t.set_message("killed by warren-init at its max_completion_time (" +
                  std::to_string(st.config().max_completion_time_ms()) + " ms)");
  } else if (es->reason == "setup_failed") {
    t.set_reason(v1::Termination::LAUNCH_FAILED);
    t.set_message(es->message);
  } else if (WIFSIGNALED(es->wait_status)) {
    int sig = WTERMSIG(es->wait_status);
    t.set_signal(sig);
    t.set_reason(st.kill_signal() == sig ? v1::Termination::KILLED
                                         : v1::Termination::COMMAND_SIGNALED);
    t.set_message("command killed by " + signalName(sig));
  } else {
    t.set_has_exit_status(true);
    t.set_exit_code(WEXITSTATUS(es->wait_status));
    t.set_reason(v1::Termination::COMMAND_EXITED);
    t.set_message("command exited with status " + std::to_string(t.exit_code()));
  }
  return t;
}

Result<void> ContainerizerImpl::cleanupIsolators(const v1::ContainerState& st) {
  v1::ContainerRequest req;
  *req.mutable_id() = st.id();
  *req.mutable_state() = st;
  std::vector<Error> errors;
  for (int i = st.isolators_size() - 1; i >= 0; --i) {
    auto p = isolatorByName(st.isolators(i));
    if (!p) {
      errors.push_back(p.error());
      continue;
    }
    auto r = (*p)->call<v1::Empty>(v1::CLEANUP, req);
    if (!r) errors.push_back(r.error());
  }
  if (errors.empty()) return {};
  for (const auto& e : errors) {
    log_->error("container_id={} cleanup: {}", formatId(st.id()), e.message());
  }
  std::string msg = errors.front().message();
  if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
  return fail(Code::Internal, "cleanup of '" + formatId(st.id()) + "': " + msg);
}

Result<void> ContainerizerImpl::destroyProvisioned(const v1::ContainerState& st) {
  if (st.provisioner().empty()) return {};
  WARREN_ASSIGN_OR_RETURN(auto* p, host_->instance(plugins::Kind::Provisioner, st.provisioner()));
  v1::ContainerRequest req;
  *req.mutable_id() = st.id();
  *req.mutable_state() = st;
  WARREN_TRY(p->call<v1::Empty>(v1::DESTROY, req));
  return {};
}

Result<void> ContainerizerImpl::removeContainer(const v1::ContainerState& st) {
  auto r1 = fs::removeTree(store_.layout().runtimeDir(st.id()));
  auto r2 = fs::removeTree(store_.layout().sandboxDir(st.id()));
  if (!r1) return r1;
  return r2;
}

Result<void> ContainerizerImpl::killAndWait(v1::ContainerState& st, v1::Termination::Reason reason,
                                            const std::string& message,
                                            std::chrono::milliseconds grace) {
  if (st.pending_reason() == v1::Termination::REASON_UNSPECIFIED) {
    st.set_pending_reason(reason);
    st.set_pending_message(message);
  }
  auto fd = openProcess(st.pid(), st.start_time());
  if (grace.count() > 0 && fd) {
    // warren-init forwards SIGTERM to the command; its exit ends init.
    st.set_kill_signal(SIGTERM);
    WARREN_TRY(store_.save(st));
    WARREN_TRY(signalProcess(fd->get(), SIGTERM));
    if (waitExit(fd->get(), grace)) {
      reapIfChild(st.pid());
      return {};
    }
    log_->info("container_id={} still running {} ms after SIGTERM: SIGKILL", formatId(st.id()),
               grace.count());
  }
  st.set_kill_signal(SIGKILL);
  WARREN_TRY(store_.save(st));
  if (!fd) return {};  // already gone
  WARREN_TRY(signalProcess(fd->get(), SIGKILL));
  if (!waitExit(fd->get(), std::chrono::seconds(30))) {
    return fail(Code::Unavailable, "container '" + formatId(st.id()) + "' (pid " +
                                       std::to_string(st.pid()) + ") did not exit after SIGKILL");
  }
  reapIfChild(st.pid());
  return {};
}

Result<bool> ContainerizerImpl::resolveInterrupted(v1::ContainerState& st) {
  std::string cid = formatId(st.id());
  if (st.state() == v1::ISOLATING && finishGroupRelease(st)) return true;
  log_->warn("container_id={} undoing a launch interrupted in state {}", cid, v1::State_Name(st.state()));
  // Its children (none can have launched, but be thorough) go first.
  for (auto& child : store_.descendants(st.id())) {
    if (launching(child)) {
      (void)resolveInterrupted(child);
    } else if (child.state() != v1::TERMINATED) {
      (void)killAndWait(child, v1::Termination::PARENT_DESTROYED, "parent container '" + cid + "' never started");
    }
  }
  if (st.pid() > 0) {
    auto fd = openProcess(st.pid(), st.start_time());
    if (fd) {
      (void)signalProcess(fd->get(), SIGKILL);
      waitExit(fd->get(), std::chrono::seconds(10));
    }
    reapIfChild(st.pid());
  } else if (st.state() == v1::ISOLATING || st.state() == v1::STATE_UNSPECIFIED) {
    // Killed between spawning warren-init and checkpointing its pid: the
    // init exists but no record names it. It would record "launcher
    // exited" into the runtime dir - possibly while the dir is removed
    // below, leaving a dir without a record. Find it by the dir it holds.
    int ended = endInitsHolding(store_.layout().runtimeDir(st.id()));
    if (ended > 0) log_->warn("container_id={} ended {} unrecorded warren-init(s) of the interrupted launch", cid, ended);
  }
  std::vector<Error> errors;
  auto r = cleanupIsolators(st);
  if (!r) errors.push_back(r.error());
  r = destroyProvisioned(st);
  if (!r) errors.push_back(r.error());
  r = removeContainer(st);
  for (int again = 0; !r && again < 3 && st.pid() == 0; ++again) {
    // An init that exec'd only after the look above may just have written
    // into the dir: end it and remove again.
    (void)endInitsHolding(store_.layout().runtimeDir(st.id()));
    r = removeContainer(st);
  }
  if (!r) errors.push_back(r.error());
  if (!errors.empty()) return fail(errors.front());
  return false;
}

Result<v1::Termination> ContainerizerImpl::finish(v1::ContainerState& st,
                                                  v1::Termination::Reason reason,
                                                  const std::string& message) {
  if (st.state() == v1::TERMINATED && st.has_termination()) return st.termination();
  std::string cid = formatId(st.id());
  // Nested containers never outlive their parent: deepest first.
  for (auto& child : store_.descendants(st.id())) {
    if (child.state() == v1::TERMINATED) continue;
    WARREN_TRY(killAndWait(child, v1::Termination::PARENT_DESTROYED,
                           "parent container '" + cid + "' ended"));
    WARREN_TRY(finish(child, v1::Termination::PARENT_DESTROYED,
                      "parent container '" + cid + "' ended"));
  }
  if (st.pid() > 0) reapIfChild(st.pid());
  v1::Termination t = readTermination(st);
  if (reason != v1::Termination::REASON_UNSPECIFIED) {
    t.set_reason(reason);
    t.set_message(message);
  } else if (st.pending_reason() != v1::Termination::REASON_UNSPECIFIED) {
    t.set_reason(st.pending_reason());
    if (!st.pending_message().empty()) t.set_message(st.pending_message());
  }
  // Limitations (an OOM kill, ...) explain a death better than the signal.
  v1::WatchRequest wreq;
  *wreq.mutable_id() = st.id();
  for (const auto& n : st.isolators()) {
    auto p = isolatorByName(n);
    if (!p) continue;
    auto w = (*p)->call<v1::WatchResponse>(v1::WATCH, wreq);
    if (!w) {
      log_->warn("container_id={} watch: {}", cid, w.error().message());
      continue;
    }
    for (auto l : w->limitations()) {
      l.set_isolator(n);
      if (l.reason() == v1::Limitation::MEMORY &&
          t.reason() != v1::Termination::KILLED && t.reason() != v1::Termination::PARENT_DESTROYED) {
        t.set_reason(v1::Termination::MEMORY_LIMIT);
        t.set_message(l.message().empty() ? "memory limit exceeded" : l.message());
      } else if (l.reason() == v1::Limitation::DISK && t.reason() != v1::Termination::KILLED &&
                 t.reason() != v1::Termination::PARENT_DESTROYED) {
        t.set_reason(v1::Termination::DISK_LIMIT);
        t.set_message(l.message().empty() ? "disk limit exceeded" : l.message());
      } else if (t.reason() == v1::Termination::COMMAND_SIGNALED) {
        t.set_reason(v1::Termination::LIMITATION);
        t.set_message(l.message());
      }
      *t.add_limitations() = l;
    }
  }
  auto r1 = cleanupIsolators(st);
  auto r2 = destroyProvisioned(st);
  st.set_state(v1::TERMINATED);
  *st.mutable_termination() = t;
  WARREN_TRY(store_.save(st));
  log_->info("container_id={} terminated: {}", cid, t.message());
  applyGroupPolicy(st, t);
  if (!r1) return fail(r1.error());
  if (!r2) return fail(r2.error());
  return t;
}

Result<v1::Termination> ContainerizerImpl::wait(const v1::ContainerID& id,
                                                std::optional<std::chrono::milliseconds> timeout) {
  WARREN_TRY(validateId(id));
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  while (true) {
    WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
    if (st.state() == v1::TERMINATED && st.has_termination()) return st.termination();
    if (st.pid() > 0) {
      auto fd = openProcess(st.pid(), st.start_time());
      if (fd) {
        std::optional<std::chrono::milliseconds> left;
        if (timeout) {
          left = std::chrono::duration_cast<std::chrono::milliseconds>(
              deadline - std::chrono::steady_clock::now());
          if (left->count() < 0) left = std::chrono::milliseconds(0);
        }
        if (!waitExit(fd->get(), left)) {
          return fail(Code::Unavailable, "timed out waiting for container '" + formatId(id) + "'");
        }
      }
    } else if (launching(st) && !launcherGone(id)) {
      // Still launching (its launcher holds the launch lock): poll.
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(Code::Unavailable, "timed out waiting for container '" + formatId(id) + "'");
      }
      ::usleep(10000);
      continue;
    }
    WARREN_ASSIGN_OR_RETURN(auto guard, lock());
    WARREN_ASSIGN_OR_RETURN(st, store_.load(id));
    if (st.state() == v1::TERMINATED && st.has_termination()) return st.termination();
    if (launching(st)) {
      if (!launcherGone(id)) continue;
      // Its launcher died: resolve the launch here.
      WARREN_ASSIGN_OR_RETURN(bool kept, resolveInterrupted(st));
      if (kept) continue;
      return fail(Code::NotFound, "container '" + formatId(id) +
                                      "' never started: its launch was interrupted and has been undone");
    }
    if (st.state() != v1::RUNNING && st.state() != v1::DESTROYING) continue;
    if (running(st)) continue;  // raced with something; wait again
    return finish(st, v1::Termination::REASON_UNSPECIFIED, "");
  }
}

Result<UniqueFd> ContainerizerImpl::waitFd(const v1::ContainerID& id) {
  WARREN_TRY(validateId(id));
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  if (st.state() == v1::RUNNING || st.state() == v1::DESTROYING) {
    auto fd = openProcess(st.pid(), st.start_time());
    if (fd) return std::move(*fd);
  }
  UniqueFd ev(::eventfd(1, EFD_CLOEXEC));  // already readable: it has ended
  if (!ev) return failErrno("eventfd");
  return ev;
}

void ContainerizerImpl::waitAsync(const v1::ContainerID& id,
                                  std::function<void(Result<v1::Termination>)> cb) {
  std::lock_guard<std::mutex> g(threads_mu_);
  threads_.emplace_back([this, id, cb = std::move(cb)] {
    while (!stopping_) {
      auto r = wait(id, std::chrono::milliseconds(200));
      if (!r && r.error().code() == Code::Unavailable) continue;
      cb(std::move(r));
      return;
    }
  });
}

Result<void> ContainerizerImpl::kill(const v1::ContainerID& id, int sig) {
  return signalContainer(id, sig, true);
}

Result<void> ContainerizerImpl::forwardSignal(const v1::ContainerID& id, int sig) {
  return signalContainer(id, sig, sig == SIGKILL);
}

// as_kill: warren sends it (a death by it is KILLED; with SIGKILL or
// signal_marks_killed any end is). Otherwise it is only passed on.
Result<void> ContainerizerImpl::signalContainer(const v1::ContainerID& id, int sig, bool as_kill) {
  WARREN_TRY(validateId(id));
  if (sig <= 0 || sig >= 65) {
    return fail(Code::InvalidArgument, "invalid signal " + std::to_string(sig));
  }
  WARREN_ASSIGN_OR_RETURN(auto guard, lock());
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  if (st.state() != v1::RUNNING || !running(st)) {
    return fail(Code::FailedPrecondition, "container '" + formatId(id) + "' is not running");
  }
  if (as_kill) st.set_kill_signal(sig);
  if (as_kill && (sig == SIGKILL || opts_.signal_marks_killed) &&
      st.pending_reason() == v1::Termination::REASON_UNSPECIFIED) {
    st.set_pending_reason(v1::Termination::KILLED);
    st.set_pending_message("killed by " + signalName(sig));
  }
  WARREN_TRY(store_.save(st));
  WARREN_ASSIGN_OR_RETURN(auto fd, openProcess(st.pid(), st.start_time()));
  return signalProcess(fd.get(), sig);
}

Result<void> ContainerizerImpl::cancelLaunch(const v1::ContainerState& st) {
  WARREN_TRY(fs::writeFile(store_.layout().cancelFile(st.id()), "cancel\n"));
  // A task group launches all-or-nothing: its other members stop too.
  if (!st.group().empty()) {
    WARREN_TRY(fs::writeFile(groupFile(parentOf(st.id()), st.group()) + ".cancel", "cancel\n"));
  }
  return {};
}

Result<v1::Termination> ContainerizerImpl::destroy(const v1::ContainerID& id,
                                                   std::optional<std::chrono::milliseconds> grace) {
  WARREN_TRY(validateId(id));
  auto g = grace.value_or(opts_.kill_grace);
  if (g.count() < 0) return fail(Code::InvalidArgument, "kill grace must not be negative");
  std::optional<FileLock> guard;
  {
    WARREN_ASSIGN_OR_RETURN(auto g, lock());
    guard.emplace(std::move(g));
  }
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  std::string cid = formatId(id);
  v1::Termination t;
  if (launching(st) && !launcherGone(id)) {
    // Its launcher is alive and provisioning (it releases the state lock only
    // then): ask it to stop - the provisioner polls the cancel file and stops
    // its pull within about a second - and wait for it to roll back.
    log_->info("container_id={} destroyed while provisioning: cancelling the launch", cid);
    WARREN_TRY(cancelLaunch(st));
    guard.reset();
    { auto ll = FileLock::acquire(store_.layout().launchLockFile(id), false); }
    WARREN_ASSIGN_OR_RETURN(auto l, lock());
    guard.emplace(std::move(l));
    auto again = store_.load(id);
    if (!again && again.error().code() == Code::NotFound) {
      t.set_reason(v1::Termination::LAUNCH_FAILED);
      t.set_message("destroyed while provisioning; the launch was cancelled");
      return t;
    }
    WARREN_ASSIGN_OR_RETURN(st, std::move(again));
  }
  if (launching(st)) {
    // A launching container whose launch lock is free: its launcher died.
    WARREN_ASSIGN_OR_RETURN(bool kept, resolveInterrupted(st));
    if (!kept) {
      t.set_reason(v1::Termination::LAUNCH_FAILED);
      t.set_message("launch interrupted in state " + v1::State_Name(st.state()) + "; undone");
      log_->info("container_id={} destroyed (its launch had been interrupted)", cid);
      return t;
    }
  }
  // Descendants still being launched by a live launcher (provisioning
  // without the state lock): cancel them and let their launches roll back
  // before the tree is torn down, so no pull goes on for a dead parent.
  std::vector<v1::ContainerID> cancelled;
  for (const auto& child : store_.descendants(id)) {
    if (!launching(child) || launcherGone(child.id())) continue;
    WARREN_TRY(cancelLaunch(child));
    cancelled.push_back(child.id());
  }
  if (!cancelled.empty()) {
    guard.reset();
    for (const auto& c : cancelled) {
      auto wait = FileLock::acquire(store_.layout().launchLockFile(c), false);  // NotFound: rolled back
    }
    WARREN_ASSIGN_OR_RETURN(auto l, lock());
    guard.emplace(std::move(l));
    WARREN_ASSIGN_OR_RETURN(st, store_.load(id));
  }
  faultPoint("destroy-begin");
  // From here on an interrupted destroy is completed by recover().
  WARREN_TRY(fs::writeFile(store_.layout().runtimeDir(id) + "/destroying", "destroying\n"));
  if (st.state() == v1::TERMINATED && st.has_termination()) {
    t = st.termination();
  } else {
    st.set_state(v1::DESTROYING);
    WARREN_TRY(store_.save(st));
    faultPoint("destroy-checkpointed");
    // SIGTERM everyone first (descendants and the container), so the grace
    // period runs once for the whole tree.
    std::vector<v1::ContainerState> tree = store_.descendants(id);
    for (auto& child : tree) {
      if (child.state() == v1::TERMINATED || g.count() == 0) continue;
      if (auto fd = openProcess(child.pid(), child.start_time())) {
        (void)signalProcess(fd->get(), SIGTERM);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + g;
    auto left = [&] {
      auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      return l.count() > 0 ? l : std::chrono::milliseconds(0);
    };
    for (auto& child : tree) {
      if (child.state() == v1::TERMINATED) continue;
      WARREN_TRY(killAndWait(child, v1::Termination::PARENT_DESTROYED,
                             "parent container '" + cid + "' was destroyed", left()));
    }
    faultPoint("destroy-children-killed");
    if (running(st)) {
      // The container's own grace starts when its children are gone.
      WARREN_TRY(killAndWait(st, v1::Termination::KILLED, "destroyed", g));
    }
    faultPoint("destroy-killed");
    WARREN_ASSIGN_OR_RETURN(t, finish(st, v1::Termination::REASON_UNSPECIFIED, ""));
  }
  faultPoint("destroy-finished");
  WARREN_TRY(removeContainer(st));
  log_->info("container_id={} destroyed", cid);
  return t;
}

}  // namespace warren::core
