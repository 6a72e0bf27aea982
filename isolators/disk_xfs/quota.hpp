// XFS project quotas, through the kernel's own interfaces only: statfs for
// the file system type, FS_IOC_FSGETXATTR/FS_IOC_FSSETXATTR for a file's
// project id and FS_XFLAG_PROJINHERIT, quotactl_fd(2) (Linux 5.14+; no block
// device path needed) with the XFS commands Q_XGETQSTATV, Q_XSETQLIM and
// Q_XGETQUOTA. No xfs_quota is run.
#pragma once

#include <cstdint>
#include <string>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"

namespace warren::isolators::disk_xfs {

// An open directory on an XFS file system whose project quotas are
// enforced (mounted with prjquota / pquota). FailedPrecondition naming
// `dir` and what is missing otherwise: not XFS, no quota support in the
// kernel, or project quotas not enforced.
Result<UniqueFd> openProjectQuotaDir(const std::string& dir);

// The file system's block size (statfs f_bsize) of an open file.
Result<uint64_t> blockSize(int fd);

// The project id of an open file.
Result<uint32_t> projectOf(int fd);

// Every directory and regular file of the tree at `dir` (itself included;
// nothing below a mount point or through a symlink, each path resolved
// beneath `dir`) gets project `project`; directories also get (inherit
// true) or lose FS_XFLAG_PROJINHERIT, so what is created in them later
// inherits the id. Symlinks, devices, fifos and sockets keep theirs (the
// kernel cannot set it on them through a file descriptor). The first
// failure is returned after the rest of the tree was tried.
Result<void> setProjectTree(const std::string& dir, uint32_t project, bool inherit);

struct QuotaUsage {
  uint64_t used_bytes = 0;
  uint64_t hard_limit_bytes = 0;  // 0: no limit
};

// Sets (hard_limit_bytes 0: removes) project `project`'s block hard limit on
// the file system of `fs_fd`, rounded up to 512-byte basic blocks.
Result<void> setProjectLimit(int fs_fd, uint32_t project, uint64_t hard_limit_bytes);

// Usage and hard limit of project `project` (zero when the file system has
// no quota record for it).
Result<QuotaUsage> projectQuota(int fs_fd, uint32_t project);

}  // namespace warren::isolators::disk_xfs
