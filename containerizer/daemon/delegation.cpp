#include "delegation.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "warren/sdk/fs.hpp"

namespace warren::daemon {

namespace {

constexpr const char* kSupervisor = "supervisor";

// This process's cgroup in the unified hierarchy ("0::/path").
Result<std::string> ownCgroup() {
  WARREN_ASSIGN_OR_RETURN(auto text, fs::readFile("/proc/self/cgroup"));
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind("0::", 0) == 0) return line.substr(3);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return fail(Code::FailedPrecondition, "--delegated_cgroup: /proc/self/cgroup has no cgroup v2 entry");
}

}  // namespace

Result<std::string> enterDelegatedCgroup(const std::string& hierarchy, const std::string& requested_root) {
  struct statfs sfs {};
  if (::statfs(hierarchy.c_str(), &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
    return fail(Code::FailedPrecondition,
                "--delegated_cgroup needs a cgroup v2 (unified) host: '" + hierarchy + "' is not a cgroup2 mount");
  }
  WARREN_ASSIGN_OR_RETURN(std::string own, ownCgroup());
  // A restart that inherited the subgroup (exec in place) is still ours.
  std::string base = own;
  std::string tail = "/" + std::string(kSupervisor);
  if (base.size() > tail.size() && base.compare(base.size() - tail.size(), tail.size(), tail) == 0) {
    base.resize(base.size() - tail.size());
  }
  if (base == "/" || base.empty()) {
    return fail(Code::FailedPrecondition,
                "--delegated_cgroup: warrend runs in the root cgroup, so nothing is delegated to it "
                "(start it from a unit with Delegate=yes)");
  }
  std::string root = requested_root.empty() ? base + "/containers" : requested_root;
  if (root.rfind(base + "/", 0) != 0 || root == base + tail || root.rfind(base + tail + "/", 0) == 0) {
    return fail(Code::InvalidArgument, "--delegated_cgroup: --cgroups_root '" + root +
                                           "' is not below warrend's delegated cgroup '" + base +
                                           "' (or is its " + kSupervisor + " subgroup)");
  }
  std::string leaf = hierarchy + base + tail;
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) return failErrno("--delegated_cgroup: mkdir '" + leaf + "'");
  if (auto r = fs::writeFile(leaf + "/cgroup.procs", std::to_string(::getpid())); !r) {
    return fail(std::move(r.error().context("--delegated_cgroup: move warrend into '" + leaf + "'")));
  }
  return root;
}

}  // namespace warren::daemon
