// spawn / release / abort: see launcher.hpp and README.md (process tree and
// control protocol).
#include "launcher/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "launcher/spec.hpp"
#include "launcher/spec_builder.hpp"
#include "warren/sdk/fs.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace warren::launcher {
namespace {

constexpr int kReadyTimeoutMs = 60000;

// Layout of the kernel's struct clone_args (version 0, 64 bytes).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfdSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Reap through a pidfd; true when reaped (ECHILD: not our child).
bool reapPidfd(int pidfd, bool block) {
  siginfo_t si{};
  int flags = WEXITED | (block ? 0 : WNOHANG);
  while (::waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, flags) != 0) {
    if (errno != EINTR) return false;
  }
  return si.si_pid != 0;
}

bool waitExit(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
  return r > 0;
}

struct Message {
  char type = 0;
  std::string body;
  pid_t sender = -1;  // from SCM_CREDENTIALS, in our pid namespace
  UniqueFd fd;        // from SCM_RIGHTS (kMsgConsole)
};

// One control message; type 0 = EOF (every holder of the other end is gone).
Result<Message> receive(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
  if (r < 0) return failErrno("poll warren-init control socket");
  if (r == 0) return fail(Code::Unavailable, "timed out waiting for warren-init");
  char buf[4096];
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))];
  iovec iov{buf, sizeof buf};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n;
  while ((n = ::recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  Message m;
  if (n < 0 && errno == ECONNRESET) return m;  // gone, with a message unread: EOF
  if (n < 0) return failErrno("read warren-init control socket");
  if (n == 0) return m;
  m.type = buf[0];
  m.body.assign(buf + 1, static_cast<size_t>(n - 1));
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      ucred cr;
      std::memcpy(&cr, CMSG_DATA(c), sizeof cr);
      m.sender = cr.pid;
    }
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      m.fd.reset(fd);
    }
  }
  return m;
}

Error initError(const Message& m, const std::string& what) {
  if (m.type == kMsgError) return Error(Code::FailedPrecondition, m.body);
  if (m.type == kMsgExecInit && m.body.size() == sizeof(int)) {
    int err;
    std::memcpy(&err, m.body.data(), sizeof err);
    return Error::sys(err, "exec warren-init");
  }
  if (m.type == 0) return Error(Code::Internal, "warren-init exited " + what);
  return Error(Code::Internal, std::string("warren-init sent unexpected message '") + m.type +
                                   "' " + what);
}

// The clone3 child: async-signal-safe calls only, then exec warren-init.
[[noreturn]] void childExec(const int src[4], int exe, char* const argv[]) {
  // Out of the caller's session and process group at once (warren-init does
  // it again, for inits started some other way): a signal to the caller's
  // group must never reach a container.
  ::setsid();
  int hi[5];
  for (int i = 0; i < 4; ++i) {
    hi[i] = ::fcntl(src[i], F_DUPFD_CLOEXEC, 10);
    if (hi[i] < 0) ::_exit(126);
  }
  hi[4] = ::fcntl(exe, F_DUPFD_CLOEXEC, 10);  // out of the way of 0-3
  if (hi[4] < 0) ::_exit(126);
  for (int i = 0; i < 4; ++i) {
    if (::dup2(hi[i], i) < 0) ::_exit(126);
  }
  char* const envp[] = {nullptr};
  ::syscall(SYS_execveat, hi[4], "", argv, envp, AT_EMPTY_PATH);
  int err = errno;
  // Consume the spec first: closing a socket with unread data resets the
  // peer, which would hide this message.
  char none;
  (void)!::recv(kControlFd, &none, 0, MSG_TRUNC | MSG_DONTWAIT);
  char msg[1 + sizeof(int)];
  msg[0] = kMsgExecInit;
  std::memcpy(msg + 1, &err, sizeof err);
  (void)!::send(kControlFd, msg, sizeof msg, MSG_NOSIGNAL);
  ::_exit(127);
}

std::string mapText(const google::protobuf::RepeatedPtrField<v1::IdMapping>& ms) {
  std::string out;
  for (const auto& m : ms) {
    out += std::to_string(m.container_id()) + " " + std::to_string(m.host_id()) + " " +
           std::to_string(m.size()) + "\n";
  }
  return out;
}

// The host id that id 0 of the container maps to (checked to exist by buildSpec).
uint32_t hostRoot(const google::protobuf::RepeatedPtrField<v1::IdMapping>& ms) {
  for (const auto& m : ms) {
    if (m.container_id() == 0) return m.host_id();
  }
  return 0;
}

