// Small filesystem helpers for the host and plugins: read/write whole files,
// atomic checkpoint writes (write temp + fsync + rename), mkdir -p.
#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"

namespace warren::fs {

inline Result<std::string> readFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno("open '" + path + "'");
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read '" + path + "'");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline Result<void> writeAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write '" + what + "'");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Plain write (truncate), e.g. for cgroup and /proc files.
inline Result<void> writeFile(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644));
  if (!fd) return failErrno("open '" + path + "'");
  return writeAll(fd.get(), data, path);
}

// Crash-safe replace: write to a temp file beside it, fsync, rename, fsync dir.
inline Result<void> writeFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644));
  if (!fd) return failErrno("open '" + tmp + "'");
  WARREN_TRY(writeAll(fd.get(), data, tmp));
  // On tmpfs (a runtime dir under /run) there is no disk to flush to: fsync
  // would only cost time. Anywhere else the data and the rename are synced.
  struct statfs sfs {};
  bool volatile_fs = ::fstatfs(fd.get(), &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
  if (!volatile_fs && ::fsync(fd.get()) != 0) return failErrno("fsync '" + tmp + "'");
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("rename '" + tmp + "'");
  if (volatile_fs) return {};
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return {};
}

inline Result<void> mkdirs(const std::string& path, mode_t mode = 0755) {
  if (path.empty()) return fail(Code::InvalidArgument, "mkdir: empty path");
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return failErrno("mkdir '" + cur + "'");
    }
    i = j + 1;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failErrno("stat '" + path + "'");
  if (!S_ISDIR(st.st_mode)) return fail(Code::FailedPrecondition, "'" + path + "' is not a directory");
  return {};
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// rm -rf that never crosses into another filesystem (mount points are left
// alone and reported as an error, so a forgotten mount never loses data).
Result<void> removeTree(const std::string& path);

}  // namespace warren::fs

#include "warren/sdk/fs_impl.hpp"
