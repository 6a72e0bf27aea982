// A file mount target (/etc/hostname, /etc/hosts, /etc/resolv.conf) that
// the image lacks, on a read-only root (the bind backend binds an image layer
// read-only): the target's directory gets an overlay whose lower layer is the
// image's directory and whose upper layer is a small tmpfs, so the mount
// point is made without writing into the image. Layers are given as fds
// (overlayfs FSCONFIG_SET_FD, Linux 6.13+; /proc/self/fd/N paths before);
// no container path is resolved by name here.
#include <sys/stat.h>

#include "init.hpp"
#include "sys.hpp"

namespace warren::init {

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// An overlay fs context with its layers given as fds, created; -1 with
// errno. Linux 6.13+ takes the fds themselves (FSCONFIG_SET_FD); older
// kernels (Debian 12's 6.1) refuse that, and take the same fds as
// /proc/self/fd/N paths - still nothing of the container resolved by name.
// `plain_*` (optional, -1: the same fds): the layers as fds of directories
// on attached mounts, for the path form; older kernels refuse a layer on a
// detached mount (an open_tree clone).
// `volatile_upper`: overlayfs's `volatile` (Linux 5.10+) - no sync of the
// upper file system, also none when the overlay is unmounted. A container's
// rootfs upper layer dies with its sandbox, so nothing is lost; without it
// the last unmount (when the container's init exits, before its pidfd says
// so) waited for a journal commit of the work dir's file system (~10-30 ms
// on ext4 here) and so did the sandbox's removal. A kernel that refuses the
// flag (older than 5.10) gets the overlay without it.
int overlayContext(int lower, int upper, int work, int plain_lower = -1, int plain_upper = -1,
                   int plain_work = -1, bool volatile_upper = false) {
  auto setVolatile = [volatile_upper](int ovl) {
    if (volatile_upper) (void)fsConfig(ovl, FSCONFIG_SET_FLAG, "volatile", nullptr, 0);  // see above
  };
  int ovl = fsOpen("overlay", FSOPEN_CLOEXEC);
  if (ovl < 0) return -1;
  setVolatile(ovl);
  if (fsConfig(ovl, FSCONFIG_SET_FD, "lowerdir+", nullptr, lower) == 0 &&
      fsConfig(ovl, FSCONFIG_SET_FD, "upperdir", nullptr, upper) == 0 &&
      fsConfig(ovl, FSCONFIG_SET_FD, "workdir", nullptr, work) == 0 &&
      fsConfig(ovl, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
    return ovl;
  }
  close(ovl);
  ovl = fsOpen("overlay", FSOPEN_CLOEXEC);
  if (ovl < 0) return -1;
  auto path = [](int fd, int plain) { return "/proc/self/fd/" + std::to_string(plain >= 0 ? plain : fd); };
  setVolatile(ovl);
  if (fsConfig(ovl, FSCONFIG_SET_STRING, "lowerdir", path(lower, plain_lower).c_str(), 0) == 0 &&
      fsConfig(ovl, FSCONFIG_SET_STRING, "upperdir", path(upper, plain_upper).c_str(), 0) == 0 &&
      fsConfig(ovl, FSCONFIG_SET_STRING, "workdir", path(work, plain_work).c_str(), 0) == 0 &&
      fsConfig(ovl, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
    return ovl;
  }
  int err = errno;
  close(ovl);
  errno = err;
  return -1;
}

}  // namespace

int overlayDirInRoot(int root, const std::string& dir) {
  Fd lower(openInRoot(root, dir, O_PATH | O_DIRECTORY));
  struct stat ls {};
  if (lower.fd < 0 || fstat(lower.fd, &ls) != 0) return -1;
  Fd tfs(fsOpen("tmpfs", FSOPEN_CLOEXEC));
  if (tfs.fd < 0 || fsConfig(tfs.fd, FSCONFIG_SET_STRING, "size", "1m", 0) != 0 ||
      fsConfig(tfs.fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return -1;
  }
  Fd tmnt(fsMount(tfs.fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (tmnt.fd < 0 || mkdirat(tmnt.fd, "upper", 0755) != 0 || mkdirat(tmnt.fd, "work", 0700) != 0) return -1;
  Fd upper(openat(tmnt.fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Fd work(openat(tmnt.fd, "work", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (upper.fd < 0 || work.fd < 0) return -1;
  // The merged directory looks like the image's (the upper root's owner and mode show).
  if (fchown(upper.fd, ls.st_uid, ls.st_gid) != 0 || fchmod(upper.fd, ls.st_mode & 07777) != 0) return -1;
  Fd ovl(overlayContext(lower.fd, upper.fd, work.fd));
  if (ovl.fd < 0) return -1;
  Fd merged(fsMount(ovl.fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (merged.fd < 0) return -1;
  return moveMount(merged.fd, "", lower.fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

}  // namespace warren::init

namespace warren::init {

// The rootfs directory as the read-only lower layer of an overlay whose
// upper and work dirs are in the container's sandbox (issue #18: the
// operator's rootfs is never written). Made from fds, detached: it is
// attached at "/" by pivotInto and lives only in the container's mount
// namespace. Under a user namespace the lower layer is idmapped first
// (overlayfs takes idmapped layers; the overlay itself cannot be idmapped).
int overlayRootfs(const State& st, std::string* what) {
  const auto& s = st.spec;
  *what = "rootfs '" + s.rootfs + "'";
  Fd lower(openTree(AT_FDCWD, s.rootfs.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (lower.fd < 0) return -1;
  *what = "rootfs upper layer '" + s.rootfs_upper + "'";
  Fd base_dir(openBeneath(s.rootfs_upper_root, s.rootfs_upper));
  if (base_dir.fd < 0) return -1;
  Fd base(openTree(base_dir.fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (base.fd < 0) return -1;
  if (st.userns) {
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(st.userns_fd);
    *what = "idmap rootfs '" + s.rootfs + "' for the container's user namespace";
    if (mountSetattr(lower.fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) return -1;
    // The upper layer is not idmapped: the kernel makes the overlay's work
    // dirs as the host's root, which an idmapped mount could not store; it
    // holds the container's host ids (the core made its root so).
  }
  *what = "rootfs upper layer '" + s.rootfs_upper + "'";
  Fd upper(openat(base.fd, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  Fd work(openat(base.fd, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (upper.fd < 0 || work.fd < 0) return -1;
  *what = "overlay of rootfs '" + s.rootfs + "'";
  // For kernels before 6.13 (layers by path): the same directories on their
  // attached mounts. The rootfs is the operator's; the upper and work dirs
  // are those just opened beneath the sandboxes root without following links.
  Fd plain_lower(st.userns ? -1 : open(s.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  Fd plain_upper(openat(base_dir.fd, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  Fd plain_work(openat(base_dir.fd, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  Fd ovl(overlayContext(lower.fd, upper.fd, work.fd, plain_lower.fd, plain_upper.fd, plain_work.fd,
                        /*volatile_upper=*/true));
  if (ovl.fd < 0) return -1;
  return fsMount(ovl.fd, FSMOUNT_CLOEXEC, 0);
}

}  // namespace warren::init
