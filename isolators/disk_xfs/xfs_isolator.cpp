#include "xfs_isolator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "quota.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::isolators::disk_xfs {
namespace {

constexpr uint32_t kDefaultIntervalMs = 1000;

int pidfdOpen(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// /proc/<pid>/stat field 22 (start time), 0 when unreadable.
uint64_t startTime(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

// An exclusive lock on the records (several warren processes may launch at once).
Result<UniqueFd> lockRecords(const std::string& dir) {
  std::string path = dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return failErrno("disk/xfs: open '" + path + "'");
  if (::flock(fd.get(), LOCK_EX) != 0) return failErrno("disk/xfs: flock '" + path + "'");
  return fd;
}

// The project of the directory holding `dir` (what its files go back to).
uint32_t surroundingProject(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  std::string parent = slash == 0 ? "/" : dir.substr(0, slash);
  UniqueFd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return 0;
  auto p = projectOf(fd.get());
  return p ? *p : 0;
}

}  // namespace

XfsIsolator::XfsIsolator(Config config, ProjectRange range, UniqueFd fs, std::string records_dir)
    : config_(std::move(config)),
      range_(range),
      fs_(std::move(fs)),
      records_dir_(std::move(records_dir)),
      log_(sdk::makeLogger("warren.isolator.disk.xfs")) {
  struct stat st {};
  if (::fstat(fs_.get(), &st) == 0) dev_ = st.st_dev;
  if (auto b = blockSize(fs_.get()); b && *b > 0) block_ = *b;
  poller_ = std::thread([this] { loop(); });
}

XfsIsolator::~XfsIsolator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

Result<std::unique_ptr<XfsIsolator>> XfsIsolator::create(const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<Config>(ctx);
  if (!cfg) return fail(std::move(cfg.error()).context("disk/xfs"));
  auto range = parseProjectRange(cfg->project_ids());
  if (!range) return fail(range.error());
  if (cfg->interval_ms() == 0) cfg->set_interval_ms(kDefaultIntervalMs);
  if (cfg->interval_ms() < 10) {
    return fail(Code::InvalidArgument, "invalid config: disk/xfs interval_ms " +
                                           std::to_string(cfg->interval_ms()) + " is below 10");
  }
  if (ctx.work_dir().empty()) return fail(Code::InvalidArgument, "disk/xfs: no work dir");
  auto fs = openProjectQuotaDir(ctx.work_dir());
  if (!fs) return fail(std::move(fs.error()).context("work dir"));
  std::string records = ctx.plugin_work_dir().empty() ? ctx.work_dir() + "/plugins/disk_xfs"
                                                      : ctx.plugin_work_dir();
  records += "/projects";
  if (auto made = fs::mkdirs(records, 0700); !made) return fail(std::move(made.error()).context("disk/xfs"));
  return std::unique_ptr<XfsIsolator>(new XfsIsolator(std::move(*cfg), *range, std::move(*fs), records));
}

v1::PluginInfo XfsIsolator::describe() {
  v1::PluginInfo i;
  i.add_container_fields("resources.disk_bytes");
  for (const char* f : {"project_ids", "interval_ms", "passive"}) i.add_config_fields(f);
  return i;
}

v1::PluginInfo XfsIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  i.set_thread_safe(true);
  return i;
}

// Every record; an unreadable one fails closed (its project may be in use).
Result<Held> XfsIsolator::loadLocked() const {
  Held held;
  WARREN_ASSIGN_OR_RETURN(auto names, record::listNames(records_dir_, "disk/xfs project records"));
  for (const auto& n : names) {
    uint32_t project = projectOfRecordName(n);
    if (project == 0) {
      if (n == ".lock") continue;
      return fail(Code::FailedPrecondition, "disk/xfs: '" + records_dir_ + "/" + n +
                                                "' is not a project record (quarantined or foreign); no "
                                                "project id is handed out until an operator removes it");
    }
    std::string path = records_dir_ + "/" + n;
    ino_t inode = 0;
    auto payload = record::readSealed(path, &inode);
    if (!payload && payload.error().err() == ENOENT) continue;
    Result<Holding> h = payload ? parseHolding(*payload) : fail(payload.error());
    if (!h) {
      auto moved = record::quarantine(path, inode);
      return fail(Code::FailedPrecondition, "disk/xfs: project record '" + path + "' is unreadable (" +
                                                h.error().message() + "): quarantined" +
                                                (moved ? " as '" + *moved + "'" : ""));
    }
    held[project] = std::move(*h);
  }
  return held;
}

Result<std::pair<uint32_t, Holding>> XfsIsolator::heldBy(const std::string& id) const {
  WARREN_ASSIGN_OR_RETURN(Held held, loadLocked());
  for (auto& [p, h] : held) {
    if (h.container == id) return std::make_pair(p, h);
  }
  return fail(Code::NotFound, "container '" + id + "' holds no XFS project");
}

Result<void> XfsIsolator::releaseLocked(uint32_t project, const Holding& h) {
  Result<void> res;
  if (fs::exists(h.sandbox)) {
    uint32_t back = surroundingProject(h.sandbox);
    if (auto r = setProjectTree(h.sandbox, back, back != 0); !r) res = fail(r.error());
  }
  if (auto r = setProjectLimit(fs_.get(), project, 0); !r && res) res = fail(r.error());
  std::string path = records_dir_ + "/" + std::to_string(project);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && res) res = failErrno("remove '" + path + "'");
  if (!res) return fail(std::move(res.error()).context("container '" + h.container + "': release project " +
                                                       std::to_string(project)));
  log_->info("container_id={} released XFS project {}", h.container, project);
  return {};
}

