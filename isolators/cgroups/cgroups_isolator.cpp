#include "cgroups_isolator.hpp"

#include "devices_bpf.hpp"

#include <dirent.h>
#include <unistd.h>

#include <set>

#include "cgroupfs.hpp"
#include "warren/isolators/cgroups/config.pb.h"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::isolators::cgroups {

namespace {

Result<bool> parseBoolFlag(const v1::PluginContext& ctx, const std::string& key) {
  auto it = ctx.flags().find(key);
  if (it == ctx.flags().end() || it->second.empty()) return false;
  const std::string& v = it->second;
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return fail(Code::InvalidArgument, "flag " + key + "='" + v + "' is not true or false");
}

Result<std::string> rootRel(const std::string& root) {
  std::string r = root.empty() ? "/warren" : root;
  if (r[0] != '/') {
    return fail(Code::InvalidArgument, "cgroups_root '" + r + "' must be an absolute path");
  }
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r == "/") return fail(Code::InvalidArgument, "cgroups_root must not be '/'");
  std::string rel = r.substr(1);
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string part = rel.substr(i, j - i);
    if (part.empty() || part == "." || part == ".." || part == kLeaf) {
      return fail(Code::InvalidArgument, "cgroups_root '" + root + "' has an invalid component '" +
                                             part + "'");
    }
    i = j + 1;
  }
  return rel;
}

// A LaunchInfo.Device granted by an isolator before this one, as a rule.
Result<std::string> deviceRule(const v1::Device& d) {
  std::string access = d.access().empty() ? "rwm" : d.access();
  std::string rule = d.type() + " " + std::to_string(d.major()) + ":" + std::to_string(d.minor()) +
                     " " + access;
  if ((d.type() != "c" && d.type() != "b") || d.major() < 0 || d.minor() < 0) {
    return fail(Code::InvalidArgument, "device '" + d.path() + "' (" + rule +
                                           "): type must be c or b and major/minor non-negative");
  }
  auto ok = validateDeviceRule(rule);
  if (!ok) return fail(std::move(ok.error()).context("device '" + d.path() + "'"));
  return rule;
}

}  // namespace

Result<std::unique_ptr<CgroupsIsolator>> CgroupsIsolator::create(const v1::PluginContext& ctx) {
  WARREN_ASSIGN_OR_RETURN(auto cfg, sdk::parseConfig<Config>(ctx));
  WARREN_ASSIGN_OR_RETURN(bool cfs_flag, parseBoolFlag(ctx, "cgroups_enable_cfs"));
  WARREN_ASSIGN_OR_RETURN(std::string root_rel, rootRel(ctx.cgroups_root()));
  Options o;
  o.enable_cfs = cfs_flag || cfg.enable_cfs();
  o.cpuset = cfg.enable_cpuset();
  o.io = cfg.enable_io();
  if (cfg.cfs_period_us() != 0) {
    if (cfg.cfs_period_us() < 1000 || cfg.cfs_period_us() > 1000000) {
      return fail(Code::InvalidArgument, "cfs_period_us=" + std::to_string(cfg.cfs_period_us()) +
                                             " must be between 1000 and 1000000");
    }
    o.cfs_period_us = cfg.cfs_period_us();
  }
  o.devices = !cfg.disable_devices();
  for (const auto& rule : cfg.allowed_devices()) {
    WARREN_TRY(validateDeviceRule(rule));
    o.extra_devices.push_back(rule);
  }
  if (cfg.kill_timeout_ms() != 0) o.kill_timeout = std::chrono::milliseconds(cfg.kill_timeout_ms());
  if (cfg.rmdir_timeout_ms() != 0) o.rmdir_timeout = std::chrono::milliseconds(cfg.rmdir_timeout_ms());

  std::string hierarchy = "/sys/fs/cgroup";
  if (auto it = ctx.flags().find("cgroups_hierarchy"); it != ctx.flags().end() && !it->second.empty()) {
    hierarchy = it->second;
  }
  auto backend = makeBackend(hierarchy, o);
  if (!backend) return fail(std::move(backend.error()));
  auto log = sdk::makeLogger("warren.isolator.cgroups");
  if ((*backend)->version() == 2 && o.devices && !(*backend)->has(Controller::Devices)) {
    if (!devices::isCgroup2(hierarchy)) {
      // A cgroupfs-shaped directory (the unit tests' fake): nothing to attach to.
      log->warn("{}: not a cgroup2 filesystem; device access is not restricted", hierarchy);
    } else {
      return fail(Code::FailedPrecondition,
                (*backend)->describe() + ": this kernel cannot load cgroup device eBPF programs, so device "
                "access cannot be restricted; set disable_devices in the cgroups config to run anyway");
    }
  }
  std::string records;
  if (!ctx.plugin_runtime_dir().empty()) {
    records = ctx.plugin_runtime_dir() + "/limits";
    WARREN_TRY(fs::mkdirs(records));
  }
  return std::make_unique<CgroupsIsolator>(std::move(*backend), root_rel, records, o, log);
}

