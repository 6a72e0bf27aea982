#include "containerizer_impl.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "host/flag_check.hpp"
#include "launcher/exit_status.hpp"
#include "host/install_layout.hpp"
#include "proc.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren {

namespace {

Result<std::string> findInit(const std::string& configured) {
  if (!configured.empty()) {
    if (::access(configured.c_str(), X_OK) != 0) {
      return fail(Error::errnoNow("warren-init '" + configured + "'"));
    }
    return configured;
  }
  // This install's (or build tree's), relative to libwarren itself.
  const std::string& c = plugins::installLayout().init_path;
  if (::access(c.c_str(), X_OK) == 0) return c;
  return fail(Code::NotFound, "warren-init not found at '" + c + "' (set --init_path)");
}

Result<void> checkAbsolute(const std::string& what, const std::string& p) {
  if (p.empty() || p[0] != '/') {
    return fail(Code::InvalidArgument, "--" + what + " must be an absolute path, got '" + p + "'");
  }
  return {};
}

bool hasEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool any = false;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") any = true;
  }
  ::closedir(d);
  return any;
}

// An instance owns its cgroups root: <claims_dir>/<root> names the runtime
// dir of the instance that claimed it, written under a lock on <claim>.lock.
// Another runtime dir claiming the same root is refused while the owner's
// runtime dir exists (recover would otherwise take the owner's cgroups for
// orphans); a claim whose owner has no containers left is taken over.
Result<void> claimCgroupsRoot(const Options& o, spdlog::logger& log) {
  if (o.claims_dir.empty()) return {};
  WARREN_TRY(checkAbsolute("claims_dir", o.claims_dir));
  WARREN_TRY(fs::mkdirs(o.claims_dir, 0755));
  std::string path = cgroupsClaimPath(o.claims_dir, o.cgroups_root);
  UniqueFd lk(::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lk) return failErrno("open claim lock '" + path + ".lock'");
  while (::flock(lk.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("lock '" + path + ".lock'");
  }
  auto owner = record::readSealed(path);
  if (owner && *owner == o.runtime_dir) return {};
  if (owner && hasEntries(*owner + "/containers")) {
    return fail(Code::FailedPrecondition,
                "cgroups root '" + o.cgroups_root + "' belongs to the warren instance with runtime dir '" +
                    *owner + "' (claim '" + path + "'); give this instance its own --cgroups_root");
  }
  if (owner) {
    log.warn("cgroups root '{}': taking over the claim of runtime dir '{}' (it has no containers)",
             o.cgroups_root, *owner);
  } else if (owner.error().err() != ENOENT) {
    log.warn("cgroups root '{}': claim '{}' unreadable ({}); claiming it", o.cgroups_root, path,
             owner.error().message());
  }
  return record::writeSealed(path, o.runtime_dir);
}

}  // namespace

