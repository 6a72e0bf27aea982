// The copy backend: every layer copied in order onto the rootfs, applying
// overlay-form whiteouts on the way. All access is relative to directory fds
// opened O_NOFOLLOW, so a symlink in a layer is never followed.
#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "backends/backend.hpp"
#include "extract.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {
namespace {

using Links = std::map<std::pair<dev_t, ino_t>, std::string>;  // first copy of a hardlinked inode

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

std::string procPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Copies user/security xattrs (never trusted.*: those steer overlayfs).
void copyXattrs(int from, int to) {
  char names[4096];
  ssize_t n = ::flistxattr(from, names, sizeof names);
  for (ssize_t i = 0; i < n;) {
    std::string name = names + i;
    i += static_cast<ssize_t>(name.size()) + 1;
    if (name.rfind("trusted.", 0) == 0) continue;
    char val[4096];
    ssize_t vn = ::fgetxattr(from, name.c_str(), val, sizeof val);
    if (vn >= 0) (void)::fsetxattr(to, name.c_str(), val, static_cast<size_t>(vn), 0);
  }
}

Result<void> removeEntry(int dir, const std::string& name, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) return fs::removeTree(procPath(dir) + "/" + name);
  if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) return failErrno("unlink '" + shown + "'");
  return {};
}

