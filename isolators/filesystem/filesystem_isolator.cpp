#include "filesystem_isolator.hpp"

#include <dirent.h>
#include <cstdio>
#include <unistd.h>

#include <set>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::filesystem {
namespace {

bool kernelHas(const std::string& fstype) {
  auto text = fs::readFile("/proc/filesystems");
  if (!text) return false;
  return text->find("\t" + fstype + "\n") != std::string::npos;
}

Result<SysMode> parseSysMode(const std::string& s) {
  if (s.empty() || s == "sysfs") return SysMode::Sysfs;
  if (s == "bind") return SysMode::Bind;
  if (s == "none") return SysMode::None;
  return fail(Code::InvalidArgument, "invalid config: sys_mode '" + s + "' (use sysfs, bind or none)");
}

Result<void> checkAbsolute(const std::string& what, const std::string& p) {
  if (p.empty() || p.front() != '/' || p.find("..") != std::string::npos) {
    return fail(Code::InvalidArgument, "invalid config: " + what + " '" + p +
                                           "' must be an absolute path without '..'");
  }
  return {};
}

bool below(const std::string& path, const std::string& root) {
  return !root.empty() && path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

Error summarize(const std::string& what, const std::vector<Error>& errors) {
  std::string msg = what + ": " + errors.front().message();
  if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
  return Error(errors.front().code(), msg, errors.front().err());
}

}  // namespace

LinuxFilesystemIsolator::LinuxFilesystemIsolator(LayoutOptions options, std::string work_dir,
                                                 std::string runtime_dir, std::string records_dir)
    : options_(std::move(options)),
      work_dir_(std::move(work_dir)),
      runtime_dir_(std::move(runtime_dir)),
      records_dir_(std::move(records_dir)),
      log_(sdk::makeLogger("warren.isolator.filesystem.linux")) {}

Result<std::unique_ptr<LinuxFilesystemIsolator>> LinuxFilesystemIsolator::create(
    const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<Config>(ctx);
  if (!cfg) return fail(cfg.error());
  LayoutOptions o;
  o.readonly_rootfs = cfg->readonly_rootfs();
  auto sys = parseSysMode(cfg->sys_mode());
  if (!sys) return fail(sys.error());
  o.sys = *sys;
  o.mqueue = cfg->has_mqueue() ? cfg->mqueue() : true;
  if (o.mqueue && !kernelHas("mqueue")) o.mqueue = false;  // logged below
  if (cfg->shm_size_bytes() != 0) o.shm_bytes = cfg->shm_size_bytes();
  for (const auto& p : cfg->masked_paths()) {
    WARREN_TRY(checkAbsolute("masked path", p));
    o.extra_masked_paths.push_back(p);
  }
  for (const auto& p : cfg->readonly_paths()) {
    WARREN_TRY(checkAbsolute("read-only path", p));
    o.extra_readonly_paths.push_back(p);
  }
  std::string records = ctx.plugin_runtime_dir();
  if (records.empty() && !ctx.runtime_dir().empty()) {
    records = ctx.runtime_dir() + "/plugins/filesystem_linux";
  }
  if (!records.empty()) {
    records += "/containers";
    auto made = fs::mkdirs(records, 0700);
    if (!made) return fail(std::move(made.error()).context("filesystem/linux records"));
  }
  std::unique_ptr<LinuxFilesystemIsolator> self(new LinuxFilesystemIsolator(
      std::move(o), canonical(ctx.work_dir()), canonical(ctx.runtime_dir()), records));
  if (cfg->has_mqueue() ? cfg->mqueue() : true) {
    if (!self->options_.mqueue) self->log_->warn("no mqueue filesystem in this kernel: /dev/mqueue skipped");
  }
  return self;
}

namespace {
// A record's file name: a hash of the full ID, since a 32-level ID can be far
// longer than a file name may be (255 bytes).
std::string recordName(const std::string& id) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : id) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

std::string LinuxFilesystemIsolator::recordPath(const std::string& id) const {
  return records_dir_ + "/" + recordName(id);
}

Result<void> LinuxFilesystemIsolator::writeRecord(const ContainerRecord& record) const {
  if (records_dir_.empty()) return {};
  std::string bytes;
  if (!record.SerializeToString(&bytes)) return fail(Code::Internal, "cannot serialize record");
  return fs::writeFileAtomic(recordPath(record.id()), bytes);
}

std::map<std::string, ContainerRecord> LinuxFilesystemIsolator::loadRecords() const {
  std::map<std::string, ContainerRecord> out;
  if (records_dir_.empty()) return out;
  DIR* d = ::opendir(records_dir_.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.find(".tmp") != std::string::npos) continue;
    auto bytes = fs::readFile(records_dir_ + "/" + name);
    ContainerRecord r;
    if (!bytes || !r.ParseFromString(*bytes) || recordName(r.id()) != name) {
      log_->warn("ignoring unreadable record '{}/{}'", records_dir_, name);
      continue;
    }
    std::string id = r.id();
    out.emplace(id, std::move(r));
  }
  ::closedir(d);
  return out;
}

