#include "soak_probe.hpp"

#include "residue.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

namespace warren::testing::soak {

std::vector<std::string> entries(const std::string& dir) { return listDir(dir); }

int fdCount() { return static_cast<int>(entries("/proc/self/fd").size()) - 1; }  // minus the one reading it
int threadCount() { return static_cast<int>(entries("/proc/self/task").size()); }

long rssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

std::vector<pid_t> children() {
  std::vector<pid_t> out;
  pid_t self = getpid();
  for (const auto& p : entries("/proc")) {
    if (p.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f("/proc/" + p + "/stat");
    std::string stat;
    std::getline(f, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream s(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    s >> state >> ppid;
    if (ppid == self) out.push_back(static_cast<pid_t>(std::stoi(p)));
  }
  return out;
}

std::vector<std::string> cgroupsUnder(const std::string& root) {
  std::vector<std::string> out;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    for (const auto& n : entries(dir)) {
      std::string p = dir + "/" + n;
      struct stat st {};
      if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        out.push_back(p);
        walk(p);
      }
    }
  };
  for (const auto& h : entries("/sys/fs/cgroup")) walk("/sys/fs/cgroup/" + h + root);
  return out;
}

std::vector<std::string> mountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream s(line);
    std::string id, parent, devno, root, target;
    s >> id >> parent >> devno >> root >> target;
    if (target == dir || target.rfind(dir + "/", 0) == 0) out.push_back(target);
  }
  return out;
}

std::vector<std::string> bridgePorts(const std::string& bridge) {
  return entries("/sys/class/net/" + bridge + "/brif");
}

std::vector<std::string> vethLinks() {
  std::vector<std::string> out;
  for (const auto& n : entries("/sys/class/net")) {
    if (n.rfind("wv", 0) == 0) out.push_back(n);
  }
  return out;
}

}  // namespace warren::testing::soak
