#include "gpu_isolator.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <set>

#include "driver_volume.hpp"
#include "warren/isolators/gpu_nvidia/config.pb.h"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::gpu {

using Config = gpu_nvidia::Config;  // config proto package: from the short name

namespace {

constexpr const char* kDriverTarget = "/usr/local/nvidia";
const char* const kControlNodes[] = {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"};

Result<Node> statNode(const std::string& dev_dir, const std::string& name) {
  Node n{name, dev_dir + "/" + name};
  struct stat st {};
  if (::stat(n.host_path.c_str(), &st) != 0) return failErrno("device node '" + n.host_path + "'");
  if (!S_ISCHR(st.st_mode)) {
    return fail(Code::FailedPrecondition, "'" + n.host_path + "' is not a character device");
  }
  n.major = major(st.st_rdev);
  n.minor = minor(st.st_rdev);
  return n;
}

// Same rule as filesystem/linux: a container with a root of its own gets a
// fresh /dev; one without sees the host's (or its parent's) /dev.
bool hasOwnRootfs(const v1::ContainerContext& c) {
  if (c.rootfs().empty()) return false;
  if (!c.has_parent()) return true;
  bool asked = !c.config().rootfs().empty() || !c.config().image().empty();
  return asked && c.rootfs() != c.parent().rootfs();
}

v1::Mount bindMount(const std::string& source, const std::string& target, bool file, bool ro) {
  v1::Mount m;
  m.set_source(source);
  m.set_target(target);
  m.set_type("bind");
  m.add_options("bind");
  if (ro) m.add_options("ro");
  m.add_options("nosuid");
  if (file) m.set_create_file(true);
  else m.set_create_dir(true);
  return m;
}

// An exclusive lock on the allocation records (several warren processes
// may launch at once).
Result<UniqueFd> lockFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return failErrno("open '" + path + "'");
  if (::flock(fd.get(), LOCK_EX) != 0) return failErrno("flock '" + path + "'");
  return fd;
}

// The driver's user space from the loader cache and bin dirs, staged once
// per driver version; "" when the cache lists no library of this version
// (containers then get the device nodes only, as the log line says).
Result<std::string> gatherDriver(const Config& cfg, const std::string& version, const std::string& root,
                                 sdk::Logger& log) {
  const std::string cache = cfg.ld_cache().empty() ? "/etc/ld.so.cache" : cfg.ld_cache();
  if (version.empty()) {
    log.warn("NVML reports no driver version: containers get no {}", kDriverTarget);
    return std::string();
  }
  WARREN_ASSIGN_OR_RETURN(std::string bytes, fs::readFile(cache));
  WARREN_ASSIGN_OR_RETURN(auto entries, parseLoaderCache(bytes, "loader cache '" + cache + "'"));
  auto libs = driverLibraries(entries, version);
  if (libs.empty()) {
    log.warn("the loader cache '{}' lists no library of NVIDIA driver {}: containers get no {} (set driver_dir)",
             cache, version, kDriverTarget);
    return std::string();
  }
  std::vector<std::string> dirs(cfg.bin_dirs().begin(), cfg.bin_dirs().end());
  if (dirs.empty()) dirs = {"/usr/bin", "/usr/sbin", "/bin", "/sbin"};
  auto bins = driverBinaries(dirs);
  WARREN_ASSIGN_OR_RETURN(std::string dir, stageDriverVolume(root, version, libs, bins));
  log.info("driver {}: {} libraries and {} tools in {}, mounted at {}", version, libs.size(), bins.size(), dir,
           kDriverTarget);
  return dir;
}

}  // namespace

Result<Inventory> findNodes(std::vector<GpuInfo> gpus, const std::string& dev_dir) {
  Inventory inv;
  std::sort(gpus.begin(), gpus.end(), [](auto& a, auto& b) { return a.minor < b.minor; });
  for (size_t i = 0; i < gpus.size(); ++i) {
    if (i > 0 && gpus[i].minor == gpus[i - 1].minor) {
      return fail(Code::InvalidArgument, "GPU minor " + std::to_string(gpus[i].minor) + " is listed twice");
    }
    auto n = statNode(dev_dir, "nvidia" + std::to_string(gpus[i].minor));
    if (!n) return fail(std::move(n.error()).context("GPU " + std::to_string(gpus[i].minor)));
    inv.gpu_nodes.push_back(*n);
  }
  inv.gpus = std::move(gpus);
  for (const char* name : kControlNodes) {
    if (!fs::exists(dev_dir + "/" + name)) continue;
    WARREN_ASSIGN_OR_RETURN(auto n, statNode(dev_dir, name));
    inv.control_nodes.push_back(n);
  }
  return inv;
}

