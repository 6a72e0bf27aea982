// cgroup v1 for the oci isolator: one directory per hierarchy at exactly
// linux.cgroupsPath; limits written before the init joins; removed at
// cleanup (leaf only: parents such as containerd's /<namespace> are the
// caller's). cgroup v2 is refused for now (README).
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "oci_isolator.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::oci {
namespace {

using warren::oci::cgroupControllers;
using warren::oci::CgroupSettings;

std::string dirOf(const std::string& h, const std::string& c, const std::string& path) {
  return h + "/" + c + path;
}

Result<void> put(const std::string& dir, const char* file, const std::string& value) {
  auto r = fs::writeFile(dir + "/" + file, value);
  if (!r) return fail(std::move(r.error()).context("cgroup '" + dir + "': write " + file + "=" + value));
  return {};
}

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

std::string devRule(char type, int64_t major, int64_t minor, const std::string& access) {
  auto n = [](int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
  return std::string(1, type) + (type == 'a' ? "" : " " + n(major) + ":" + n(minor) + " " + access);
}

}  // namespace

bool cgroupV2(const std::string& hierarchy) {
  struct statfs sfs {};
  return ::statfs(hierarchy.c_str(), &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

Result<void> createCgroups(const std::string& h, const CgroupSettings& cg) {
  for (const auto& c : cgroupControllers()) {
    if (!exists(h + "/" + c)) continue;  // a hierarchy this host does not mount
    auto r = fs::mkdirs(dirOf(h, c, cg.path), 0755);
    if (!r) return fail(std::move(r.error()).context("create cgroup '" + cg.path + "' (" + c + ")"));
  }
  return {};
}

Result<void> applyLimits(const std::string& h, const CgroupSettings& cg) {
  std::string mem = dirOf(h, "memory", cg.path);
  if (cg.mem_limit && *cg.mem_limit != 0) {
    WARREN_TRY(put(mem, "memory.limit_in_bytes", std::to_string(*cg.mem_limit)));
  }
  if (cg.mem_reservation && *cg.mem_reservation != 0) {
    WARREN_TRY(put(mem, "memory.soft_limit_in_bytes", std::to_string(*cg.mem_reservation)));
  }
  if (cg.mem_swap && *cg.mem_swap != 0) {
    if (!exists(mem + "/memory.memsw.limit_in_bytes")) {
      return fail(Code::FailedPrecondition,
                  "linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes)");
    }
    WARREN_TRY(put(mem, "memory.memsw.limit_in_bytes", std::to_string(*cg.mem_swap)));
  }
  if (cg.mem_swappiness && *cg.mem_swappiness <= 100) {
    WARREN_TRY(put(mem, "memory.swappiness", std::to_string(*cg.mem_swappiness)));
  }
  std::string cpu = dirOf(h, "cpu", cg.path);
  if (cg.cpu_shares && *cg.cpu_shares != 0) WARREN_TRY(put(cpu, "cpu.shares", std::to_string(*cg.cpu_shares)));
  if (cg.cpu_period && *cg.cpu_period != 0) WARREN_TRY(put(cpu, "cpu.cfs_period_us", std::to_string(*cg.cpu_period)));
  if (cg.cpu_quota && *cg.cpu_quota != 0) WARREN_TRY(put(cpu, "cpu.cfs_quota_us", std::to_string(*cg.cpu_quota)));
  if (cg.pids_limit && *cg.pids_limit != 0) {
    WARREN_TRY(put(dirOf(h, "pids", cg.path), "pids.max",
                   *cg.pids_limit < 0 ? std::string("max") : std::to_string(*cg.pids_limit)));
  }
  if (!cg.devices.empty()) {
    std::string dev = dirOf(h, "devices", cg.path);
    for (const auto& r : cg.devices) {
      WARREN_TRY(put(dev, r.allow ? "devices.allow" : "devices.deny", devRule(r.type, r.major, r.minor, r.access)));
    }
    // The devices every OCI container gets (runtime spec "Default Devices"),
    // /dev/pts and mknod, as runc allows them on top of the config's rules.
    static const char* const kDefaults[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                            "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
                                            "c *:* m",   "b *:* m"};
    for (const char* d : kDefaults) WARREN_TRY(put(dev, "devices.allow", d));
  }
  return {};
}

Result<void> joinCgroups(const std::string& h, const std::string& path, int pid) {
  for (const auto& c : cgroupControllers()) {
    std::string dir = dirOf(h, c, path);
    if (!exists(dir)) continue;
    WARREN_TRY(put(dir, "cgroup.procs", std::to_string(pid)));
  }
  return {};
}

Result<void> removeCgroups(const std::string& h, const std::string& path) {
  std::string errors;
  for (const auto& c : cgroupControllers()) {
    std::string dir = dirOf(h, c, path);
    if (!exists(dir)) continue;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
        gone = true;
        break;
      }
      if (errno != EBUSY) break;
      // Left-over processes (a container without its own pid namespace).
      auto procs = fs::readFile(dir + "/cgroup.procs");
      std::istringstream in(procs ? *procs : "");
      for (int p; in >> p;) ::kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!gone) errors += (errors.empty() ? "" : "; ") + std::string("rmdir '") + dir + "': " + std::strerror(errno);
  }
  if (!errors.empty()) return fail(Code::Internal, errors);
  return {};
}

Result<v1::ResourceStatistics> cgroupUsage(const std::string& h, const std::string& path) {
  v1::ResourceStatistics s;
  auto num = [&](const std::string& c, const char* f) -> uint64_t {
    auto t = fs::readFile(dirOf(h, c, path) + "/" + f);
    return t ? std::strtoull(t->c_str(), nullptr, 10) : 0;
  };
  s.set_timestamp(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  s.set_mem_usage_bytes(num("memory", "memory.usage_in_bytes"));
  s.set_mem_limit_bytes(num("memory", "memory.limit_in_bytes"));
  s.set_mem_peak_bytes(num("memory", "memory.max_usage_in_bytes"));
  s.set_pids_current(num("pids", "pids.current"));
  s.set_cpus_user_time_secs(static_cast<double>(num("cpuacct", "cpuacct.usage_user")) / 1e9);
  s.set_cpus_system_time_secs(static_cast<double>(num("cpuacct", "cpuacct.usage_sys")) / 1e9);
  return s;
}

}  // namespace warren::isolators::oci