Result<std::unique_ptr<Containerizer>> Containerizer::create(Options opts,
                                                            std::shared_ptr<spdlog::logger> log) {
  if (!log) {
    log = std::make_shared<spdlog::logger>("warren.containerizer",
                                           std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    log->set_level(spdlog::level::warn);
  }
  WARREN_TRY(checkAbsolute("work_dir", opts.work_dir));
  WARREN_TRY(checkAbsolute("runtime_dir", opts.runtime_dir));
  if (opts.isolation.empty()) {
    return fail(Code::InvalidArgument,
                "no isolators: Options.isolation (--isolation) is empty; libwarren has no default list, "
                "so name at least one isolator (containers without any are not supported)");
  }
  for (const auto& name : opts.isolation) {
    if (name.empty()) return fail(Code::InvalidArgument, "--isolation names an empty isolator");
  }
  WARREN_TRY(checkAbsolute("cgroups_root", opts.cgroups_root));
  if (opts.plugin_dirs.empty()) opts.plugin_dirs.push_back(plugins::installLayout().plugin_dir);
  WARREN_ASSIGN_OR_RETURN(opts.init_path, findInit(opts.init_path));
  core::Layout layout{opts.work_dir, opts.runtime_dir};
  WARREN_TRY(fs::mkdirs(layout.containersRoot(), 0700));
  WARREN_TRY(fs::mkdirs(layout.sandboxesRoot(), 0755));

  plugins::HostOptions ho;
  ho.plugin_dirs = opts.plugin_dirs;
  ho.work_dir = opts.work_dir;
  ho.runtime_dir = opts.runtime_dir;
  ho.cgroups_root = opts.cgroups_root;
  ho.flags = opts.plugin_flags;
  ho.configs = opts.plugin_configs;
  ho.call_deadline = opts.plugin_call_deadline;
  ho.descriptor_cache = opts.runtime_dir + "/plugins.cache";
  ho.event_sink = opts.plugin_event_sink;
  for (const auto& [name, how] : opts.plugin_isolation) {
    if (how == "process") {
      ho.isolation[name] = plugins::Isolation::Process;
    } else if (how == "inprocess") {
      ho.isolation[name] = plugins::Isolation::InProcess;
    } else {
      return fail(Code::InvalidArgument, "--plugin_isolation " + name + "=" + how +
                                             ": want process or inprocess");
    }
  }
  auto host = plugins::PluginHost::create(ho, log);
  host->scan();
  for (const auto& e : host->errors()) log->error("{}", e.message());
  // Checked against what the plugins declare, so a typo is a start-up error
  // even for a plugin loaded only later (the image provisioner).
  WARREN_TRY(plugins::checkPluginFlags(opts.plugin_flags, host->describeAll()));
  WARREN_ASSIGN_OR_RETURN(auto isolators, host->isolators(opts.isolation));
  WARREN_TRY(claimCgroupsRoot(opts, *log));
  return std::unique_ptr<Containerizer>(
      new core::ContainerizerImpl(std::move(opts), log, std::move(host), std::move(isolators)));
}

namespace core {

ContainerizerImpl::ContainerizerImpl(Options opts, std::shared_ptr<spdlog::logger> log,
                                     std::unique_ptr<plugins::PluginHost> host,
                                     std::vector<plugins::Plugin*> isolators)
    : opts_(std::move(opts)),
      log_(std::move(log)),
      host_(std::move(host)),
      isolators_(std::move(isolators)),
      store_(Layout{opts_.work_dir, opts_.runtime_dir}, log_) {}

ContainerizerImpl::~ContainerizerImpl() {
  stopping_ = true;
  std::lock_guard<std::mutex> g(threads_mu_);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool ContainerizerImpl::running(const v1::ContainerState& st) const {
  return st.pid() > 0 && isAlive(st.pid(), st.start_time());
}

Result<plugins::Plugin*> ContainerizerImpl::isolatorByName(const std::string& name) {
  return host_->instance(plugins::Kind::Isolator, name);
}

Result<plugins::Plugin*> ContainerizerImpl::provisionerFor(const std::string& image) {
  auto colon = image.find(':');
  if (colon == std::string::npos || colon == 0) {
    return fail(Code::InvalidArgument, "image reference '" + image +
                                           "' has no scheme (e.g. oci:/path, docker://host/name)");
  }
  std::string scheme = image.substr(0, colon);
  std::vector<std::string> known;
  for (const auto* d : host_->available(plugins::Kind::Provisioner)) {
    auto p = host_->instance(plugins::Kind::Provisioner, d->short_name);
    if (!p) {
      log_->error("{}", p.error().message());
      continue;
    }
    for (const auto& s : (*p)->info().schemes()) {
      if (s == scheme) return *p;
      known.push_back(s);
    }
  }
  std::sort(known.begin(), known.end());
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return fail(Code::InvalidArgument, "unknown image scheme '" + scheme + "' in '" + image +
                                         "' (known: " + (list.empty() ? "none" : list) + ")");
}

v1::ContainerContext ContainerizerImpl::contextFor(const v1::ContainerState& st) const {
  v1::ContainerContext c;
  *c.mutable_id() = st.id();
  *c.mutable_config() = st.config();
  c.set_sandbox(st.sandbox());
  c.set_rootfs(st.rootfs());
  c.set_runtime_dir(store_.layout().runtimeDir(st.id()));
  c.set_depth(st.id().path_size());
  if (hasParent(st.id())) {
    auto parent = store_.load(parentOf(st.id()));
    if (parent) *c.mutable_parent() = *parent;
  }
  return c;
}

Result<void> ContainerizerImpl::recover() {
  WARREN_ASSIGN_OR_RETURN(auto guard, lock());
  // 1. Launches that died before their first checkpoint: nothing but dirs.
  for (const auto& id : store_.stateless()) {
    log_->warn("container_id={} removing a launch that never checkpointed", formatId(id));
    (void)fs::removeTree(store_.layout().runtimeDir(id));
    (void)fs::removeTree(store_.layout().sandboxDir(id));
  }
  // 2. Reconcile every checkpoint with the world.
  std::vector<v1::ContainerState> states = store_.all();
  std::vector<v1::ContainerState> kept;
  std::vector<Error> errors;
  // Children first, so a half-launched parent takes its children along.
  std::stable_sort(states.begin(), states.end(), [](const auto& a, const auto& b) {
    return a.id().path_size() > b.id().path_size();
  });
  for (auto& st : states) {
    std::string cid = formatId(st.id());
    if (!store_.exists(st.id())) continue;  // removed with an ancestor
    if (!launching(st) && fs::exists(store_.layout().runtimeDir(st.id()) + "/destroying")) {
      // A destroy that was interrupted: finish it (kill, clean up, forget).
      log_->warn("container_id={} completing an interrupted destroy", cid);
      Result<void> r;
      if (st.state() != v1::TERMINATED && running(st)) {
        r = killAndWait(st, v1::Termination::KILLED, "destroyed");
      }
      if (r) {
        auto t = finish(st, v1::Termination::REASON_UNSPECIFIED, "");
        if (!t) r = fail(t.error());
      }
      if (r) r = removeContainer(st);
      if (!r) errors.push_back(r.error());
      continue;
    }
    switch (st.state()) {
      case v1::PROVISIONING:
      case v1::PREPARING:
      case v1::ISOLATING:
      case v1::STATE_UNSPECIFIED: {
        if (!launcherGone(st.id())) {
          // Provisioning right now in another process (without the state lock).
          log_->info("container_id={} launch in progress elsewhere: left alone", cid);
          kept.push_back(st);
          break;
        }
        // A launch interrupted midway: a decided group member is released,
        // anything else never reached RUNNING and is undone completely.
        auto r = resolveInterrupted(st);
        if (!r) errors.push_back(r.error());
        if (r && *r) kept.push_back(st);
        break;
      }
      case v1::RUNNING:
      case v1::DESTROYING:
        if (st.state() == v1::RUNNING && running(st)) {
          log_->info("container_id={} adopted (pid {})", cid, st.pid());
        } else {
          auto t = finish(st, v1::Termination::REASON_UNSPECIFIED, "");
          if (!t) errors.push_back(t.error());
        }
        kept.push_back(st);
        break;
      default:
        kept.push_back(st);
        break;
    }
  }
  recoverGroups();
  // 3. Every isolator and provisioner gets the surviving set and removes
  // what it owns that belongs to no known container.
  v1::RecoverRequest req;
  for (const auto& st : store_.all()) *req.add_containers() = st;
  // A container whose checkpoint is quarantined is still "known": what the
  // plugins hold for it (cgroups, mounts, rootfs) stays until an operator
  // decides; recover never kills or removes on the strength of a bad record.
  for (const auto& id : store_.quarantined()) {
    log_->warn("container_id={} checkpoint quarantined: left alone by recover", formatId(id));
    auto* k = req.add_containers();
    *k->mutable_id() = id;
    k->set_sandbox(store_.layout().sandboxDir(id));
  }
  std::vector<std::string> names;
  for (auto* p : isolators_) names.push_back(p->shortName());
  for (const auto& st : req.containers()) {
    for (const auto& n : st.isolators()) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  for (const auto& n : names) {
    auto p = isolatorByName(n);
    if (!p) {
      errors.push_back(p.error());
      continue;
    }
    auto r = (*p)->call<v1::Empty>(v1::RECOVER, req);
    if (!r) errors.push_back(r.error());
  }
  for (const auto* d : host_->available(plugins::Kind::Provisioner)) {
    auto p = host_->instance(plugins::Kind::Provisioner, d->short_name);
    if (!p) continue;
    auto r = (*p)->call<v1::Empty>(v1::RECOVER, req);
    if (!r) errors.push_back(r.error());
  }
  // 4. Sandboxes without a container are orphans.
  // (Top-level only: a child's sandbox lives inside its parent's.)
  DIR* d = ::opendir(store_.layout().sandboxesRoot().c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || !validateName(n)) continue;
      v1::ContainerID id;
      id.add_path(n);
      if (!store_.exists(id)) {
        log_->warn("container_id={} removing orphaned sandbox", n);
        auto r = fs::removeTree(store_.layout().sandboxDir(id));
        if (!r) errors.push_back(r.error());
      }
    }
    ::closedir(d);
  }
  if (!errors.empty()) {
    std::string msg = "recover: " + errors.front().message();
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
    for (const auto& e : errors) log_->error("recover: {}", e.message());
    return fail(Code::Internal, msg);
  }
  return {};
}

Result<v1::ContainerStatus> ContainerizerImpl::status(const v1::ContainerID& id) {
  WARREN_TRY(validateId(id));
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  if (launching(st) && launcherGone(id)) {
    // Nobody launches it any more: resolve it (under the state lock).
    {
      WARREN_ASSIGN_OR_RETURN(auto guard, lock());
      WARREN_ASSIGN_OR_RETURN(st, store_.load(id));
      if (launching(st) && launcherGone(id)) {
        WARREN_ASSIGN_OR_RETURN(bool kept, resolveInterrupted(st));
        if (!kept) {
          return fail(Code::NotFound, "container '" + formatId(id) +
                                          "' never started: its launch was interrupted and has been undone");
        }
      }
    }
  }
  v1::ContainerStatus s;
  if (st.state() == v1::RUNNING) {
    v1::ContainerRequest req;
    *req.mutable_id() = id;
    *req.mutable_state() = st;
    for (const auto& n : st.isolators()) {
      auto p = isolatorByName(n);
      if (!p) continue;
      auto r = (*p)->call<v1::ContainerStatus>(v1::STATUS, req);
      if (r) {
        s.MergeFrom(*r);
      } else {
        log_->warn("container_id={} {}", formatId(id), r.error().message());
      }
    }
  }
  *s.mutable_id() = id;
  s.set_state(st.state());
  if (st.state() == v1::RUNNING && !running(st)) s.set_state(v1::TERMINATED);
  s.set_pid(st.pid());
  s.set_sandbox(st.sandbox());
  s.set_rootfs(st.rootfs());
  s.set_hostname(st.launch_info().hostname());
  return s;
}

Result<v1::ResourceStatistics> ContainerizerImpl::usage(const v1::ContainerID& id) {
  WARREN_TRY(validateId(id));
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  if (st.state() != v1::RUNNING) {
    return fail(Code::FailedPrecondition, "container '" + formatId(id) + "' is not running");
  }
  v1::ContainerRequest req;
  *req.mutable_id() = id;
  *req.mutable_state() = st;
  v1::ResourceStatistics stats;
  for (const auto& n : st.isolators()) {
    WARREN_ASSIGN_OR_RETURN(auto* p, isolatorByName(n));
    WARREN_ASSIGN_OR_RETURN(auto r, p->call<v1::ResourceStatistics>(v1::USAGE, req));
    stats.MergeFrom(r);
  }
  stats.set_timestamp(std::chrono::duration<double>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
  return stats;
}

Result<void> ContainerizerImpl::update(const v1::ContainerID& id, const v1::Resources& res) {
  WARREN_TRY(validateId(id));
  WARREN_ASSIGN_OR_RETURN(auto guard, lock());
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  if (st.state() != v1::RUNNING || !running(st)) {
    return fail(Code::FailedPrecondition, "container '" + formatId(id) + "' is not running");
  }
  if (st.config().container_class() == v1::DEBUG) {
    return fail(Code::InvalidArgument,
                "container '" + formatId(id) + "' is a DEBUG container and has no resources of its own");
  }
  v1::UpdateRequest req;
  *req.mutable_container() = contextFor(st);
  *req.mutable_resources() = res;
  for (const auto& n : st.isolators()) {
    WARREN_ASSIGN_OR_RETURN(auto* p, isolatorByName(n));
    WARREN_TRY(p->call<v1::Empty>(v1::UPDATE, req));
  }
  faultPoint("update-applied");
  auto* r = st.mutable_config()->mutable_resources();
  if (res.cpus() > 0) r->set_cpus(res.cpus());
  if (res.mem_bytes() > 0) r->set_mem_bytes(res.mem_bytes());
  if (res.pids() > 0) r->set_pids(res.pids());
  return store_.save(st);
}

Result<std::vector<ContainerInfo>> ContainerizerImpl::containers() {
  std::vector<ContainerInfo> out;
  for (const auto& q : store_.quarantined()) {
    log_->warn("container_id={} not listed: its checkpoint is quarantined", formatId(q));
  }
  for (auto& st : store_.all()) {
    ContainerInfo ci;
    ci.id = st.id();
    ci.state = st.state();
    if (st.state() == v1::RUNNING && !running(st)) ci.state = v1::TERMINATED;
    ci.pid = st.pid();
    if (st.has_termination()) ci.termination = st.termination();
    ci.held = ci.state == v1::RUNNING &&
              ::access((store_.layout().runtimeDir(st.id()) + "/" + launcher::kStartFifo).c_str(), F_OK) == 0;
    ci.checkpoint = st;
    out.push_back(std::move(ci));
  }
  return out;
}

Result<v1::ImageList> ContainerizerImpl::images() {
  v1::ImageList all;
  for (const auto* d : host_->available(plugins::Kind::Provisioner)) {
    WARREN_ASSIGN_OR_RETURN(auto* p, host_->instance(plugins::Kind::Provisioner, d->short_name));
    WARREN_ASSIGN_OR_RETURN(auto list, p->call<v1::ImageList>(v1::LIST_IMAGES, v1::Empty{}));
    all.MergeFrom(list);
  }
  return all;
}

Result<v1::ImageInfo> ContainerizerImpl::pullImage(const std::string& reference) {
  WARREN_ASSIGN_OR_RETURN(auto* p, provisionerFor(reference));
  v1::ImageRequest req;
  req.set_reference(reference);
  return p->call<v1::ImageInfo>(v1::PULL, req);
}

Result<v1::PruneResponse> ContainerizerImpl::pruneImages() {
  // Under the lock: no launch may provision while layers are being removed.
  WARREN_ASSIGN_OR_RETURN(auto guard, lock());
  v1::PruneResponse all;
  for (const auto* d : host_->available(plugins::Kind::Provisioner)) {
    WARREN_ASSIGN_OR_RETURN(auto* p, host_->instance(plugins::Kind::Provisioner, d->short_name));
    WARREN_ASSIGN_OR_RETURN(auto r, p->call<v1::PruneResponse>(v1::PRUNE, v1::Empty{}));
    for (const auto& x : r.removed()) all.add_removed(x);
    all.set_freed_bytes(all.freed_bytes() + r.freed_bytes());
  }
  return all;
}

std::vector<Containerizer::PluginListing> ContainerizerImpl::plugins() const {
  std::vector<PluginListing> out;
  for (auto kind : {plugins::Kind::Isolator, plugins::Kind::Provisioner}) {
    for (const auto* d : host_->available(kind)) {
      out.push_back({d->name, d->short_name, d->version,
                     kind == plugins::Kind::Isolator ? "isolator" : "provisioner", d->path});
    }
  }
  return out;
}

std::vector<std::string> ContainerizerImpl::pluginErrors() const {
  std::vector<std::string> out;
  for (const auto& e : host_->errors()) out.push_back(e.message());
  return out;
}

}  // namespace core
}  // namespace warren

namespace warren::core {

// OCI start: warren-init (held after setup, init/main.cpp) blocks opening
// the fifo for writing; opening it for reading releases it, and the one byte
// it writes says it took the start. Polled, so an init that dies meanwhile
// is an error, not a hang.
Result<void> ContainerizerImpl::start(const v1::ContainerID& id) {
  WARREN_TRY(validateId(id));
  WARREN_ASSIGN_OR_RETURN(auto st, store_.load(id));
  std::string cid = formatId(id);
  if (st.state() != v1::RUNNING || !running(st)) {
    return fail(Code::FailedPrecondition, "container '" + cid + "' is not running");
  }
  // The pidfd first: opening the fifo releases warren-init, and a short
  // command may end (and its init be reaped by the caller) right away.
  WARREN_ASSIGN_OR_RETURN(auto pfd, openProcess(st.pid(), st.start_time()));
  std::string fifo = store_.layout().runtimeDir(id) + "/" + launcher::kStartFifo;
  UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ENOENT) return fail(Code::FailedPrecondition, "container '" + cid + "' was already started");
  if (!fd) return failErrno("open start fifo '" + fifo + "'");
  for (int i = 0; i < 3000; ++i) {  // 30 s: warren-init opens it at once
    char c;
    ssize_t n = ::read(fd.get(), &c, 1);
    if (n == 1) {
      log_->info("container_id={} started", cid);
      return {};
    }
    // 0: warren-init has not opened its end yet (EOF without a writer); go on polling.
    if (n < 0 && errno != EAGAIN && errno != EINTR) return failErrno("read start fifo '" + fifo + "'");
    if (waitExit(pfd.get(), std::chrono::milliseconds(10))) {
      // A command that ran and ended within the wait: its byte is there.
      if (::read(fd.get(), &c, 1) == 1) return {};
      return fail(Code::FailedPrecondition, "container '" + cid + "' ended before it started");
    }
  }
  return fail(Code::Unavailable, "container '" + cid + "': warren-init did not take the start within 30 s");
}

}  // namespace warren::core
