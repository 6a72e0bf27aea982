// A file mount target (/etc/hostname, /etc/hosts, /etc/resolv.conf) that
// the image lacks, on a read-only root (the bind backend binds an image layer
// read-only): the target's directory gets an overlay whose lower layer is the
// image's directory and whose upper layer is a small tmpfs, so the mount
// point is made without writing into the image. Layers are given as fds
// (overlayfs FSCONFIG_SET_FD, Linux 6.13+); no container path is resolved by
// name here.
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
  Fd ovl(fsOpen("overlay", FSOPEN_CLOEXEC));
  if (ovl.fd < 0 || fsConfig(ovl.fd, FSCONFIG_SET_FD, "lowerdir+", nullptr, lower.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_SET_FD, "upperdir", nullptr, upper.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_SET_FD, "workdir", nullptr, work.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return -1;
  }
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
  Fd ovl(fsOpen("overlay", FSOPEN_CLOEXEC));
  if (ovl.fd < 0 || fsConfig(ovl.fd, FSCONFIG_SET_FD, "lowerdir+", nullptr, lower.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_SET_FD, "upperdir", nullptr, upper.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_SET_FD, "workdir", nullptr, work.fd) != 0 ||
      fsConfig(ovl.fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return -1;
  }
  return fsMount(ovl.fd, FSMOUNT_CLOEXEC, 0);
}

}  // namespace warren::init
