// Entering and creating namespaces, and grabbing host-side mount sources
// (rootfs, bind sources, /dev/null) as detached mount trees *before* any
// setns: a nested container enters its parent's mount namespace, where the
// host paths it was given no longer resolve.
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
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

// Idmap a detached tree with the container's user namespace: a file owned
// by id N on disk shows as the container's id N (host id start+N) through
// it, and what the container's root writes is stored as id 0. Needs the
// host's CAP_SYS_ADMIN (the file system's owner), so it is done before the
// user namespace is joined. Device nodes (devtmpfs cannot be idmapped) are
// left as they are: they show as nobody inside and keep their modes. So
// are binds of kernel pseudo file systems (a `/sys` bind): their owners
// are kernel objects' and they cannot be idmapped.
std::string idmap(int tree, int userns_fd, const std::string& what) {
  struct stat sb {};
  if (fstat(tree, &sb) == 0 && (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode))) return "";
  for (long magic : {SYSFS_MAGIC, PROC_SUPER_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC}) {
    if (onFilesystem(tree, magic)) return "";
  }
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) == 0) return "";
  std::string err = sysError("idmap " + what + " for the container's user namespace");
  if (errno == EINVAL) err += " (its file system cannot be idmapped, e.g. overlayfs on this kernel)";
  return err;
}

}  // namespace

std::string openUserNamespace(State& st) {
  const launcher::NsSpec* user = nullptr;
  for (const auto& n : st.spec.namespaces) {
    if (n.flag == CLONE_NEWUSER) user = &n;
  }
  if (user == nullptr) {
    return st.userns_fd >= 0 ? "warren-init: a user namespace came with a spec that asks for none" : "";
  }
  st.userns = true;
  if (!user->enter) {
    return st.userns_fd >= 0 ? "" : "warren-init: the spec asks for a new user namespace but none came with it";
  }
  if (st.userns_fd >= 0) return "warren-init: a user namespace came with a spec that enters one";
  st.userns_fd = open(user->path.c_str(), O_RDONLY | O_CLOEXEC);
  return st.userns_fd >= 0 ? "" : sysError("open user namespace '" + user->path + "'");
}

std::string prepareSources(State& st) {
  if (!st.own_mnt) return "";
  const auto& s = st.spec;
  std::string rootfs_error;
  if (!s.rootfs.empty() && !s.rootfs_upper.empty()) {
    st.rootfs_tree = overlayRootfs(st, &rootfs_error);
    if (st.rootfs_tree < 0) {
      bool idmapping = errno == EINVAL && rootfs_error.compare(0, 5, "idmap") == 0;
      std::string err = sysError(rootfs_error);
      return idmapping ? err + " (its file system cannot be idmapped, e.g. overlayfs on this kernel)" : err;
    }
  } else if (!s.rootfs.empty()) {
    st.rootfs_tree = cloneTree(s.rootfs, true);
  }
  st.devnull_tree = cloneDevNull();
  st.mount_trees.assign(s.mounts.size(), -1);
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const auto& m = s.mounts[i];
    if (!isBind(m)) continue;
    st.mount_trees[i] = m.source_root.empty() ? cloneTree(m.source, isRecursive(m))
                                              : cloneBeneath(m.source_root, m.source, isRecursive(m));
  }
  // Failures to open a source are reported at release, as setup errors; a
  // source that cannot be idmapped fails the spawn (nothing runs unmapped).
  if (!st.userns) return "";
  if (st.rootfs_tree >= 0 && s.rootfs_upper.empty()) {  // an overlay's layers are idmapped already
    std::string err = idmap(st.rootfs_tree, st.userns_fd, "rootfs '" + s.rootfs + "'");
    if (!err.empty()) return err;
  }
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    if (st.mount_trees[i] < 0) continue;
    std::string err = idmap(st.mount_trees[i], st.userns_fd,
                            "mount '" + s.mounts[i].target + "' (source '" + s.mounts[i].source + "')");
    if (!err.empty()) return err;
  }
  return "";
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
    if (!n.enter || n.flag == CLONE_NEWUSER) continue;  // the user ns: st.userns_fd
    int fd = open(n.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return sysError(std::string("open ") + launcher::namespaceName(n.flag) + " namespace '" +
                      n.path + "'");
    }
    enter.push_back({&n, fd});
    // It must BE a namespace of that type (nsfs), not any file a path names.
    if (!onFilesystem(fd, NSFS_MAGIC) || ioctl(fd, NS_GET_NSTYPE) != static_cast<int>(n.flag)) {
      return std::string("'") + n.path + "' is not a " + launcher::namespaceName(n.flag) + " namespace";
    }
    if (n.flag == CLONE_NEWPID) enter_pid = true;
  }
  if (enter.empty() && !st.userns) return "";  // clone3 created everything
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
  // The user namespace last of the joins (the entered ones belong to the
  // host's or the parent's user namespace, where we are still privileged)
  // and before every creation (so the container's root owns what we create).
  if (st.userns) {
    if (setns(st.userns_fd, CLONE_NEWUSER) != 0) return sysError("join the container's user namespace");
    close(st.userns_fd);
    st.userns_fd = -1;
    if (setgroups(0, nullptr) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
      return sysError("become root of the container's user namespace");
    }
  }
  uint64_t create = 0;
  for (const auto& n : nss) {
    if (!n.enter) create |= n.flag;
  }
  create &= ~static_cast<uint64_t>(CLONE_NEWUSER);
  uint64_t now = create & ~static_cast<uint64_t>(CLONE_NEWPID | CLONE_NEWCGROUP);
  if (now && unshare(static_cast<int>(now)) != 0) return sysError("create namespaces");
  if (!enter_pid && st.userns && (create & CLONE_NEWPID)) {
    // clone3 created nothing: a pid namespace owned by the user namespace,
    // and its pid 1 forked into it (we exit; the launcher reaps us).
    if (unshare(CLONE_NEWPID) != 0) return sysError("create pid namespace");
    pid_t fin = fork();
    if (fin < 0) return sysError("fork warren-init in its pid namespace");
    if (fin > 0) _exit(0);
    return "";
  }
  if (!enter_pid) return "";  // a CREATE pid alone was done by clone3

  // setns(pid) only applies to children, and unshare(CLONE_NEWPID) needs
  // the caller to live in the entered namespace: fork once into it, create
  // the nested one there, fork its pid 1. The middle process exits, so the
  // final init is adopted by the entered namespace's init.
  std::string pid_path;
  for (const auto& e : enter) {
    if (e.ns->flag == CLONE_NEWPID) pid_path = e.ns->path;
  }
  if (st.spec.hold_until_start && !(create & CLONE_NEWPID)) {
    // OCI: joining a pod's pid namespace. The caller (a shim, conmon) reaps
    // warren-init, so it must be reparented to the caller's subreaper, not
    // to the pod's init: forked from here, a process of the host's pid
    // namespace that exits at once (the kernel looks for a subreaper among
    // the exiting parent's ancestors in the parent's own pid namespace).
    pid_t fin = fork();
    if (fin < 0) return sysError("fork warren-init into pid namespace '" + pid_path + "'");
    if (fin > 0) _exit(0);
    return "";
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
