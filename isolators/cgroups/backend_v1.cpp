// cgroup v1: one hierarchy per controller (or co-mounted groups of them,
// e.g. cpu,cpuacct), each under <hierarchy>/<controller>. Every hierarchy we
// use gets the same relative path for a container. On a hybrid host (a
// controller-less cgroup2 mounted at <hierarchy>/unified, as systemd's
// "hybrid" mode does) the container gets the same path there too: a
// tracking cgroup with no limits, through which every process of the
// container is killed at once (cgroup.kill) and its pressure (PSI) read.
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <cstdio>

#include <map>
#include <set>

#include "cgroupfs.hpp"
#include "controllers.hpp"
#include "devices_bpf.hpp"

namespace warren::isolators::cgroups {

namespace {

bool kernelAtLeast(int major, int minor) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// Attach order: cpuset first (a task cannot join an empty cpuset).
const Controller kAll[] = {Controller::Cpuset, Controller::Cpu,     Controller::Cpuacct,
                           Controller::Memory, Controller::Pids,    Controller::Devices,
                           Controller::Freezer, Controller::Io};

class V1Backend final : public Backend {
 public:
  V1Backend(std::string hierarchy, Options opts) : hierarchy_(std::move(hierarchy)), opts_(std::move(opts)) {
    for (Controller c : kAll) {
      if (c == Controller::Cpuset && !opts_.cpuset) continue;
      if (c == Controller::Io && !opts_.io) continue;
      std::string dir = hierarchy_ + "/" + controllerName(c);
      if (!isFile(dir + "/cgroup.procs")) continue;
      char real[PATH_MAX];
      std::string key = ::realpath(dir.c_str(), real) ? std::string(real) : dir;
      dirs_[c] = dir;
      if (seen_.insert(key).second) mounts_.push_back(dir);  // co-mounts once
    }
    // The hybrid tracking hierarchy: only a real cgroup2 mount (a
    // cgroupfs-shaped test directory has none), and only with cgroup.kill
    // (Linux 5.14; the root cgroup never has the file), which is what it is for.
    std::string unified = hierarchy_ + "/unified";
    if (!mounts_.empty() && isFile(unified + "/cgroup.procs") && kernelAtLeast(5, 14) &&
        devices::isCgroup2(unified)) {
      unified_ = unified;
      mounts_.push_back(unified);
    }
  }

  int version() const override { return 1; }
  bool has(Controller c) const override { return dirs_.count(c) > 0; }
  std::string describe() const override {
    return "cgroup v1 at " + hierarchy_ + (unified_.empty() ? "" : " (processes tracked in " + unified_ + ")");
  }
  bool empty() const { return mounts_.empty(); }

  Result<void> create(const std::string& rel, const Limits& l) override {
    if (exists(rel)) {
      return fail(Code::AlreadyExists, "cgroup '" + cgroupPath(rel) + "' already exists");
    }
    auto r = createSteps(rel, l);
    if (!r) (void)destroy(rel);
    return r;
  }

  Result<void> update(const std::string& rel, const Limits& l) override {
    if (has(Controller::Cpu)) WARREN_TRY(cpu::applyV1(dir(Controller::Cpu, rel), l.cpus, withCfsOf(opts_, l)));
    if (has(Controller::Memory)) {
      WARREN_TRY(memory::applyV1(dir(Controller::Memory, rel), l.mem_bytes, l.swap_bytes));
    }
    if (has(Controller::Pids)) WARREN_TRY(pids::apply(dir(Controller::Pids, rel), l.pids));
    if (has(Controller::Cpuset)) {
      WARREN_TRY(cpuset::apply(dir(Controller::Cpuset, rel), l.cpuset_cpus, l.cpuset_mems));
    }
    if (has(Controller::Io)) WARREN_TRY(io::applyV1(dir(Controller::Io, rel), l.io_weight, l.io_max));
    return {};
  }

  Result<void> attach(const std::string& rel, pid_t pid) override {
    for (const auto& m : mounts_) {
      // Already there (a DEBUG container's init forked by its parent's
      // init): skip the write - the first cgroup.procs write of a burst
      // waits for an RCU grace period, even when it moves nothing.
      if (alreadyIn(m + "/" + rel + "/" + kLeaf, pid)) continue;
      std::string f = m + "/" + rel + "/" + kLeaf + "/cgroup.procs";
      auto r = writeExisting(f, std::to_string(pid));
      if (!r) {
        Error e = r.error();
        return fail(std::move(e.context("move pid " + std::to_string(pid))));
      }
    }
    return {};
  }

  bool exists(const std::string& rel) const override {
    for (const auto& m : mounts_) {
      if (isDir(m + "/" + rel)) return true;
    }
    return false;
  }

  Result<Stats> stats(const std::string& rel) const override {
    Stats s;
    s.mem_limit = kUnlimited;
    s.pids_limit = kUnlimited;
    if (has(Controller::Cpuacct) || has(Controller::Cpu)) {
      cpu::statsV1(has(Controller::Cpuacct) ? dir(Controller::Cpuacct, rel) : "",
                   has(Controller::Cpu) ? dir(Controller::Cpu, rel) : "", s);
    }
    if (has(Controller::Memory)) {
      std::string d = dir(Controller::Memory, rel);
      memory::statsV1(d, s);
      s.oom_kills = subtreeOomKills(d);  // v1 counts per cgroup only
    }
    if (has(Controller::Pids)) pids::stats(dir(Controller::Pids, rel), s);
    // PSI lives only in cgroup2: the hybrid tracking cgroup holds every
    // process of the container.
    if (!unified_.empty()) pressure::stats(unified_ + "/" + rel, s);
    return s;
  }

