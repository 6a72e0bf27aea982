#include "supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "mapping.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::daemon {

namespace {

constexpr uint64_t kWakeToken = 0;
constexpr unsigned kPfExiting = 0x4;  // PF_EXITING in /proc/<pid>/stat flags

}  // namespace

Supervisor::Supervisor(Containerizer& c, std::shared_ptr<spdlog::logger> log, int workers)
    : c_(c), log_(std::move(log)), nworkers_(std::max(1, workers)) {}

Supervisor::~Supervisor() { stop(); }

bool Supervisor::exiting(pid_t pid) {
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return true;
  auto rp = text->rfind(')');
  if (rp == std::string::npos || rp + 2 >= text->size()) return true;
  // After "comm)": state ppid pgrp session tty_nr tpgid flags ...
  std::vector<std::string> f;
  size_t pos = rp + 2;
  while (pos < text->size() && f.size() < 7) {
    size_t sp = text->find(' ', pos);
    if (sp == std::string::npos) sp = text->size();
    f.push_back(text->substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (f.size() < 7) return true;
  if (f[0] == "Z" || f[0] == "X" || f[0] == "x") return true;
  unsigned long flags = std::strtoul(f[6].c_str(), nullptr, 10);
  return (flags & kPfExiting) != 0;
}

Result<void> Supervisor::start() {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return failErrno("epoll_create1");
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return failErrno("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) return failErrno("epoll_ctl");
  rescan();
  loop_ = std::thread([this] { loop(); });
  for (int i = 0; i < nworkers_; ++i) workers_.emplace_back([this] { worker(); });
  return {};
}

void Supervisor::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> g(subs_mu_);
    for (const auto& s : subs_) s->close("warrend is stopping");
  }
  refresh();
  work_cv_.notify_all();
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void Supervisor::refresh() {
  if (!wake_) return;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void Supervisor::forget(const v1::ContainerID& id) {
  std::lock_guard<std::mutex> scan(scan_mu_);  // a scan in progress holds the old list
  std::lock_guard<std::mutex> g(mu_);
  const std::string key = formatId(id);
  auto mine = [&](const std::string& k) { return k == key || k.rfind(key + ".", 0) == 0; };
  for (auto it = ended_.begin(); it != ended_.end();) it = mine(it->first) ? ended_.erase(it) : std::next(it);
  for (auto it = known_.begin(); it != known_.end();) it = mine(*it) ? known_.erase(it) : std::next(it);
}

void Supervisor::rescan() {
  std::lock_guard<std::mutex> scan(scan_mu_);
  auto all = c_.containers();
  if (!all) {
    log_->error("supervisor: listing containers: {}", all.error().message());
    return;
  }
  emit(*all);
  std::map<std::string, v1::Termination> ended;
  std::set<std::string> known;
  std::vector<ContainerInfo> running;
  for (auto& ci : *all) {
    std::string key = formatId(ci.id);
    known.insert(key);
    auto s = ci.checkpoint.state();
    if (s == v1::TERMINATED && ci.checkpoint.has_termination()) {
      ended[key] = ci.checkpoint.termination();
    } else if (s == v1::RUNNING || s == v1::DESTROYING) {
      running.push_back(std::move(ci));
    }
  }
  std::vector<v1::ContainerID> to_finish;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& ci : running) {
      std::string key = formatId(ci.id);
      if (watched_.count(key) || queued_.count(key)) continue;
      if (auto d = deferred_.find(key); d != deferred_.end()) {
        if (std::chrono::steady_clock::now() < d->second) continue;
        deferred_.erase(d);
      }
      auto fd = c_.waitFd(ci.id);
      if (!fd) {
        log_->warn("container_id={} supervisor: no pidfd: {}", key, fd.error().message());
        continue;
      }
      Watched w;
      w.id = ci.id;
      w.pid = ci.pid;
      w.start_time = ci.checkpoint.start_time();
      w.fd = std::move(*fd);
      w.token = next_token_++;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = w.token;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w.fd.get(), &ev) != 0) {
        log_->error("container_id={} supervisor: epoll_ctl: {}", key, std::strerror(errno));
        continue;
      }
      by_token_[w.token] = key;
      watched_.emplace(key, std::move(w));
    }
    // Containers that ended or went away while we did not look.
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (!known.count(it->first) || ended.count(it->first)) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
        by_token_.erase(it->second.token);
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    ended_ = std::move(ended);
    known_ = std::move(known);
  }
  cv_.notify_all();
}

