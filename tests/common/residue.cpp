#include "residue.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace warren::testing {

std::vector<std::string> listDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

namespace {

bool isDir(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void walkCgroups(const std::string& dir, std::vector<std::string>& out) {
  out.push_back("cgroup " + dir);
}

}  // namespace

std::vector<std::string> findResidue(const std::string& tag) {
  std::vector<std::string> out;
  // cgroups: any directory named with the tag directly under a hierarchy
  // root, that still has children or processes.
  for (const auto& ctrl : listDir("/sys/fs/cgroup")) {
    std::string base = "/sys/fs/cgroup/" + ctrl;
    if (!isDir(base)) continue;
    for (const auto& n : listDir(base)) {
      if (n.rfind(tag, 0) != 0 || !isDir(base + "/" + n)) continue;
      for (const auto& c : listDir(base + "/" + n)) {
        if (isDir(base + "/" + n + "/" + c)) walkCgroups(base + "/" + n + "/" + c, out);
      }
      std::ifstream procs(base + "/" + n + "/cgroup.procs");
      std::string pid;
      if (procs >> pid) out.push_back("process " + pid + " in cgroup " + base + "/" + n);
    }
  }
  // mounts
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp;
    ls >> id >> parent >> devno >> root >> mp;
    if (mp.find(tag) != std::string::npos || root.find(tag) != std::string::npos) {
      out.push_back("mount " + mp);
    }
  }
  // links (veths and bridges tests make are named wv*/wt*) - only those
  // carrying the tag's pid suffix are attributable when tag is per-process,
  // so links are checked for the suite-wide tag only.
  if (tag == "warren-test") {
    for (const auto& n : listDir("/sys/class/net")) {
      if (n.rfind("wv", 0) == 0 || n.rfind("wt", 0) == 0) out.push_back("link " + n);
    }
    for (const auto& n : listDir("/run/netns")) {
      if (n.find(tag) != std::string::npos) out.push_back("netns /run/netns/" + n);
    }
  }
  // processes whose command line mentions the tag (warren-init gets its
  // container's runtime dir on its command line).
  for (const auto& p : listDir("/proc")) {
    if (p.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::to_string(getpid()) == p) continue;
    std::ifstream cf("/proc/" + p + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(cf)), std::istreambuf_iterator<char>());
    for (auto& c : cmd) if (c == '\0') c = ' ';
    if (cmd.find(tag) != std::string::npos && cmd.find("residue_check") == std::string::npos &&
        cmd.find("warren-init") != std::string::npos) {
      // a zombie of ours is still residue; a process of another test binary
      // with the suite-wide tag is residue too.
      out.push_back("process " + p + " (" + cmd + ")");
    }
  }
  return out;
}

std::vector<std::string> removeCgroupRoots(const std::string& tag) {
  std::vector<std::string> left;
  for (const auto& ctrl : listDir("/sys/fs/cgroup")) {
    std::string base = "/sys/fs/cgroup/" + ctrl;
    if (!isDir(base)) continue;
    for (const auto& n : listDir(base)) {
      if (n.rfind(tag, 0) != 0) continue;
      std::string p = base + "/" + n;
      if (!isDir(p)) continue;
      if (rmdir(p.c_str()) != 0) left.push_back("cgroup " + p);
    }
  }
  return left;
}

}  // namespace warren::testing
