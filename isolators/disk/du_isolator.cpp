#include "du_isolator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "warren/sdk/ids.hpp"

namespace warren::isolators::disk_du {
namespace {

constexpr uint32_t kDefaultIntervalMs = 15000;

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

}  // namespace

uint64_t diskUsage(const std::string& dir) {
  namespace stdfs = std::filesystem;
  struct stat root {};
  if (::lstat(dir.c_str(), &root) != 0) return 0;
  uint64_t total = static_cast<uint64_t>(root.st_blocks) * 512;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  stdfs::recursive_directory_iterator it(dir, stdfs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;  // gone meanwhile
    if (st.st_dev != root.st_dev) {  // another file system (never ours to count)
      if (S_ISDIR(st.st_mode)) it.disable_recursion_pending();
      continue;
    }
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

DuIsolator::DuIsolator(uint32_t interval_ms)
    : interval_ms_(interval_ms), log_(sdk::makeLogger("warren.isolator.disk.du")) {
  poller_ = std::thread([this] { loop(); });
}

DuIsolator::~DuIsolator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

Result<std::unique_ptr<DuIsolator>> DuIsolator::create(const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<Config>(ctx);
  if (!cfg) return fail(std::move(cfg.error()).context("disk/du"));
  uint32_t interval = cfg->interval_ms() == 0 ? kDefaultIntervalMs : cfg->interval_ms();
  if (interval < 10) {
    return fail(Code::InvalidArgument, "invalid config: disk/du interval_ms " + std::to_string(interval) +
                                           " is below 10");
  }
  return std::unique_ptr<DuIsolator>(new DuIsolator(interval));
}

v1::PluginInfo DuIsolator::describe() {
  v1::PluginInfo i;
  i.add_container_fields("resources.disk_bytes");
  i.add_config_fields("interval_ms");
  return i;
}

v1::PluginInfo DuIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  i.set_thread_safe(true);
  return i;
}

void DuIsolator::watchLocked(const std::string& id, const std::string& sandbox, uint64_t limit, int pid) {
  Watched w;
  w.sandbox = sandbox;
  w.limit = limit;
  w.pidfd.reset(pidfdOpen(pid));
  if (!w.pidfd) log_->warn("container_id={} pidfd_open {}: {}; it cannot be killed at its limit", id, pid, errno);
  watched_[id] = std::move(w);
  log_->info("container_id={} watching sandbox {} (limit {} bytes, every {} ms)", id, sandbox, limit, interval_ms_);
}

Result<void> DuIsolator::recover(const v1::RecoverRequest& req) {
  std::lock_guard lock(mu_);
  for (const auto& s : req.containers()) {
    uint64_t limit = s.config().resources().disk_bytes();
    if (limit == 0 || s.state() != v1::RUNNING || s.pid() <= 0) continue;
    if (s.start_time() != 0 && startTime(s.pid()) != s.start_time()) continue;  // gone (pid reused)
    watchLocked(formatId(s.id()), s.sandbox(), limit, s.pid());
  }
  return {};
}

Result<void> DuIsolator::isolate(const v1::IsolateRequest& req) {
  const auto& c = req.container();
  uint64_t limit = c.config().resources().disk_bytes();
  if (limit == 0) return {};
  std::lock_guard lock(mu_);
  watchLocked(formatId(c.id()), c.sandbox(), limit, req.pid());
  cv_.notify_all();
  return {};
}

Result<void> DuIsolator::update(const v1::UpdateRequest& req) {
  if (req.resources().disk_bytes() == 0) return {};
  std::lock_guard lock(mu_);
  auto it = watched_.find(formatId(req.container().id()));
  if (it != watched_.end()) it->second.limit = req.resources().disk_bytes();
  return {};
}

Result<v1::ResourceStatistics> DuIsolator::usage(const v1::ContainerRequest& req) {
  std::string sandbox;
  uint64_t limit = 0;
  {
    std::lock_guard lock(mu_);
    auto it = watched_.find(formatId(req.id()));
    if (it == watched_.end()) return v1::ResourceStatistics{};  // not limited
    sandbox = it->second.sandbox;
    limit = it->second.limit;
  }
  v1::ResourceStatistics stats;
  stats.set_disk_limit_bytes(limit);
  stats.set_disk_used_bytes(diskUsage(sandbox));
  return stats;
}

void DuIsolator::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_));
    if (stop_) break;
    std::vector<std::pair<std::string, std::pair<std::string, uint64_t>>> todo;
    for (const auto& [id, w] : watched_) todo.push_back({id, {w.sandbox, w.limit}});
    lock.unlock();
    std::vector<std::pair<std::string, uint64_t>> over;
    for (const auto& [id, what] : todo) {
      uint64_t used = diskUsage(what.first);
      if (used > what.second) over.push_back({id, used});
    }
    lock.lock();
    for (const auto& [id, used] : over) {
      auto it = watched_.find(id);
      if (it == watched_.end()) continue;  // cleaned up meanwhile
      v1::Limitation l;
      l.set_reason(v1::Limitation::DISK);
      l.set_message("disk usage " + std::to_string(used) + " bytes of sandbox '" + it->second.sandbox +
                    "' exceeds resources.disk_bytes " + std::to_string(it->second.limit));
      l.mutable_resources()->set_disk_bytes(it->second.limit);
      l.set_peak_bytes(used);
      log_->warn("container_id={} {}; killing it", id, l.message());
      if (it->second.pidfd && ::syscall(SYS_pidfd_send_signal, it->second.pidfd.get(), SIGKILL, nullptr, 0) != 0) {
        log_->error("container_id={} kill at its disk limit failed: errno {}", id, errno);
      }
      exceeded_[id] = l;
      watched_.erase(it);
    }
  }
}

Result<v1::WatchResponse> DuIsolator::watch(const v1::WatchRequest& req) {
  std::lock_guard lock(mu_);
  v1::WatchResponse r;
  auto it = exceeded_.find(formatId(req.id()));
  if (it != exceeded_.end()) *r.add_limitations() = it->second;
  return r;
}

Result<void> DuIsolator::cleanup(const v1::ContainerRequest& req) {
  std::lock_guard lock(mu_);
  std::string id = formatId(req.id());
  watched_.erase(id);
  exceeded_.erase(id);
  return {};
}

}  // namespace warren::isolators::disk_du
