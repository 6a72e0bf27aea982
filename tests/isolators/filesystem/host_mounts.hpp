// Test helpers: the host's mounts below a path, and real tmpfs mounts made
// by a test that are removed whatever the test did.
#pragma once

#include <sys/mount.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "warren/sdk/fs.hpp"

namespace warren::testing {

// Mount points in this process's mount namespace at or below `prefix`
// (parsed independently of the code under test).
inline std::vector<std::string> mountsUnder(const std::string& prefix) {
  std::vector<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp;
    ls >> id >> parent >> devno >> root >> mp;
    if (mp == prefix || mp.rfind(prefix + "/", 0) == 0) out.push_back(mp);
  }
  return out;
}

// Real tmpfs mounts made by a test on the host, removed (lazily, deepest
// first) when the guard goes, whatever the test did.
class HostMounts {
 public:
  ~HostMounts() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      while (::umount2(it->c_str(), MNT_DETACH) == 0) {
      }
    }
  }
  bool tmpfs(const std::string& path) {
    if (!fs::mkdirs(path)) return false;
    made_.push_back(path);
    return ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=64k") == 0;
  }

 private:
  std::vector<std::string> made_;
};

}  // namespace warren::testing
