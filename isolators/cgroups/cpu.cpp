// cpu: relative weight from `cpus` (v1 cpu.shares, v2 cpu.weight) and, with
// --cgroups_enable_cfs, a hard CFS bandwidth cap (v1 cpu.cfs_quota_us, v2 cpu.max).
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::cpu {

uint64_t shares(double cpus) {
  return std::max<uint64_t>(2, static_cast<uint64_t>(std::llround(cpus * 1024.0)));
}

// Linear, so that the kernel defaults line up: 1 cpu = 1024 shares = weight 100.
uint64_t weight(double cpus) {
  return std::clamp<uint64_t>(static_cast<uint64_t>(std::llround(cpus * 100.0)), 1, 10000);
}

int64_t quota(double cpus, uint64_t period) {
  return std::max<int64_t>(1000, static_cast<int64_t>(std::llround(cpus * static_cast<double>(period))));
}

Result<void> applyV1(const std::string& dir, double cpus, const Options& o) {
  if (cpus <= 0) return {};
  WARREN_TRY(writeValue(dir + "/cpu.shares", std::to_string(shares(cpus))));
  if (o.enable_cfs) {
    WARREN_TRY(writeValue(dir + "/cpu.cfs_period_us", std::to_string(o.cfs_period_us)));
    WARREN_TRY(writeValue(dir + "/cpu.cfs_quota_us", std::to_string(quota(cpus, o.cfs_period_us))));
  }
  return {};
}

Result<void> applyV2(const std::string& dir, double cpus, const Options& o) {
  if (cpus <= 0) return {};
  WARREN_TRY(writeValue(dir + "/cpu.weight", std::to_string(weight(cpus))));
  if (o.enable_cfs) {
    WARREN_TRY(writeValue(dir + "/cpu.max", std::to_string(quota(cpus, o.cfs_period_us)) + " " +
                                                std::to_string(o.cfs_period_us)));
  }
  return {};
}

void statsV1(const std::string& cpuacct_dir, const std::string& cpu_dir, Stats& s) {
  auto user = readU64(cpuacct_dir + "/cpuacct.usage_user");
  auto sys = readU64(cpuacct_dir + "/cpuacct.usage_sys");
  if (user && sys) {
    s.user_secs = static_cast<double>(*user) / 1e9;
    s.system_secs = static_cast<double>(*sys) / 1e9;
  } else {
    double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.user_secs = static_cast<double>(readKey(cpuacct_dir + "/cpuacct.stat", "user").value_or(0)) / hz;
    s.system_secs = static_cast<double>(readKey(cpuacct_dir + "/cpuacct.stat", "system").value_or(0)) / hz;
  }
  s.nr_throttled = readKey(cpu_dir + "/cpu.stat", "nr_throttled").value_or(0);
  s.throttled_secs = static_cast<double>(readKey(cpu_dir + "/cpu.stat", "throttled_time").value_or(0)) / 1e9;
}

void statsV2(const std::string& dir, Stats& s) {
  std::string f = dir + "/cpu.stat";
  s.user_secs = static_cast<double>(readKey(f, "user_usec").value_or(0)) / 1e6;
  s.system_secs = static_cast<double>(readKey(f, "system_usec").value_or(0)) / 1e6;
  s.nr_throttled = readKey(f, "nr_throttled").value_or(0);
  s.throttled_secs = static_cast<double>(readKey(f, "throttled_usec").value_or(0)) / 1e6;
}

}  // namespace warren::isolators::cgroups::cpu
