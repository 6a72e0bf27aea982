#include "host/plugin_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "host/wire.hpp"
#include "warren/sdk/abi.h"
#include "warren/sdk/fd.hpp"

extern char** environ;

namespace warren::plugins {
namespace {

// posix_spawn with stdin from /dev/null, stdout onto stderr (a plugin's
// prints must never reach warren's stdout) unless `stdout_fd` is given, and
// `pass_fd` (if >= 0) as fd 3. Default signal dispositions, empty mask.
Result<pid_t> spawn(const std::vector<std::string>& args, int stdout_fd, int pass_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  Defer done([&] {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  });
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, stdout_fd >= 0 ? stdout_fd : 2, 1);
  if (pass_fd >= 0) posix_spawn_file_actions_adddup2(&fa, pass_fd, 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), environ);
  if (rc != 0) return fail(Error::sys(rc, "cannot start '" + args[0] + "'"));
  return pid;
}

// An fd that is not 0..3, so dup2 onto 3 in the child always happens (and
// clears close-on-exec there).
Result<UniqueFd> highFd(UniqueFd fd) {
  if (fd.get() > 3) return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
  if (!moved) return fail(Error::errnoNow("fcntl(F_DUPFD_CLOEXEC)"));
  return moved;
}

int waitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

}  // namespace

std::string describeWaitStatus(int status) {
  if (status == -1) return "exited (status not known)";
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(": ") + name : "");
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped";
}

Result<v1::PluginDescriptor> describeInChild(const std::string& helper, const std::string& path,
                                             std::chrono::milliseconds deadline) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(Error::errnoNow("pipe2"));
  UniqueFd rd(fds[0]), wr(fds[1]);
  WARREN_ASSIGN_OR_RETURN(pid_t pid, spawn({helper, "--describe", path}, wr.get(), -1));
  wr.reset();
  std::string out;
  auto until = std::chrono::steady_clock::now() + deadline;
  bool timed_out = false;
  for (;;) {
    int wait_ms = -1;
    if (deadline.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      break;
    }
    char buf[65536];
    ssize_t r = ::read(rd.get(), buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = waitFor(pid);
  auto pfx = "plugin '" + path + "': ";
  if (timed_out) {
    return fail(Code::Unavailable, pfx + "loading it took longer than " +
                                       std::to_string(deadline.count()) + "ms (killed)");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    v1::PluginDescriptor d;
    if (!d.ParseFromString(out)) {
      return fail(Code::Internal, pfx + "warren-plugin-host returned a malformed descriptor");
    }
    return d;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && !out.empty()) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return fail(Code::FailedPrecondition, out);  // the loader's own one-line error
  }
  return fail(Code::FailedPrecondition,
              pfx + "crashed while loading (" + describeWaitStatus(status) + ")");
}

// ---------------------------------------------------------------- PluginProcess

struct PluginProcess::Proc {
  UniqueFd fd;
  pid_t pid = -1;
  std::thread reader;
  std::string kill_reason;  // set (under mu_) before we kill it on purpose
  bool dead = false;        // set by the reader after waitpid
};

PluginProcess::PluginProcess(std::string helper, std::string path, LogFn log, EventFn event)
    : helper_(std::move(helper)), path_(std::move(path)), log_(std::move(log)), event_(std::move(event)) {}

PluginProcess::~PluginProcess() {
  std::lock_guard start(start_mu_);
  std::shared_ptr<Proc> p;
  {
    std::lock_guard lock(mu_);
    p = proc_;
    if (p && !p->dead) killLocked("warren is done with the plugin");
  }
  if (p && p->reader.joinable()) p->reader.join();
  // Earlier processes' readers were joined when they were replaced.
}

bool PluginProcess::running() const {
  std::lock_guard lock(mu_);
  return proc_ && !proc_->dead;
}

pid_t PluginProcess::pid() const {
  std::lock_guard lock(mu_);
  return proc_ ? proc_->pid : -1;
}

int PluginProcess::starts() const {
  std::lock_guard lock(mu_);
  return starts_;
}

