// cgroup v2: one unified hierarchy. Controllers are enabled for children
// through cgroup.subtree_control at every level from the hierarchy root down
// to each container's cgroup; processes only ever live in leaves.
#include <sys/stat.h>

#include <set>
#include <sstream>

#include "cgroupfs.hpp"
#include "controllers.hpp"
#include "devices_bpf.hpp"

namespace warren::isolators::cgroups {

namespace {

class V2Backend final : public Backend {
 public:
  V2Backend(std::string hierarchy, Options opts) : root_(std::move(hierarchy)), opts_(std::move(opts)) {
    auto r = readValue(root_ + "/cgroup.controllers");
    std::istringstream in(r ? *r : "");
    std::string c;
    while (in >> c) available_.insert(c);
    // What we enable for our cgroups, in a fixed order.
    for (const char* want : {"cpuset", "cpu", "io", "memory", "pids"}) {
      if (std::string(want) == "io" && !opts_.io) continue;
      if (available_.count(want)) enable_ += std::string(enable_.empty() ? "" : " ") + "+" + want;
    }
    devices_ = devices::supportedV2(root_);
  }

  int version() const override { return 2; }

  bool has(Controller c) const override {
    switch (c) {
      case Controller::Cpuacct: return true;   // cpu.stat exists in every cgroup
      case Controller::Freezer: return true;   // cgroup.freeze / cgroup.kill
      case Controller::Devices: return devices_;  // an eBPF program per cgroup
      case Controller::Io: return opts_.io && available_.count("io") > 0;
      default: return available_.count(controllerName(c)) > 0;
    }
  }

  std::string describe() const override { return "cgroup v2 at " + root_; }

  Result<void> create(const std::string& rel, const Limits& l) override {
    if (exists(rel)) {
      return fail(Code::AlreadyExists, "cgroup '" + cgroupPath(rel) + "' already exists");
    }
    auto r = createSteps(rel, l);
    if (!r) (void)destroy(rel);
    return r;
  }

  Result<void> update(const std::string& rel, const Limits& l) override {
    std::string d = path(rel);
    if (l.cpus > 0) WARREN_TRY(cpu::applyV2(d, l.cpus, withCfsOf(opts_, l)));
    if (l.mem_bytes > 0) WARREN_TRY(memory::applyV2(d, l.mem_bytes, l.swap_bytes));
    if (l.pids > 0) WARREN_TRY(pids::apply(d, l.pids));
    WARREN_TRY(cpuset::apply(d, l.cpuset_cpus, l.cpuset_mems));
    if (has(Controller::Io)) WARREN_TRY(io::applyV2(d, l.io_weight, l.io_max));
    return {};
  }

  Result<void> attach(const std::string& rel, pid_t pid) override {
    if (alreadyIn(path(rel) + "/" + kLeaf, pid)) return {};  // see backend_v1.cpp
    auto r = writeValue(path(rel) + "/" + kLeaf + "/cgroup.procs", std::to_string(pid));
    if (!r) {
      Error e = r.error();
      return fail(std::move(e.context("move pid " + std::to_string(pid))));
    }
    return {};
  }

  bool exists(const std::string& rel) const override { return isDir(path(rel)); }

  Result<Stats> stats(const std::string& rel) const override {
    std::string d = path(rel);
    if (!isDir(d)) return fail(Code::NotFound, "no cgroup '" + d + "'");
    Stats s;
    cpu::statsV2(d, s);
    memory::statsV2(d, s);
    pids::stats(d, s);
    pressure::stats(d, s);
    return s;
  }

  uint64_t ownOomKills(const std::string& rel) const override {
    return memory::oomKillsV2(path(rel) + "/" + kLeaf);
  }

  Result<void> kill(const std::string& rel) override {
    if (!exists(rel)) return {};
    return kill::killV2(path(rel), opts_.kill_timeout);
  }

  Result<void> destroy(const std::string& rel) override {
    Result<void> first = kill(rel);
    auto r = removeTreeCgroups(path(rel), opts_.rmdir_timeout);
    if (!r && first) first = r;
    return first;
  }

  std::vector<std::string> children(const std::string& rel) const override {
    std::vector<std::string> out;
    for (auto& n : childDirs(path(rel))) {
      if (n != kLeaf) out.push_back(n);
    }
    return out;
  }

  std::string cgroupPath(const std::string& rel) const override { return path(rel); }

 private:
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  Result<void> enableControllers(const std::string& dir) {
    if (enable_.empty()) return {};
    auto r = writeValue(dir + "/cgroup.subtree_control", enable_);
    if (!r) {
      Error e = r.error();
      return fail(std::move(e.context("enable controllers (" + enable_ + ") below '" + dir + "'")));
    }
    return {};
  }

  Result<void> createSteps(const std::string& rel, const Limits& l) {
    // Ancestors (the configured root, parents): exist or are made, and pass
    // our controllers down.
    WARREN_TRY(enableControllers(root_));
    std::string cur = root_;
    size_t i = 0;
    while (true) {
      size_t j = rel.find('/', i);
      bool last = j == std::string::npos;
      cur += "/" + rel.substr(i, last ? std::string::npos : j - i);
      if (::mkdir(cur.c_str(), 0755) != 0 && !(errno == EEXIST && !last)) {
        return fail(Error::errnoNow("mkdir '" + cur + "'"));
      }
      WARREN_TRY(enableControllers(cur));
      if (last) break;
      i = j + 1;
    }
    WARREN_TRY(update(rel, l));
    if (opts_.devices && devices_) {
      std::vector<std::string> extra = opts_.extra_devices;
      extra.insert(extra.end(), l.extra_devices.begin(), l.extra_devices.end());
      WARREN_TRY(devices::applyV2(cur, extra));
    }
    std::string leaf = cur + "/" + kLeaf;
    if (::mkdir(leaf.c_str(), 0755) != 0) return fail(Error::errnoNow("mkdir '" + leaf + "'"));
    return {};
  }

  std::string root_;
  Options opts_;
  std::set<std::string> available_;
  std::string enable_;
  bool devices_ = false;
};

}  // namespace

std::unique_ptr<Backend> makeV2Backend(const std::string& hierarchy, const Options& opts) {
  return std::make_unique<V2Backend>(hierarchy, opts);
}

}  // namespace warren::isolators::cgroups