// A new user namespace with the container's mappings, held by an fd: a child
// is cloned into it (blocked on a pipe), we write its uid_map and gid_map as
// the host's root (so setgroups stays allowed, as for any privileged
// runtime), open /proc/<child>/ns/user, and let the child go. warren-init
// gets the fd with its spec, idmaps its mounts with it while it still has
// the host's privileges, then joins it.
Result<UniqueFd> makeUserNamespace(const v1::LaunchInfo& li) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return failErrno("pipe for the user namespace helper");
  UniqueFd rd(p[0]), wr(p[1]);
  int pidfd = -1;
  CloneArgs ca{};
  ca.flags = CLONE_PIDFD | CLONE_NEWUSER;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) return failErrno("clone3 a user namespace");
  if (pid == 0) {  // async-signal-safe only: wait until the parent is done
    ::close(p[1]);
    char c;
    while (::read(p[0], &c, 1) < 0 && errno == EINTR) {}
    ::_exit(0);
  }
  UniqueFd child(pidfd);
  rd.reset();
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  auto finish = [&] {
    wr.reset();
    reapPidfd(child.get(), true);
  };
  for (const auto& [file, text] : {std::pair{"uid_map", mapText(li.uid_mappings())},
                                   std::pair{"gid_map", mapText(li.gid_mappings())}}) {
    UniqueFd f(::open((proc + file).c_str(), O_WRONLY | O_CLOEXEC));
    if (!f || ::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      Error e = Error::errnoNow(std::string("write ") + file + " of the container's user namespace ('" +
                                text.substr(0, text.find('\n')) + "')");
      finish();
      return fail(std::move(e));
    }
  }
  UniqueFd ns(::open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  Error e = Error::errnoNow("open the container's user namespace");
  finish();
  if (!ns) return fail(std::move(e));
  return ns;
}