// The names in a directory given as an fd (the fd itself stays open).
Result<std::vector<std::string>> entriesOf(int dir, const std::string& shown) {
  UniqueFd dup(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = ::fdopendir(dup.release());
  if (d == nullptr) return failErrno("opendir '" + shown + "'");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

Result<void> clearDir(int dir, const std::string& shown) {
  WARREN_ASSIGN_OR_RETURN(auto names, entriesOf(dir, shown));
  for (const auto& n : names) WARREN_TRY(removeEntry(dir, n, shown + "/" + n));
  return {};
}

Result<void> copyRegular(int sdir, int ddir, const std::string& name, const struct stat& st,
                         const std::string& shown) {
  UniqueFd in(::openat(sdir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return failErrno("open '" + shown + "'");
  UniqueFd out(::openat(ddir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return failErrno("create '" + shown + "'");
  // Data segments only (SEEK_DATA/SEEK_HOLE): holes stay holes, so a sparse
  // file in a layer does not become its full size on disk in every rootfs.
  off_t pos = 0;
  while (pos < st.st_size) {
    off_t data = ::lseek(in.get(), pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole remains
    if (data < 0) data = pos;               // no SEEK_DATA here: copy everything
    off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
    if (hole < 0 || hole > st.st_size) hole = st.st_size;
    off_t in_off = data, out_off = data;
    while (in_off < hole) {
      ssize_t n = ::copy_file_range(in.get(), &in_off, out.get(), &out_off,
                                    static_cast<size_t>(hole - in_off), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // Fallback: plain pread/pwrite (cross-fs on old kernels).
        char buf[1 << 16];
        ssize_t r = ::pread(in.get(), buf, std::min<off_t>(sizeof buf, hole - in_off), in_off);
        if (r < 0) return failErrno("read '" + shown + "'");
        if (r == 0) break;
        if (::pwrite(out.get(), buf, static_cast<size_t>(r), out_off) != r) return failErrno("write '" + shown + "'");
        in_off += r;
        out_off += r;
      }
    }
    pos = hole;
  }
  if (::ftruncate(out.get(), st.st_size) != 0) return failErrno("truncate '" + shown + "'");
  if (::fchown(out.get(), st.st_uid, st.st_gid) != 0) return failErrno("chown '" + shown + "'");
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return failErrno("chmod '" + shown + "'");
  copyXattrs(in.get(), out.get());
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  (void)::futimens(out.get(), ts);
  return {};
}

Result<void> copyTree(int sdir, int ddir, const std::string& shown, Links& links);

Result<void> copyOne(int sdir, int ddir, const std::string& name, const std::string& shown, Links& links) {
  struct stat st {};
  if (::fstatat(sdir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failErrno("stat '" + shown + "'");
  if (isWhiteout(st)) return removeEntry(ddir, name, shown);
  struct stat dst {};
  bool exists = ::fstatat(ddir, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0;
  if (S_ISDIR(st.st_mode)) {
    if (exists && !S_ISDIR(dst.st_mode)) {
      WARREN_TRY(removeEntry(ddir, name, shown));
      exists = false;
    }
    if (!exists && ::mkdirat(ddir, name.c_str(), 0700) != 0) return failErrno("mkdir '" + shown + "'");
    UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd d(::openat(ddir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s || !d) return failErrno("open dir '" + shown + "'");
    char v[2];
    if (exists && ::fgetxattr(s.get(), kOpaqueXattr, v, sizeof v) == 1 && v[0] == 'y') {
      WARREN_TRY(clearDir(d.get(), shown));
    }
    WARREN_TRY(copyTree(s.get(), d.get(), shown, links));
    if (::fchown(d.get(), st.st_uid, st.st_gid) != 0) return failErrno("chown '" + shown + "'");
    if (::fchmod(d.get(), st.st_mode & 07777) != 0) return failErrno("chmod '" + shown + "'");
    copyXattrs(s.get(), d.get());
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    (void)::futimens(d.get(), ts);
    return {};
  }
  if (exists) WARREN_TRY(removeEntry(ddir, name, shown));
  if (st.st_nlink > 1) {
    auto it = links.find({st.st_dev, st.st_ino});
    if (it != links.end()) {
      if (::linkat(AT_FDCWD, it->second.c_str(), ddir, name.c_str(), 0) == 0) return {};
    }
  }
  if (S_ISREG(st.st_mode)) {
    WARREN_TRY(copyRegular(sdir, ddir, name, st, shown));
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(sdir, name.c_str(), target.data(), target.size());
    if (n < 0) return failErrno("readlink '" + shown + "'");
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), ddir, name.c_str()) != 0) return failErrno("symlink '" + shown + "'");
    (void)::fchownat(ddir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    (void)::utimensat(ddir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  } else {
    if (::mknodat(ddir, name.c_str(), st.st_mode, st.st_rdev) != 0) return failErrno("mknod '" + shown + "'");
    (void)::fchownat(ddir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
  }
  if (st.st_nlink > 1) {
    // Remember where the first copy went (an fd-relative path stays valid
    // while ddir is open; resolve it to a stable path now).
    char buf[PATH_MAX];
    ssize_t n = ::readlink(procPath(ddir).c_str(), buf, sizeof buf - 1);
    if (n > 0) links[{st.st_dev, st.st_ino}] = std::string(buf, static_cast<size_t>(n)) + "/" + name;
  }
  return {};
}

Result<void> copyTree(int sdir, int ddir, const std::string& shown, Links& links) {
  WARREN_ASSIGN_OR_RETURN(auto names, entriesOf(sdir, shown));
  for (const auto& n : names) WARREN_TRY(copyOne(sdir, ddir, n, shown + "/" + n, links));
  return {};
}

}  // namespace

Result<void> copyLayer(const std::string& layer, const std::string& dest) {
  UniqueFd s(::open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd d(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!s) return failErrno("open layer '" + layer + "'");
  if (!d) return failErrno("open rootfs '" + dest + "'");
  char v[2];
  if (::fgetxattr(s.get(), kOpaqueXattr, v, sizeof v) == 1 && v[0] == 'y') WARREN_TRY(clearDir(d.get(), dest));
  Links links;
  return copyTree(s.get(), d.get(), dest, links);
}

Result<void> assembleCopy(const Assembly& a) {
  for (const auto& l : a.layers) {
    auto r = copyLayer(l, a.rootfs);
    if (!r) return fail(r.error().context("copy layer '" + l + "'"));
  }
  return {};
}

}  // namespace warren::provisioners::image
