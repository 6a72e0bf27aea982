// warren-init's I/O relay (issue #15): the container's stdio outlives every
// client because the container's own first process holds it.
//
// The command gets pipes (or a pty) instead of the log files. warren-init
// copies what it writes into the sandbox's `stdout`/`stderr` (fds 1 and 2,
// opened by the launcher; rotated to `<name>.1` past the size cap) and to
// every client of `<runtime_dir>/io.sock`. The protocol on that socket
// (launcher/README.md "I/O socket"):
//   client -> init   first byte 'O' (output attach) or 'I' (input attach)
//   init -> client   one byte: 'K' accepted, 'B' input already attached,
//                    'N' the container has no stdin
//   output frames    u8 stream (1 stdout, 2 stderr) | u32 length LE | bytes
//   input frames     u8 'D' data | 'E' close stdin | 'W' window size
//                    (u16 rows, u16 cols LE), then u32 length LE | payload
// The log files are always written, whatever the clients do; an output
// client whose backlog passes kClientMaxBacklog is dropped (closed).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "init/init.hpp"

namespace warren::init {
namespace {

constexpr size_t kClientMaxBacklog = 4u << 20;  // then the client is dropped
constexpr size_t kHoldMax = 4u << 20;           // output kept for the first client
constexpr size_t kInputMaxFrame = 1u << 20;

struct Client {
  int fd = -1;
  char mode = 0;       // 0: hello pending, 'O' output, 'I' input
  std::string out;     // to send (output clients)
  std::string in;      // received, not yet parsed (input clients)
  std::string stdin_q; // parsed stdin bytes not yet written
  bool closed = false;
};

struct Io {
  int listen = -1;
  int exec_listen = -1;      // exec.sock: fork a DEBUG container's init (-1: none)
  int sandbox = -1;          // O_PATH dir of the sandbox (rotation)
  int src[2] = {-1, -1};     // read ends: stdout, stderr (tty: master in src[0])
  int child[3] = {-1, -1, -1};  // the command's 0, 1, 2
  int in_w = -1;             // stdin pipe's write end, or the pty master
  int master = -1;
  uint64_t written[2] = {0, 0};
  std::string held;
  bool ever_attached = false;
  bool hold_overflow = false;
  std::vector<Client> clients;
  bool input_taken = false;
} io;

void setNonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void putU32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Appends to the log of `stream` (0 stdout, 1 stderr): fd 1 or 2. Past the
// cap the file becomes `<name>.1` (replacing the previous one) and a fresh
// file takes its place; the container cannot redirect that (O_EXCL|NOFOLLOW).
void writeLog(const State& st, int stream, const char* data, size_t n) {
  int fd = stream + 1;
  const char* name = stream == 0 ? "stdout" : "stderr";
  uint64_t cap = st.spec.io.log_max_bytes;
  if (cap > 0 && io.sandbox >= 0 && io.written[stream] > 0 && io.written[stream] + n > cap) {
    std::string old = std::string(name) + ".1";
    if (renameat(io.sandbox, name, io.sandbox, old.c_str()) == 0) {
      int nfd = openat(io.sandbox, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
      if (nfd < 0 && errno == EEXIST && unlinkat(io.sandbox, name, 0) == 0) {
        nfd = openat(io.sandbox, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
      }
      if (nfd >= 0) {
        dup2(nfd, fd);  // fd 1/2 stay the logs (not CLOEXEC: only init has them)
        close(nfd);
        io.written[stream] = 0;
      }
    }
  }
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, data + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;  // a full disk: the clients still get it
    off += static_cast<size_t>(w);
  }
  io.written[stream] += n;
}

void sendFrame(Client& c, int stream, const char* data, size_t n) {
  if (c.closed || c.mode != 'O') return;
  if (c.out.size() + n > kClientMaxBacklog) {  // too slow: dropped, never the log
    c.closed = true;
    return;
  }
  c.out.push_back(static_cast<char>(stream + 1));
  putU32(c.out, static_cast<uint32_t>(n));
  c.out.append(data, n);
}

void flushClient(Client& c) {
  while (!c.closed && !c.out.empty()) {
    ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      c.closed = true;
      return;
    }
    c.out.erase(0, static_cast<size_t>(w));
  }
}

void output(const State& st, int stream, const char* data, size_t n) {
  writeLog(st, stream, data, n);
  if (st.spec.io.hold_output && !io.ever_attached && !io.hold_overflow) {
    if (io.held.size() + n + 5 > kHoldMax) {
      io.hold_overflow = true;
      io.held.clear();
    } else {
      io.held.push_back(static_cast<char>(stream + 1));
      putU32(io.held, static_cast<uint32_t>(n));
      io.held.append(data, n);
    }
  }
  for (auto& c : io.clients) sendFrame(c, stream, data, n);
}

// Reads what a source has; false once it is at its end.
bool pump(const State& st, int stream, bool drain) {
  char buf[65536];
  int fd = io.src[stream];
  for (int rounds = 0; fd >= 0; ++rounds) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {  // EOF, or EIO: the pty's last slave fd closed
      close(fd);
      if (io.src[stream] == io.in_w) io.in_w = -1;
      if (io.src[stream] == io.master) io.master = -1;
      io.src[stream] = -1;
      return false;
    }
    output(st, stream, buf, static_cast<size_t>(n));
    if (!drain && rounds >= 4) return true;  // let the others have a turn
  }
  return false;
}

void setWindow(uint16_t rows, uint16_t cols) {
  if (io.master < 0) return;
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  ioctl(io.master, TIOCSWINSZ, &ws);
}

void closeStdin() {
  if (io.in_w < 0) return;
  if (io.master >= 0) {
    // A terminal has no EOF of its own: send the EOF character (^D).
    char eof = 4;
    (void)!write(io.master, &eof, 1);
    return;
  }
  close(io.in_w);
  io.in_w = -1;
}

// An input client's frames -> stdin queue, window size, EOF.
void parseInput(Client& c) {
  while (c.in.size() >= 5) {
    char type = c.in[0];
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(static_cast<unsigned char>(c.in[1 + i])) << (8 * i);
    if (len > kInputMaxFrame) {
      c.closed = true;
      return;
    }
    if (!c.stdin_q.empty()) return;  // one frame at a time once data waits
    if (c.in.size() < 5 + len) return;
    std::string payload = c.in.substr(5, len);
    c.in.erase(0, 5 + len);
    if (type == 'D') {
      c.stdin_q += payload;
    } else if (type == 'E') {
      if (!c.stdin_q.empty()) {  // after the data before it is written
        c.in.insert(0, std::string("E\0\0\0\0", 5));
        return;
      }
      closeStdin();
    } else if (type == 'W' && payload.size() == 4) {
      auto u16 = [&](int o) {
        return static_cast<uint16_t>(static_cast<unsigned char>(payload[o]) |
                                     (static_cast<unsigned char>(payload[o + 1]) << 8));
      };
      setWindow(u16(0), u16(2));
    } else {
      c.closed = true;
      return;
    }
  }
}

void writeStdin(Client& c) {
  while (!c.stdin_q.empty() && io.in_w >= 0) {
    ssize_t w = write(io.in_w, c.stdin_q.data(), c.stdin_q.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {  // the reader is gone: nothing more can be written
      c.stdin_q.clear();
      return;
    }
    c.stdin_q.erase(0, static_cast<size_t>(w));
  }
  if (io.in_w < 0) c.stdin_q.clear();
  if (c.stdin_q.empty()) parseInput(c);  // a pending 'E' after the data
}

void hello(const State& st, Client& c, char mode) {
  char reply = 'K';
  if (mode == 'I') {
    if (!st.spec.io.stdin_open || io.in_w < 0) reply = 'N';
    else if (io.input_taken) reply = 'B';
  } else if (mode != 'O') {
    c.closed = true;
    return;
  }
  (void)send(c.fd, &reply, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (reply != 'K') {
    c.closed = true;
    return;
  }
  c.mode = mode;
  if (mode == 'I') io.input_taken = true;
  if (mode == 'O') {
    if (!io.ever_attached && !io.held.empty()) c.out = std::move(io.held);
    io.held.clear();
    io.ever_attached = true;
  }
}

void readClient(const State& st, Client& c) {
  char buf[65536];
  while (!c.closed) {
    if (c.mode == 'I' && (!c.stdin_q.empty() || c.in.size() > 2 * kInputMaxFrame)) return;  // backpressure
    ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      c.closed = true;  // an input client leaving leaves stdin open for the next
      return;
    }
    size_t off = 0;
    if (c.mode == 0) {
      hello(st, c, buf[0]);
      off = 1;
    }
    if (c.mode == 'I') {
      c.in.append(buf + off, static_cast<size_t>(n) - off);
      parseInput(c);
      writeStdin(c);
    }
    // An output client has nothing to say: what it sends is ignored.
  }
}

void reapClosed() {
  for (auto it = io.clients.begin(); it != io.clients.end();) {
    if (it->closed) {
      if (it->mode == 'I') io.input_taken = false;
      close(it->fd);
      it = io.clients.erase(it);
    } else {
      ++it;
    }
  }
}

// A forked child of ours becomes a DEBUG container's warren-init: `fds`
// (stdin, stdout, stderr, control socket) onto 0-3 (as the launcher's clone child does) and our own sealed
// executable exec'd, with argv "warren-init" and no environment. Only
// async-signal-safe calls (we are single-threaded, but keep to the rule).
[[noreturn]] void execForkedInit(const int fds[4], int exe) {
  int hi[5];
  for (int i = 0; i < 4; ++i) {
    hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    if (hi[i] < 0) _exit(126);
  }
  hi[4] = fcntl(exe, F_DUPFD_CLOEXEC, 10);
  if (hi[4] < 0) _exit(126);
  for (int i = 0; i < 4; ++i) {
    if (dup2(hi[i], i) < 0) _exit(126);
  }
  char name[] = "warren-init";
  char* const argv[] = {name, nullptr};
  char* const envp[] = {nullptr};
  syscall(SYS_execveat, hi[4], "", argv, envp, AT_EMPTY_PATH);
  int err = errno;
  char none;
  (void)!recv(launcher::kControlFd, &none, 0, MSG_TRUNC | MSG_DONTWAIT);  // as the launcher's child
  char msg[1 + sizeof(int)];
  msg[0] = launcher::kMsgExecInit;
  std::memcpy(msg + 1, &err, sizeof err);
  (void)!send(launcher::kControlFd, msg, sizeof msg, MSG_NOSIGNAL);
  _exit(127);
}

// exec.sock: each connection carries one kMsgFork with 4 fds (the new
// init's control socket, stdin, stdout, stderr); we fork and the child
// execs warren-init, which reads its spec from that control socket and
// reports to the launcher as any init does. We reap it like any orphan.
// Anything else on the socket is dropped. Only host root reaches the
// socket (runtime dir 0700, socket 0600).
void serveExec(const State& st) {
  while (true) {
    int c = accept4(io.exec_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    pollfd p{c, POLLIN, 0};
    char type = 0;
    int fds[4] = {-1, -1, -1, -1};
    size_t got = 0;
    if (poll(&p, 1, 1000) > 0) {  // the launcher sends right after connecting
      iovec iov{&type, 1};
      msghdr mh{};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      alignas(cmsghdr) char cbuf[CMSG_SPACE(4 * sizeof(int))];
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof cbuf;
      ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
      for (cmsghdr* m = CMSG_FIRSTHDR(&mh); n > 0 && m; m = CMSG_NXTHDR(&mh, m)) {
        if (m->cmsg_level != SOL_SOCKET || m->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (m->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(m) + i * sizeof(int), sizeof fd);
          if (got < 4) fds[got++] = fd;
          else close(fd);
        }
      }
      if (n != 1 || (mh.msg_flags & MSG_CTRUNC)) type = 0;
    }
    if (type == launcher::kMsgFork && got == 4 && st.self_exe >= 0) {
      pid_t pid = fork();
      if (pid == 0) {
        const int stdio_ctl[4] = {fds[1], fds[2], fds[3], fds[0]};  // onto 0, 1, 2 and 3
        execForkedInit(stdio_ctl, st.self_exe);
      }
      // A failed fork: closing the control socket tells the launcher (EOF).
    }
    for (size_t i = 0; i < got; ++i) close(fds[i]);
    close(c);
  }
}

void acceptClients() {
  while (true) {
    int fd = accept4(io.listen, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    Client c;
    c.fd = fd;
    io.clients.push_back(std::move(c));
  }
}

// Last words: whatever the command left in the pipes is read, and what the
// clients have not taken yet is sent for up to a second.
void finish(const State& st) {
  for (int s = 0; s < 2; ++s) {
    if (io.src[s] >= 0) pump(st, s, true);
  }
  for (int waited = 0; waited < 100; ++waited) {
    bool pending = false;
    for (auto& c : io.clients) {
      flushClient(c);
      pending = pending || (!c.closed && !c.out.empty());
    }
    if (!pending) break;
    usleep(10000);
  }
}

// A listening socket `name` in the runtime dir (0600), or -1 with errno.
// Bound through the runtime dir's fd (any runtime dir path fits sun_path):
// by its /proc/self/fd path while /proc is the launcher's; in a forked init
// (inside the container, where /proc is the container's) by a relative
// name from the runtime dir as working dir, so no container path is used.
int listenIn(const State& st, const char* name, int type, int backlog) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = st.spec.forked ? std::string(name)
                                    : "/proc/self/fd/" + std::to_string(st.rundir_fd) + "/" + name;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  unlinkat(st.rundir_fd, name, 0);
  int cwd = -1;
  if (st.spec.forked) {
    cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0 || fchdir(st.rundir_fd) != 0) {
      int e = errno;
      if (cwd >= 0) close(cwd);
      close(fd);
      errno = e;
      return -1;
    }
  }
  int r = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  if (cwd >= 0) {
    if (fchdir(cwd) != 0 && r == 0) {
      r = -1;
      e = errno;
    }
    close(cwd);
  }
  if (r == 0 && listen(fd, backlog) != 0) {
    r = -1;
    e = errno;
  }
  if (r != 0) {
    close(fd);
    errno = e;
    return -1;
  }
  fchmodat(st.rundir_fd, name, 0600, 0);
  return fd;
}

}  // namespace

std::string ioOpen(State& st) {
  const auto& s = st.spec.io;
  if (!s.relay) return "";
  int fd = listenIn(st, "io.sock", SOCK_STREAM, 64);
  if (fd < 0) return sysError("bind I/O socket '" + st.spec.runtime_dir + "/io.sock'");
  io.listen = fd;
  if (st.self_exe >= 0) {
    io.exec_listen = listenIn(st, launcher::kExecSocket, SOCK_SEQPACKET, 16);
    if (io.exec_listen < 0) return sysError("bind exec socket '" + st.spec.runtime_dir + "/exec.sock'");
  }
  // A forked init got its sandbox dir from the launcher (its host path does
  // not resolve in the container's mount namespace).
  io.sandbox = st.sandbox_fd >= 0 ? st.sandbox_fd : openBeneath(s.sandbox_root, s.sandbox_dir);
  if (io.sandbox < 0) return sysError("open sandbox '" + s.sandbox_dir + "'");
  struct stat sb {};
  if (fstat(1, &sb) == 0) io.written[0] = static_cast<uint64_t>(sb.st_size);
  if (fstat(2, &sb) == 0) io.written[1] = static_cast<uint64_t>(sb.st_size);
  return "";
}

std::string ioPrepare(State& st) {
  const auto& s = st.spec.io;
  if (!s.relay) return "";
  if (s.tty) {
    int m = openInRoot(st.root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    if (m < 0) m = openInRoot(st.root_fd, "/dev/ptmx", O_RDWR | O_NOCTTY);
    if (m < 0) return sysError("open the container's /dev/pts/ptmx for its terminal");
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) != 0) return sysError("unlock the terminal");
    int slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return sysError("open the terminal's peer");
    io.master = m;
    setWindow(s.rows ? s.rows : 24, s.cols ? s.cols : 80);
    io.src[0] = m;
    io.in_w = m;
    io.child[0] = io.child[1] = io.child[2] = slave;
    return "";
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return sysError("pipes for the command's output");
  io.src[0] = out[0];
  io.src[1] = err[0];
  io.child[1] = out[1];
  io.child[2] = err[1];
  if (s.stdin_open) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) return sysError("pipe for the command's input");
    io.child[0] = in[0];
    io.in_w = in[1];
  }
  return "";
}