bool LinuxFilesystemIsolator::ours(const std::string& path) const {
  return below(path, work_dir_) || below(path, runtime_dir_);
}

Result<int> LinuxFilesystemIsolator::sweep(const SweepScope& scope, const std::string& what) const {
  if (scope.roots.empty()) return 0;
  auto table = readMountInfo();
  if (!table) return fail(std::move(table.error()).context(what));
  auto plan = planSweep(*table, scope);
  auto res = unmountAll(plan);
  for (const auto& e : plan) log_->info("{}: unmounted '{}' ({})", what, e.target, e.fstype);
  if (!res.errors.empty()) return fail(summarize(what, res.errors));
  return res.unmounted;
}

v1::PluginInfo LinuxFilesystemIsolator::describe() {
  v1::PluginInfo i;
  i.add_container_fields("ipc_mode");
  i.add_container_fields("shm_size_bytes");
  return i;
}

v1::PluginInfo LinuxFilesystemIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  return i;
}

Result<v1::LaunchInfo> LinuxFilesystemIsolator::prepare(const v1::PrepareRequest& request) {
  const auto& c = request.container();
  WARREN_TRY(validateId(c.id()));
  std::string id = formatId(c.id());
  auto li = buildLaunchInfo(c, options_);
  if (!li) return fail(li.error());
  if (c.config().container_class() != v1::DEBUG) {
    ContainerRecord record;
    record.set_id(id);
    record.set_sandbox(c.sandbox());
    if (hasOwnRootfs(c)) record.set_rootfs(c.rootfs());
    record.set_runtime_dir(c.runtime_dir());
    auto w = writeRecord(record);
    if (!w) return fail(std::move(w.error()).context("container_id=" + id));
  }
  log_->info("container_id={} rootfs={} readonly_rootfs={}", id,
             li->rootfs().empty() ? "(shared)" : li->rootfs(), li->readonly_rootfs());
  return li;
}

Result<void> LinuxFilesystemIsolator::cleanup(const v1::ContainerRequest& request) {
  if (!validateId(request.id())) return {};  // never ours
  std::string id = formatId(request.id());
  auto records = loadRecords();
  auto it = records.find(id);
  SweepScope scope;
  std::set<std::string> roots;
  if (it != records.end()) {
    roots = {it->second.sandbox(), it->second.rootfs()};
  } else {
    roots = {request.state().sandbox(), request.state().launch_info().rootfs()};
  }
  for (const auto& r : roots) {
    std::string c = canonical(r);
    if (!c.empty() && ours(c)) scope.roots.push_back(c);
  }
  auto swept = sweep(scope, "cleanup container_id=" + id);
  if (it != records.end()) ::unlink(recordPath(id).c_str());
  if (!swept) return fail(swept.error());
  return {};
}

Result<void> LinuxFilesystemIsolator::recover(const v1::RecoverRequest& request) {
  auto records = loadRecords();
  SweepScope scope;
  for (const auto& r : {work_dir_, runtime_dir_}) {
    if (r.empty()) continue;
    scope.roots.push_back(r);
    // Other plugins own what lies in their directories.
    scope.skip.push_back(r + "/plugins");
  }
  std::set<std::string> known;
  for (const auto& s : request.containers()) {
    if (!validateId(s.id())) continue;
    std::string id = formatId(s.id());
    known.insert(id);
    scope.keep_components.push_back(id);
    for (const auto& p : {s.sandbox(), s.rootfs(), s.launch_info().rootfs()}) {
      if (!p.empty()) scope.owned.push_back({canonical(p), true});
    }
  }
  for (const auto& [id, r] : records) {
    bool k = known.count(id) > 0;
    for (const auto& p : {r.sandbox(), r.rootfs(), r.runtime_dir()}) {
      if (!p.empty()) scope.owned.push_back({canonical(p), k});
    }
  }
  // One read of mountinfo for the whole recovery.
  auto swept = sweep(scope, "recover");
  for (const auto& [id, r] : records) {
    if (!known.count(id)) ::unlink(recordPath(id).c_str());
  }
  if (!swept) return fail(swept.error());
  log_->info("recover: {} known container(s), {} orphan mount(s) removed", known.size(), *swept);
  return {};
}

}  // namespace warren::isolators::filesystem
