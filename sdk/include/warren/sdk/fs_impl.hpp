// Implementation detail of fs.hpp (header-only).
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace warren::fs {

namespace detail {
inline Result<void> removeAt(int parent, const char* name, dev_t dev, const std::string& shown) {
  struct stat st {};
  if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat '" + shown + "'");
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) {
      return fail(Code::FailedPrecondition, "refusing to remove '" + shown + "': a mount point");
    }
    int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return failErrno("open '" + shown + "'");
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return failErrno("opendir '" + shown + "'");
    }
    Result<void> r;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      auto rr = removeAt(::dirfd(d), e->d_name, dev, shown + "/" + n);
      if (!rr && r) r = rr;
    }
    ::closedir(d);
    if (!r) return r;
    if (::unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return failErrno("rmdir '" + shown + "'");
    }
    return {};
  }
  if (::unlinkat(parent, name, 0) != 0 && errno != ENOENT) return failErrno("unlink '" + shown + "'");
  return {};
}
}  // namespace detail

inline Result<void> removeTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat '" + path + "'");
  }
  return detail::removeAt(AT_FDCWD, path.c_str(), st.st_dev, path);
}

}  // namespace warren::fs