void Supervisor::loop() {
  epoll_event evs[64];
  auto next_scan = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto next_housekeeping = next_scan;
  while (!stopping_) {
    int n = ::epoll_wait(epoll_.get(), evs, 64, 250);
    bool scan = std::chrono::steady_clock::now() >= next_scan;
    std::vector<v1::ContainerID> exited;
    {
      std::lock_guard<std::mutex> g(mu_);
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.u64 == kWakeToken) {
          uint64_t v;
          (void)!::read(wake_.get(), &v, sizeof v);
          scan = true;
          continue;
        }
        auto t = by_token_.find(evs[i].data.u64);
        if (t == by_token_.end()) continue;
        auto w = watched_.find(t->second);
        if (w == watched_.end()) continue;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w->second.fd.get(), nullptr);
        exited.push_back(w->second.id);
        queued_.insert(t->second);
        by_token_.erase(t);
        watched_.erase(w);
      }
      // Parents first: finishing a parent records its descendants' ends.
      std::stable_sort(exited.begin(), exited.end(),
                       [](const auto& a, const auto& b) { return a.path_size() < b.path_size(); });
      for (auto& id : exited) jobs_.push_back(std::move(id));
    }
    if (!jobs_.empty()) work_cv_.notify_all();
    if (stopping_) break;
    if (scan) {
      rescan();
      next_scan = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (housekeeping_ && std::chrono::steady_clock::now() >= next_housekeeping) {
      housekeeping_();
      next_housekeeping = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
  }
}

void Supervisor::worker() {
  while (true) {
    v1::ContainerID id;
    {
      std::unique_lock<std::mutex> g(mu_);
      work_cv_.wait(g, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      id = jobs_.front();
      jobs_.pop_front();
    }
    auto t = finishOne(id);
    {
      std::lock_guard<std::mutex> g(mu_);
      std::string key = formatId(id);
      queued_.erase(key);
      // Waiters get the record now; the rescan below (events, other
      // processes' changes) reads the same record from disk.
      if (t) {
        ended_[key] = *t;
        known_.insert(key);
      }
    }
    if (t) cv_.notify_all();
    rescan();
  }
}

// Whether an ancestor of `id` may be exiting, from what is watched: an
// ancestor whose pidfd fired (queued) or whose init is exiting. Unknown
// ancestors (not watched yet) answer "maybe", so the caller looks closer.
bool Supervisor::ancestorMayBeExiting(const v1::ContainerID& id) {
  std::vector<pid_t> pids;
  {
    std::lock_guard<std::mutex> g(mu_);
    v1::ContainerID a = id;
    while (hasParent(a)) {
      a = parentOf(a);
      std::string k = formatId(a);
      if (queued_.count(k)) return true;
      auto w = watched_.find(k);
      if (w == watched_.end()) return true;
      pids.push_back(w->second.pid);
    }
  }
  for (pid_t p : pids) {
    if (p <= 0 || exiting(p)) return true;
  }
  return false;
}

std::optional<v1::Termination> Supervisor::finishOne(const v1::ContainerID& id) {
  std::string key = formatId(id);
  // (The full listing below only when an ancestor may be exiting: a nested
  // end then costs no read of every record.)
  if (hasParent(id) && ancestorMayBeExiting(id)) {
    // A nested init that died because an ancestor's pid namespace is being
    // torn down: the ancestor's end is what happened. Reap this init (the
    // ancestor's exit waits for it) and let the ancestor's finish record
    // PARENT_DESTROYED for it.
    auto all = c_.containers();
    if (all) {
      for (const auto& ci : *all) {
        bool ancestor = ci.id.path_size() < id.path_size() &&
                        std::equal(ci.id.path().begin(), ci.id.path().end(), id.path().begin());
        if (!ancestor || ci.checkpoint.state() != v1::RUNNING || ci.pid <= 0) continue;
        if (!exiting(ci.pid)) continue;
        for (const auto& me : *all) {
          if (formatId(me.id) != key || me.pid <= 0) continue;
          siginfo_t si{};
          (void)::waitid(P_PID, static_cast<id_t>(me.pid), &si, WEXITED | WNOHANG);
        }
        log_->debug("container_id={} ended with its ancestor '{}'", key, formatId(ci.id));
        std::lock_guard<std::mutex> g(mu_);
        deferred_[key] = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        return std::nullopt;
      }
    }
  }
  // Its pidfd fired: the wait returns at once (the core polls with a deadline).
  auto r = c_.wait(id, std::chrono::milliseconds(500));
  if (r) {
    log_->info("container_id={} recorded: {}", key, r->message());
    return *r;
  }
  if (r.error().code() != Code::Unavailable && r.error().code() != Code::NotFound) {
    log_->error("container_id={} finishing: {}", key, r.error().message());
  }
  return std::nullopt;
}

// ---- Events

std::optional<agent::v1::Event> Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> g(mu_);
  cv_.wait_for(g, timeout, [&] { return closed_ || !q_.empty(); });
  if (q_.empty()) return std::nullopt;
  auto e = std::move(q_.front());
  q_.pop_front();
  return e;
}

bool Subscription::closed() {
  std::lock_guard<std::mutex> g(mu_);
  return closed_ && q_.empty();
}

std::string Subscription::closeReason() {
  std::lock_guard<std::mutex> g(mu_);
  return why_;
}

void Subscription::push(const agent::v1::Event& e) {
  std::lock_guard<std::mutex> g(mu_);
  if (closed_) return;
  if (q_.size() >= kMaxQueued) {
    // Never block the supervisor on a slow reader: it loses its stream.
    closed_ = true;
    why_ = "subscriber too slow: more than " + std::to_string(kMaxQueued) + " events behind";
    q_.clear();
  } else {
    q_.push_back(e);
  }
  cv_.notify_all();
}

