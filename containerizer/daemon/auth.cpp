#include "auth.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace warren::daemon {

namespace {

struct NsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NsId& o) const { return dev == o.dev && ino == o.ino; }
  explicit operator bool() const { return ino != 0; }
};

NsId nsOf(pid_t pid, const char* ns) {
  struct stat s {};
  std::string p = pid > 0 ? "/proc/" + std::to_string(pid) + "/ns/" + ns : std::string("/proc/self/ns/") + ns;
  if (::stat(p.c_str(), &s) != 0) return {};
  return {s.st_dev, s.st_ino};
}

// Fields of /proc/<pid>/stat after the comm: [0]=state [1]=ppid ... [19]=starttime.
std::vector<std::string> statFields(pid_t pid) {
  std::vector<std::string> f;
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return f;
  auto rp = text->rfind(')');
  if (rp == std::string::npos) return f;
  size_t pos = rp + 2;
  while (pos < text->size()) {
    size_t sp = text->find(' ', pos);
    if (sp == std::string::npos) sp = text->size();
    f.push_back(text->substr(pos, sp - pos));
    pos = sp + 1;
  }
  return f;
}

pid_t ppidOf(pid_t pid) {
  auto f = statFields(pid);
  return f.size() > 1 ? static_cast<pid_t>(std::atoi(f[1].c_str())) : -1;
}

uint64_t startOf(pid_t pid) {
  auto f = statFields(pid);
  return f.size() > 19 ? std::strtoull(f[19].c_str(), nullptr, 10) : 0;
}

bool pidfdAlive(int pidfd) {
  return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0;
}

}  // namespace

uint64_t bootTicksNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<uint64_t>(ts.tv_sec) * static_cast<uint64_t>(hz) +
         static_cast<uint64_t>(ts.tv_nsec) * static_cast<uint64_t>(hz) / 1000000000ULL;
}

std::string Caller::describe() const {
  std::string who = host_root ? "host root" : container ? "container '" + formatId(*container) + "'"
                                                        : "uid " + std::to_string(uid);
  return who + " (pid " + std::to_string(pid) + ")";
}

Result<Caller> identify(int conn_fd, uint64_t accepted_ticks, Supervisor& sup) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return failErrno("SO_PEERCRED");
  }
  Caller c;
  c.pid = cred.pid;
  c.uid = cred.uid;
  if (c.pid <= 0) return fail(Code::PermissionDenied, "the caller's pid is not visible to warrend");
  int raw = -1;
  len = sizeof raw;
  UniqueFd pidfd;
  if (::getsockopt(conn_fd, SOL_SOCKET, SO_PEERPIDFD, &raw, &len) == 0 && raw >= 0) {
    pidfd = UniqueFd(raw);
  }
  uint64_t caller_start = startOf(c.pid);
  if (!pidfd && (caller_start == 0 || caller_start > accepted_ticks)) {
    return fail(Code::PermissionDenied, "the caller (pid " + std::to_string(c.pid) +
                                            ") exited or was replaced before it could be identified");
  }

  NsId mnt = nsOf(c.pid, "mnt");
  NsId pidns = nsOf(c.pid, "pid");
  NsId user = nsOf(c.pid, "user");
  // Ancestry of the caller, up to the host's init.
  std::vector<pid_t> chain;
  for (pid_t p = c.pid; p > 1 && chain.size() < 4096; p = ppidOf(p)) chain.push_back(p);

  // Which container, if any: the deepest one whose init shares the caller's
  // mount namespace, else the nearest container init among its ancestors.
  // A miss is retried once on freshly read records when the caller is not in
  // warrend's mount namespace (every container has its own): a command that
  // calls us as its first act can connect before the watcher has seen its
  // launch, and must not be taken for a host process meanwhile.
  std::optional<v1::ContainerID> by_mnt, by_tree;
  const int attempts = mnt && mnt == nsOf(0, "mnt") ? 1 : 2;
  for (int attempt = 0; attempt < attempts && !by_mnt && !by_tree; ++attempt) {
    size_t tree_pos = chain.size();
    for (const auto& l : sup.live(/*fresh=*/attempt > 0)) {
      if (l.pid <= 0) continue;
      NsId m = nsOf(l.pid, "mnt");
      if (startOf(l.pid) != l.start_time) continue;  // that init is gone; its pid may be reused
      if (mnt && m == mnt && (!by_mnt || l.id.path_size() > by_mnt->path_size())) by_mnt = l.id;
      auto it = std::find(chain.begin(), chain.end(), l.pid);
      if (it != chain.end() && static_cast<size_t>(it - chain.begin()) < tree_pos) {
        tree_pos = static_cast<size_t>(it - chain.begin());
        by_tree = l.id;
      }
    }
  }
  // The caller must still be the process that connected.
  if (pidfd ? !pidfdAlive(pidfd.get()) : startOf(c.pid) != caller_start) {
    return fail(Code::PermissionDenied, "the caller (pid " + std::to_string(c.pid) +
                                            ") exited before it could be identified");
  }
  if (by_mnt) {
    c.container = by_mnt;
  } else if (by_tree) {
    c.container = by_tree;
  } else if (c.uid == 0 && user && user == nsOf(0, "user") && pidns == nsOf(0, "pid")) {
    c.host_root = true;
  }
  return c;
}

bool isDescendant(const v1::ContainerID& id, const v1::ContainerID& ancestor) {
  if (id.path_size() <= ancestor.path_size()) return false;
  for (int i = 0; i < ancestor.path_size(); ++i) {
    if (id.path(i) != ancestor.path(i)) return false;
  }
  return true;
}

Result<void> authorize(const Caller& caller, const v1::ContainerID& target, const std::string& what) {
  if (caller.host_root) return {};
  if (caller.container && isDescendant(target, *caller.container)) return {};
  std::string why = caller.container ? "it may manage only containers nested under '" +
                                           formatId(*caller.container) + "'"
                                     : "only the host's root or a container's own processes may call";
  return fail(Code::PermissionDenied, caller.describe() + " may not " + what + " '" + formatId(target) +
                                          "': " + why);
}

Result<void> authorizeParent(const Caller& caller, const v1::ContainerID& parent,
                             const std::string& what) {
  if (caller.host_root) return {};
  if (caller.container && (formatId(parent) == formatId(*caller.container) ||
                           isDescendant(parent, *caller.container))) {
    return {};
  }
  return authorize(caller, parent, what);
}

}  // namespace warren::daemon
