#include "inits.hpp"

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "spec.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::launcher {

void forEachInit(const std::function<void(RunningInit&)>& fn) {
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return;
  const std::string deleted = " (deleted)";
  const std::string init_cmdline("warren-init", sizeof "warren-init");  // with its NUL
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 1 || *end != '\0' || pid == ::getpid()) continue;
    RunningInit init;
    init.pid = static_cast<pid_t>(pid);
    init.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, init.pid, 0)));
    if (!init.pidfd) continue;
    std::string proc = "/proc/" + std::to_string(pid);
    auto cmd = fs::readFile(proc + "/cmdline");
    if (!cmd || *cmd != init_cmdline) continue;
    char buf[4096];
    ssize_t n = ::readlink((proc + "/fd/" + std::to_string(kRuntimeDirFd)).c_str(), buf, sizeof buf - 1);
    if (n <= 0) continue;
    init.runtime_dir.assign(buf, static_cast<size_t>(n));
    auto& dir = init.runtime_dir;
    if (dir.size() > deleted.size() && dir.compare(dir.size() - deleted.size(), deleted.size(), deleted) == 0) {
      dir.resize(dir.size() - deleted.size());
      init.dir_deleted = true;
    }
    fn(init);
  }
  ::closedir(d);
}

}  // namespace warren::launcher
