// What the soak looks at before and after: the process's own fds, threads,
// RSS and children; cgroups under a root; mounts under a dir; bridge ports.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace warren::testing::soak {

int fdCount();       // entries of /proc/self/fd
int threadCount();   // entries of /proc/self/task
long rssKb();        // VmRSS of this process
std::vector<pid_t> children();  // live processes whose parent is us

// Every cgroup directory below /sys/fs/cgroup/<hierarchy><root> (not the root itself).
std::vector<std::string> cgroupsUnder(const std::string& root);
// Mount points at or below dir.
std::vector<std::string> mountsUnder(const std::string& dir);
// Interfaces enslaved to `bridge`.
std::vector<std::string> bridgePorts(const std::string& bridge);
// Network interfaces named wv* (the network isolator's veths).
std::vector<std::string> vethLinks();
// Entries of a directory (without . and ..), empty when it does not exist.
std::vector<std::string> entries(const std::string& dir);

}  // namespace warren::testing::soak