  uint64_t ownOomKills(const std::string& rel) const override {
    if (!has(Controller::Memory)) return 0;
    std::string d = dir(Controller::Memory, rel);
    return memory::oomKillsV1(d) + memory::oomKillsV1(d + "/" + kLeaf);
  }

  Result<void> kill(const std::string& rel) override {
    std::vector<std::string> dirs;
    for (const auto& m : mounts_) {
      if (isDir(m + "/" + rel)) dirs.push_back(m + "/" + rel);
    }
    if (dirs.empty()) return {};
    // Every process of the container sits in the tracking cgroup too:
    // cgroup.kill takes the whole subtree at once, forks included, with no
    // freeze and thaw. The v1 hierarchies are then checked empty as well.
    if (!unified_.empty() && isDir(unified_ + "/" + rel)) {
      WARREN_TRY(kill::killV2(unified_ + "/" + rel, opts_.kill_timeout));
      return kill::freezeAndKillV1("", dirs, opts_.kill_timeout);
    }
    std::string freezer = has(Controller::Freezer) ? dir(Controller::Freezer, rel) : "";
    return kill::freezeAndKillV1(freezer, dirs, opts_.kill_timeout);
  }

  Result<void> destroy(const std::string& rel) override {
    Result<void> first = kill(rel);
    for (const auto& m : mounts_) {
      auto r = removeTreeCgroups(m + "/" + rel, opts_.rmdir_timeout);
      if (!r && first) first = r;
    }
    return first;
  }

  std::vector<std::string> children(const std::string& rel) const override {
    std::set<std::string> names;
    for (const auto& m : mounts_) {
      for (auto& n : childDirs(m + "/" + rel)) {
        if (n != kLeaf) names.insert(n);
      }
    }
    return {names.begin(), names.end()};
  }

  std::string cgroupPath(const std::string& rel) const override {
    if (has(Controller::Memory)) return dir(Controller::Memory, rel);
    return mounts_.empty() ? hierarchy_ + "/" + rel : mounts_.front() + "/" + rel;
  }

 private:
  std::string dir(Controller c, const std::string& rel) const { return dirs_.at(c) + "/" + rel; }

  uint64_t subtreeOomKills(const std::string& d) const {
    uint64_t n = memory::oomKillsV1(d);
    for (const auto& c : childDirs(d)) n += subtreeOomKills(d + "/" + c);
    return n;
  }

  // mkdir each missing component of rel under every hierarchy; new cpusets
  // inherit their parent's cpus and mems.
  Result<void> makeDirs(const std::string& rel) {
    for (const auto& m : mounts_) {
      bool is_cpuset = has(Controller::Cpuset) && m == dirs_.at(Controller::Cpuset);
      std::string cur = m;
      size_t i = 0;
      while (i < rel.size()) {
        size_t j = rel.find('/', i);
        if (j == std::string::npos) j = rel.size();
        cur += "/" + rel.substr(i, j - i);
        i = j + 1;
        if (::mkdir(cur.c_str(), 0755) != 0) {
          if (errno == EEXIST) continue;
          return fail(Error::errnoNow("mkdir '" + cur + "'"));
        }
        if (is_cpuset) WARREN_TRY(cpuset::inheritV1(cur));
      }
    }
    return {};
  }

  Result<void> createSteps(const std::string& rel, const Limits& l) {
    WARREN_TRY(makeDirs(rel));
    WARREN_TRY(update(rel, l));
    if (opts_.devices && has(Controller::Devices)) {
      std::vector<std::string> extra = opts_.extra_devices;
      extra.insert(extra.end(), l.extra_devices.begin(), l.extra_devices.end());
      WARREN_TRY(devices::applyV1(dir(Controller::Devices, rel), extra));
    }
    WARREN_TRY(makeDirs(rel + "/" + kLeaf));
    return {};
  }

  std::string hierarchy_;
  Options opts_;
  std::map<Controller, std::string> dirs_;
  std::set<std::string> seen_;
  std::vector<std::string> mounts_;
  std::string unified_;  // the hybrid tracking hierarchy, "" when none
};

}  // namespace

const char* controllerName(Controller c) {
  switch (c) {
    case Controller::Cpu: return "cpu";
    case Controller::Cpuacct: return "cpuacct";
    case Controller::Memory: return "memory";
    case Controller::Pids: return "pids";
    case Controller::Devices: return "devices";
    case Controller::Cpuset: return "cpuset";
    case Controller::Freezer: return "freezer";
    case Controller::Io: return "blkio";
  }
  return "?";
}

std::unique_ptr<Backend> makeV1Backend(const std::string& hierarchy, const Options& opts) {
  auto b = std::make_unique<V1Backend>(hierarchy, opts);
  if (b->empty()) return nullptr;
  return b;
}

Result<std::unique_ptr<Backend>> makeBackend(const std::string& hierarchy, const Options& opts) {
  if (hierarchy.empty() || hierarchy[0] != '/') {
    return fail(Code::InvalidArgument, "cgroups_hierarchy '" + hierarchy + "' must be an absolute path");
  }
  if (!isDir(hierarchy)) {
    return fail(Code::FailedPrecondition, "no cgroup hierarchy at '" + hierarchy + "'");
  }
  if (isFile(hierarchy + "/cgroup.controllers")) return makeV2Backend(hierarchy, opts);
  if (auto b = makeV1Backend(hierarchy, opts)) return b;
  return fail(Code::FailedPrecondition,
              "no cgroup v1 controllers and no cgroup2 root at '" + hierarchy + "'");
}

}  // namespace warren::isolators::cgroups