Result<v1::LaunchInfo> XfsIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  const uint64_t limit = c.config().resources().disk_bytes();
  if (limit == 0 || c.config().container_class() == v1::DEBUG) return v1::LaunchInfo{};
  const std::string id = formatId(c.id());
  struct stat st {};
  if (::stat(c.sandbox().c_str(), &st) != 0) return failErrno("disk/xfs: container '" + id + "': sandbox");
  if (st.st_dev != dev_) {
    return fail(Code::FailedPrecondition, "disk/xfs: container '" + id + "': sandbox '" + c.sandbox() +
                                              "' is not on the work dir's XFS file system");
  }
  std::lock_guard guard(mu_);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  WARREN_ASSIGN_OR_RETURN(Held held, loadLocked());
  auto project = allocateProject(id, range_, held);
  if (!project) return fail(std::move(project.error()).context("disk/xfs: container '" + id + "'"));
  Holding h{id, c.sandbox(), limit};
  auto done = [&]() -> Result<void> {
    WARREN_TRY(record::writeSealed(records_dir_ + "/" + std::to_string(*project), formatHolding(h)));
    WARREN_TRY(setProjectLimit(fs_.get(), *project, limit));
    return setProjectTree(c.sandbox(), *project, true);
  }();
  if (!done) {
    (void)releaseLocked(*project, h);
    return fail(std::move(done.error()).context("disk/xfs: container '" + id + "'"));
  }
  log_->info("container_id={} XFS project {} on sandbox {}, hard limit {} bytes", id, *project, c.sandbox(),
             limit);
  return v1::LaunchInfo{};
}

void XfsIsolator::watchLocked(const std::string& id, uint32_t project, uint64_t limit, int pid) {
  Watched w;
  w.project = project;
  w.limit = limit;
  w.pidfd.reset(pidfdOpen(pid));
  if (!w.pidfd) log_->warn("container_id={} pidfd_open {}: {}; it cannot be killed at its limit", id, pid, errno);
  watched_[id] = std::move(w);
}

Result<void> XfsIsolator::isolate(const v1::IsolateRequest& req) {
  const auto& c = req.container();
  if (c.config().resources().disk_bytes() == 0 || config_.passive()) return {};
  if (c.config().container_class() == v1::DEBUG) return {};
  const std::string id = formatId(c.id());
  std::lock_guard guard(mu_);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  auto held = heldBy(id);
  if (!held) return fail(std::move(held.error()).context("disk/xfs isolate"));
  watchLocked(id, held->first, held->second.limit, req.pid());
  cv_.notify_all();
  return {};
}

