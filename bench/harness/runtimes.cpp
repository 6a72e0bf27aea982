#include "runtimes.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

namespace bench {

namespace {

long procField(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  }
  return 0;
}

int jsonInt(const std::string& text, const std::string& key, size_t from = 0) {
  auto p = text.find("\"" + key + "\"", from);
  if (p == std::string::npos) return 0;
  p = text.find(':', p);
  return p == std::string::npos ? 0 : std::atoi(text.c_str() + p + 1);
}

}  // namespace

std::vector<std::string> Warren::argv(const std::vector<std::string>& sub) const {
  std::vector<std::string> a{bin, "--work_dir=" + work_dir, "--runtime_dir=" + runtime_dir,
                             "--cgroups_root=" + cgroups_root, "--plugin_dir=" + plugin_dir,
                             "--init_path=" + init_path};
  if (!isolation.empty()) a.push_back("--isolation=" + isolation);
  a.insert(a.end(), extra.begin(), extra.end());
  a.insert(a.end(), sub.begin(), sub.end());
  return a;
}

Run Warren::exec(const std::vector<std::string>& sub, bool capture) const {
  SpawnOpts o;
  o.capture_out = capture;
  o.timeout_s = 300;
  return spawn(argv(sub), o);
}

std::vector<Warren::Container> Warren::ps() const {
  std::vector<Container> out;
  Run r = exec({"ps", "--json"}, true);
  if (!r.ok()) return out;
  // Objects of {"depth":N,"id":"..","pid":N,...}: scan id by id.
  size_t p = 0;
  while ((p = r.out.find("\"id\"", p)) != std::string::npos) {
    size_t open = r.out.rfind('{', p);
    size_t q1 = r.out.find('"', r.out.find(':', p) + 1);
    size_t q2 = r.out.find('"', q1 + 1);
    Container c;
    c.id = r.out.substr(q1 + 1, q2 - q1 - 1);
    c.pid = jsonInt(r.out, "pid", open);
    c.depth = jsonInt(r.out, "depth", open);
    out.push_back(c);
    p = q2;
  }
  return out;
}

std::string Warren::help() const {
  SpawnOpts o;
  o.capture_out = true;
  Run r = spawn({bin, "help"}, o);
  return r.out + r.err;
}

Run Crun::exec(const std::vector<std::string>& sub, bool capture) const {
  std::vector<std::string> a{"/usr/bin/crun", "--root=" + root};
  a.insert(a.end(), sub.begin(), sub.end());
  SpawnOpts o;
  o.mntns_fd = mntns;
  o.capture_out = capture;
  return spawn(a, o);
}

int Crun::pidOf(const std::string& id) const {
  Run r = exec({"state", id}, true);
  return r.ok() ? jsonInt(r.out, "pid") : 0;
}

Run Runc::exec(const std::vector<std::string>& sub, bool capture) const {
  std::vector<std::string> a{"/usr/sbin/runc", "--root", root};
  a.insert(a.end(), sub.begin(), sub.end());
  SpawnOpts o;
  o.capture_out = capture;
  return spawn(a, o);
}

int Runc::pidOf(const std::string& id) const {
  Run r = exec({"state", id}, true);
  return r.ok() ? jsonInt(r.out, "pid") : 0;
}

long vmRssKb(int pid) { return procField("/proc/" + std::to_string(pid) + "/status", "VmRSS:"); }
long pssKb(int pid) { return procField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss:"); }
long ussKb(int pid) {
  std::string p = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  return procField(p, "Private_Clean:") + procField(p, "Private_Dirty:");
}

std::vector<std::string> removeBenchCgroups() {
  std::vector<std::string> left;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> subs;
    while (dirent* e = readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') subs.push_back(dir + "/" + e->d_name);
    }
    closedir(d);
    for (const auto& s : subs) walk(s);
    if (rmdir(dir.c_str()) != 0) left.push_back(dir);
  };
  DIR* d = opendir("/sys/fs/cgroup");
  if (!d) return left;
  std::vector<std::string> hier;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') hier.push_back(std::string("/sys/fs/cgroup/") + e->d_name + kCgroupRoot);
  }
  closedir(d);
  for (const auto& h : hier) {
    struct stat st{};
    if (stat(h.c_str(), &st) == 0) walk(h);
  }
  return left;
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

}  // namespace bench