Result<bool> PluginProcess::ensureStarted() {
  std::lock_guard start(start_mu_);
  std::shared_ptr<Proc> old;
  {
    std::lock_guard lock(mu_);
    if (proc_ && !proc_->dead) return false;
    old = std::move(proc_);
  }
  if (old && old->reader.joinable()) old->reader.join();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return fail(Error::errnoNow("socketpair"));
  }
  UniqueFd ours(sv[0]);
  WARREN_ASSIGN_OR_RETURN(UniqueFd theirs, highFd(UniqueFd(sv[1])));
  WARREN_ASSIGN_OR_RETURN(pid_t pid, spawn({helper_, "--serve", path_, "3"}, -1, theirs.get()));
  theirs.reset();
  auto p = std::make_shared<Proc>();
  p->fd = std::move(ours);
  p->pid = pid;
  std::lock_guard lock(mu_);
  proc_ = p;
  ++starts_;
  p->reader = std::thread([this, p] { readerLoop(p); });
  return true;
}

void PluginProcess::kill(const std::string& why) {
  std::shared_ptr<Proc> p;
  {
    std::lock_guard lock(mu_);
    p = proc_;
    killLocked(why);
  }
  // Wait for the reader to reap it, so ensureStarted() afterwards starts anew.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !p || p->dead; });
}

void PluginProcess::killLocked(const std::string& why) {
  if (!proc_ || proc_->dead) return;
  if (proc_->kill_reason.empty()) proc_->kill_reason = why;
  ::kill(proc_->pid, SIGKILL);
}

void PluginProcess::readerLoop(std::shared_ptr<Proc> p) {
  for (;;) {
    auto f = wire::readFrame(p->fd.get());
    if (!f) break;
    switch (f->h.type) {
      case wire::kResult: {
        std::lock_guard lock(mu_);
        auto it = pending_.find(f->h.id);
        if (it != pending_.end()) {
          it->second->result = Reply{f->h.arg, std::move(f->payload)};
          it->second->done = true;
          pending_.erase(it);
          cv_.notify_all();
        }
        break;
      }
      case wire::kLog:
        if (log_) log_(f->h.arg, f->payload);
        break;
      case wire::kEvent:
        if (event_) event_(f->payload);
        break;
      default:
        break;  // unknown frames from a newer helper are ignored
    }
  }
  // The socket closed: the process exited, crashed, or was killed. Make sure
  // it is gone (it may have closed the socket and lingered), then reap it.
  ::kill(p->pid, SIGKILL);
  int status = waitFor(p->pid);
  std::lock_guard lock(mu_);
  std::string why = p->kill_reason.empty() ? "plugin process died (" + describeWaitStatus(status) + ")"
                                           : "plugin process killed: " + p->kill_reason;
  p->dead = true;
  for (auto& [id, pend] : pending_) {
    pend->result = fail(Code::Unavailable, why);
    pend->done = true;
  }
  pending_.clear();
  cv_.notify_all();
}

Result<PluginProcess::Reply> PluginProcess::request(uint32_t type, int32_t arg,
                                                    const std::string& payload,
                                                    std::chrono::milliseconds deadline,
                                                    const std::string& what) {
  auto pend = std::make_shared<Pending>();
  std::shared_ptr<Proc> p;
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (!proc_ || proc_->dead) return fail(Code::Unavailable, "plugin process is not running");
    p = proc_;
    id = next_id_++;
    pending_[id] = pend;
  }
  {
    std::lock_guard wl(write_mu_);
    auto w = wire::writeFrame(p->fd.get(), type, id, arg, payload);
    if (!w) {
      // The process is going away; the reader fails this request with why.
    }
  }
  std::unique_lock lock(mu_);
  auto done = [&] { return pend->done; };
  if (deadline.count() <= 0) {
    cv_.wait(lock, done);
  } else if (!cv_.wait_for(lock, deadline, done)) {
    pending_.erase(id);
    std::string text = what + " exceeded its deadline of " + std::to_string(deadline.count()) + "ms";
    if (proc_ == p) killLocked(text);
    // Wait until the reader reaped it, so the next call starts a new one.
    cv_.wait(lock, [&] { return p->dead; });
    return fail(Code::Unavailable, "exceeded its deadline of " + std::to_string(deadline.count()) +
                                       "ms (plugin process killed)");
  }
  return std::move(pend->result);
}

void PluginProcess::stop(std::chrono::milliseconds deadline) {
  if (!running()) return;
  auto r = request(wire::kDestroy, 0, "", deadline, "destroy");
  std::shared_ptr<Proc> p;
  {
    std::lock_guard lock(mu_);
    p = proc_;
    if (!r) killLocked("destroy failed");
  }
  std::lock_guard start(start_mu_);
  if (p && p->reader.joinable()) p->reader.join();
}

}  // namespace warren::plugins
