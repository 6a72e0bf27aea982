// cpuset (optional): pin a container to cpus/memory nodes from the
// cgroups.cpuset_cpus / cgroups.cpuset_mems settings.
#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::cpuset {

namespace {
std::string parentOf(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }
}  // namespace

Result<void> inheritV1(const std::string& dir) {
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = readValue(dir + "/" + f);
    if (mine && !mine->empty()) continue;
    WARREN_ASSIGN_OR_RETURN(std::string parent, readValue(parentOf(dir) + "/" + f));
    WARREN_TRY(writeValue(dir + "/" + f, parent));
  }
  return {};
}

Result<void> apply(const std::string& dir, const std::string& cpus, const std::string& mems) {
  if (!cpus.empty()) WARREN_TRY(writeValue(dir + "/cpuset.cpus", cpus));
  if (!mems.empty()) WARREN_TRY(writeValue(dir + "/cpuset.mems", mems));
  return {};
}

}  // namespace warren::isolators::cgroups::cpuset