// Records of containers warren no longer runs are released; a running
// container with disk_bytes whose record is missing gets it back from its
// sandbox's project id, so that id is never handed out twice.
Result<void> XfsIsolator::recover(const v1::RecoverRequest& req) {
  std::lock_guard guard(mu_);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  WARREN_ASSIGN_OR_RETURN(Held held, loadLocked());
  std::map<std::string, const v1::ContainerState*> live;
  for (const auto& s : req.containers()) {
    if (s.state() != v1::TERMINATED) live[formatId(s.id())] = &s;
  }
  std::set<std::string> holders;
  Result<void> res;
  for (const auto& [project, h] : held) {
    if (live.count(h.container)) {
      holders.insert(h.container);
      continue;
    }
    log_->warn("container_id={} is not running: its XFS project {} is released", h.container, project);
    if (auto r = releaseLocked(project, h); !r && res) res = fail(r.error());
  }
  for (const auto& [id, s] : live) {
    uint64_t limit = s->config().resources().disk_bytes();
    if (limit == 0 || s->config().container_class() == v1::DEBUG) continue;
    uint32_t project = 0;
    for (const auto& [p, h] : held) {
      if (h.container == id) project = p;
    }
    if (project == 0) {  // rebuilt from the sandbox's own project id
      UniqueFd fd(::open(s->sandbox().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      auto p = fd ? projectOf(fd.get()) : Result<uint32_t>(fail(Code::NotFound, "no sandbox"));
      if (!p || *p < range_.first || *p > range_.last) continue;
      project = *p;
      WARREN_TRY(record::writeSealed(records_dir_ + "/" + std::to_string(project),
                                     formatHolding({id, s->sandbox(), limit})));
      log_->warn("container_id={} XFS project record rebuilt from its sandbox ({})", id, project);
    }
    if (config_.passive() || s->state() != v1::RUNNING || s->pid() <= 0) continue;
    if (s->start_time() != 0 && startTime(s->pid()) != s->start_time()) continue;  // gone (pid reused)
    watchLocked(id, project, limit, s->pid());
  }
  cv_.notify_all();
  log_->info("recovered XFS projects of {} container(s)", holders.size());
  return res;
}

Result<void> XfsIsolator::update(const v1::UpdateRequest& req) {
  uint64_t limit = req.resources().disk_bytes();
  if (limit == 0) return {};
  const std::string id = formatId(req.container().id());
  std::lock_guard guard(mu_);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  auto held = heldBy(id);
  if (!held) {
    return fail(Code::FailedPrecondition, "disk/xfs: container '" + id +
                                              "' was launched without resources.disk_bytes; it has no "
                                              "XFS project to change");
  }
  held->second.limit = limit;
  WARREN_TRY(setProjectLimit(fs_.get(), held->first, limit));
  WARREN_TRY(record::writeSealed(records_dir_ + "/" + std::to_string(held->first), formatHolding(held->second)));
  auto it = watched_.find(id);
  if (it != watched_.end()) it->second.limit = limit;
  log_->info("container_id={} XFS project {} hard limit now {} bytes", id, held->first, limit);
  return {};
}

Result<v1::ResourceStatistics> XfsIsolator::usage(const v1::ContainerRequest& req) {
  v1::ResourceStatistics stats;
  const std::string id = formatId(req.id());
  std::lock_guard guard(mu_);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  auto held = heldBy(id);
  if (!held) return stats;  // not limited
  WARREN_ASSIGN_OR_RETURN(QuotaUsage q, projectQuota(fs_.get(), held->first));
  stats.set_disk_limit_bytes(q.hard_limit_bytes);
  stats.set_disk_used_bytes(q.used_bytes);
  return stats;
}

// Less than one block of its quota left: its writes fail (ENOSPC: XFS's
// answer for a project quota). (A
// limit that is not a multiple of the block size is never reached exactly.)
void XfsIsolator::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(config_.interval_ms()));
    if (stop_) break;
    for (auto it = watched_.begin(); it != watched_.end();) {
      auto q = projectQuota(fs_.get(), it->second.project);
      if (!q) {
        log_->warn("container_id={} {}", it->first, q.error().message());
        ++it;
        continue;
      }
      if (q->used_bytes + block_ <= it->second.limit) {
        ++it;
        continue;
      }
      v1::Limitation l;
      l.set_reason(v1::Limitation::DISK);
      l.set_message("disk usage " + std::to_string(q->used_bytes) + " bytes of XFS project " +
                    std::to_string(it->second.project) + " reached resources.disk_bytes " +
                    std::to_string(it->second.limit) + " (writes fail with ENOSPC)");
      l.mutable_resources()->set_disk_bytes(it->second.limit);
      l.set_peak_bytes(q->used_bytes);
      log_->warn("container_id={} {}; killing it", it->first, l.message());
      if (it->second.pidfd && ::syscall(SYS_pidfd_send_signal, it->second.pidfd.get(), SIGKILL, nullptr, 0) != 0) {
        log_->error("container_id={} kill at its disk limit failed: errno {}", it->first, errno);
      }
      exceeded_[it->first] = l;
      it = watched_.erase(it);
    }
  }
}

Result<v1::WatchResponse> XfsIsolator::watch(const v1::WatchRequest& req) {
  std::lock_guard guard(mu_);
  v1::WatchResponse r;
  auto it = exceeded_.find(formatId(req.id()));
  if (it != exceeded_.end()) *r.add_limitations() = it->second;
  return r;
}

Result<void> XfsIsolator::cleanup(const v1::ContainerRequest& req) {
  const std::string id = formatId(req.id());
  std::lock_guard guard(mu_);
  watched_.erase(id);
  exceeded_.erase(id);
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockRecords(records_dir_));
  auto held = heldBy(id);
  if (!held) {
    if (held.error().code() == Code::NotFound) return {};  // never limited, or released already
    return fail(held.error());
  }
  auto r = releaseLocked(held->first, held->second);
  if (!r) log_->error("{}", r.error().message());
  return r;
}

}  // namespace warren::isolators::disk_xfs