Result<std::unique_ptr<NvidiaGpuIsolator>> NvidiaGpuIsolator::create(const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<Config>(ctx);
  if (!cfg) return fail(std::move(cfg.error()).context(kShortName));
  auto log = sdk::makeLogger("warren.isolator.gpu.nvidia");
  std::string dev_dir = cfg->dev_dir().empty() ? "/dev" : cfg->dev_dir();
  std::unique_ptr<Nvml> nvml;
  std::vector<GpuInfo> gpus;
  if (cfg->devices_size() > 0) {
    for (const auto& d : cfg->devices()) gpus.push_back({d.minor(), d.uuid(), ""});
  } else {
    auto loaded = Nvml::load(cfg->nvml_library());
    if (!loaded) {
      return fail(Code::FailedPrecondition,
                  std::string(kShortName) + ": no GPUs to manage: " + loaded.error().message() +
                      ", and the config lists no static 'devices'");
    }
    nvml = std::move(*loaded);
    auto found = nvml->devices();
    if (!found) return fail(std::move(found.error()).context(kShortName));
    gpus = std::move(*found);
    log->info("NVML {} (driver {}): {} GPU(s)", nvml->library(), nvml->driverVersion(), gpus.size());
  }
  auto inv = findNodes(std::move(gpus), dev_dir);
  if (!inv) return fail(std::move(inv.error()).context(kShortName));
  if (!cfg->driver_dir().empty()) {
    struct stat st {};
    if (cfg->driver_dir()[0] != '/' || ::stat(cfg->driver_dir().c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
      return fail(Code::InvalidArgument, std::string(kShortName) + ": driver_dir '" +
                                             cfg->driver_dir() + "' is not an absolute directory");
    }
  }
  if (ctx.plugin_runtime_dir().empty()) {
    return fail(Code::FailedPrecondition, std::string(kShortName) + ": the host gave no runtime dir");
  }
  std::string driver_dir = cfg->driver_dir();
  if (driver_dir.empty() && nvml) {
    auto found = gatherDriver(*cfg, nvml->driverVersion(), ctx.plugin_runtime_dir() + "/driver", *log);
    if (!found) return fail(std::move(found.error()).context(kShortName));
    driver_dir = *found;
  }
  std::string records = ctx.plugin_runtime_dir() + "/allocations";
  auto made = fs::mkdirs(records, 0700);
  if (!made) return fail(std::move(made.error()).context(kShortName));
  return std::unique_ptr<NvidiaGpuIsolator>(new NvidiaGpuIsolator(
      std::move(*inv), std::move(nvml), driver_dir, records, std::move(log)));
}

NvidiaGpuIsolator::NvidiaGpuIsolator(Inventory inv, std::unique_ptr<Nvml> nvml, std::string driver_dir,
                                     std::string records_dir, std::shared_ptr<sdk::Logger> log)
    : inv_(std::move(inv)),
      nvml_(std::move(nvml)),
      driver_dir_(std::move(driver_dir)),
      records_dir_(std::move(records_dir)),
      lock_path_(records_dir_ + ".lock"),
      log_(std::move(log)) {}

v1::PluginInfo NvidiaGpuIsolator::describe() {
  v1::PluginInfo i;
  i.add_container_fields("resources.gpus");
  return i;
}

v1::PluginInfo NvidiaGpuIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  i.add_after("filesystem/linux");  // our /dev binds go on its fresh /dev
  i.add_before("cgroups");          // which allows our LaunchInfo.devices
  return i;
}

v1::LaunchInfo NvidiaGpuIsolator::describe(const v1::ContainerContext& c,
                                           const std::vector<uint32_t>& minors) const {
  v1::LaunchInfo li;
  const bool own_dev = hasOwnRootfs(c);
  std::vector<const Node*> nodes;
  std::string visible;
  for (uint32_t m : minors) {
    for (size_t i = 0; i < inv_.gpus.size(); ++i) {
      if (inv_.gpus[i].minor != m) continue;
      nodes.push_back(&inv_.gpu_nodes[i]);
      const std::string& uuid = inv_.gpus[i].uuid;
      visible += (visible.empty() ? "" : ",") + (uuid.empty() ? std::to_string(m) : uuid);
    }
  }
  for (const auto& n : inv_.control_nodes) nodes.push_back(&n);
  for (const Node* n : nodes) {
    auto* d = li.add_devices();
    d->set_path("/dev/" + n->name);
    d->set_type("c");
    d->set_major(n->major);
    d->set_minor(n->minor);
    d->set_access("rw");
    if (own_dev) *li.add_mounts() = bindMount(n->host_path, "/dev/" + n->name, true, false);
  }
  (*li.mutable_env())["NVIDIA_VISIBLE_DEVICES"] = visible;
  if (own_dev && !driver_dir_.empty()) *li.add_mounts() = bindMount(driver_dir_, kDriverTarget, false, true);
  return li;
}

