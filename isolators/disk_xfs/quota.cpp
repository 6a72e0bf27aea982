#include "quota.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/quota.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <deque>

namespace warren::isolators::disk_xfs {
namespace {

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif
#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

int quotactlFd(int fd, int cmd, uint32_t id, void* addr) {
  return static_cast<int>(::syscall(SYS_quotactl_fd, fd, static_cast<unsigned>(QCMD(cmd, PRJQUOTA)),
                                    static_cast<unsigned>(id), addr));
}

std::string hex(unsigned long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", v);
  return buf;
}

// One file's project id (and, for a directory, its PROJINHERIT flag).
Result<void> setProject(int fd, bool is_dir, uint32_t project, bool inherit, const std::string& what) {
  struct fsxattr fa {};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &fa) != 0) return failErrno("FS_IOC_FSGETXATTR '" + what + "'");
  uint32_t flags = fa.fsx_xflags;
  if (is_dir) flags = inherit ? (flags | FS_XFLAG_PROJINHERIT) : (flags & ~uint32_t{FS_XFLAG_PROJINHERIT});
  if (fa.fsx_projid == project && fa.fsx_xflags == flags) return {};
  fa.fsx_projid = project;
  fa.fsx_xflags = flags;
  if (::ioctl(fd, FS_IOC_FSSETXATTR, &fa) != 0) return failErrno("FS_IOC_FSSETXATTR '" + what + "'");
  return {};
}

int openBeneath(int root, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

}  // namespace

Result<UniqueFd> openProjectQuotaDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return failErrno("disk/xfs: open '" + dir + "'");
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) != 0) return failErrno("disk/xfs: statfs '" + dir + "'");
  if (static_cast<unsigned long>(sfs.f_type) != XFS_SUPER_MAGIC) {
    return fail(Code::FailedPrecondition, "disk/xfs: '" + dir + "' is not on XFS (file system type " +
                                              hex(static_cast<unsigned long>(sfs.f_type)) +
                                              "); it needs XFS mounted with prjquota");
  }
  struct fs_quota_statv st {};
  st.qs_version = FS_QSTATV_VERSION1;
  if (quotactlFd(fd.get(), Q_XGETQSTATV, 0, &st) != 0) {
    int e = errno;
    return fail(Code::FailedPrecondition,
                "disk/xfs: no project quota on the XFS of '" + dir + "' (quotactl Q_XGETQSTATV: " +
                    std::string(strerror(e)) + "); it needs XFS mounted with prjquota, in a kernel built "
                    "with CONFIG_XFS_QUOTA", e);
  }
  if ((st.qs_flags & FS_QUOTA_PDQ_ENFD) == 0) {
    return fail(Code::FailedPrecondition, "disk/xfs: the XFS of '" + dir +
                                              "' does not enforce project quotas; mount it with prjquota");
  }
  return fd;
}

Result<uint64_t> blockSize(int fd) {
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) != 0) return failErrno("disk/xfs: statfs");
  return static_cast<uint64_t>(sfs.f_bsize);
}

Result<uint32_t> projectOf(int fd) {
  struct fsxattr fa {};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &fa) != 0) return failErrno("FS_IOC_FSGETXATTR");
  return fa.fsx_projid;
}

Result<void> setProjectTree(const std::string& dir, uint32_t project, bool inherit) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return failErrno("open '" + dir + "'");
  Result<void> first;
  auto keep = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  keep(setProject(root.get(), true, project, inherit, dir));
  std::deque<std::string> dirs = {"."};
  while (!dirs.empty()) {
    std::string rel = std::move(dirs.front());
    dirs.pop_front();
    UniqueFd d(rel == "." ? ::dup(root.get()) : openBeneath(root.get(), rel, O_RDONLY | O_DIRECTORY));
    if (!d) {
      if (errno != ENOENT) keep(failErrno("open '" + dir + "/" + rel + "'"));
      continue;
    }
    if (rel != ".") keep(setProject(d.get(), true, project, inherit, dir + "/" + rel));
    DIR* listing = ::fdopendir(::dup(d.get()));
    if (listing == nullptr) {
      keep(failErrno("list '" + dir + "/" + rel + "'"));
      continue;
    }
    while (dirent* e = ::readdir(listing)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string child = rel == "." ? n : rel + "/" + n;
      struct stat st {};
      if (::fstatat(d.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      if (S_ISDIR(st.st_mode)) {
        dirs.push_back(child);
      } else if (S_ISREG(st.st_mode)) {
        UniqueFd f(openBeneath(root.get(), child, O_RDONLY | O_NONBLOCK | O_NOCTTY));
        if (!f) {
          if (errno != ENOENT) keep(failErrno("open '" + dir + "/" + child + "'"));
          continue;
        }
        keep(setProject(f.get(), false, project, inherit, dir + "/" + child));
      }
    }
    ::closedir(listing);
  }
  return first;
}

Result<void> setProjectLimit(int fs_fd, uint32_t project, uint64_t hard_limit_bytes) {
  struct fs_disk_quota q {};
  q.d_version = FS_DQUOT_VERSION;
  q.d_flags = FS_PROJ_QUOTA;
  q.d_fieldmask = FS_DQ_BSOFT | FS_DQ_BHARD;
  q.d_id = project;
  q.d_blk_hardlimit = (hard_limit_bytes + 511) / 512;
  q.d_blk_softlimit = 0;
  if (quotactlFd(fs_fd, Q_XSETQLIM, project, &q) != 0) {
    return failErrno("quotactl Q_XSETQLIM project " + std::to_string(project));
  }
  return {};
}

Result<QuotaUsage> projectQuota(int fs_fd, uint32_t project) {
  struct fs_disk_quota q {};
  if (quotactlFd(fs_fd, Q_XGETQUOTA, project, &q) != 0) {
    if (errno == ENOENT) return QuotaUsage{};
    return failErrno("quotactl Q_XGETQUOTA project " + std::to_string(project));
  }
  QuotaUsage u;
  u.used_bytes = q.d_bcount * 512;
  u.hard_limit_bytes = q.d_blk_hardlimit * 512;
  return u;
}

}  // namespace warren::isolators::disk_xfs
