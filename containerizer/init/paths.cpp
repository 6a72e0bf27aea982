// Path resolution for everything a container (or its image) can write: a
// container path is only ever resolved inside the container's root with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and what is made there
// (directories, files, mounts) is made relative to the resulting fds, so a
// symlink to the host, a /proc/self/fd/N magic link or a rename racing us
// cannot send a write or a mount outside the root.
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "init/init.hpp"
#include "init/sys.hpp"

namespace warren::init {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t e = path.find('/', pos);
    if (e == std::string::npos) e = path.size();
    if (e > pos) out.push_back(path.substr(pos, e - pos));
    pos = e + 1;
  }
  return out;
}

}  // namespace

int openInRoot(int root, const std::string& path, int flags, uint64_t extra_resolve, mode_t mode) {
  return openat2(root, path.empty() ? "/" : path.c_str(),
                 static_cast<uint64_t>(flags | O_CLOEXEC), kInRoot | extra_resolve, mode);
}

int mkdirsInRoot(int root, const std::string& path, mode_t mode) {
  int fd = openInRoot(root, path, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT) return fd;
  int cur = openInRoot(root, "/", O_PATH | O_DIRECTORY);
  if (cur < 0) return -1;
  std::string prefix;
  for (const auto& comp : components(path)) {
    prefix += "/" + comp;
    int next = openInRoot(root, prefix, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      // Made in the directory the walk resolved to, never through a name.
      int made = mkdirat(cur, comp.c_str(), mode);
      std::string parent = prefix.substr(0, prefix.size() - comp.size() - 1);
      if (made != 0 && errno == EROFS && !parent.empty()) {
        // A read-only root (the bind backend): the mount point goes into a
        // tmpfs layer over its parent directory, never into the image.
        close(cur);
        if (overlayDirInRoot(root, parent) != 0) return -1;
        cur = openInRoot(root, parent, O_PATH | O_DIRECTORY);
        if (cur < 0) return -1;
        made = mkdirat(cur, comp.c_str(), mode);
      }
      if (made != 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        errno = e;
        return -1;
      }
      next = openInRoot(root, prefix, O_PATH | O_DIRECTORY);
    }
    int e = errno;
    close(cur);
    errno = e;
    if (next < 0) return -1;
    cur = next;
  }
  return cur;
}

int createFileInRoot(int root, const std::string& path) {
  int fd = openInRoot(root, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    int dir = mkdirsInRoot(root, path.substr(0, slash), 0755);
    if (dir < 0) return -1;
    close(dir);
  }
  // Non-blocking and read-only: a FIFO or device slipped in cannot stall us.
  int f = openInRoot(root, path, O_RDONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0, 0644);
  if (f < 0 && errno == EROFS && slash != std::string::npos && slash > 0) {
    // A read-only root (the bind backend): the mount point goes into a tmpfs
    // layer over its directory, never into the image.
    if (overlayDirInRoot(root, path.substr(0, slash)) != 0) return -1;
    f = openInRoot(root, path, O_RDONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0, 0644);
  }
  if (f < 0) return -1;
  close(f);
  return openInRoot(root, path, O_PATH);
}

bool onFilesystem(int fd, long magic) {
  struct statfs sfs {};
  return fstatfs(fd, &sfs) == 0 && static_cast<long>(sfs.f_type) == magic;
}

int openBeneath(const std::string& root, const std::string& source) {
  int rfd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return -1;
  std::string rest = source.size() > root.size() ? source.substr(root.size()) : "";
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  int fd = openat2(rfd, rest.empty() ? "." : rest.c_str(), O_PATH | O_CLOEXEC,
                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  int e = errno;
  close(rfd);
  errno = e;
  return fd;
}

}  // namespace warren::init
