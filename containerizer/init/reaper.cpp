// warren-init after the command started: forward signals to it, reap every
// zombie, and when the command is gone record its status atomically in the
// runtime dir (through the dir fd opened before pivot_root), then exit.
#include <linux/magic.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
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

int reap(const State& st, pid_t command, const std::string& exec_error) {
  if (st.spec.io.relay) return ioRelayAndReap(st, command, exec_error);
  sigset_t set = waitedSet();
  while (true) {
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      kill(command, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != command) continue;  // an orphan we adopted: reaped, nothing more
      const char* reason = WIFSIGNALED(status) ? "signaled" : "exited";
      if (!exec_error.empty()) reason = "exec_failed";
      writeExitStatus(st, status, reason, exec_error);
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}

}  // namespace warren::init