// One message with fds as SCM_RIGHTS (at most 4).
bool sendWithFds(int sock, const std::string& bytes, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(4 * sizeof(int))];
  if (!fds.empty()) {
    if (fds.size() > 4) return false;
    std::memset(cbuf, 0, sizeof cbuf);
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  ssize_t n;
  while ((n = ::sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  return n == static_cast<ssize_t>(bytes.size());
}

// The spec, with the user namespace to create (if any) as SCM_RIGHTS.
bool sendSpec(int sock, const std::string& wire, int userns_fd) {
  return sendWithFds(sock, wire, userns_fd >= 0 ? std::vector<int>{userns_fd} : std::vector<int>{});
}

// Whether the parent's init can fork this DEBUG container's init: every
// namespace is an ENTER of exactly that init's, none is a user namespace
// (its runtime dir would need handing to the mapped root first).
bool forkableByParent(const LaunchRequest& req, const Spec& spec) {
  if (req.parent_runtime_dir.empty() || req.parent_pid <= 0) return false;
  const std::string base = "/proc/" + std::to_string(req.parent_pid) + "/ns/";
  for (const auto& n : spec.namespaces) {
    if (!n.enter || n.flag == CLONE_NEWUSER) return false;
    if (n.path.compare(0, base.size(), base) != 0 || n.path.find('/', base.size()) != std::string::npos) return false;
  }
  return true;
}

// The parent's exec.sock, connected; an invalid fd when the parent's init
// offers none (it relays no I/O, is older, or is gone): the slow path then.
UniqueFd connectExecSocket(const std::string& parent_runtime_dir) {
  UniqueFd dir(::open(parent_runtime_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + kExecSocket;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return sock;
}

// The sandbox dir below its trusted root, no symlink followed (as
// warren-init's own openBeneath): a parent container can write its
// children's sandboxes' parent dir.
int openBeneath(const std::string& root, const std::string& dir) {
  UniqueFd rfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rfd) return -1;
  std::string rest = dir.size() > root.size() ? dir.substr(root.size()) : "";
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  struct {
    uint64_t flags, mode, resolve;
  } how{O_PATH | O_CLOEXEC, 0, 0x02 /*NO_MAGICLINKS*/ | 0x04 /*NO_SYMLINKS*/ | 0x08 /*BENEATH*/};
  return static_cast<int>(::syscall(SYS_openat2, rfd.get(), rest.empty() ? "." : rest.c_str(), &how, sizeof how));
}

// A DEBUG container's warren-init, forked by its parent's init (exec.sock):
// it is already in every namespace and cgroup of the parent, so nothing is
// entered or migrated. Same protocol from kMsgReady on.
Result<Launched> spawnForked(const LaunchRequest& req, Spec spec, UniqueFd exec_sock) {
  spec.namespaces.clear();  // the parent's, all of them: already there
  spec.forked = true;
  std::string wire = encodeSpec(spec);
  wire.insert(wire.begin(), kMsgSpec);
  UniqueFd rundir(::open(req.runtime_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rundir) return failErrno("spawn warren-init: open runtime dir '" + req.runtime_dir + "'");
  std::vector<int> with{rundir.get()};
  UniqueFd sandbox;
  if (spec.io.relay) {
    sandbox.reset(openBeneath(spec.io.sandbox_root, spec.io.sandbox_dir));
    if (!sandbox) return failErrno("spawn warren-init: open sandbox '" + spec.io.sandbox_dir + "'");
    with.push_back(sandbox.get());
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return failErrno("socketpair for warren-init");
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int one = 1;
  if (::setsockopt(ours.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
    return failErrno("SO_PASSCRED on warren-init control socket");
  }
  if (!sendWithFds(ours.get(), wire, with)) {
    return failErrno("send launch spec to warren-init (" + std::to_string(wire.size()) + " bytes)");
  }
  UniqueFd devnull;
  if (req.stdin_fd < 0 || req.stdout_fd < 0 || req.stderr_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) return failErrno("open /dev/null");
  }
  std::vector<int> fds = {theirs.get(), req.stdin_fd >= 0 ? req.stdin_fd : devnull.get(),
                          req.stdout_fd >= 0 ? req.stdout_fd : devnull.get(),
                          req.stderr_fd >= 0 ? req.stderr_fd : devnull.get()};
  if (!sendWithFds(exec_sock.get(), std::string(1, kMsgFork), fds)) {
    return failErrno("spawn warren-init: ask the parent's warren-init to fork it");
  }
  theirs.reset();
  exec_sock.reset();
  auto msg = receive(ours.get(), kReadyTimeoutMs);
  if (!msg || msg->type != kMsgReady) {
    // Nothing to kill: without a ready there is no pid; an init that gets
    // this far sees our end close and exits by itself.
    Error e = msg ? initError(*msg, "before it was ready") : msg.error();
    return fail(std::move(e).context("spawn warren-init (forked by the parent's warren-init)"));
  }
  if (msg->sender <= 0) return fail(Code::Internal, "spawn warren-init: no credentials on ready");
  Launched l;
  l.forked = true;
  l.pid = msg->sender;
  l.pidfd.reset(pidfdOpen(l.pid));
  if (!l.pidfd) return failErrno("spawn warren-init: pidfd_open(" + std::to_string(l.pid) + ")");
  l.start_time = processStartTime(l.pid);
  l.control = std::move(ours);
  if (l.start_time == 0) {
    abort(l);
    return fail(Code::Internal, "spawn warren-init: process " + std::to_string(l.pid) + " vanished");
  }
  return l;
}

}  // namespace

uint64_t processStartTime(pid_t pid) {
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  size_t p = text->rfind(')');
  if (p == std::string::npos) return 0;
  // Fields after "(comm)" start at field 3; field 22 is the 20th of them.
  size_t pos = p + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text->find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
  }
  return std::strtoull(text->c_str() + pos, nullptr, 10);
}

Result<UniqueFd> sealInit(const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return failErrno("exec warren-init");
  struct stat sb {};
  if (::fstat(file.get(), &sb) != 0) return failErrno("stat warren-init '" + path + "'");
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "warren-init",
                                      MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (fd < 0 && errno == EINVAL) {  // kernels before 6.3 know no MFD_EXEC
    fd = static_cast<int>(::syscall(SYS_memfd_create, "warren-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  }
  if (fd < 0) return failErrno("memfd for warren-init");
  UniqueFd mem(fd);
  off_t off = 0;
  while (off < sb.st_size) {
    ssize_t n = ::sendfile(mem.get(), file.get(), &off, static_cast<size_t>(sb.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failErrno("copy warren-init '" + path + "' into a memfd");
  }
  if (::fchmod(mem.get(), 0555) != 0) return failErrno("chmod the warren-init memfd");
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(mem.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 &&
      (errno != EINVAL || ::fcntl(mem.get(), F_ADD_SEALS, seals) != 0)) {
    return failErrno("seal the warren-init memfd");
  }
  return mem;
}

Result<UniqueFd> adoptSealedInit(const std::string& path, pid_t pid, uint64_t start_time) {
  UniqueFd exe(::open(("/proc/" + std::to_string(pid) + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
  if (!exe) return failErrno("open the executable of warren-init " + std::to_string(pid));
  if (processStartTime(pid) != start_time) {
    return fail(Code::NotFound, "process " + std::to_string(pid) + " is not the recorded warren-init");
  }
  int need = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  int seals = ::fcntl(exe.get(), F_GET_SEALS);
  if (seals < 0 || (seals & need) != need) {
    return fail(Code::FailedPrecondition, "the executable of process " + std::to_string(pid) + " is not a sealed copy");
  }
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return failErrno("open warren-init '" + path + "'");
  struct stat a {}, b {};
  if (::fstat(exe.get(), &a) != 0 || ::fstat(file.get(), &b) != 0 || a.st_size != b.st_size) {
    return fail(Code::FailedPrecondition, "the running warren-init is another build than '" + path + "'");
  }
  std::vector<char> x(1 << 16), y(1 << 16);
  for (off_t off = 0; off < b.st_size;) {
    ssize_t n = ::pread(exe.get(), x.data(), x.size(), off);
    ssize_t m = n > 0 ? ::pread(file.get(), y.data(), static_cast<size_t>(n), off) : -1;
    if (n <= 0 || m != n || std::memcmp(x.data(), y.data(), static_cast<size_t>(n)) != 0) {
      return fail(Code::FailedPrecondition, "the running warren-init is another build than '" + path + "'");
    }
    off += n;
  }
  return exe;
}

Result<Launched> spawn(const LaunchRequest& req) {
  WARREN_ASSIGN_OR_RETURN(Spec spec, buildSpec(req));
  if (forkableByParent(req, spec)) {
    if (UniqueFd sock = connectExecSocket(req.parent_runtime_dir)) return spawnForked(req, spec, std::move(sock));
  }
  std::string wire = encodeSpec(spec);
  wire.insert(wire.begin(), kMsgSpec);

  // Namespaces warren-init does not have to enter: created by clone3 itself.
  // With a user namespace, warren-init creates every namespace itself, after
  // joining it (so the container's root owns them), and forks: it reports
  // its pid like a nested one.
  bool enters = false, enter_pid = false, userns = false;
  uint64_t create = 0;
  for (const auto& n : spec.namespaces) {
    if (n.enter) enters = true;
    if (n.enter && n.flag == CLONE_NEWPID) enter_pid = true;
    if (!n.enter) create |= n.flag;
    if (n.flag == CLONE_NEWUSER) userns = enters = true;
  }
  UniqueFd new_userns;
  if (create & CLONE_NEWUSER) {
    auto made = makeUserNamespace(req.launch_info);
    if (!made) return fail(std::move(made.error()).context("spawn warren-init"));
    new_userns = std::move(*made);
  }
  if (userns) {
    // warren-init writes exit_status as the container's root.
    uid_t uid = hostRoot(req.launch_info.uid_mappings());
    gid_t gid = hostRoot(req.launch_info.gid_mappings());
    if (::chown(req.runtime_dir.c_str(), uid, gid) != 0) {
      return failErrno("spawn warren-init: hand runtime dir '" + req.runtime_dir + "' to " +
                       std::to_string(uid) + ":" + std::to_string(gid) + " (the container's root)");
    }
  }
  uint64_t clone_ns = 0;
  if (userns) {
    clone_ns = 0;
  } else if (!enters) {
    clone_ns = create & ~static_cast<uint64_t>(CLONE_NEWCGROUP);  // cgroup ns: at release
  } else if ((create & CLONE_NEWPID) && !enter_pid) {
    clone_ns = CLONE_NEWPID;  // the rest after setns, in warren-init
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return failErrno("socketpair for warren-init");
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int one = 1;
  if (::setsockopt(ours.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
    return failErrno("SO_PASSCRED on warren-init control socket");
  }
  if (!sendSpec(ours.get(), wire, new_userns.get())) {
    return failErrno("send launch spec to warren-init (" + std::to_string(wire.size()) + " bytes)");
  }
  new_userns.reset();  // in flight with the spec

  UniqueFd devnull;
  if (req.stdin_fd < 0 || req.stdout_fd < 0 || req.stderr_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) return failErrno("open /dev/null");
  }
  int src[4] = {req.stdin_fd >= 0 ? req.stdin_fd : devnull.get(),
                req.stdout_fd >= 0 ? req.stdout_fd : devnull.get(),
                req.stderr_fd >= 0 ? req.stderr_fd : devnull.get(), theirs.get()};
  // argv names nothing of the host: /proc/1/cmdline inside is "warren-init".
  UniqueFd own_copy;  // when the caller keeps none: one for this spawn
  int exe = req.init_fd;
  if (exe < 0) {
    auto sealed = sealInit(req.init_path);
    if (!sealed) return fail(std::move(sealed.error()).context("spawn warren-init"));
    own_copy = std::move(*sealed);
    exe = own_copy.get();
  }
  std::string name = "warren-init";
  char* argv[] = {name.data(), nullptr};

  int pidfd = -1;
  CloneArgs ca{};
  ca.flags = CLONE_PIDFD | clone_ns;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) return failErrno("clone3 warren-init");
  if (pid == 0) childExec(src, exe, argv);
  UniqueFd child_pidfd(pidfd);
  theirs.reset();
  devnull.reset();

  auto kill_child = [&] {
    pidfdSignal(child_pidfd.get(), SIGKILL);
    reapPidfd(child_pidfd.get(), true);
  };
  auto msg = receive(ours.get(), kReadyTimeoutMs);
  if (!msg || msg->type != kMsgReady) {
    kill_child();
    Error e = msg ? initError(*msg, "before it was ready") : msg.error();
    return fail(std::move(e).context("spawn warren-init"));
  }
  Launched l;
  // With ENTERed namespaces but no pid namespace to join or make inside one
  // (an OCI container joining a pod's network/IPC/UTS), the clone child
  // itself went on to be warren-init: it is ours, never reaped here (doing
  // so waited for it forever: Podman pod members hung in create).
  if (!enters || (msg->sender > 0 && msg->sender == static_cast<pid_t>(pid))) {
    l.pid = static_cast<pid_t>(pid);
    l.pidfd = std::move(child_pidfd);
  } else {
    // The first process only entered the namespaces; the final warren-init
    // is a descendant that told us its pid (translated by the kernel).
    reapPidfd(child_pidfd.get(), true);
    if (msg->sender <= 0) return fail(Code::Internal, "spawn warren-init: no credentials on ready");
    l.pid = msg->sender;
    l.pidfd.reset(pidfdOpen(l.pid));
    if (!l.pidfd) {
      return failErrno("spawn warren-init: pidfd_open(" + std::to_string(l.pid) + ")");
    }
  }
  l.start_time = processStartTime(l.pid);
  l.control = std::move(ours);
  if (l.start_time == 0) {
    abort(l);
    return fail(Code::Internal, "spawn warren-init: process " + std::to_string(l.pid) + " vanished");
  }
  return l;
}

Result<void> release(Launched& l) {
  if (!l.control) return fail(Code::FailedPrecondition, "release: warren-init already released");
  char go = kMsgGo;
  if (::send(l.control.get(), &go, 1, MSG_NOSIGNAL) != 1) {
    Error e = Error::errnoNow("release warren-init");
    abort(l);
    return fail(std::move(e));
  }
  // No timeout: pre-exec steps may run long; EOF tells us init died.
  auto msg = receive(l.control.get(), -1);
  if (msg && msg->type == kMsgConsole && msg->fd) {
    l.console = std::move(msg->fd);  // the pty master, then kMsgStarted
    msg = receive(l.control.get(), -1);
  }
  if (msg && msg->type == kMsgStarted) {
    l.control.reset();
    return {};
  }
  Error e = msg ? initError(*msg, "during setup") : msg.error();
  // warren-init recorded setup_failed and exits on its own; make sure.
  if (l.pidfd) waitExit(l.pidfd.get(), 2000);
  abort(l);
  return fail(std::move(e));
}

Result<void> prepare(Launched& l) {
  if (!l.control) return fail(Code::FailedPrecondition, "prepare: warren-init already released");
  char go = kMsgPrepare;
  if (::send(l.control.get(), &go, 1, MSG_NOSIGNAL) != 1) {
    Error e = Error::errnoNow("prepare warren-init");
    abort(l);
    return fail(std::move(e));
  }
  auto msg = receive(l.control.get(), -1);
  if (msg && msg->type == kMsgPrepared) return {};
  Error e = msg ? initError(*msg, "during setup") : msg.error();
  if (l.pidfd) waitExit(l.pidfd.get(), 2000);
  abort(l);
  return fail(std::move(e));
}

void abort(Launched& l) {
  l.control.reset();
  if (!l.pidfd) return;
  pidfdSignal(l.pidfd.get(), SIGKILL);
  if (!reapPidfd(l.pidfd.get(), true)) {
    // Not our child (nested: its parent is the parent container's init,
    // which reaps it); wait until it is gone.
    waitExit(l.pidfd.get(), 5000);
  }
  l.pidfd.reset();
}

}  // namespace warren::launcher
