// overlay and bind backends, and unmounting.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "backends/backend.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {
namespace {

// Undo the octal escapes of /proc/self/mountinfo paths.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool isMountPoint(const std::string& path) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, mp;
    ls >> id >> parent >> dev >> root >> mp;
    if (unescape(mp) == path) return true;
  }
  return false;
}

}  // namespace

Result<void> unmountAll(const std::string& path) {
  char real[PATH_MAX];
  std::string p = ::realpath(path.c_str(), real) != nullptr ? std::string(real) : path;
  for (int i = 0; i < 16 && isMountPoint(p); ++i) {
    if (::umount2(p.c_str(), UMOUNT_NOFOLLOW) != 0) {
      if (errno == EINVAL) return {};
      if (errno != EBUSY || ::umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
        return failErrno("unmount '" + p + "'");
      }
    }
  }
  return {};
}

namespace {

// Many layers: the new mount API appends each lower dir on its own
// (`lowerdir+`, Linux 6.8), so no option string has to hold them all.
Result<void> mountOverlayFd(const Assembly& a, const std::string& upper, const std::string& work) {
  UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd) return failErrno("fsopen overlay");
  auto set = [&](const char* key, const std::string& value) -> Result<void> {
    if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
      return failErrno(std::string("overlay option ") + key + " '" + value + "'");
    }
    return {};
  };
  for (auto it = a.layers.rbegin(); it != a.layers.rend(); ++it) WARREN_TRY(set("lowerdir+", *it));
  WARREN_TRY(set("upperdir", upper));
  WARREN_TRY(set("workdir", work));
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return failErrno("create overlay of " + std::to_string(a.layers.size()) + " layers");
  }
  UniqueFd mnt(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV));
  if (!mnt) return failErrno("fsmount overlay");
  if (::move_mount(mnt.get(), "", AT_FDCWD, a.rootfs.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return failErrno("mount overlay at '" + a.rootfs + "'");
  }
  return {};
}

// Overlay needs d_type from the filesystem holding upper/work (xfs with
// ftype=0 lacks it): create an entry and read its type back.
bool hasDType(const std::string& dir) {
  std::string probe = dir + "/.d_type-probe";
  (void)fs::mkdirs(probe, 0700);
  bool ok = false;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::string(e->d_name) == ".d_type-probe") ok = e->d_type == DT_DIR;
    }
    ::closedir(d);
  }
  ::rmdir(probe.c_str());
  return ok;
}

}  // namespace

Result<void> assembleOverlay(const Assembly& a) {
  if (a.layers.empty()) return fail(Code::InvalidArgument, "overlay: the image has no layers");
  std::string upper = a.scratch + "/upper", work = a.scratch + "/work";
  WARREN_TRY(fs::mkdirs(upper, 0755));
  WARREN_TRY(fs::mkdirs(work, 0700));
  if (!hasDType(a.scratch)) {
    return fail(Code::FailedPrecondition, "overlay: the filesystem of '" + a.scratch +
                                              "' does not report d_type (xfs with ftype=0?)");
  }
  std::string lower;
  bool plain = true;
  for (auto it = a.layers.rbegin(); it != a.layers.rend(); ++it) {
    if (it->find_first_of(":,") != std::string::npos) plain = false;
    lower += (lower.empty() ? "" : ":") + *it;
  }
  // A single lower layer still needs an upper (writable rootfs).
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  if (!plain || opts.size() >= static_cast<size_t>(::getpagesize()) - 1) {
    return mountOverlayFd(a, upper, work);
  }
  if (::mount("overlay", a.rootfs.c_str(), "overlay", MS_NODEV, opts.c_str()) != 0) {
    return failErrno("mount overlay at '" + a.rootfs + "'");
  }
  return {};
}

Result<void> assembleBind(const Assembly& a) {
  if (a.layers.size() != 1) {
    return fail(Code::InvalidArgument, "bind backend needs a single-layer image; this one has " +
                                           std::to_string(a.layers.size()) + " layers");
  }
  if (::mount(a.layers[0].c_str(), a.rootfs.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return failErrno("bind-mount '" + a.layers[0] + "' at '" + a.rootfs + "'");
  }
  if (::mount(nullptr, a.rootfs.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV, nullptr) != 0) {
    Error e = Error::errnoNow("remount '" + a.rootfs + "' read-only");
    (void)::umount2(a.rootfs.c_str(), MNT_DETACH);
    return fail(std::move(e));
  }
  return {};
}

bool overlayUsable(const std::string& probe_dir) {
  (void)fs::removeTree(probe_dir);
  Assembly a;
  a.layers = {probe_dir + "/lower"};
  a.rootfs = probe_dir + "/merged";
  a.scratch = probe_dir;
  if (!fs::mkdirs(a.layers[0]) || !fs::mkdirs(a.rootfs)) return false;
  bool ok = static_cast<bool>(assembleOverlay(a));
  if (ok) (void)::umount2(a.rootfs.c_str(), MNT_DETACH);
  (void)fs::removeTree(probe_dir);
  return ok;
}

}  // namespace warren::provisioners::image
