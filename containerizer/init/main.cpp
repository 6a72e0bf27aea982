// warren-init: the container's first process. `warren-init` (no arguments);
// its spec arrives on fd 3 (the control socket). See launcher/README.md.
#include <fcntl.h>
#include <sched.h>
#include <termios.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "init/init.hpp"
#include "init/sys.hpp"
#include "launcher/exit_status.hpp"

namespace warren::init {
namespace {

using launcher::kControlFd;

void sendMsg(char type, const std::string& body, bool with_creds) {
  std::string buf(1, type);
  buf += body;
  if (buf.size() > 4000) buf.resize(4000);
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(ucred))];
  if (with_creds) {
    std::memset(cbuf, 0, sizeof cbuf);
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    ucred cr{getpid(), getuid(), getgid()};
    std::memcpy(CMSG_DATA(c), &cr, sizeof cr);
  }
  while (sendmsg(kControlFd, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

[[noreturn]] void failEarly(const std::string& msg) {
  sendMsg(launcher::kMsgError, msg, false);
  _exit(1);
}

// Setup failed after release: record it, tell the launcher, exit.
[[noreturn]] void failSetup(const State& st, const std::string& msg) {
  writeExitStatus(st, 1 << 8, "setup_failed", msg);
  sendMsg(launcher::kMsgError, msg, false);
  _exit(1);
}

// The spec, and the fds passed along with it (moved above the fds 0-4
// warren-init uses): the user namespace to join when it asks for a new one,
// or (Spec::forked) the runtime dir and the sandbox dir.
bool readSpec(launcher::Spec* spec, std::vector<int>* fds) {
  char peek;
  ssize_t n;
  while ((n = recv(kControlFd, &peek, 1, MSG_PEEK | MSG_TRUNC)) < 0 && errno == EINTR) {}
  if (n <= 0) return false;
  std::string buf(static_cast<size_t>(n), '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(2 * sizeof(int))];
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  while ((n = recvmsg(kControlFd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(sizeof(int))) {
      continue;
    }
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds->push_back(fcntl(fd, F_DUPFD_CLOEXEC, 10));
      close(fd);
    }
  }
  if (n != static_cast<ssize_t>(buf.size()) || buf[0] != launcher::kMsgSpec || (mh.msg_flags & MSG_CTRUNC)) {
    return false;
  }
  return launcher::decodeSpec(buf.data() + 1, buf.size() - 1, spec);
}

// Blocks until the launcher says go (kMsgGo, or kMsgPrepare for a task group
// member); 0 on EOF (launcher gone).
char waitForGo() {
  char c = 0;
  ssize_t n;
  while ((n = recv(kControlFd, &c, 1, 0)) < 0 && errno == EINTR) {}
  if (n != 1 || (c != launcher::kMsgGo && c != launcher::kMsgPrepare)) return 0;
  return c;
}

// The launcher is gone: a task group member whose release was decided goes
// on (`decision` links to the group's marker, which exists only once decided;
// recovery may also have written `release`).
bool releasedWithoutLauncher(const State& st) {
  return faccessat(st.rundir_fd, "release", F_OK, 0) == 0 ||
         faccessat(st.rundir_fd, "decision", F_OK, 0) == 0;
}

// OCI process.terminal: a pty of the container's own devpts (so the command
// sees /dev/pts/N inside), its slave on 0-2 for the command, its master to
// the launcher (SCM_RIGHTS), which hands it to the console socket.
std::string openConsole(const State& st) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return sysError("open the container's /dev/ptmx");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) != 0) return sysError("unlock the pty");
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (s < 0) return sysError("open the pty's slave");
  if (st.spec.console_rows != 0 && st.spec.console_cols != 0) {
    winsize ws{};
    ws.ws_row = st.spec.console_rows;
    ws.ws_col = st.spec.console_cols;
    ioctl(m, TIOCSWINSZ, &ws);
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (dup2(s, fd) < 0) return sysError("pty onto stdio");
  }
  close(s);
  char type = launcher::kMsgConsole;
  iovec iov{&type, 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  std::memset(cbuf, 0, sizeof cbuf);
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &m, sizeof m);
  ssize_t n;
  while ((n = sendmsg(kControlFd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  close(m);
  return n == 1 ? "" : sysError("send the pty to the launcher");
}

// OCI create/start: everything that could fail is done. Tell the launcher the
// container is created (its launch returns), then wait until `start` opens
// the fifo for reading. Signals stay blocked meanwhile (only SIGKILL ends us).
std::string holdUntilStart(const State& st) {
  const char* fifo = launcher::kStartFifo;
  unlinkat(st.rundir_fd, fifo, 0);
  if (mkfifoat(st.rundir_fd, fifo, 0600) != 0) return sysError("create the start fifo");
  sendMsg(launcher::kMsgStarted, "", false);
  int fd;
  while ((fd = openat(st.rundir_fd, fifo, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR) {}
  if (fd < 0) return sysError("open the start fifo");
  unlinkat(st.rundir_fd, fifo, 0);  // from here on the container reads as started
  signal(SIGPIPE, SIG_IGN);          // a reader that already left is still a start
  (void)!write(fd, "0", 1);
  signal(SIGPIPE, SIG_DFL);
  close(fd);
  return "";
}

}  // namespace

std::string sysError(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace warren::init

int main(int argc, char** argv) {
  using namespace warren::init;
  (void)argc;
  (void)argv;  // just "warren-init": nothing of the host in /proc/1/cmdline
  // Not dumpable from the first instruction: a process of a parent container
  // that sees us (nested launch) cannot open /proc/<pid>/{fd,exe,cwd,root}.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "warren-init", 0, 0, 0);  // exec'd from a memfd: comm would be its fd number
  // First of all: leave the caller's session and process group, so a signal
  // to that group (Ctrl-C, `kill 0`, timeout) never reaches a container.
  setsid();
  fcntl(kControlFd, F_SETFD, FD_CLOEXEC);
  // Anything else a multi-threaded launcher leaked through the clone (an fd
  // another thread opened without O_CLOEXEC) must not live on in init.
  closeRange(kControlFd + 1, ~0U, 0);
  // Dispositions ignored by the launcher's process survive execve: reset.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  initSignalMask();

  State st;
  std::vector<int> passed;
  if (!readSpec(&st.spec, &passed)) failEarly("warren-init: malformed or missing launch spec");
  if (st.spec.forked) {
    // Forked by the parent's init inside the container: the host paths do
    // not resolve here; the launcher opened them (launcher::spawn).
    if (passed.empty() || passed[0] < 0) failEarly("warren-init: forked without its runtime dir");
    st.rundir_fd = passed[0];
    if (passed.size() > 1) st.sandbox_fd = passed[1];
  } else {
    if (!passed.empty()) st.userns_fd = passed[0];
    st.rundir_fd = open(st.spec.runtime_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (st.rundir_fd < 0) failEarly(sysError("open runtime dir '" + st.spec.runtime_dir + "'"));
  if (st.rundir_fd != warren::launcher::kRuntimeDirFd) {  // 0-3 are taken: it is 4 already
    if (dup3(st.rundir_fd, warren::launcher::kRuntimeDirFd, O_CLOEXEC) < 0) {
      failEarly(sysError("runtime dir onto fd 4"));
    }
    close(st.rundir_fd);
    st.rundir_fd = warren::launcher::kRuntimeDirFd;
  }
  // Our own executable, for exec.sock (io.cpp): only while /proc is still
  // the launcher's (no namespace entered, nothing of a container's), so it
  // is the sealed memfd the launcher exec'd. A forked init offers no exec
  // service: its /proc is the container's.
  if (st.spec.io.relay && !st.spec.forked) {
    int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe >= 0) {
      st.self_exe = fcntl(exe, F_DUPFD_CLOEXEC, 10);
      close(exe);
    }
  }
  if (std::string e = ioOpen(st); !e.empty()) failEarly(e);
  for (const auto& n : st.spec.namespaces) {
    if (n.enter) continue;
    if (n.flag == CLONE_NEWNS) st.own_mnt = true;
    if (n.flag == CLONE_NEWUTS) st.own_uts = true;
    if (n.flag == CLONE_NEWPID) st.new_pid = true;
    if (n.flag == CLONE_NEWCGROUP) st.create_cgroup = true;
  }
  std::string err = openUserNamespace(st);
  if (err.empty()) err = prepareSources(st);
  if (err.empty()) err = enterNamespaces(st);
  if (!err.empty()) failEarly(err);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // again: a fork in enterNamespaces keeps it, be explicit

  sendMsg(warren::launcher::kMsgReady, "", true);
  // While the host isolates us (cgroup migration costs milliseconds on v1),
  // build the container's file system view: the root, its mounts, the
  // hostname and the user. None of it runs anything of the container's or
  // depends on the cgroup; an error is held and reported at release, as
  // before. What must happen inside the container's cgroup - the cgroup
  // namespace, pre-exec steps, the command - waits for the go. (A cgroup
  // file system mounted by the spec depends on the cgroup namespace: then
  // everything waits, as it must be mounted from inside it.)
  bool early = true;
  for (const auto& m : st.spec.mounts) early = early && m.type != "cgroup" && m.type != "cgroup2";
  User user;
  auto buildView = [&st, &user]() -> std::string {
    std::string e = setupMounts(st);
    if (e.empty() && !st.spec.hostname.empty() &&
        sethostname(st.spec.hostname.data(), st.spec.hostname.size()) != 0) {
      e = sysError("set hostname '" + st.spec.hostname + "'");
    }
    if (e.empty()) e = resolveUser(st, &user);
    if (e.empty()) e = chownPaths(st, user.uid, user.gid);
    if (e.empty()) e = ensureWorkingDir(st);
    return e;
  };
  if (early) err = buildView();
  char go = waitForGo();
  if (go == 0 && !releasedWithoutLauncher(st)) {
    // The launcher is gone before releasing us: the command never runs.
    // Record why and exit, so no init lingers for whoever resolves it.
    writeExitStatus(st, 1 << 8, "setup_failed", "launcher exited before releasing the container");
    _exit(1);
  }
  if (!err.empty()) failSetup(st, err);

  if (st.create_cgroup && unshare(CLONE_NEWCGROUP) != 0) {
    failSetup(st, sysError("create cgroup namespace"));
  }
  if (!early) err = buildView();
  if (err.empty()) err = runPreExec(st);
  if (err.empty()) err = finishMounts(st);
  if (!err.empty()) failSetup(st, err);
  if (go == warren::launcher::kMsgPrepare) {
    // A task group member: all that could fail is done; the command starts
    // only once every member got here and the group's release was decided.
    sendMsg(warren::launcher::kMsgPrepared, "", false);
    char start = waitForGo();
    if (start != warren::launcher::kMsgGo && !(start == 0 && releasedWithoutLauncher(st))) {
      writeExitStatus(st, 1 << 8, "setup_failed", "task group rolled back before its commands started");
      _exit(1);
    }
  }

  if (st.spec.console) {
    err = openConsole(st);
    if (!err.empty()) failSetup(st, err);
  }
  if (st.spec.hold_until_start) {
    err = holdUntilStart(st);
    if (!err.empty()) failSetup(st, err);
  }

  pid_t cmd = -1;
  std::string exec_error;
  err = ioPrepare(st);
  if (err.empty()) err = startCommand(st, user, &cmd, &exec_error);
  if (!err.empty()) failSetup(st, err);
  startDeadline(st);
  if (!st.spec.hold_until_start) sendMsg(warren::launcher::kMsgStarted, "", false);
  close(kControlFd);
  return reap(st, cmd, exec_error);
}