void ioChildStdio(const State& st) {
  if (!st.spec.io.relay) return;
  for (int i = 0; i < 3; ++i) {
    if (io.child[i] >= 0) dup2(io.child[i], i);
  }
}

void ioChildTty(const State& st) {
  if (st.spec.io.relay && st.spec.io.tty) ioctl(0, TIOCSCTTY, 0);
  // OCI terminal (warren-oci): the pty slave it got as stdio becomes the
  // command's controlling terminal, as runc's console socket gives.
  if (!st.spec.io.relay && st.spec.hold_until_start && isatty(0)) ioctl(0, TIOCSCTTY, 0);
}

int ioRelayAndReap(const State& st, pid_t command, const std::string& exec_error) {
  for (int i = 0; i < 3; ++i) {
    if (io.child[i] >= 0 && (i == 0 || io.child[i] != io.child[i - 1])) close(io.child[i]);
  }
  for (int fd : {io.src[0], io.src[1], io.in_w}) {
    if (fd >= 0) setNonblock(fd);
  }
  // A command that closed its stdin must not kill us with SIGPIPE when a
  // client writes to it (EPIPE instead). Set after the fork: the command
  // keeps the default disposition.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set = reaperSignals();
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  bool done = false;
  int status = 0;
  std::vector<pollfd> fds;
  while (!done) {
    fds.clear();
    fds.push_back({sfd, POLLIN, 0});
    fds.push_back({io.listen, POLLIN, 0});
    fds.push_back({io.src[0], POLLIN, 0});
    fds.push_back({io.src[1], POLLIN, 0});
    bool want_stdin = false;
    for (auto& c : io.clients) {
      short ev = POLLIN;
      if (!c.out.empty()) ev |= POLLOUT;
      if (c.mode == 'I' && !c.stdin_q.empty()) {
        ev = 0;
        want_stdin = true;
      }
      fds.push_back({c.fd, ev, 0});
    }
    fds.push_back({want_stdin && io.master < 0 ? io.in_w : -1, POLLOUT, 0});
    fds.push_back({io.exec_listen, POLLIN, 0});  // last: exec.sock
    // Without a signalfd (it cannot fail short of EMFILE/ENOMEM) short polls
    // and WNOHANG still reap the command; a terminal being written polls
    // briefly (its master is also the output source).
    int timeout = sfd < 0 ? 50 : (want_stdin && io.master >= 0 ? 10 : -1);
    int left = deadlineTimeoutMs(st);  // max_completion_time
    if (left >= 0 && (timeout < 0 || left < timeout)) timeout = left;
    int n = poll(fds.data(), fds.size(), timeout);
    checkDeadline(st, command);
    if (n < 0 && errno != EINTR) usleep(10000);  // never give up on the command's status
    signalfd_siginfo si;
    while (sfd >= 0 && read(sfd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo != SIGCHLD) kill(command, static_cast<int>(si.ssi_signo));
    }
    pid_t p;
    int ws;
    while ((p = waitpid(-1, &ws, WNOHANG)) > 0) {
      if (p == command) {
        done = true;
        status = ws;
      }
    }
    if (fds[1].revents & POLLIN) acceptClients();
    for (int s = 0; s < 2; ++s) {
      if (fds[2 + s].revents) pump(st, s, false);
    }
    if (fds.back().revents & POLLIN) serveExec(st);
    for (size_t i = 0; i < io.clients.size() && 4 + i < fds.size() - 2; ++i) {
      Client& c = io.clients[i];
      short re = fds[4 + i].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) readClient(st, c);
      if (c.mode == 'I' && !c.stdin_q.empty()) writeStdin(c);
      if (!c.out.empty()) flushClient(c);
    }
    reapClosed();
  }
  // The command ended before anyone attached to a container that expects a
  // client (stdin open: sessions, exec, run -i): wait a little for that
  // first output client, so that it gets what was held for it.
  for (int waited = 0; st.spec.io.hold_output && !io.ever_attached && waited < 200; ++waited) {  // 2 s
    pollfd p{io.listen, POLLIN, 0};
    if (poll(&p, 1, 10) > 0) acceptClients();
    for (auto& c : io.clients) {
      if (c.mode == 0) readClient(st, c);
    }
    reapClosed();
  }
  finish(st);
  writeExitStatus(st, status, reasonFor(st, status, exec_error), exec_error);
  for (auto& c : io.clients) close(c.fd);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace warren::init
