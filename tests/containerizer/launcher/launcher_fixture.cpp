#include "launcher_fixture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "warren/sdk/fs.hpp"

namespace warren::testing {

v1::Namespace makeNs(v1::Namespace::Type t, v1::Namespace::Action a, const std::string& path) {
  v1::Namespace n;
  n.set_type(t);
  n.set_action(a);
  n.set_path(path);
  return n;
}

std::string nsPath(pid_t pid, const char* type) {
  return "/proc/" + std::to_string(pid) + "/ns/" + type;
}

Box::Box(TestEnv& env, const std::string& name) {
  dir = env.root + "/" + name;
  (void)fs::mkdirs(dir + "/run");
  req.init_path = env.init_path;
  req.runtime_dir = dir + "/run";
  out_fd = ::open((dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  err_fd = ::open((dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  req.stdout_fd = out_fd;
  req.stderr_fd = err_fd;
}

Box::~Box() {
  launcher::abort(launched);
  ::close(out_fd);
  ::close(err_fd);
}

void Box::topLevel(bool rootfs, bool net) {
  auto& li = req.launch_info;
  for (auto t : {v1::Namespace::MNT, v1::Namespace::UTS, v1::Namespace::IPC, v1::Namespace::PID}) {
    *li.add_namespaces() = makeNs(t, v1::Namespace::CREATE);
  }
  if (net) *li.add_namespaces() = makeNs(v1::Namespace::NET, v1::Namespace::CREATE);
  if (rootfs) {
    std::string r = dir + "/rootfs";
    std::filesystem::copy(TestEnv::busyboxRootfs(), r,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::copy_symlinks);
    li.set_rootfs(r);
  }
}

std::string Box::out() const { return fs::readFile(dir + "/stdout").value_or(""); }
std::string Box::err() const { return fs::readFile(dir + "/stderr").value_or(""); }

bool alive(const launcher::Launched& l) {
  if (!l.pidfd) return false;
  pollfd p{l.pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

std::optional<launcher::ExitStatus> waitDone(Box& b, int timeout_ms) {
  if (!b.launched.pidfd) return std::nullopt;
  pollfd p{b.launched.pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
  siginfo_t si{};
  ::waitid(static_cast<idtype_t>(3 /*P_PIDFD*/), b.launched.pidfd.get(), &si, WEXITED | WNOHANG);
  b.launched.pidfd.reset();
  auto text = fs::readFile(b.req.runtime_dir + "/" + launcher::kExitStatusFile);
  if (!text) return std::nullopt;
  return launcher::parseExitStatus(*text);
}

int nsLevels(pid_t pid) {
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/status");
  if (!text) return -1;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream ls(line.substr(6));
    int n = 0;
    std::string tok;
    while (ls >> tok) ++n;
    return n;
  }
  return -1;
}

}  // namespace warren::testing
