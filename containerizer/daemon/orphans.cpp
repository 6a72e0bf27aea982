#include "orphans.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher/inits.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::daemon {

std::vector<pid_t> killOrphanInits(const std::string& runtime_dir, spdlog::logger& log) {
  std::vector<pid_t> killed;
  std::string prefix = runtime_dir + "/containers/";
  launcher::forEachInit([&](launcher::RunningInit& init) {
    if (init.runtime_dir.rfind(prefix, 0) != 0 || (!init.dir_deleted && fs::exists(init.runtime_dir))) return;
    log.warn("ending orphaned warren-init (pid {}): its runtime dir '{}' is gone", init.pid, init.runtime_dir);
    if (::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0) == 0) killed.push_back(init.pid);
  });
  return killed;
}

}  // namespace warren::daemon
