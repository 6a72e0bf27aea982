// warren-init after the command started: forward signals to it, reap every
// zombie, and when the command is gone record its status atomically in the
// runtime dir (through the dir fd opened before pivot_root), then exit.
#include <linux/magic.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/init.hpp"
#include "launcher/exit_status.hpp"

namespace warren::init {
namespace {

// Forwarded to the command. SIGKILL/SIGSTOP cannot be caught; a SIGKILL of
// the container is the core killing warren-init itself.
const int kForwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
                          SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGPWR};

sigset_t waitedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  return set;
}

}  // namespace

sigset_t reaperSignals() { return waitedSet(); }

void initSignalMask() {
  sigset_t set = waitedSet();
  sigprocmask(SIG_SETMASK, &set, nullptr);
}

void resetSignalMaskForChild() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void writeExitStatus(const State& st, int wait_status, const char* reason,
                     const std::string& message) {
  if (st.rundir_fd < 0) return;
  launcher::ExitStatus es{wait_status, reason, message};
  std::string text = launcher::formatExitStatus(es);
  std::string tmp = std::string(launcher::kExitStatusFile) + ".tmp";
  int fd = openat(st.rundir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  struct statfs sfs {};
  bool on_tmpfs = fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;  // nothing to flush
  if (!on_tmpfs) ok = fsync(fd) == 0 && ok;
  close(fd);
  if (ok) renameat(st.rundir_fd, tmp.c_str(), st.rundir_fd, launcher::kExitStatusFile);
}

namespace {
int64_t monotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

void startDeadline(State& st) {
  if (st.spec.max_completion_ms == 0) return;
  st.deadline_ms = monotonicMs() + static_cast<int64_t>(st.spec.max_completion_ms);
}

int deadlineTimeoutMs(const State& st) {
  if (st.deadline_ms == 0 || st.deadline_hit) return -1;
  int64_t left = st.deadline_ms - monotonicMs();
  return left <= 0 ? 0 : static_cast<int>(left > 0x7fffffff ? 0x7fffffff : left);
}

void checkDeadline(const State& st, pid_t command) {
  if (deadlineTimeoutMs(st) != 0) return;
  st.deadline_hit = true;
  // The command leads its own session and process group.
  kill(-command, SIGKILL);
  kill(command, SIGKILL);
  // Anything it left in other sessions ends with us: when warren-init (pid 1
  // of the container's pid namespace) exits, the kernel kills the rest.
}

const char* reasonFor(const State& st, int wait_status, const std::string& exec_error) {
  if (!exec_error.empty()) return "exec_failed";
  if (st.deadline_hit) return "max_completion_time";
  return WIFSIGNALED(wait_status) ? "signaled" : "exited";
}

int reap(const State& st, pid_t command, const std::string& exec_error) {
  if (st.spec.io.relay) return ioRelayAndReap(st, command, exec_error);
  sigset_t set = waitedSet();
  while (true) {
    siginfo_t si;
    int left = deadlineTimeoutMs(st);
    int sig;
    if (left < 0) {
      sig = sigwaitinfo(&set, &si);
    } else {
      timespec ts{left / 1000, static_cast<long>(left % 1000) * 1000000};
      sig = sigtimedwait(&set, &si, &ts);
      if (sig < 0 && errno == EAGAIN) {
        checkDeadline(st, command);
        continue;
      }
    }
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      kill(command, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != command) continue;  // an orphan we adopted: reaped, nothing more
      writeExitStatus(st, status, reasonFor(st, status, exec_error), exec_error);
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}

}  // namespace warren::init