CgroupsIsolator::CgroupsIsolator(std::unique_ptr<Backend> backend, std::string root_rel,
                                 std::string records_dir, Options opts,
                                 std::shared_ptr<sdk::Logger> log)
    : backend_(std::move(backend)),
      root_rel_(std::move(root_rel)),
      records_dir_(std::move(records_dir)),
      opts_(std::move(opts)),
      log_(std::move(log)) {}

std::string CgroupsIsolator::rel(const v1::ContainerID& id) const {
  std::string r = root_rel_;
  for (const auto& n : id.path()) r += "/" + n;
  return r;
}

Result<void> CgroupsIsolator::requireControllers(const Limits& l, const std::string& id) const {
  auto need = [&](bool wanted, Controller c, const char* why) -> Result<void> {
    if (!wanted || backend_->has(c)) return {};
    return fail(Code::FailedPrecondition,
                std::string("container '") + id + "': the " + controllerName(c) +
                    " cgroup controller is not available on this machine (" +
                    backend_->describe() + "), needed for " + why);
  };
  WARREN_TRY(need(l.cpus > 0, Controller::Cpu, "resources.cpus"));
  WARREN_TRY(need(l.mem_bytes > 0, Controller::Memory, "resources.mem_bytes"));
  WARREN_TRY(need(l.pids > 0, Controller::Pids, "resources.pids"));
  WARREN_TRY(need(!l.cpuset_cpus.empty() || !l.cpuset_mems.empty(), Controller::Cpuset,
                  "cgroups.cpuset_cpus/cpuset_mems"));
  WARREN_TRY(need(l.io_weight > 0 || !l.io_max.empty(), Controller::Io,
                  "cgroups.io_weight/io_max (set enable_io in the cgroups config)"));
  WARREN_TRY(need(!l.extra_devices.empty(), Controller::Devices,
                  "cgroups.devices_allow or devices granted by an isolator"));
  return {};
}

Result<v1::LaunchInfo> CgroupsIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  std::string id = formatId(c.id());
  if (isDebug(c.config())) {
    auto l = limitsFromConfig(c.config());
    if (!l || l->any()) {
      return fail(Code::InvalidArgument,
                  "container '" + id + "' is a DEBUG container: it runs in its parent's cgroups "
                  "and cannot ask for resources or cgroups settings of its own");
    }
    if (!hasParent(c.id())) {
      return fail(Code::InvalidArgument, "DEBUG container '" + id + "' has no parent");
    }
    if (req.devices_size() > 0) {
      return fail(Code::InvalidArgument,
                  "DEBUG container '" + id + "' runs in its parent's cgroups: device '" +
                      req.devices(0).path() + "' cannot be granted to it alone");
    }
    return v1::LaunchInfo{};
  }
  auto limits = limitsFromConfig(c.config());
  if (!limits) return fail(std::move(limits.error().context("container '" + id + "'")));
  if (limits->share_parent) {
    if (!hasParent(c.id())) {
      return fail(Code::InvalidArgument, "container '" + id + "': cgroups.share_parent needs a parent to share with");
    }
    if (limits->any() || req.devices_size() > 0) {
      return fail(Code::InvalidArgument, "container '" + id + "' shares its parent's cgroups "
                                         "(cgroups.share_parent) and cannot ask for resources, cgroups limits or "
                                         "devices of its own");
    }
    return v1::LaunchInfo{};
  }
  if (c.has_parent() && sharesParent(c.parent().config())) {
    return fail(Code::InvalidArgument, "container '" + id + "': its parent '" + formatId(c.parent().id()) +
                                           "' shares its own parent's cgroups, so its children must too "
                                           "(cgroups.share_parent=true)");
  }
  // Devices granted by the isolators before this one (gpu/nvidia, devices/cdi).
  for (const auto& d : req.devices()) {
    auto rule = deviceRule(d);
    if (!rule) return fail(std::move(rule.error().context("container '" + id + "'")));
    limits->extra_devices.push_back(*rule);
  }
  WARREN_TRY(requireControllers(*limits, id));
  if (hasParent(c.id())) {
    WARREN_TRY(checkAgainstAncestors(c.id(), *limits, c.has_parent() ? &c.parent() : nullptr));
  }
  // The CFS choice is made once, here, and kept with the container.
  limits->cfs = opts_.enable_cfs ? 1 : 0;
  limits->cfs_period_us = opts_.cfs_period_us;
  auto made = backend_->create(rel(c.id()), *limits);
  if (!made) return fail(std::move(made.error().context("container '" + id + "'")));
  writeRecord(c.id(), *limits);
  log_->info("container_id={} cgroup {} created (cpus={} mem={} pids={})", id,
             backend_->cgroupPath(rel(c.id())), limits->cpus, limits->mem_bytes, limits->pids);
  return ownCgroupView(c);
}

