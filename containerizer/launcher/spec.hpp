// The compact launch spec the launcher hands to warren-init over the control
// socket. Dependency-free (no protobuf): both the launcher and the static
// warren-init binary compile spec.cpp. Everything that can be checked on the
// host side (capability and rlimit names, namespace types) is resolved into
// numbers by the launcher, so warren-init only acts.
//
// Wire format (see README.md): magic "WSPEC1\n", then records
//   u8 tag | u32 length (little endian) | payload
// Repeated fields are repeated records; nested structures (a mount, a
// pre-exec argv) are a payload that is itself a record sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace warren::launcher {

// Namespace kinds, as CLONE_NEW* flags.
struct NsSpec {
  uint64_t flag = 0;   // CLONE_NEWNS, CLONE_NEWUTS, ...
  bool enter = false;  // false: CREATE, true: ENTER `path`
  std::string path;
};

struct MountSpec {
  std::string source;
  std::string target;  // container path
  std::string type;    // "bind", "proc", "tmpfs", ...
  std::vector<std::string> options;
  bool create_dir = false;
  bool create_file = false;
  // Set when `source` lies in a directory a container can write (a sandbox,
  // a host: volume): warren-init resolves the part of `source` below this
  // trusted directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
  // so the path checked by the isolator is the path mounted.
  std::string source_root;
};

struct RlimitSpec {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Spec {
  std::string runtime_dir;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "K=V"
  std::vector<NsSpec> namespaces;
  std::string rootfs;
  bool readonly_rootfs = false;
  std::vector<MountSpec> mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string hostname;
  std::string user;
  std::string working_dir;
  std::vector<int> capabilities;  // kept for the command (already defaulted)
  std::vector<int> inheritable_caps, ambient_caps;  // subsets of it (OCI); empty by default
  std::vector<RlimitSpec> rlimits;
  std::vector<std::vector<std::string>> pre_exec;
  // A classic BPF seccomp program (struct sock_filter array), installed last
  // before execve; empty = none.
  std::string seccomp_bpf;
  // OCI create/start: after setup, report started and wait on the fifo
  // `<runtime_dir>/start` (kStartFifo) before starting the command.
  bool hold_until_start = false;
  // With hold: a pty from the container's /dev/pts as the command's stdio,
  // its master sent to the launcher (kMsgConsole) before kMsgStarted.
  bool console = false;
  uint16_t console_rows = 0, console_cols = 0;
  // Container I/O (issue #15, init/io.cpp). relay: warren-init gives the
  // command pipes (or a pty) and copies its output to the sandbox logs
  // (fds 1 and 2 it got from the launcher) and to clients of
  // `<runtime_dir>/io.sock`; false: the command gets fds 0-2 as they are.
  struct Io {
    bool relay = false;
    bool tty = false;
    bool stdin_open = false;     // a pipe (or the pty) one client may write to
    bool hold_output = false;    // keep output until the first client attaches
    uint16_t rows = 0, cols = 0; // initial window size (tty)
    uint64_t log_max_bytes = 0;  // rotate stdout/stderr past this (0: never)
    std::string sandbox_root;    // trusted dir above sandbox_dir (no symlinks below it)
    std::string sandbox_dir;     // where stdout/stderr(.1) live
  } io;
  // The rootfs as the read-only lower layer of an overlay whose `upper` and
  // `work` dirs are in rootfs_upper (below the trusted rootfs_upper_root,
  // resolved without following symlinks); empty: the rootfs itself.
  std::string rootfs_upper;
  std::string rootfs_upper_root;
  // The container's root is the host's `/` (no rootfs anywhere up its
  // tree): warren-init creates no mount point and no working dir there.
  bool host_root = false;
  // Container paths given to the command's user when it is not root.
  std::vector<std::string> chown_paths;
  // max_completion_time: warren-init SIGKILLs the command (everything in its
  // pid namespace) this long after starting it and records the reason
  // "max_completion_time"; 0 = none.
  uint64_t max_completion_ms = 0;
  // Forked by the parent container's warren-init (a DEBUG container, see
  // kExecSocket): already in every namespace it needs. Its runtime dir and
  // sandbox dir come as fds with the spec (SCM_RIGHTS, in that order), as
  // their host paths do not resolve in the container's mount namespace.
  bool forked = false;
};

std::string encodeSpec(const Spec& spec);
// Returns false on malformed input (truncated record, bad magic, ...).
bool decodeSpec(const char* data, size_t size, Spec* out);

// Name tables shared by both sides.
// "CAP_NET_ADMIN" / "net_admin" -> 12; -1 when unknown.
int capabilityFromName(const std::string& name);
const char* capabilityName(int cap);  // "CAP_NET_ADMIN"; nullptr if unknown
// "RLIMIT_NOFILE" / "nofile" -> RLIMIT_NOFILE; -1 when unknown.
int rlimitFromName(const std::string& name);
const char* rlimitName(int resource);  // "RLIMIT_NOFILE"; "RLIMIT_?" if unknown
const char* namespaceName(uint64_t flag);  // "mnt", "uts", ...

// The documented default capability set: crun's (CAP_AUDIT_WRITE, CAP_KILL,
// CAP_NET_BIND_SERVICE). Inheritable and ambient sets are always empty.
std::vector<int> defaultCapabilities();

// Control socket messages (first byte of each SEQPACKET message).
inline constexpr char kMsgSpec = 'S';     // launcher -> init: the spec
inline constexpr char kMsgGo = 'G';       // launcher -> init: release
inline constexpr char kMsgPrepare = 'P';  // launcher -> init: set up, report kMsgPrepared, wait for kMsgGo
inline constexpr char kMsgPrepared = 'D'; // init -> launcher: every fallible setup step done
inline constexpr char kMsgReady = 'R';    // init -> launcher: blocked, creds attached
inline constexpr char kMsgStarted = 'O';  // init -> launcher: command exec'd (or exec failed)
inline constexpr char kMsgConsole = 'T';  // init -> launcher: pty master (SCM_RIGHTS), then kMsgStarted
inline constexpr char kMsgError = 'E';    // init -> launcher: one-line error follows
inline constexpr char kMsgExecInit = 'X'; // clone child -> launcher: execve(init) failed, errno

// The parent's warren-init forks a DEBUG container's init on request:
// `<runtime_dir>/exec.sock` (SOCK_SEQPACKET, 0600), one kMsgFork message per
// connection carrying 4 fds (SCM_RIGHTS): the new init's control socket
// (its spec already queued there) and its stdin, stdout, stderr.
inline constexpr const char* kExecSocket = "exec.sock";
inline constexpr char kMsgFork = 'F';     // launcher -> parent's init: fork a warren-init

// warren-init's fd for the control socket.
inline constexpr int kControlFd = 3;
// warren-init keeps its runtime dir open on this fd for its whole life (to
// write exit_status). Its command line is just "warren-init" (nothing of the
// host), so this is how the host tells whose init a process is:
// readlink /proc/<pid>/fd/4 (" (deleted)" once the dir is gone).
inline constexpr int kRuntimeDirFd = 4;

}  // namespace warren::launcher
