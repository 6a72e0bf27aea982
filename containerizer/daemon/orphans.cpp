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
    if (argv.size() != 2) continue;
    const std::string& exe = argv[0];
    if (exe.size() < 11 || exe.compare(exe.size() - 11, 11, "warren-init") != 0) continue;
    if (argv[1].rfind(prefix, 0) != 0 || fs::exists(argv[1])) continue;
    log.warn("ending orphaned warren-init (pid {}): its runtime dir '{}' is gone", pid, argv[1]);
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0) {
      killed.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return killed;
}

}  // namespace warren::daemon
