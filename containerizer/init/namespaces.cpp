// Entering and creating namespaces, and grabbing host-side mount sources
// (rootfs, bind sources, /dev/null) as detached mount trees *before* any
// setns: a nested container enters its parent's mount namespace, where the
// host paths it was given no longer resolve.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "init/init.hpp"
#include "init/sys.hpp"

namespace warren::init {
namespace {

bool isBind(const launcher::MountSpec& m) {
  if (m.type == "bind") return true;
  return std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
         std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end();
}

bool isRecursive(const launcher::MountSpec& m) {
  return std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end();
}

int cloneTree(const std::string& path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  int fd = openTree(AT_FDCWD, path.c_str(), flags);
  return fd >= 0 ? fd : -errno;
}

// A source below a directory a container can write: resolved beneath the
// trusted root without following any symlink, and cloned from that very fd.
int cloneBeneath(const std::string& root, const std::string& source, bool recursive) {
  int at = openBeneath(root, source);
  if (at < 0) return -errno;
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  int fd = openTree(at, "", flags);
  int e = errno;
  close(at);
  return fd >= 0 ? fd : -e;
}

// The masking source must really be the null device (CVE-2025-31133: a
// /dev/null that is a symlink or another node would be bound over masked
// paths read-write).
int cloneDevNull() {
  int fd = cloneTree("/dev/null", false);
  if (fd < 0) return fd;
  struct stat sb {};
  if (fstat(fd, &sb) != 0 || !S_ISCHR(sb.st_mode) || major(sb.st_rdev) != 1 || minor(sb.st_rdev) != 3) {
    close(fd);
    return -ENODEV;
  }
  return fd;
}

}  // namespace

std::string prepareSources(State& st) {
  if (!st.own_mnt) return "";
  const auto& s = st.spec;
  if (!s.rootfs.empty()) st.rootfs_tree = cloneTree(s.rootfs, true);
  st.devnull_tree = cloneDevNull();
  st.mount_trees.assign(s.mounts.size(), -1);
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const auto& m = s.mounts[i];
    if (!isBind(m)) continue;
    st.mount_trees[i] = m.source_root.empty() ? cloneTree(m.source, isRecursive(m))
                                              : cloneBeneath(m.source_root, m.source, isRecursive(m));
  }
  return "";  // failures are reported at release, as setup errors
}

std::string enterNamespaces(State& st) {
  const auto& nss = st.spec.namespaces;
  struct Entry {
    const launcher::NsSpec* ns;
    int fd;
  };
  std::vector<Entry> enter;
  bool enter_pid = false;
  // Open every handle first: /proc/<pid>/ns/* paths stop resolving once we
  // are in another mount namespace.
  for (const auto& n : nss) {
    if (!n.enter) continue;
    int fd = open(n.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return sysError(std::string("open ") + launcher::namespaceName(n.flag) + " namespace '" +
                      n.path + "'");
    }
    enter.push_back({&n, fd});
    if (n.flag == CLONE_NEWPID) enter_pid = true;
  }
  if (enter.empty()) return "";  // clone3 created everything
  // Safe order: the others, then pid (affects children only), mnt last.
  auto rank = [](const Entry& e) {
    return e.ns->flag == CLONE_NEWNS ? 2 : e.ns->flag == CLONE_NEWPID ? 1 : 0;
  };
  std::stable_sort(enter.begin(), enter.end(),
                   [&](const Entry& a, const Entry& b) { return rank(a) < rank(b); });
  for (const auto& e : enter) {
    if (setns(e.fd, static_cast<int>(e.ns->flag)) != 0) {
      return sysError(std::string("enter ") + launcher::namespaceName(e.ns->flag) + " namespace '" +
                      e.ns->path + "'");
    }
    close(e.fd);
  }
  uint64_t create = 0;
  for (const auto& n : nss) {
    if (!n.enter) create |= n.flag;
  }
  uint64_t now = create & ~static_cast<uint64_t>(CLONE_NEWPID | CLONE_NEWCGROUP);
  if (now && unshare(static_cast<int>(now)) != 0) return sysError("create namespaces");
  if (!enter_pid) return "";  // a CREATE pid alone was done by clone3

  // setns(pid) only applies to children, and unshare(CLONE_NEWPID) needs
  // the caller to live in the entered namespace: fork once into it, create
  // the nested one there, fork its pid 1. The middle process exits, so the
  // final init is adopted by the entered namespace's init.
  std::string pid_path;
  for (const auto& e : enter) {
    if (e.ns->flag == CLONE_NEWPID) pid_path = e.ns->path;
  }
  pid_t mid = fork();
  if (mid < 0) return sysError("fork into pid namespace '" + pid_path + "'");
  if (mid > 0) {
    int status;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {}
    _exit(0);
  }
  if ((create & CLONE_NEWPID) && unshare(CLONE_NEWPID) != 0) {
    return sysError("create pid namespace nested in '" + pid_path + "'");
  }
  pid_t fin = fork();
  if (fin < 0) return sysError("fork warren-init in its pid namespace");
  if (fin > 0) _exit(0);
  return "";
}

}  // namespace warren::init
