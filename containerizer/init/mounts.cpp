// The container's file system view: rprivate, pivot_root into the rootfs,
// /proc, LaunchInfo mounts, then (after pre-exec) masked and read-only
// paths and the read-only rootfs. Mount targets are container paths: we
// pivot first and mount afterwards, so symlinks in the rootfs resolve inside
// it and host paths are only reached through the trees opened at spawn.
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

bool mkdirs(const std::string& path, mode_t mode) {
  struct stat sb;
  if (stat(path.c_str(), &sb) == 0) return S_ISDIR(sb.st_mode) || (errno = ENOTDIR, false);
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !mkdirs(path.substr(0, slash), mode)) return false;
  return mkdir(path.c_str(), mode) == 0 || errno == EEXIST;
}

bool createFile(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !mkdirs(path.substr(0, slash), 0755)) return false;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EISDIR;  // a directory is there: let mount decide
  close(fd);
  return true;
}

struct Options {
  unsigned long flags = 0;  // MS_* for mount(2)
  uint64_t attr = 0;        // MOUNT_ATTR_* for binds
  unsigned long propagation = 0;
  std::string data;
};

Options parseOptions(const std::vector<std::string>& opts) {
  Options o;
  struct Flag {
    const char* name;
    unsigned long ms;
    uint64_t attr;
  };
  static const Flag kFlags[] = {{"ro", MS_RDONLY, MOUNT_ATTR_RDONLY},
                                {"nosuid", MS_NOSUID, MOUNT_ATTR_NOSUID},
                                {"nodev", MS_NODEV, MOUNT_ATTR_NODEV},
                                {"noexec", MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                {"noatime", MS_NOATIME, MOUNT_ATTR_NOATIME},
                                {"strictatime", MS_STRICTATIME, MOUNT_ATTR_STRICTATIME},
                                {"relatime", MS_RELATIME, MOUNT_ATTR_RELATIME}};
  static const std::pair<const char*, unsigned long> kProp[] = {
      {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"slave", MS_SLAVE},
      {"rslave", MS_SLAVE | MS_REC}, {"shared", MS_SHARED}, {"rshared", MS_SHARED | MS_REC}};
  for (const auto& opt : opts) {
    bool known = opt == "rw" || opt == "bind" || opt == "rbind";
    for (const auto& f : kFlags) {
      if (opt == f.name) {
        o.flags |= f.ms;
        o.attr |= f.attr;
        known = true;
      }
    }
    for (const auto& [name, prop] : kProp) {
      if (opt == name) {
        o.propagation = prop;
        known = true;
      }
    }
    if (!known) o.data += (o.data.empty() ? "" : ",") + opt;
  }
  return o;
}

std::string prepareTarget(const launcher::MountSpec& m) {
  if (m.create_dir && !mkdirs(m.target, 0755)) return mountError(m.target, "create directory");
  if (m.create_file && !createFile(m.target)) return mountError(m.target, "create file");
  return "";
}

std::string applyMount(State& st, size_t i) {
  const auto& m = st.spec.mounts[i];
  std::string err = prepareTarget(m);
  if (!err.empty()) return err;
  Options o = parseOptions(m.options);
  int tree = st.mount_trees[i];
  if (tree != -1) {  // a bind: attach the source grabbed at spawn
    if (tree < 0) {
      errno = -tree;
      return mountError(m.target, "source '" + m.source + "'");
    }
    struct mount_attr attr {};
    attr.attr_set = o.attr;
    attr.propagation = MS_PRIVATE;  // never propagate back to the host's peers
    if (mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
      return mountError(m.target, "set attributes");
    }
    if (moveMount(tree, "", AT_FDCWD, m.target.c_str(),
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) != 0) {
      return mountError(m.target);
    }
    close(tree);
    st.mount_trees[i] = -1;
  } else if (mount(m.source.c_str(), m.target.c_str(), m.type.c_str(), o.flags,
                   o.data.empty() ? nullptr : o.data.c_str()) != 0) {
    return mountError(m.target, m.type + " from '" + m.source + "'");
  }
  if (o.propagation && mount(nullptr, m.target.c_str(), nullptr, o.propagation, nullptr) != 0) {
    return mountError(m.target, "set propagation");
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

std::string mask(State& st, const std::string& path, std::string* first_file) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) return "";  // missing: nothing to hide
  if (S_ISDIR(sb.st_mode)) {
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=1") != 0) {
      return sysError("mask '" + path + "'");
    }
    return "";
  }
  if (!first_file->empty()) {  // clone the /dev/null bind already attached
    if (mount(first_file->c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return sysError("mask '" + path + "'");
    }
    return "";
  }
  if (st.devnull_tree < 0) {
    errno = -st.devnull_tree;
    return sysError("mask '" + path + "': /dev/null");
  }
  if (moveMount(st.devnull_tree, "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return sysError("mask '" + path + "'");
  }
  close(st.devnull_tree);
  st.devnull_tree = -1;
  *first_file = path;
  return "";
}

std::string makeReadonly(const std::string& path, bool recursive_bind) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) return "";
  if (recursive_bind &&
      mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return sysError("readonly '" + path + "'");
  }
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (mountSetattr(AT_FDCWD, path.c_str(), recursive_bind ? AT_RECURSIVE : 0, &attr) != 0) {
    return sysError("readonly '" + path + "'");
  }
  return "";
}

}  // namespace

