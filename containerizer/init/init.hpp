// warren-init internals. warren-init is single-threaded, statically linked,
// and uses no exceptions-heavy or logging libraries: errors are one-line
// strings ("" = success) that end up in the launcher's Error and in the
// exit_status file.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "launcher/spec.hpp"

namespace warren::init {

struct State {
  launcher::Spec spec;
  int rundir_fd = -1;     // the runtime dir, opened before any namespace change
  int root_fd = -1;       // the container's root (after pivot_root), O_PATH
  int rootfs_tree = -1;   // detached clone of the rootfs (or -errno)
  int devnull_tree = -1;  // detached clone of /dev/null (checked: char 1:3), for masking files
  int devnull_mnt = -1;   // the first such mount, attached: cloned for the next masks
  std::vector<int> mount_trees;  // per spec mount: detached bind source, -errno, or -1 (not a bind)
  bool own_mnt = false;
  bool own_uts = false;
  bool new_pid = false;
  bool create_cgroup = false;
  bool proc_mounted = false;
  // User namespace (CREATE: the fd came with the spec; ENTER: opened from
  // its path). Mounts are idmapped with it before it is joined.
  bool userns = false;
  int userns_fd = -1;
  // With a user namespace, kernel file systems (proc, sysfs, ...) are made
  // before pivot_root, while the host's /proc and /sys are still visible
  // (the kernel refuses them otherwise): per spec mount, or -1.
  std::vector<int> fs_trees;
  int proc_tree = -1;
  // max_completion_time (deadline.cpp): CLOCK_MONOTONIC ms, 0 = none.
  int64_t deadline_ms = 0;
  mutable bool deadline_hit = false;
  // Spec::forked: the sandbox dir came as an fd with the spec (-1: none).
  int sandbox_fd = -1;
  // This init's own executable (the launcher's sealed memfd), opened from
  // the launcher's /proc before any namespace change: what exec.sock forks
  // and execs for a DEBUG container (-1: no exec service).
  int self_exe = -1;
};

// "what: strerror(errno)"
std::string sysError(const std::string& what);

// Container paths, resolved inside `root` only (paths.cpp). Each returns an
// fd (O_CLOEXEC) or -1 with errno set.
int openInRoot(int root, const std::string& path, int flags, uint64_t extra_resolve = 0,
               mode_t mode = 0);
int mkdirsInRoot(int root, const std::string& path, mode_t mode);  // O_PATH dir fd
int createFileInRoot(int root, const std::string& path);           // O_PATH fd
// Overlays `dir` (inside the root) with a tmpfs upper layer, so a file can be
// made in it on a read-only root without writing into the image (ro_overlay.cpp).
int overlayDirInRoot(int root, const std::string& dir);  // 0, or -1 with errno
// The spec's rootfs under an overlay with its upper layer (Spec::rootfs_upper):
// a detached mount fd, or -1 with errno and *what naming the step.
int overlayRootfs(const State& st, std::string* what);
// Hands Spec::chown_paths to the command's user when not root (command.cpp).
std::string chownPaths(const State& st, uid_t uid, gid_t gid);
// Makes a missing working dir (not on the host's root), as root, 0755.
std::string ensureWorkingDir(const State& st);
bool onFilesystem(int fd, long magic);                             // fstatfs f_type
// A host path below a trusted host directory, no symlink followed (O_PATH).
int openBeneath(const std::string& root, const std::string& source);

// Namespaces: open the trees a container needs from the launcher's mount
// namespace, enter/create namespaces. Returns "" or an error. May fork: on
// return the caller is the final warren-init (intermediates never return).
std::string openUserNamespace(State& st);
std::string prepareSources(State& st);
std::string enterNamespaces(State& st);

// After release: rprivate, pivot_root, /proc, mounts (mounts.cpp).
std::string setupMounts(State& st);
// After pre-exec: masked and read-only paths, read-only rootfs.
std::string finishMounts(State& st);

// User, command child, pre-exec (command.cpp).
struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home = "/";
};
std::string resolveUser(const State& st, User* out);  // from the container's /etc files
std::string runPreExec(const State& st);
// Forks the command. On success *pid is set; *exec_error carries the exec
// failure message (the child then exits 127). A non-empty return is a setup
// failure (the child is already reaped).
std::string startCommand(const State& st, const User& user, pid_t* pid, std::string* exec_error);

// Installs the spec's seccomp filter (if any) in the calling process; needs
// no_new_privs or CAP_SYS_ADMIN. "" or an error (seccomp.cpp).
std::string applySeccomp(const State& st);

// After the command started: forward signals, reap, write exit_status, and
// return init's own exit code (reaper.cpp).
int reap(const State& st, pid_t command, const std::string& exec_error);
void writeExitStatus(const State& st, int wait_status, const char* reason, const std::string& message);

// max_completion_time (reaper.cpp): starts the clock when the command
// started; ms until the deadline (-1: none; 0: now); at the deadline kills the
// command (everything in its pid namespace) once, and reasonFor() then
// records "max_completion_time".
void startDeadline(State& st);
int deadlineTimeoutMs(const State& st);
void checkDeadline(const State& st, pid_t command);
const char* reasonFor(const State& st, int wait_status, const std::string& exec_error);

// Signals warren-init keeps blocked (and forwards / waits for).
sigset_t reaperSignals();
void initSignalMask();
void resetSignalMaskForChild();

// Container I/O when the spec asks for the relay (io.cpp); each is a no-op
// otherwise. ioOpen: at start, host paths: io.sock + sandbox dir. ioPrepare:
// before the command, in its root: pipes or pty. ioChildStdio / ioChildTty:
// in the command child (before its fds are closed / after setsid).
// ioRelayAndReap replaces reap(): relay until the command ends.
std::string ioOpen(State& st);
std::string ioPrepare(State& st);
void ioChildStdio(const State& st);
void ioChildTty(const State& st);
int ioRelayAndReap(const State& st, pid_t command, const std::string& exec_error);

}  // namespace warren::init