// A container gets its own cgroup namespace, created by warren-init once it
// sits in its leaf (so /proc/self/cgroup reads "0::/"), and on v2 its own
// cgroup directory - its limits, its leaf, its nested children - read-only
// at /sys/fs/cgroup. On v1 only the namespace (one mount per hierarchy
// would be needed; not done).
v1::LaunchInfo CgroupsIsolator::ownCgroupView(const v1::ContainerContext& c) const {
  v1::LaunchInfo li;
  auto* ns = li.add_namespaces();
  ns->set_type(v1::Namespace::CGROUP);
  ns->set_action(v1::Namespace::CREATE);
  if (backend_->version() == 2 && !c.rootfs().empty()) {
    auto* m = li.add_mounts();
    m->set_source(backend_->cgroupPath(rel(c.id())));
    m->set_target("/sys/fs/cgroup");
    m->set_type("bind");
    for (const char* o : {"rbind", "ro", "nosuid", "nodev", "noexec"}) m->add_options(o);
    m->set_create_dir(true);
  }
  return li;
}

Result<void> CgroupsIsolator::isolate(const v1::IsolateRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  std::string id = formatId(c.id());
  if (req.pid() <= 0) return fail(Code::InvalidArgument, "container '" + id + "': invalid pid");
  // A DEBUG or sharing container's processes join the cgroups of its
  // nearest ancestor that has some.
  v1::ContainerID target = c.id();
  if (hasNoCgroup(c.config())) {
    target = parentOf(c.id());
    while (!backend_->exists(rel(target)) && hasParent(target)) target = parentOf(target);
  }
  if (!backend_->exists(rel(target))) {
    return fail(Code::NotFound, "container '" + id + "': cgroup '" +
                                    backend_->cgroupPath(rel(target)) + "' does not exist");
  }
  auto r = backend_->attach(rel(target), req.pid());
  if (!r) return fail(std::move(r.error().context("container '" + id + "'")));
  // oom_score_adj of warren-init, which its command and children inherit.
  auto l = limitsFromConfig(c.config());
  if (l && l->has_oom_score_adj) {
    std::string file = "/proc/" + std::to_string(req.pid()) + "/oom_score_adj";
    auto w = writeExisting(file, std::to_string(l->oom_score_adj));
    if (!w) {
      std::string why = w.error().err() == EACCES ? " (lowering it below the current value needs "
                                                    "CAP_SYS_RESOURCE, which this warren lacks)"
                                                  : "";
      return fail(Code::FailedPrecondition, "container '" + id + "': cgroups.oom_score_adj=" +
                                                std::to_string(l->oom_score_adj) + ": " + w.error().message() +
                                                why);
    }
  }
  return {};
}

Result<void> CgroupsIsolator::cleanup(const v1::ContainerRequest& req) {
  if (!validateId(req.id())) return {};  // nothing of ours can be named by it
  std::string id = formatId(req.id());
  if (req.has_state() && hasNoCgroup(req.state().config())) return {};  // an ancestor's cgroups
  Result<void> r;
  if (backend_->exists(rel(req.id()))) {
    r = backend_->destroy(rel(req.id()));
    if (!r) {
      r.error().context("container '" + id + "': cleanup");
      log_->error("container_id={} {}", id, r.error().message());
    } else {
      log_->info("container_id={} cgroup removed", id);
    }
  }
  if (r) removeRecords(id);
  return r;
}

Result<void> CgroupsIsolator::recover(const v1::RecoverRequest& req) {
  std::set<std::string> known;
  for (const auto& s : req.containers()) known.insert(formatId(s.id()));
  Result<void> r = removeOrphans(root_rel_, "", known);
  // Records of containers warren no longer knows.
  if (!records_dir_.empty()) {
    auto names = record::listNames(records_dir_, "cgroups limit records");
    for (const auto& n : names ? *names : std::vector<std::string>{}) {
      if (!known.count(n)) ::unlink((records_dir_ + "/" + n).c_str());
    }
  }
  return r;
}

Result<void> CgroupsIsolator::removeOrphans(const std::string& rel_dir, const std::string& prefix,
                                            const std::set<std::string>& known) {
  Result<void> first;
  for (const auto& name : backend_->children(rel_dir)) {
    std::string id = prefix.empty() ? name : prefix + "." + name;
    std::string child = rel_dir + "/" + name;
    Result<void> r;
    if (known.count(id)) {
      r = removeOrphans(child, id, known);
    } else {
      log_->warn("container_id={} orphan cgroup {}: killing its processes and removing it", id,
                 backend_->cgroupPath(child));
      r = backend_->destroy(child);
      if (!r) r.error().context("orphan cgroup '" + backend_->cgroupPath(child) + "'");
    }
    if (!r && first) first = r;
  }
  return first;
}

}  // namespace warren::isolators::cgroups
