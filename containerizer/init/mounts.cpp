// The container's file system view: rprivate, pivot_root into the rootfs,
// /proc, LaunchInfo mounts, then (after pre-exec) masked and read-only
// paths and the read-only rootfs. Mount targets are container paths: we
// pivot first and mount afterwards; every target is resolved inside the new
// root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and mounted on
// through its fd with the new mount API (fsopen/fsmount, open_tree,
// move_mount, mount_setattr), so the path resolved is the path mounted on.
// Host paths are only reached through the trees opened at spawn.
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "init/init.hpp"
#include "init/sys.hpp"

namespace warren::init {
namespace {

const char* const kDefaultMasked[] = {
    "/proc/acpi",        "/proc/kcore",       "/proc/keys",  "/proc/latency_stats",
    "/proc/timer_list",  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",     "/sys/devices/virtual/powercap"};
const char* const kDefaultReadonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                        "/proc/sysrq-trigger"};

std::string mountError(const std::string& target, const std::string& what = "") {
  return sysError("mount '" + target + "' into container" + (what.empty() ? "" : ": " + what));
}

struct Fd {  // closes on scope exit (warren-init has no UniqueFd: no SDK)
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct Options {
  unsigned attr = 0;  // MOUNT_ATTR_*
  unsigned propagation = 0;
  bool recursive_propagation = false;
  std::vector<std::string> data;  // filesystem parameters, one per option
};

Options parseOptions(const std::vector<std::string>& opts) {
  Options o;
  static const std::pair<const char*, unsigned> kFlags[] = {
      {"ro", MOUNT_ATTR_RDONLY},       {"nosuid", MOUNT_ATTR_NOSUID},
      {"nodev", MOUNT_ATTR_NODEV},     {"noexec", MOUNT_ATTR_NOEXEC},
      {"noatime", MOUNT_ATTR_NOATIME}, {"strictatime", MOUNT_ATTR_STRICTATIME},
      {"relatime", MOUNT_ATTR_RELATIME}};
  static const std::pair<const char*, unsigned> kProp[] = {
      {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE}, {"slave", MS_SLAVE},
      {"rslave", MS_SLAVE},    {"shared", MS_SHARED},    {"rshared", MS_SHARED}};
  for (const auto& opt : opts) {
    bool known = opt == "rw" || opt == "bind" || opt == "rbind";
    for (const auto& [name, attr] : kFlags) {
      if (opt == name) {
        o.attr |= attr;
        known = true;
      }
    }
    for (const auto& [name, prop] : kProp) {
      if (opt == name) {
        o.propagation = prop;
        o.recursive_propagation = opt[0] == 'r';
        known = true;
      }
    }
    if (!known) o.data.push_back(opt);
  }
  return o;
}

// The target, resolved inside the root (made when asked): an O_PATH fd.
int openTarget(const State& st, const launcher::MountSpec& m) {
  // On the host's own root nothing is created: the mount point must exist.
  if (st.spec.host_root) return openInRoot(st.root_fd, m.target, O_PATH);
  if (m.create_dir) return mkdirsInRoot(st.root_fd, m.target, 0755);
  if (m.create_file) return createFileInRoot(st.root_fd, m.target);
  return openInRoot(st.root_fd, m.target, O_PATH);
}

int attach(int tree, int target) {
  return moveMount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

// A new filesystem instance (fsopen/fsconfig/fsmount): a detached mount fd.
int newFilesystem(const std::string& type, const std::string& source, const Options& o,
                  std::string* what) {
  Fd fs(fsOpen(type.c_str(), FSOPEN_CLOEXEC));
  if (fs.fd < 0) {
    *what = type;
    return -1;
  }
  if (!source.empty() && fsConfig(fs.fd, FSCONFIG_SET_STRING, "source", source.c_str(), 0) != 0) {
    *what = type + " source '" + source + "'";
    return -1;
  }
  for (const auto& d : o.data) {
    size_t eq = d.find('=');
    int r = eq == std::string::npos
                ? fsConfig(fs.fd, FSCONFIG_SET_FLAG, d.c_str(), nullptr, 0)
                : fsConfig(fs.fd, FSCONFIG_SET_STRING, d.substr(0, eq).c_str(), d.c_str() + eq + 1, 0);
    if (r != 0) {
      *what = type + " option '" + d + "'";
      return -1;
    }
  }
  if (fsConfig(fs.fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    *what = type;
    return -1;
  }
  int mnt = fsMount(fs.fd, FSMOUNT_CLOEXEC, o.attr);
  if (mnt < 0) *what = type;
  return mnt;
}

std::string applyMount(State& st, size_t i) {
  const auto& m = st.spec.mounts[i];
  Fd target(openTarget(st, m));
  if (target.fd < 0 && errno == ENOENT && st.spec.host_root && (m.create_dir || m.create_file)) {
    return "mount '" + m.target + "' into container: no such mount point, and a container without a " +
           "rootfs creates none on the host's '/' (give it a rootfs or an image)";
  }
  if (target.fd < 0) {
    return mountError(m.target, m.create_dir ? "create directory" : m.create_file ? "create file" : "target");
  }
  Options o = parseOptions(m.options);
  int tree = st.mount_trees[i];
  int mounted = -1;  // the new mount, attached
  if (tree != -1) {  // a bind: attach the source grabbed at spawn
    if (tree < 0) {
      errno = -tree;
      std::string src = "source '" + m.source + "'";
      if (errno == ELOOP && !m.source_root.empty()) {
        return "mount '" + m.target + "' into container: source '" + m.source +
               "' has a symlink below '" + m.source_root + "' (refused: it could lead out of it)";
      }
      if (errno == EXDEV && !m.source_root.empty()) src += " (leads out of '" + m.source_root + "')";
      return mountError(m.target, src);
    }
    struct mount_attr attr {};
    attr.attr_set = o.attr;
    // Never propagate back to the host's peers, unless the mount asks for
    // rslave/rshared (a volume's propagation option): then the clone keeps
    // its peer group, and is made a slave of it (or stays its peer) below.
    bool keep_peers = o.propagation == MS_SLAVE || o.propagation == MS_SHARED;
    attr.propagation = keep_peers ? 0 : MS_PRIVATE;
    if (mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
      return mountError(m.target, "set attributes");
    }
    if (attach(tree, target.fd) != 0) return mountError(m.target);
    mounted = tree;
    st.mount_trees[i] = -1;
  } else {
    std::string what;
    if (i < st.fs_trees.size() && st.fs_trees[i] >= 0) {  // made before pivot_root
      mounted = st.fs_trees[i];
      st.fs_trees[i] = -1;
    } else {
      mounted = newFilesystem(m.type, m.source, o, &what);
    }
    if (mounted < 0) return mountError(m.target, what);
    if (attach(mounted, target.fd) != 0) {
      int e = errno;
      close(mounted);
      errno = e;
      return mountError(m.target, m.type);
    }
  }
  Fd mnt(mounted);
  if (o.propagation) {
    struct mount_attr attr {};
    attr.propagation = o.propagation;
    if (mountSetattr(mnt.fd, "", AT_EMPTY_PATH | (o.recursive_propagation ? AT_RECURSIVE : 0), &attr) != 0) {
      return mountError(m.target, "set propagation");
    }
  }
  return "";
}

std::string pivotInto(State& st) {
  if (st.rootfs_tree < 0) {
    errno = -st.rootfs_tree;
    return sysError("rootfs '" + st.spec.rootfs + "'");
  }
  struct mount_attr attr {};
  attr.propagation = MS_PRIVATE;
  if (mountSetattr(st.rootfs_tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
    return sysError("rootfs '" + st.spec.rootfs + "': make private");
  }
  // Stack the rootfs on "/", step into it, pivot with put_old == new_root,
  // and detach the old root that now sits on top of it.
  int old_root = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (old_root < 0) return sysError("open old root");
  if (moveMount(st.rootfs_tree, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return sysError("attach rootfs '" + st.spec.rootfs + "'");
  }
  if (fchdir(st.rootfs_tree) != 0) return sysError("chdir into rootfs '" + st.spec.rootfs + "'");
  if (pivotRoot(".", ".") != 0) return sysError("pivot_root into '" + st.spec.rootfs + "'");
  if (fchdir(old_root) != 0) return sysError("chdir to old root");
  if (umount2(".", MNT_DETACH) != 0) return sysError("detach old root");
  close(old_root);
  close(st.rootfs_tree);
  st.rootfs_tree = -1;
  if (chdir("/") != 0) return sysError("chdir /");
  return "";
}

bool hasMountAt(const State& st, const char* target) {
  for (const auto& m : st.spec.mounts) {
    if (m.target == target) return true;
  }
  return false;
}

bool underProc(const std::string& path) { return path.compare(0, 6, "/proc/") == 0; }

// A path under /proc we are about to hide or make read-only must be on the
// procfs we mounted (CVE-2025-52881: a symlink or a bind slipped in would
// redirect the operation to another file).
std::string checkProc(const State& st, int fd, const std::string& path, const char* what) {
  if (st.proc_mounted && underProc(path) && !onFilesystem(fd, PROC_SUPER_MAGIC)) {
    return std::string(what) + " '" + path + "': not on the container's procfs (refused)";
  }
  return "";
}

// Mount /proc: a real directory of the root (a symlink is refused, so procfs
// cannot be placed elsewhere and the masks below miss it).
std::string mountProc(State& st) {
  int fd = openInRoot(st.root_fd, "/proc", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  if (fd < 0 && errno == ENOENT) {
    if (mkdirat(st.root_fd, "proc", 0555) != 0 && errno != EEXIST) return mountError("/proc", "create directory");
    fd = openInRoot(st.root_fd, "/proc", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  }
  if (fd < 0 && errno == ELOOP) return "mount '/proc' into container: '/proc' is a symlink (refused)";
  if (fd < 0) return mountError("/proc", "target");
  Fd target(fd);
  Options o;
  o.attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  std::string what;
  Fd mnt(st.proc_tree >= 0 ? st.proc_tree : newFilesystem("proc", "proc", o, &what));
  st.proc_tree = -1;
  if (mnt.fd < 0) return mountError("/proc", what);
  if (attach(mnt.fd, target.fd) != 0) return mountError("/proc", "proc");
  st.proc_mounted = true;
  return "";
}

std::string mask(State& st, const std::string& path) {
  Fd target(openInRoot(st.root_fd, path, O_PATH));
  if (target.fd < 0 && errno == ENOENT) return "";  // missing: nothing to hide
  if (target.fd < 0) return sysError("mask '" + path + "'");
  std::string err = checkProc(st, target.fd, path, "mask");
  if (!err.empty()) return err;
  struct stat sb;
  if (fstat(target.fd, &sb) != 0) return sysError("mask '" + path + "'");
  if (S_ISDIR(sb.st_mode)) {
    Options o;
    o.attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    o.data = {"size=4k", "nr_inodes=1"};
    std::string what;
    Fd mnt(newFilesystem("tmpfs", "tmpfs", o, &what));
    if (mnt.fd < 0 || attach(mnt.fd, target.fd) != 0) return sysError("mask '" + path + "'");
    return "";
  }
  // Files: a clone of the null device checked at spawn (char 1:3). The first
  // one attached stays referenced by its fd and is cloned for the others,
  // never looked up by path again.
  int tree;
  if (st.devnull_mnt >= 0) {
    tree = openTree(st.devnull_mnt, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) return sysError("mask '" + path + "': clone /dev/null");
  } else if (st.devnull_tree < 0) {
    if (st.devnull_tree == -ENODEV) {
      return "mask '" + path + "': the host's /dev/null is not the null device (char 1:3); refused";
    }
    errno = -st.devnull_tree;
    return sysError("mask '" + path + "': /dev/null");
  } else {
    tree = st.devnull_tree;
    st.devnull_tree = -1;
  }
  if (attach(tree, target.fd) != 0) {
    int e = errno;
    close(tree);
    errno = e;
    return sysError("mask '" + path + "'");
  }
  if (st.devnull_mnt >= 0) {
    close(tree);
  } else {
    st.devnull_mnt = tree;
  }
  return "";
}

std::string makeReadonly(const State& st, const std::string& path, bool recursive_bind) {
  Fd target(openInRoot(st.root_fd, path, O_PATH));
  if (target.fd < 0 && errno == ENOENT) return "";
  if (target.fd < 0) return sysError("readonly '" + path + "'");
  std::string err = checkProc(st, target.fd, path, "readonly");
  if (!err.empty()) return err;
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (!recursive_bind) {
    if (mountSetattr(target.fd, "", AT_EMPTY_PATH, &attr) != 0) return sysError("readonly '" + path + "'");
    return "";
  }
  Fd tree(openTree(target.fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (tree.fd < 0 || mountSetattr(tree.fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0 ||
      attach(tree.fd, target.fd) != 0) {
    return sysError("readonly '" + path + "'");
  }
  return "";
}

// A fresh /dev with its own devpts needs the conventional links, which a
// LaunchInfo cannot describe: ptmx into that devpts, and the fd links. Made
// in the resolved /dev directory, never through a path.
std::string devLinks(const State& st, const std::string& pts) {
  std::string dev = pts.substr(0, pts.size() - 4);
  Fd dir(openInRoot(st.root_fd, dev.empty() ? "/" : dev, O_PATH | O_DIRECTORY));
  if (dir.fd < 0) return sysError("open '" + dev + "'");
  struct stat sb;
  if (fstatat(dir.fd, "ptmx", &sb, AT_SYMLINK_NOFOLLOW) != 0 && symlinkat("pts/ptmx", dir.fd, "ptmx") != 0) {
    return sysError("link '" + dev + "/ptmx'");
  }
  if (dev != "/dev") return "";
  const char* const links[][2] = {{"/proc/self/fd", "fd"},
                                  {"/proc/self/fd/0", "stdin"},
                                  {"/proc/self/fd/1", "stdout"},
                                  {"/proc/self/fd/2", "stderr"}};
  for (const auto& l : links) {
    if (fstatat(dir.fd, l[1], &sb, AT_SYMLINK_NOFOLLOW) != 0 && symlinkat(l[0], dir.fd, l[1]) != 0) {
      return sysError(std::string("link '/dev/") + l[1] + "'");
    }
  }
  return "";
}

bool needsProc(const State& st) {
  return (st.new_pid || !st.spec.rootfs.empty()) && !hasMountAt(st, "/proc");
}

// A recursive read-only bind of /sys of the mount namespace we are in (a
// copy of the host's, before pivot_root), with the mount's other flags.
int sysBind(const Options& o) {
  int tree = openTree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) return -1;
  struct mount_attr attr {};
  attr.attr_set = o.attr | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  attr.propagation = MS_PRIVATE;
  if (mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
    int e = errno;
    close(tree);
    errno = e;
    return -1;
  }
  return tree;
}

// In a user namespace the kernel mounts proc or sysfs only while a fully
// visible instance is in the mount namespace (mount_too_revealing): make
// every kernel file system now, before pivot_root drops the host's; they
// are attached at their (then resolved) targets later.
std::string prebuildFilesystems(State& st) {
  st.fs_trees.assign(st.spec.mounts.size(), -1);
  for (size_t i = 0; i < st.spec.mounts.size(); ++i) {
    const auto& m = st.spec.mounts[i];
    if (st.mount_trees[i] != -1) continue;  // a bind
    std::string what;
    Options o = parseOptions(m.options);
    st.fs_trees[i] = newFilesystem(m.type, m.source, o, &what);
    if (st.fs_trees[i] < 0 && errno == EPERM && m.type == "sysfs") {
      // sysfs belongs to the network namespace: one the container does not
      // own (the host's, or one made for it outside) cannot be mounted from
      // its user namespace. As crun does: the host's /sys, bound read-only.
      st.fs_trees[i] = sysBind(o);
    }
    if (st.fs_trees[i] < 0) return mountError(m.target, what);
  }
  if (needsProc(st)) {
    Options o;
    o.attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    std::string what;
    st.proc_tree = newFilesystem("proc", "proc", o, &what);
    if (st.proc_tree < 0) return mountError("/proc", what);
  }
  return "";
}

}  // namespace

std::string setupMounts(State& st) {
  if (!st.own_mnt) {  // a DEBUG container: its parent's root
    st.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return st.root_fd < 0 ? sysError("open the container's root") : "";
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return sysError("make mount tree rprivate");
  }
  if (st.userns) {
    std::string err = prebuildFilesystems(st);
    if (!err.empty()) return err;
  }
  if (!st.spec.rootfs.empty()) {
    std::string err = pivotInto(st);
    if (!err.empty()) return err;
  }
  st.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (st.root_fd < 0) return sysError("open the container's root");
  if (needsProc(st)) {
    std::string err = mountProc(st);
    if (!err.empty()) return err;
  }
  for (size_t i = 0; i < st.spec.mounts.size(); ++i) {
    std::string err = applyMount(st, i);
    if (!err.empty()) return err;
  }
  for (const auto& m : st.spec.mounts) {
    if (m.type != "devpts" || m.target.size() < 4 || m.target.compare(m.target.size() - 4, 4, "/pts") != 0) {
      continue;
    }
    std::string err = devLinks(st, m.target);
    if (!err.empty()) return err;
  }
  return "";
}

std::string finishMounts(State& st) {
  if (!st.own_mnt) return "";
  for (const auto& p : st.spec.masked_paths) {
    std::string err = mask(st, p);
    if (!err.empty()) return err;
  }
  // The defaults always apply, but a path an isolator already listed is not
  // masked twice (that would stack a second mount on it).
  auto listed = [](const std::vector<std::string>& v, const char* p) {
    for (const auto& x : v) {
      if (x == p) return true;
    }
    return false;
  };
  if (st.proc_mounted) {
    for (const char* p : kDefaultMasked) {
      if (listed(st.spec.masked_paths, p)) continue;
      std::string err = mask(st, p);
      if (!err.empty()) return err;
    }
    for (const char* p : kDefaultReadonly) {
      if (listed(st.spec.readonly_paths, p)) continue;
      std::string err = makeReadonly(st, p, true);
      if (!err.empty()) return err;
    }
  }
  for (const auto& p : st.spec.readonly_paths) {
    std::string err = makeReadonly(st, p, true);
    if (!err.empty()) return err;
  }
  for (int* fd : {&st.devnull_tree, &st.devnull_mnt}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (st.spec.readonly_rootfs) return makeReadonly(st, "/", false);
  return "";
}

}  // namespace warren::init
