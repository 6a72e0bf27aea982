#include "proc.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "launcher/inits.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::core {

uint64_t startTimeOf(pid_t pid) {
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  // Field 2 (comm) may contain spaces and parens: parse after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos) return 0;
  const char* p = text->c_str() + close + 2;
  // After comm: field 3 (state) ... field 22 (starttime) = 20th token.
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return 0;
    ++p;
  }
  return std::strtoull(p, nullptr, 10);
}

Result<UniqueFd> openProcess(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return fail(Code::NotFound, "no process");
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return failErrno("pidfd_open " + std::to_string(pid));
  UniqueFd pidfd(fd);
  // Check after opening: the pidfd pins the process, so a matching start
  // time now means it is the very process we launched.
  uint64_t now = startTimeOf(pid);
  if (now == 0 || (start_time != 0 && now != start_time)) {
    return fail(Code::NotFound, "process " + std::to_string(pid) + " is gone (pid reused)");
  }
  // A zombie still has /proc/<pid>/stat; treat it as exited only via poll.
  return pidfd;
}

bool isAlive(pid_t pid, uint64_t start_time) {
  auto fd = openProcess(pid, start_time);
  if (!fd) return false;
  pollfd p{fd->get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

bool waitExit(int pidfd, std::optional<std::chrono::milliseconds> timeout) {
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  while (true) {
    int ms = -1;
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      ms = static_cast<int>(left.count());
    }
    pollfd p{pidfd, POLLIN, 0};
    int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;
  }
}

void reapIfChild(pid_t pid) {
  if (pid <= 0) return;
  int st = 0;
  while (::waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
  }
}

Result<void> signalProcess(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return {};
    return failErrno("signal " + std::to_string(sig));
  }
  return {};
}

}  // namespace warren::core

namespace warren::core {

void faultPoint(const char* step) {
  if (const char* at = ::getenv("WARREN_FAULT_KILL_AT"); at != nullptr && std::strcmp(at, step) == 0) {
    ::kill(::getpid(), SIGKILL);
    while (true) ::pause();
  }
  if (const char* at = ::getenv("WARREN_FAULT_PAUSE_AT"); at != nullptr) {
    std::string spec = at;
    auto colon = spec.find(':');
    if (colon == std::string::npos || spec.substr(0, colon) != step) return;
    // Paused until the test removes the file (or kills us).
    std::string file = spec.substr(colon + 1);
    (void)fs::writeFile(file, std::string(step) + "\n");
    while (fs::exists(file)) ::usleep(10000);
  }
}

int endInitsHolding(const std::string& runtime_dir) {
  int ended = 0;
  launcher::forEachInit([&](launcher::RunningInit& init) {
    if (init.runtime_dir != runtime_dir) return;
    if (::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0) != 0) return;
    waitExit(init.pidfd.get(), std::chrono::seconds(10));
    reapIfChild(init.pid);
    ++ended;
  });
  return ended;
}

}  // namespace warren::core
