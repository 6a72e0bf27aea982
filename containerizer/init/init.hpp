// warren-init internals. warren-init is single-threaded, statically linked,
// and uses no exceptions-heavy or logging libraries: errors are one-line
// strings ("" = success) that end up in the launcher's Error and in the
// exit_status file.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "launcher/spec.hpp"

namespace warren::init {

struct State {
  launcher::Spec spec;
  int rundir_fd = -1;     // the runtime dir, opened before any namespace change
  int rootfs_tree = -1;   // detached clone of the rootfs (or -errno)
  int devnull_tree = -1;  // detached clone of /dev/null, for masking files
  std::vector<int> mount_trees;  // per spec mount: detached bind source, -errno, or -1 (not a bind)
  bool own_mnt = false;
  bool own_uts = false;
  bool new_pid = false;
  bool create_cgroup = false;
  bool proc_mounted = false;
};

// "what: strerror(errno)"
std::string sysError(const std::string& what);

// Namespaces: open the trees a container needs from the launcher's mount
// namespace, enter/create namespaces. Returns "" or an error. May fork: on
// return the caller is the final warren-init (intermediates never return).
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
std::string resolveUser(const std::string& spec, User* out);
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

// Signals warren-init keeps blocked (and forwards / waits for).
void initSignalMask();
void resetSignalMaskForChild();

}  // namespace warren::init
