// pids: pids.max (same file on v1 and v2) and the current count.
#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::pids {

Result<void> apply(const std::string& dir, uint64_t max) {
  if (max == 0) return {};
  return writeValue(dir + "/pids.max", std::to_string(max));
}

void stats(const std::string& dir, Stats& s) {
  s.pids_current = readU64(dir + "/pids.current").value_or(0);
  s.pids_limit = readU64(dir + "/pids.max").value_or(kUnlimited);
}

}  // namespace warren::isolators::cgroups::pids
