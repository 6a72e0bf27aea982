#include "orphans.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::daemon {

std::vector<pid_t> killOrphanInits(const std::string& runtime_dir, spdlog::logger& log) {
  std::vector<pid_t> killed;
  std::string prefix = runtime_dir + "/containers/";
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return killed;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 1 || *end != '\0') continue;
    // Pin the process first, then read what it is.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
    if (!pidfd) continue;
    auto cmd = fs::readFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (!cmd) continue;
    std::vector<std::string> argv;
    for (size_t pos = 0; pos < cmd->size();) {
      size_t z = cmd->find('\0', pos);
      if (z == std::string::npos) z = cmd->size();
      argv.push_back(cmd->substr(pos, z - pos));
      pos = z + 1;
    }
    // warren-init's command line is just "warren-init" (nothing of the host);
    // its runtime dir is held open on fd 4 (launcher/spec.hpp kRuntimeDirFd).
    if (argv.size() != 1 || argv[0] != "warren-init") continue;
    char buf[4096];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/fd/4").c_str(), buf, sizeof buf - 1);
    if (n <= 0) continue;
    std::string dir(buf, static_cast<size_t>(n));
    const std::string deleted = " (deleted)";
    bool gone = dir.size() > deleted.size() && dir.compare(dir.size() - deleted.size(), deleted.size(), deleted) == 0;
    if (gone) dir.resize(dir.size() - deleted.size());
    if (dir.rfind(prefix, 0) != 0 || (!gone && fs::exists(dir))) continue;
    log.warn("ending orphaned warren-init (pid {}): its runtime dir '{}' is gone", pid, dir);
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0) {
      killed.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return killed;
}

}  // namespace warren::daemon
