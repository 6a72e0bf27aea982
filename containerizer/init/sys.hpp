// Thin wrappers over the system calls warren-init needs that glibc either
// lacks or declares only in some versions.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace warren::init {

// How every container path is resolved: inside the root, no magic links.
inline constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

inline int openTree(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
inline int moveMount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}
inline int mountSetattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr)));
}
inline int pivotRoot(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
inline int closeRange(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}
inline int openat2(int dfd, const char* path, uint64_t flags, uint64_t resolve, uint64_t mode = 0) {
  struct open_how how {};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  int fd = -1;
  // EAGAIN: a rename raced a RESOLVE_IN_ROOT/BENEATH walk over "..": retry,
  // a bounded number of times (a container renaming in a loop gets an error).
  for (int i = 0; i < 64; ++i) {
    fd = static_cast<int>(::syscall(SYS_openat2, dfd, path, &how, sizeof how));
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd;
}
inline int fsOpen(const char* fs, unsigned flags) {
  return static_cast<int>(::syscall(SYS_fsopen, fs, flags));
}
inline int fsConfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int fsMount(int fd, unsigned flags, unsigned attr_flags) {
  return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attr_flags));
}

}  // namespace warren::init
