// Container I/O from the CLI (issue #15): `logs`, `attach`, `exec`, and
// `run -i/-t`. Embedded like every command: the CLI talks straight to the
// container's I/O socket (warren-init's relay, launcher/README.md), the same
// socket warrend's ATTACH_* calls use.
#include "io_commands.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "commands.hpp"
#include "io_socket.hpp"
#include "output.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {
namespace {

bool writeFd(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

Result<ContainerInfo> findContainer(Containerizer& c, const v1::ContainerID& id) {
  WARREN_ASSIGN_OR_RETURN(auto all, c.containers());
  for (auto& ci : all) {
    if (formatId(ci.id) == formatId(id)) return ci;
  }
  return fail(Code::NotFound, "unknown container '" + formatId(id) + "'");
}

// The terminal in raw mode while attached to a container's terminal.
class RawTerminal {
 public:
  explicit RawTerminal(bool want) {
    if (!want || ::isatty(0) != 1 || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(0, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

bool windowOf(int fd, uint16_t* rows, uint16_t* cols) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return false;
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return true;
}

Result<int> attachIo(const Options& o, const v1::ContainerID& id, char mode) {
  int fd = -1;
  std::string why;
  auto r = daemon::ioAttach(daemon::ioSocketPath(o.runtime_dir, formatId(id)), mode, &fd, &why);
  if (r == daemon::IoAttach::kAccepted) return fd;
  Code code = r == daemon::IoAttach::kBusy ? Code::AlreadyExists
              : r == daemon::IoAttach::kNoStdin ? Code::InvalidArgument
                                                : Code::FailedPrecondition;
  return fail(code, "attach to '" + formatId(id) + "': " + why);
}

}  // namespace

// Copies the container's output to ours and (with `input`) our stdin to
// it until its output ends. Signals in `forward` go to the container (WINCH
// becomes a window size on a terminal). Returns when the output ended.
Result<void> relay(Containerizer& c, const Options& o, const v1::ContainerID& id, bool input, bool tty,
                   const sigset_t* forward, bool close_stdin) {
  auto attached = attachIo(o, id, 'O');
  if (!attached && attached.error().code() == Code::FailedPrecondition) {
    // It ended before we could attach (a short command): its logs have it all.
    auto ci = findContainer(c, id);
    if (!ci) return fail(std::move(attached.error()));
    for (const auto& [name, fd] : {std::pair{"stdout", 1}, std::pair{"stderr", 2}}) {
      std::ifstream f(ci->checkpoint.sandbox() + "/" + name, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      (void)writeFd(fd, ss.str());
    }
    return {};
  }
  if (!attached) return fail(std::move(attached.error()));
  UniqueFd out(*attached);
  if (close_stdin) {  // no input: its stdin ends now (output kept until we attached)
    auto in = attachIo(o, id, 'I');
    if (in) {
      (void)daemon::ioSendEof(*in);
      ::close(*in);
    }
  }
  UniqueFd in;
  if (input) {
    WARREN_ASSIGN_OR_RETURN(int in_fd, attachIo(o, id, 'I'));
    in.reset(in_fd);
  }
  RawTerminal raw(tty && input);
  uint16_t rows, cols;
  if (tty && in && windowOf(0, &rows, &cols)) (void)daemon::ioSendWindow(in.get(), rows, cols);
  int sfd = forward ? ::signalfd(-1, forward, SFD_CLOEXEC) : -1;
  UniqueFd sig(sfd);
  bool stdin_open = static_cast<bool>(in);
  while (true) {
    pollfd p[3] = {{out.get(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {sig ? sig.get() : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents) {
      signalfd_siginfo si{};
      if (::read(sig.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH && tty && in) {
          if (windowOf(0, &rows, &cols)) (void)daemon::ioSendWindow(in.get(), rows, cols);
        } else {
          (void)c.forwardSignal(id, static_cast<int>(si.ssi_signo));
        }
      }
    }
    if (p[1].revents) {
      char buf[65536];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) {
        if (!daemon::ioSendData(in.get(), std::string(buf, static_cast<size_t>(n)))) stdin_open = false;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        (void)daemon::ioSendEof(in.get());
        stdin_open = false;
      }
    }
    if (p[0].revents) {
      int stream = 0;
      std::string data;
      if (!daemon::ioReadFrame(out.get(), &stream, &data)) break;  // its output ended
      (void)writeFd(stream == 2 ? 2 : 1, data);
    }
  }
  return {};
}

int logsCommand(Containerizer& c, const Options& o, const v1::ContainerID& id, bool follow, bool err) {
  auto& out = Output::get();
  auto ci = findContainer(c, id);
  if (!ci) return out.fail(ci.error());
  std::string name = err ? "stderr" : "stdout";
  UniqueFd live;
  if (follow) {  // attached before the files are read: nothing written meanwhile is lost
    auto fd = attachIo(o, id, 'O');
    if (fd) live.reset(*fd);
  }
  for (const auto& f : {name + ".1", name}) {
    std::ifstream in(ci->checkpoint.sandbox() + "/" + f, std::ios::binary);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    (void)writeFd(1, ss.str());
  }
  if (!live) return 0;
  // What came after the files were read may repeat a little of their end.
  int stream = 0;
  std::string data;
  while (daemon::ioReadFrame(live.get(), &stream, &data)) {
    if ((stream == 2) == err) (void)writeFd(1, data);
  }
  return 0;
}

int attachCommand(Containerizer& c, const Options& o, const v1::ContainerID& id) {
  auto& out = Output::get();
  auto ci = findContainer(c, id);
  if (!ci) return out.fail(ci.error());
  if (ci->state != v1::RUNNING) {
    return out.fail(Error(Code::FailedPrecondition, "container '" + formatId(id) + "' is " +
                                                        v1::State_Name(ci->state) +
                                                        ": nothing to attach to (warren logs shows its output)"));
  }
  const auto& cfg = ci->checkpoint.config();
  bool input = cfg.open_stdin() || cfg.tty();
  sigset_t fwd = runForwardedSignals();
  sigprocmask(SIG_BLOCK, &fwd, nullptr);
  auto r = relay(c, o, id, input, cfg.tty(), &fwd);
  if (!r) return out.fail(r.error());
  auto t = c.wait(id, std::chrono::seconds(5));
  return t ? exitCodeOf(*t) : 0;
}

int execCommand(Containerizer& c, const Options& o, const v1::ContainerID& parent,
                const std::vector<std::string>& argv, bool interactive, bool tty) {
  auto& out = Output::get();
  if (argv.empty()) return out.fail(Error(Code::InvalidArgument, "warren exec needs a command after --"));
  std::mt19937 rng(std::random_device{}());
  char name[32];
  std::snprintf(name, sizeof name, "exec-%08x", static_cast<unsigned>(rng()));
  v1::ContainerID id = parent;
  id.add_path(name);
  v1::ContainerConfig cfg;
  cfg.set_container_class(v1::DEBUG);
  cfg.mutable_command()->set_value(argv[0]);
  for (size_t i = 1; i < argv.size(); ++i) cfg.mutable_command()->add_arguments(argv[i]);
  cfg.set_open_stdin(true);  // without -i it is closed at once: output before the attach is kept
  cfg.set_tty(tty);
  uint16_t rows, cols;
  if (tty && windowOf(0, &rows, &cols)) {
    cfg.set_tty_rows(rows);
    cfg.set_tty_columns(cols);
  }
  sigset_t fwd = runForwardedSignals();
  sigprocmask(SIG_BLOCK, &fwd, nullptr);
  auto st = c.launch(id, cfg);
  if (!st) return out.fail(st.error());
  auto r = relay(c, o, id, interactive, tty, &fwd, !interactive);
  auto t = c.wait(id);
  auto d = c.destroy(id);
  if (!r) return out.fail(r.error());
  if (!t) return out.fail(t.error());
  if (out.json()) out.print(terminationJson(id, *t));
  return exitCodeOf(*t);
}

}  // namespace warren::cli