std::string setupMounts(State& st) {
  if (!st.own_mnt) return "";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return sysError("make mount tree rprivate");
  }
  if (!st.spec.rootfs.empty()) {
    std::string err = pivotInto(st);
    if (!err.empty()) return err;
  }
  if ((st.new_pid || !st.spec.rootfs.empty()) && !hasMountAt(st, "/proc")) {
    if (!mkdirs("/proc", 0555)) return mountError("/proc", "create directory");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      return mountError("/proc", "proc");
    }
    st.proc_mounted = true;
  }
  for (size_t i = 0; i < st.spec.mounts.size(); ++i) {
    std::string err = applyMount(st, i);
    if (!err.empty()) return err;
  }
  // A fresh /dev with its own devpts needs the conventional links, which a
  // LaunchInfo cannot describe: ptmx into that devpts, and the fd links.
  for (const auto& m : st.spec.mounts) {
    if (m.type != "devpts" || m.target.size() < 4 || m.target.compare(m.target.size() - 4, 4, "/pts") != 0) {
      continue;
    }
    std::string dev = m.target.substr(0, m.target.size() - 4);
    struct stat sb;
    if (lstat((dev + "/ptmx").c_str(), &sb) != 0 && symlink("pts/ptmx", (dev + "/ptmx").c_str()) != 0) {
      return sysError("link '" + dev + "/ptmx'");
    }
    if (dev == "/dev") {
      const char* const links[][2] = {{"/proc/self/fd", "/dev/fd"},
                                      {"/proc/self/fd/0", "/dev/stdin"},
                                      {"/proc/self/fd/1", "/dev/stdout"},
                                      {"/proc/self/fd/2", "/dev/stderr"}};
      for (const auto& l : links) {
        if (lstat(l[1], &sb) != 0 && symlink(l[0], l[1]) != 0) return sysError(std::string("link '") + l[1] + "'");
      }
    }
  }
  return "";
}

std::string finishMounts(State& st) {
  if (!st.own_mnt) return "";
  std::string first_file;
  for (const auto& p : st.spec.masked_paths) {
    std::string err = mask(st, p, &first_file);
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
      std::string err = mask(st, p, &first_file);
      if (!err.empty()) return err;
    }
    for (const char* p : kDefaultReadonly) {
      if (listed(st.spec.readonly_paths, p)) continue;
      std::string err = makeReadonly(p, true);
      if (!err.empty()) return err;
    }
  }
  for (const auto& p : st.spec.readonly_paths) {
    std::string err = makeReadonly(p, true);
    if (!err.empty()) return err;
  }
  if (st.devnull_tree >= 0) {
    close(st.devnull_tree);
    st.devnull_tree = -1;
  }
  if (st.spec.readonly_rootfs) return makeReadonly("/", false);
  return "";
}

}  // namespace warren::init
