#include "spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bench {

namespace {

double nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void drain(int fd, std::string& into, size_t cap) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0 && into.size() < cap) into.append(buf, static_cast<size_t>(n));
}

}  // namespace

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Run spawn(const std::vector<std::string>& argv, const SpawnOpts& o) {
  Run r;
  int out[2] = {-1, -1}, err[2];
  if (pipe2(err, O_CLOEXEC) != 0) return r;
  if (o.capture_out && pipe2(out, O_CLOEXEC) != 0) return r;
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  double t0 = nowMs();
  pid_t pid = fork();
  if (pid == 0) {
    if (o.mntns_fd >= 0 && setns(o.mntns_fd, CLONE_NEWNS) != 0) _exit(126);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(o.capture_out ? out[1] : devnull, 1);
    dup2(err[1], 2);
    execv(av[0], av.data());
    _exit(127);
  }
  close(err[1]);
  if (o.capture_out) close(out[1]);
  // Read both pipes until EOF (detached children may keep them open: the
  // reap below ends the loop once the direct child is gone).
  int status = 0;
  rusage ru{};
  double deadline = t0 + o.timeout_s * 1000.0;
  bool reaped = false;
  while (!reaped) {
    pollfd p[2] = {{err[0], POLLIN, 0}, {o.capture_out ? out[0] : -1, POLLIN, 0}};
    poll(p, 2, 5);
    if (p[0].revents & POLLIN) drain(err[0], r.err, 2048);
    if (p[1].revents & POLLIN) drain(out[0], r.out, 1 << 20);
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) {
      reaped = true;
      r.ms = nowMs() - t0;
    } else if (nowMs() > deadline) {
      kill(pid, SIGKILL);
    }
  }
  // Whatever is still buffered (non-blocking: a detached grandchild may hold the pipe).
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  drain(err[0], r.err, 2048);
  if (o.capture_out) {
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 64; ++i) {
      size_t before = r.out.size();
      drain(out[0], r.out, 1 << 20);
      if (r.out.size() == before) break;
    }
    close(out[0]);
  }
  close(err[0]);
  r.maxrss_kb = ru.ru_maxrss;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int makeCrunMountNs(std::string& why) {
  int self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (self < 0) { why = std::string("open own mount ns: ") + strerror(errno); return -1; }
  if (unshare(CLONE_NEWNS) != 0) { why = std::string("unshare(CLONE_NEWNS): ") + strerror(errno); close(self); return -1; }
  int fd = -1;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    why = std::string("make / rprivate: ") + strerror(errno);
  } else if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    why = std::string("umount /sys/fs/cgroup/unified: ") + strerror(errno);
  } else {
    fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  }
  if (setns(self, CLONE_NEWNS) != 0) why = std::string("setns back: ") + strerror(errno);
  close(self);
  return fd;
}

}  // namespace bench