Result<v1::LaunchInfo> NvidiaGpuIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  const std::string id = formatId(c.id());
  for (const auto& [key, value] : c.config().isolator_settings()) {
    if (key.rfind(std::string(kShortName) + ".", 0) == 0) {
      return fail(Code::InvalidArgument, "container '" + id + "': unknown isolator setting '" + key +
                                             "' (gpu/nvidia takes resources.gpus only)");
    }
  }
  const uint32_t count = c.config().resources().gpus();
  // DEBUG containers share their parent's cgroup, mount namespace and
  // environment, hence its GPUs; the core refuses resources for them.
  if (c.config().container_class() == v1::DEBUG || count == 0) return v1::LaunchInfo{};
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  WARREN_ASSIGN_OR_RETURN(Allocations held, loadRecords(records_dir_));
  std::vector<uint32_t> host;
  for (const auto& g : inv_.gpus) host.push_back(g.minor);
  WARREN_ASSIGN_OR_RETURN(auto minors, allocate(c.id(), count, host, held));
  v1::LaunchInfo li = describe(c, minors);
  auto w = writeRecord(records_dir_, id, minors);
  if (!w) return fail(std::move(w.error()).context("container '" + id + "': record its GPUs"));
  log_->info("container_id={} GPUs {} allocated", id, formatMinors(minors));
  return li;
}

Result<void> NvidiaGpuIsolator::cleanup(const v1::ContainerRequest& req) {
  if (!validateId(req.id())) return {};
  const std::string id = formatId(req.id());
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  if (fs::exists(records_dir_ + "/" + id)) {
    removeRecord(records_dir_, id);
    log_->info("container_id={} GPUs released", id);
  }
  return {};
}

Result<void> NvidiaGpuIsolator::recover(const v1::RecoverRequest& req) {
  std::set<std::string> known;
  for (const auto& s : req.containers()) known.insert(formatId(s.id()));
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  WARREN_ASSIGN_OR_RETURN(Allocations held, loadRecords(records_dir_));
  size_t kept = 0;
  for (const auto& [id, minors] : held) {
    if (known.count(id)) {
      ++kept;
      continue;
    }
    log_->warn("container_id={} unknown to warren: its GPUs {} are released", id, formatMinors(minors));
    removeRecord(records_dir_, id);
  }
  log_->info("recovered GPU allocations of {} container(s)", kept);
  return {};
}

Result<v1::ResourceStatistics> NvidiaGpuIsolator::usage(const v1::ContainerRequest& req) {
  v1::ResourceStatistics stats;
  WARREN_TRY(validateId(req.id()));
  WARREN_ASSIGN_OR_RETURN(Allocations held, loadRecords(records_dir_));
  auto it = held.find(formatId(req.id()));
  if (it == held.end()) return stats;
  for (uint32_t m : it->second) {
    auto* g = stats.add_gpus();
    g->set_minor(m);
    for (const auto& info : inv_.gpus) {
      if (info.minor == m) g->set_uuid(info.uuid);
    }
    if (!nvml_) continue;
    GpuSample s = nvml_->sample(m);
    if (s.utilization_percent) g->set_utilization_percent(*s.utilization_percent);
    if (s.memory_used_bytes) g->set_memory_used_bytes(*s.memory_used_bytes);
    if (s.memory_total_bytes) g->set_memory_total_bytes(*s.memory_total_bytes);
  }
  return stats;
}

Result<v1::ContainerStatus> NvidiaGpuIsolator::status(const v1::ContainerRequest& req) {
  v1::ContainerStatus st;
  WARREN_TRY(validateId(req.id()));
  WARREN_ASSIGN_OR_RETURN(Allocations held, loadRecords(records_dir_));
  auto it = held.find(formatId(req.id()));
  if (it != held.end()) (*st.mutable_labels())["gpu/nvidia.gpus"] = formatMinors(it->second);
  return st;
}

}  // namespace warren::isolators::gpu