void Subscription::close(std::string why) {
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  why_ = std::move(why);
  cv_.notify_all();
}

std::shared_ptr<Subscription> Supervisor::subscribe() {
  // The first look must be done before a subscriber can be told it is in
  // place, or it would see every existing container as new.
  // Also: what happened before the subscription is not news to it.
  if (!stopping_) rescan();
  auto s = std::make_shared<Subscription>();
  std::lock_guard<std::mutex> g(subs_mu_);
  subs_.push_back(s);
  return s;
}

void Supervisor::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> g(subs_mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  s->close("unsubscribed");
}

void Supervisor::publishPluginEvent(const std::string& plugin, const v1::PluginEvent& ev) {
  agent::v1::Event e;
  e.set_type(agent::v1::Event::PULL_PROGRESS);
  e.set_timestamp(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  e.set_plugin(plugin);
  *e.mutable_plugin_event() = ev;
  std::lock_guard<std::mutex> g(subs_mu_);
  for (const auto& s : subs_) s->push(e);
}

namespace {

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int stageOf(const ContainerInfo& ci) {
  switch (ci.checkpoint.state()) {
    case v1::RUNNING:
    case v1::DESTROYING: return 2;
    case v1::TERMINATED: return ci.checkpoint.has_termination() ? 3 : 2;
    default: return 1;
  }
}

}  // namespace

// Called by rescan (under scan_mu_) with every container, parents first.
void Supervisor::emit(const std::vector<ContainerInfo>& all) {
  using agent::v1::Event;
  std::vector<Event> out;
  double now = nowSeconds();
  auto event = [&](Event::Type type, const v1::ContainerID& id) -> Event& {
    Event e;
    e.set_type(type);
    *e.mutable_container_id() = toAgentId(id);
    e.set_timestamp(now);
    out.push_back(std::move(e));
    return out.back();
  };
  std::set<std::string> seen;
  for (const auto& ci : all) {
    std::string key = formatId(ci.id);
    seen.insert(key);
    int stage = stageOf(ci);
    auto it = stages_.find(key);
    int was = it == stages_.end() ? 0 : it->second.first;
    stages_[key] = {std::max(stage, was), ci.id};
    if (!stages_seeded_ || stage <= was) continue;
    const v1::Termination* t = stage == 3 ? &ci.checkpoint.termination() : nullptr;
    if (was < 1) event(Event::LAUNCHED, ci.id);
    // A container first seen ended ran unless its launch failed.
    if (was < 2 && stage >= 2 && (t == nullptr || t->reason() != v1::Termination::LAUNCH_FAILED)) {
      auto& e = event(Event::RUNNING, ci.id);
      if (ci.pid > 0) e.set_pid(static_cast<uint32_t>(ci.pid));
    }
    if (t != nullptr) {
      for (const auto& l : t->limitations()) *event(Event::LIMITATION, ci.id).mutable_limitation() = l;
      auto& e = event(Event::TERMINATED, ci.id);
      *e.mutable_termination() = *t;
      *e.mutable_wait_result() = toWaitResult(*t);
    }
  }
  for (auto it = stages_.begin(); it != stages_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    if (stages_seeded_) event(Event::DESTROYED, it->second.second);
    it = stages_.erase(it);
  }
  stages_seeded_ = true;
  if (out.empty()) return;
  std::lock_guard<std::mutex> g(subs_mu_);
  for (const auto& e : out) {
    for (const auto& s : subs_) s->push(e);
  }
}

std::optional<v1::Termination> Supervisor::ended(const v1::ContainerID& id) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = ended_.find(formatId(id));
  if (it == ended_.end()) return std::nullopt;
  return it->second;
}

Result<v1::Termination> Supervisor::await(const v1::ContainerID& id,
                                          const std::function<bool()>& cancelled) {
  std::string key = formatId(id);
  bool looked = false;
  std::unique_lock<std::mutex> g(mu_);
  while (true) {
    auto it = ended_.find(key);
    if (it != ended_.end()) return it->second;
    if (!known_.count(key)) {
      if (looked) return fail(Code::NotFound, "unknown container '" + key + "'");
      // Launched since the last scan, perhaps: look once more.
      g.unlock();
      rescan();
      g.lock();
      looked = true;
      continue;
    }
    if (stopping_) return fail(Code::Unavailable, "warrend is stopping");
    cv_.wait_for(g, std::chrono::milliseconds(250));
    if (cancelled && cancelled()) return fail(Code::Unavailable, "the client went away");
  }
}

std::vector<Supervisor::Live> Supervisor::live(bool fresh) {
  if (fresh && !stopping_) rescan();
  std::lock_guard<std::mutex> g(mu_);
  std::vector<Live> out;
  for (const auto& [k, w] : watched_) out.push_back({w.id, w.pid, w.start_time});
  std::stable_sort(out.begin(), out.end(),
                   [](const Live& a, const Live& b) { return a.id.path_size() < b.id.path_size(); });
  return out;
}

}  // namespace warren::daemon
