// The launcher: the only code that creates a container's first process.
//
// spawn() clones warren-init into the namespaces the merged LaunchInfo asks
// for (CREATE: new, ENTER: setns into the given path), hands it its spec over
// a control socket, and returns once warren-init is alive and *blocked* - its
// host pid known - so isolators can isolate it (cgroups, veth). release()
// then lets warren-init set the container up (mounts, pivot_root, hostname,
// user, capabilities, ...) and exec the command; it returns once the command
// was started or reports the setup error warren-init hit.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "launcher/spec.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/launch.pb.h"

namespace warren::launcher {

struct LaunchRequest {
  std::string init_path;       // the warren-init binary
  // A sealInit() copy of it to exec (kept by the caller across spawns);
  // -1: spawn makes one from init_path for this spawn alone.
  int init_fd = -1;
  v1::LaunchInfo launch_info;  // merged; command already resolved into it
  // Final argv of the command (argv[0] = program; looked up in the
  // container's PATH when not absolute).
  std::vector<std::string> argv;
  // The container's runtime dir: warren-init writes `exit_status` here.
  std::string runtime_dir;
  int stdin_fd = -1;   // -1 = /dev/null
  int stdout_fd = -1;  // -1 = /dev/null
  int stderr_fd = -1;  // -1 = /dev/null
  // Container I/O relayed by warren-init (stdout_fd/stderr_fd are then the
  // sandbox log files it appends to); see init/io.cpp.
  Spec::Io io;
  // OCI create/start: warren-init waits on `<runtime_dir>/start` before
  // starting the command (Spec::hold_until_start).
  bool hold_until_start = false;
  // OCI process.terminal: warren-init opens a pty in the container's own
  // /dev/pts, makes its slave the command's stdio and sends the master back
  // (Launched::console). Needs hold_until_start (warren-oci).
  bool console = false;
  uint16_t console_rows = 0, console_cols = 0;
  // The container's root is the host's `/` (Spec::host_root).
  bool host_root = false;
  uint64_t max_completion_ms = 0;  // Spec::max_completion_ms
  // A DEBUG container: its parent's runtime dir and init pid. When every
  // namespace of the spec is an ENTER of that init's (/proc/<pid>/ns/*) and
  // the parent's init serves `exec.sock`, the parent's init forks this
  // container's warren-init (already inside every namespace and the
  // parent's cgroups) instead of a clone from here entering them; otherwise
  // the usual slow path. Empty / 0: never.
  std::string parent_runtime_dir;
  pid_t parent_pid = 0;
  // Pid namespace nesting: when ENTER pid + CREATE pid both appear, the new
  // pid namespace is made a child of the entered one.
};

// For a top-level container (no ENTER namespace) warren-init is the
// caller's child. When namespaces are ENTERed (nested, DEBUG) it is adopted
// by the parent container's warren-init instead: wait on `pidfd` (POLLIN)
// and read `exit_status`; waitid(P_PIDFD) then fails with ECHILD.
struct Launched {
  pid_t pid = -1;           // warren-init, as seen from the host
  bool forked = false;      // forked by the parent container's init (exec.sock)
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22
  UniqueFd pidfd;           // pidfd_open(pid)
  UniqueFd control;         // control socket to warren-init
  UniqueFd console;         // LaunchRequest::console: the pty master, after release
};

// warren-init runs from a sealed memfd copy of itself (the CVE-2019-5736
// class, as runc and crun do): a container process that reaches
// /proc/<pid>/exe of an init finds an anonymous file that cannot be written,
// grown, shrunk or re-sealed - never the host's binary. Copies `path` into
// memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_EXEC), sealed with
// F_SEAL_SEAL|SHRINK|GROW|WRITE (+ F_SEAL_EXEC where known).
Result<UniqueFd> sealInit(const std::string& path);

// The sealed memfd a running warren-init (pid, with this start time) was
// exec'd from, when it is sealed like sealInit's and holds exactly the
// bytes of `path`: a process that launches once (the CLI) then shares that
// copy's pages with every init already running instead of making its own
// (~1 MB of text per container). An error when it is not such a copy.
Result<UniqueFd> adoptSealedInit(const std::string& path, pid_t pid, uint64_t start_time);

// Clone warren-init and wait until it is blocked before setup.
Result<Launched> spawn(const LaunchRequest& req);

// Let warren-init proceed; returns after the command was exec'd (or with
// the setup error, e.g. "mount '/proc': EPERM"). An exec failure is not an
// error here: the command exits 127 and exit_status says exec_failed. On
// success `control` is closed; on a setup error warren-init is gone (reaped
// when it is our child) and exit_status says setup_failed.
Result<void> release(Launched& launched);

// Task groups: let warren-init do every setup step that can fail (mounts,
// pivot_root, hostname, user) and stop again before exec'ing the command;
// returns once it did, or with its setup error (warren-init is then gone).
// release() afterwards starts the command.
Result<void> prepare(Launched& launched);

// Kill warren-init (SIGKILL) and reap it when it is our child; idempotent.
void abort(Launched& launched);

// /proc/<pid>/stat start time, 0 when the process is gone.
uint64_t processStartTime(pid_t pid);

}  // namespace warren::launcher
