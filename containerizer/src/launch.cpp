// The launch sequence of one container (DESIGN.md):
//   validate -> provision -> isolators.prepare (in order) -> merge LaunchInfo
//   -> launcher.spawn (warren-init blocked) -> isolators.isolate(pid)
//   -> checkpoint RUNNING -> release -> RUNNING
// A failure at any step undoes the steps before it, in reverse.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "containerizer_impl.hpp"
#include "launcher/spec.hpp"
#include "fields.hpp"
#include "proc.hpp"
#include "sandbox.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::core {


namespace {

// Each of a container's sandbox logs (stdout, stderr) is rotated to
// `<name>.1` when it would grow past this; so at most 2 x 2 x 16 MiB each.
constexpr uint64_t kLogMaxBytes = 16u << 20;

bool isDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool hasResources(const v1::Resources& r) {
  return r.cpus() != 0 || r.mem_bytes() != 0 || r.pids() != 0 || r.gpus() != 0 || r.disk_bytes() != 0;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::Namespace ns(v1::Namespace::Type t, v1::Namespace::Action a, const std::string& path = "") {
  v1::Namespace n;
  n.set_type(t);
  n.set_action(a);
  n.set_path(path);
  return n;
}

// A top-level container whose isolator joins a UTS or IPC namespace by path
// (an OCI bundle joining its pod's) gets that one instead of the core's new
// one; the core's default hostname (the ID) goes with the UTS namespace, a
// configured one is set in the joined namespace (as runc does).
void yieldJoinedNamespaces(const v1::ContainerConfig& c, v1::LaunchInfo& li) {
  bool uts = false, ipc = false;
  for (const auto& n : li.namespaces()) {
    if (n.action() != v1::Namespace::ENTER) continue;
    uts = uts || n.type() == v1::Namespace::UTS;
    ipc = ipc || n.type() == v1::Namespace::IPC;
  }
  if (!uts && !ipc) return;
  auto* nss = li.mutable_namespaces();
  for (int i = nss->size() - 1; i >= 0; --i) {
    const auto& n = nss->Get(i);
    if (n.action() == v1::Namespace::CREATE &&
        ((uts && n.type() == v1::Namespace::UTS) || (ipc && n.type() == v1::Namespace::IPC))) {
      nss->DeleteSubrange(i, 1);
    }
  }
  if (uts && c.hostname().empty()) li.clear_hostname();
}

}  // namespace

Result<void> ContainerizerImpl::validateLaunch(const v1::ContainerID& id,
                                               const v1::ContainerConfig& c,
                                               v1::ContainerState* parent) {
  std::string cid = formatId(id);
  bool nested = hasParent(id);
  bool debug = c.container_class() == v1::DEBUG;
  if (store_.exists(id)) return fail(Code::AlreadyExists, "container '" + cid + "' already exists");
  if (nested) {
    auto p = store_.load(parentOf(id));
    if (!p) {
      return fail(Code::NotFound, "cannot launch '" + cid + "': parent container '" +
                                      formatId(parentOf(id)) + "' is unknown");
    }
    if (p->state() == v1::DESTROYING) {
      return fail(Code::FailedPrecondition, "cannot launch '" + cid + "': parent container '" +
                                                formatId(p->id()) + "' is being destroyed");
    }
    if (p->state() != v1::RUNNING || !running(*p)) {
      return fail(Code::FailedPrecondition, "cannot launch '" + cid + "': parent container '" +
                                                formatId(p->id()) + "' is not running");
    }
    *parent = std::move(*p);
  }
  if (c.share_pid_namespace() && !nested) {
    return fail(Code::InvalidArgument, "container '" + cid +
                                           "': share_pid_namespace applies only to nested containers");
  }
  if (debug) {
    if (!nested) {
      return fail(Code::InvalidArgument, "container '" + cid + "': a DEBUG container needs a parent");
    }
    if (!c.image().empty() || !c.rootfs().empty()) {
      return fail(Code::InvalidArgument, "DEBUG container '" + cid +
                                             "' cannot have its own image or rootfs");
    }
    if (hasResources(c.resources())) {
      return fail(Code::InvalidArgument, "DEBUG container '" + cid +
                                             "' cannot have resources of its own");
    }
    if (c.volumes_size() > 0 || !c.network_mode().empty()) {
      return fail(Code::InvalidArgument, "DEBUG container '" + cid +
                                             "' cannot have its own volumes or network");
    }
  }
  if (!c.hostname().empty()) {
    auto h = validateHostname(c.hostname());
    if (!h) return fail(std::move(h.error()).context("container '" + cid + "'"));
  }
  for (const auto& cap : c.capabilities()) {
    if (launcher::capabilityFromName(cap) < 0) {
      return fail(Code::InvalidArgument, "container '" + cid + "': unknown capability '" + cap + "'");
    }
  }
  if (!c.hostname().empty() && nested) {
    return fail(Code::InvalidArgument, "container '" + cid +
                                           "': a nested container shares its parent's hostname");
  }
  if (!c.image().empty() && !c.rootfs().empty()) {
    return fail(Code::InvalidArgument, "container '" + cid + "': give a rootfs or an image, not both");
  }
  if (!c.rootfs().empty()) {
    if (c.rootfs()[0] != '/') {
      return fail(Code::InvalidArgument, "rootfs '" + c.rootfs() + "' must be an absolute path");
    }
    if (!isDir(c.rootfs())) {
      return fail(Code::NotFound, "rootfs '" + c.rootfs() + "' does not exist or is not a directory");
    }
  }
  if (c.command().value().empty() && c.image().empty()) {
    return fail(Code::InvalidArgument, "container '" + cid + "': no command given");
  }
  return {};
}

bool ContainerizerImpl::takesField(plugins::Plugin* p, const std::string& field) const {
  for (const auto& n : p->info().container_fields()) {
    if (n == field) return true;
  }
  auto d = host_->describe(p->shortName());  // the static INFO (cached with the descriptor)
  if (!d) return false;
  for (const auto& n : d->info.container_fields()) {
    if (n == field) return true;
  }
  return false;
}

Result<void> ContainerizerImpl::checkConfigFields(const Attempt& a, const v1::ContainerConfig& config) const {
  std::string cid = formatId(a.st.id());
  for (const auto& field : setConfigFields(config)) {
    if (coreConfigField(field)) continue;
    bool taken = false;
    for (auto* p : a.isolators) taken = taken || takesField(p, field);
    if (taken) continue;
    // Who would take it: a plugin found but not in use (learned from its INFO).
    std::string hint;
    for (const auto& d : host_->describeAll()) {
      if (d.kind != plugins::Kind::Isolator) continue;
      bool claims = false;
      for (const auto& n : d.info.container_fields()) claims = claims || n == field;
      if (!claims) continue;
      bool listed = std::find(opts_.isolation.begin(), opts_.isolation.end(), d.short_name) != opts_.isolation.end();
      hint += std::string(hint.empty() ? "" : "; ") + "isolator '" + d.short_name + "' would" +
              (listed ? std::string(" but does not support ") + (a.has_parent ? "nested" : "standalone") +
                            " containers"
                      : ": add it to --isolation");
    }
    if (hint.empty()) hint = "no plugin found in the plugin dirs takes it";
    return fail(Code::InvalidArgument, "container '" + cid + "': " + field +
                                           " is set but no isolator in --isolation takes it (" + hint + ")");
  }
  return {};
}

Result<void> ContainerizerImpl::checkNotCancelled(const Attempt& a) {
  const auto& id = a.st.id();
  if (!a.st.group().empty() && fs::exists(groupFile(parentOf(id), a.st.group()) + ".cancel")) {
    return fail(Code::FailedPrecondition, "task group '" + a.st.group() +
                                              "' was cancelled while provisioning (a member or the parent is being destroyed)");
  }
  if (fs::exists(store_.layout().cancelFile(id)) || !fs::exists(store_.layout().stateFile(id))) {
    return fail(Code::FailedPrecondition, "container '" + formatId(id) + "' was destroyed while provisioning");
  }
  if (a.has_parent) {
    auto parent = store_.load(parentOf(id));
    if (!parent || parent->state() != v1::RUNNING || !running(*parent)) {
      return fail(Code::FailedPrecondition, "parent container '" + formatId(parentOf(id)) +
                                                "' ended while provisioning");
    }
  }
  return {};
}

Result<void> ContainerizerImpl::provision(Attempt& a) {
  if (a.provisioned) return {};
  a.provisioned = true;
  a.step = "provision";
  const auto& c = a.st.config();
  if (c.image().empty()) {
    // Without a rootfs of its own a nested container keeps seeing its
    // parent's root: its mount namespace is cloned from the parent's.
    if (!c.rootfs().empty()) a.st.set_rootfs(c.rootfs());
    return {};
  }
  a.step = "provision";
  WARREN_ASSIGN_OR_RETURN(a.provisioner, provisionerFor(c.image()));
  a.st.set_provisioner(a.provisioner->shortName());
  WARREN_TRY(store_.save(a.st));  // so a crash from here on is undone by recover
  faultPoint("launch-provisioning");
  v1::ProvisionRequest req;
  *req.mutable_id() = a.st.id();
  req.set_image(c.image());
  // rootfs_dir left empty: the provisioner keeps rootfses beside its layer
  // store under work_dir (a copy backend's tree must not fill a tmpfs).
  // destroy() writes these while the pull runs: the provisioner stops within
  // about a second instead of finishing a pull nobody wants.
  req.add_cancel_files(store_.layout().cancelFile(a.st.id()));
  if (!a.st.group().empty()) req.add_cancel_files(groupFile(parentOf(a.st.id()), a.st.group()) + ".cancel");
  // A pull can take long: other containers are not held up meanwhile. This
  // container's launch lock stays held, so nobody mistakes it for a dead launch.
  if (a.state_lock != nullptr) a.state_lock->reset();
  faultPoint("launch-provisioning-unlocked");
  auto resp = a.provisioner->call<v1::ProvisionResponse>(v1::PROVISION, req);
  if (a.state_lock != nullptr) {
    WARREN_ASSIGN_OR_RETURN(auto relock, lock());
    a.state_lock->emplace(std::move(relock));
    if (resp) a.st.set_rootfs(resp->rootfs());  // so a rollback removes it
    WARREN_TRY(checkNotCancelled(a));
  }
  if (!resp) return fail(std::move(resp.error()));
  a.st.set_rootfs(resp->rootfs());
  a.image = resp->image_config();
  return {};
}

Result<void> ContainerizerImpl::prepareIsolators(Attempt& a) {
  v1::PrepareRequest req;
  *req.mutable_container()->mutable_id() = a.st.id();
  *req.mutable_container()->mutable_config() = a.st.config();
  req.mutable_container()->set_sandbox(a.st.sandbox());
  req.mutable_container()->set_rootfs(a.st.rootfs());
  req.mutable_container()->set_runtime_dir(store_.layout().runtimeDir(a.st.id()));
  req.mutable_container()->set_depth(a.st.depth());
  if (a.has_parent) *req.mutable_container()->mutable_parent() = a.parent;

  LaunchInfoMerger merger;
  v1::LaunchInfo core = coreLaunchInfo(a);
  if (a.st.config().container_class() != v1::DEBUG) {  // DEBUG: its parent's sandbox and root
    a.step = "prepare (sandbox)";
    addSandbox(a.st, store_.layout().sandboxesRoot(), rootIsHost(a.st, a.has_parent ? &a.parent : nullptr),
               core);
  }
  WARREN_TRY(merger.add("warren", core));
  for (auto* p : a.isolators) {
    a.step = "prepare (isolator '" + p->shortName() + "')";
    // Devices granted so far, for the isolator that enforces them (cgroups).
    *req.mutable_devices() = merger.merged().devices();
    WARREN_ASSIGN_OR_RETURN(auto resp, p->call<v1::PrepareResponse>(v1::PREPARE, req));
    WARREN_TRY(merger.add(p->shortName(), resp.launch_info()));
  }
  v1::LaunchInfo li = merger.merged();
  if (!a.has_parent) yieldJoinedNamespaces(a.st.config(), li);
  if (li.rootfs().empty() && !a.st.rootfs().empty()) li.set_rootfs(a.st.rootfs());
  // After the isolators: a user namespace's mappings decide the upper
  // layer's owner (sandbox.hpp).
  if (a.st.config().container_class() != v1::DEBUG) {
    a.step = "prepare (rootfs upper layer)";
    WARREN_TRY(addRootfsOverlay(a.st, store_.layout().sandboxesRoot(), li));
  }
  *a.st.mutable_launch_info() = std::move(li);
  return {};
}

v1::LaunchInfo ContainerizerImpl::coreLaunchInfo(const Attempt& a) const {
  v1::LaunchInfo li;
  const auto& c = a.st.config();
  // Capabilities the config adds: kept on top of the default set (an empty
  // list in LaunchInfo means the default set alone).
  if (c.capabilities_size() > 0) {
    for (int cap : launcher::defaultCapabilities()) li.add_capabilities(launcher::capabilityName(cap));
    for (const auto& cap : c.capabilities()) li.add_capabilities(cap);
  }
  if (!a.has_parent) {
    *li.add_namespaces() = ns(v1::Namespace::MNT, v1::Namespace::CREATE);
    *li.add_namespaces() = ns(v1::Namespace::UTS, v1::Namespace::CREATE);
    *li.add_namespaces() = ns(v1::Namespace::IPC, v1::Namespace::CREATE);
    li.set_hostname(c.hostname().empty() ? a.st.id().path(0) : c.hostname());
  } else {
    std::string base = "/proc/" + std::to_string(a.parent.pid()) + "/ns/";
    *li.add_namespaces() = ns(v1::Namespace::UTS, v1::Namespace::ENTER, base + "uts");
    // ipc_mode "private" (filesystem/linux's field): that plugin CREATEs
    // the child's own IPC namespace instead.
    if (c.ipc_mode() != "private" || c.container_class() == v1::DEBUG) {
      *li.add_namespaces() = ns(v1::Namespace::IPC, v1::Namespace::ENTER, base + "ipc");
    }
    *li.add_namespaces() = ns(v1::Namespace::MNT, v1::Namespace::ENTER, base + "mnt");
    if (c.container_class() != v1::DEBUG) {
      *li.add_namespaces() = ns(v1::Namespace::MNT, v1::Namespace::CREATE);
    }
  }
  return li;
}

Result<int> ContainerizerImpl::sealedInit() {
  std::lock_guard<std::mutex> guard(init_mu_);
  if (!init_fd_) {
    // A running top-level container's init already runs from a sealed copy
    // of this binary: share it (its pages) rather than make another.
    DIR* d = ::opendir(store_.layout().containersRoot().c_str());
    for (dirent* e = d ? ::readdir(d) : nullptr; e != nullptr && !init_fd_; e = ::readdir(d)) {
      auto id = parseId(e->d_name);
      if (e->d_name[0] == '.' || !id) continue;
      auto st = store_.load(*id);
      if (!st || st->state() != v1::RUNNING || st->pid() <= 0) continue;
      auto fd = launcher::adoptSealedInit(opts_.init_path, static_cast<pid_t>(st->pid()), st->start_time());
      if (fd) init_fd_ = std::move(*fd);
      break;  // one look: a different build stays a different build
    }
    if (d) ::closedir(d);
  }
  if (!init_fd_) {
    auto fd = launcher::sealInit(opts_.init_path);
    if (!fd) return fail(std::move(fd.error()).context("warren-init '" + opts_.init_path + "'"));
    init_fd_ = std::move(*fd);
  }
  return init_fd_.get();
}

Result<void> ContainerizerImpl::buildLaunch(Attempt& a, launcher::LaunchRequest& req) {
  const auto& c = a.st.config();
  auto& li = *a.st.mutable_launch_info();
  bool debug = c.container_class() == v1::DEBUG;
  // Environment: (DEBUG: the parent's) < image < config < isolators.
  std::map<std::string, std::string> env;
  if (debug) {
    for (const auto& [k, v] : a.parent.launch_info().env()) env[k] = v;
  }
  for (const auto& kv : a.image.env()) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : c.env()) env[k] = v;
  for (const auto& [k, v] : li.env()) env[k] = v;
  li.mutable_env()->clear();
  for (const auto& [k, v] : env) (*li.mutable_env())[k] = v;
  // Working dir: an isolator's, else the config's, else the image's, else
  // (DEBUG) the parent's, else the sandbox.
  if (li.working_dir().empty()) li.set_working_dir(c.working_dir());
  if (li.working_dir().empty()) li.set_working_dir(a.image.working_dir());
  if (li.working_dir().empty() && debug) li.set_working_dir(a.parent.launch_info().working_dir());
  // (A DEBUG container lives in its parent's root.)
  bool host_root = debug ? runsOnHostRoot(a.parent) : rootIsHost(a.st, a.has_parent ? &a.parent : nullptr);
  if (li.working_dir().empty() && !debug) li.set_working_dir(sandboxInContainer(a.st, host_root));
  // User: the config's, else (nested) the parent's, else the image's.
  if (li.user().empty()) li.set_user(c.user());
  if (li.user().empty() && a.has_parent) li.set_user(a.parent.launch_info().user());
  if (li.user().empty()) li.set_user(a.image.user());
  req.host_root = host_root;
  req.max_completion_ms = c.max_completion_time_ms();

  // The command: an isolator's override, else the config's, else the image's.
  v1::CommandInfo cmd = li.has_command() && !li.command().value().empty() ? li.command() : c.command();
  std::vector<std::string> argv;
  if (!cmd.value().empty()) {
    if (cmd.shell()) {
      argv = {"/bin/sh", "-c", cmd.value()};
    } else {
      argv.push_back(cmd.value());
      for (const auto& x : cmd.arguments()) argv.push_back(x);
    }
  } else {
    for (const auto& x : a.image.entrypoint()) argv.push_back(x);
    for (const auto& x : a.image.cmd()) argv.push_back(x);
  }
  if (argv.empty()) {
    return fail(Code::InvalidArgument, "container '" + formatId(a.st.id()) +
                                           "': no command given and the image has none");
  }
  req.init_path = opts_.init_path;
  WARREN_ASSIGN_OR_RETURN(req.init_fd, sealedInit());
  req.launch_info = li;
  req.argv = std::move(argv);
  req.runtime_dir = store_.layout().runtimeDir(a.st.id());
  return {};
}

void ContainerizerImpl::rollback(Attempt& a, const Error& why) {
  std::string cid = formatId(a.st.id());
  log_->warn("container_id={} launch failed at {}: {}; rolling back", cid, a.step, why.message());
  if (a.spawned) launcher::abort(a.launched);
  auto r = cleanupIsolators(a.st);
  if (!r) log_->error("container_id={} rollback: {}", cid, r.error().message());
  r = destroyProvisioned(a.st);
  if (!r) log_->error("container_id={} rollback: {}", cid, r.error().message());
  r = removeContainer(a.st);
  if (!r) log_->error("container_id={} rollback: {}", cid, r.error().message());
}

Result<void> ContainerizerImpl::beginAttempt(Attempt& a, const v1::ContainerID& id,
                                             const v1::ContainerConfig& config) {
  std::string cid = formatId(id);
  WARREN_TRY(validateLaunch(id, config, &a.parent));
  a.has_parent = hasParent(id);
  *a.st.mutable_id() = id;
  *a.st.mutable_config() = config;
  a.st.set_depth(id.path_size());
  a.st.set_launched_at_ms(nowMs());
  a.st.set_sandbox(store_.layout().sandboxDir(id));
  a.st.set_state(v1::PROVISIONING);
  for (auto* p : isolators_) {
    const auto& info = p->info();
    bool ok = a.has_parent ? info.supports_nesting() : info.supports_standalone();
    if (!ok) {
      log_->info("container_id={} isolator '{}' does not support {} containers; skipped", cid,
                 p->shortName(), a.has_parent ? "nested" : "standalone");
      continue;
    }
    a.isolators.push_back(p);
    a.st.add_isolators(p->shortName());
  }
  // Config fields the core leaves to isolators: one in use must take it,
  // or the field would be silently ignored (fields.hpp).
  WARREN_TRY(checkConfigFields(a, config));
  // Settings for isolators that are not in use would be silently ignored.
  for (const auto& [key, value] : config.isolator_settings()) {
    auto dot = key.rfind('.');
    std::string iso = dot == std::string::npos ? key : key.substr(0, dot);
    bool known = false;
    for (const auto& n : a.st.isolators()) known = known || n == iso;
    if (!known) {
      return fail(Code::InvalidArgument, "container '" + cid + "': unknown isolator setting '" + key +
                                             "' (isolator '" + iso + "' is not enabled)");
    }
  }
  auto made = fs::mkdirs(store_.layout().runtimeDir(id), 0700);
  if (made) made = fs::mkdirs(a.st.sandbox(), 0755);
  if (made) made = store_.save(a.st);
  if (made) {
    auto ll = FileLock::acquire(store_.layout().launchLockFile(id));
    if (ll) a.launch_lock.emplace(std::move(*ll));
    else made = fail(std::move(ll.error()));
  }
  if (made) faultPoint("launch-begun");
  if (!made) {
    (void)removeContainer(a.st);
    return fail(std::move(made.error()).context("launch '" + cid + "'"));
  }
  a.begun = true;
  return {};
}

Result<void> ContainerizerImpl::prepareAttempt(Attempt& a) {
  const auto& config = a.st.config();
  WARREN_TRY(provision(a));
  a.st.set_state(v1::PREPARING);
  WARREN_TRY(store_.save(a.st));
  faultPoint("launch-preparing");
  WARREN_TRY(prepareIsolators(a));
  launcher::LaunchRequest req;
  WARREN_TRY(buildLaunch(a, req));
  UniqueFd out, err;
  if (!config.inherit_stdio()) {
    out.reset(::open((a.st.sandbox() + "/stdout").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                     0644));
    err.reset(::open((a.st.sandbox() + "/stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                     0644));
    if (!out || !err) return failErrno("open stdout/stderr in '" + a.st.sandbox() + "'");
    req.stdout_fd = out.get();
    req.stderr_fd = err.get();
    // warren-init relays the command's stdio (init/io.cpp): logs + io.sock.
    req.io.relay = true;
    req.io.tty = config.tty();
    req.io.stdin_open = config.open_stdin() || config.tty();
    req.io.hold_output = req.io.stdin_open;  // attached right after launch: keep what comes first
    req.io.rows = static_cast<uint16_t>(std::min<uint32_t>(config.tty_rows(), 65535));
    req.io.cols = static_cast<uint16_t>(std::min<uint32_t>(config.tty_columns(), 65535));
    req.io.log_max_bytes = kLogMaxBytes;
    req.io.sandbox_root = store_.layout().sandboxesRoot();
    req.io.sandbox_dir = a.st.sandbox();
  } else {
    bool console = config.tty() && opts_.hold_until_start && opts_.console_sink && !a.has_parent;
    if ((config.tty() && !console) || config.open_stdin()) {
      return fail(Code::InvalidArgument, "tty and open_stdin need warren's I/O relay, not inherit_stdio");
    }
    req.console = console;
    req.console_rows = static_cast<uint16_t>(std::min<uint32_t>(config.tty_rows(), 65535));
    req.console_cols = static_cast<uint16_t>(std::min<uint32_t>(config.tty_columns(), 65535));
    req.stdin_fd = 0;
    req.stdout_fd = 1;
    req.stderr_fd = 2;
  }
  req.hold_until_start = opts_.hold_until_start && !a.has_parent;
  if (config.container_class() == v1::DEBUG && a.has_parent) {
    // Its parent's warren-init forks its init when it can (launcher.hpp).
    req.parent_runtime_dir = store_.layout().runtimeDir(a.parent.id());
    req.parent_pid = a.parent.pid();
  }
  a.step = "spawn";
  a.st.set_state(v1::ISOLATING);
  WARREN_TRY(store_.save(a.st));
  faultPoint("launch-isolating");
  WARREN_ASSIGN_OR_RETURN(a.launched, launcher::spawn(req));
  a.spawned = true;
  // A crash before the pid is on disk leaves pid 0 in the checkpoint; the
  // init then sees its launcher's socket close and exits by itself.
  faultPoint("launch-spawned");
  a.st.set_pid(a.launched.pid);
  a.st.set_start_time(a.launched.start_time);
  WARREN_TRY(store_.save(a.st));
  faultPoint("launch-pid-checkpointed");
  v1::IsolateRequest ireq;
  *ireq.mutable_container() = contextFor(a.st);
  ireq.set_pid(a.launched.pid);
  for (auto* p : a.isolators) {
    a.step = "isolate (isolator '" + p->shortName() + "')";
    WARREN_TRY(p->call<v1::Empty>(v1::ISOLATE, ireq));
  }
  faultPoint("launch-isolated");
  return {};
}

Result<void> ContainerizerImpl::commitAttempt(Attempt& a) {
  a.st.set_state(v1::RUNNING);
  WARREN_TRY(store_.save(a.st));
  faultPoint("launch-running-checkpointed");
  a.step = "release";
  WARREN_TRY(launcher::release(a.launched));
  faultPoint("launch-released");
  if (a.launched.console && opts_.console_sink) {
    WARREN_TRY(opts_.console_sink(a.st.id(), std::move(a.launched.console)));
  }
  log_->info("container_id={} running (pid {})", formatId(a.st.id()), a.launched.pid);
  return {};
}

Result<v1::ContainerStatus> ContainerizerImpl::launch(const v1::ContainerID& id,
                                                      const v1::ContainerConfig& config) {
  WARREN_TRY(validateId(id));
  std::string cid = formatId(id);
  {
    std::optional<FileLock> guard;
    {
      WARREN_ASSIGN_OR_RETURN(auto g, lock());
      guard.emplace(std::move(g));
    }
    Attempt a;
    a.state_lock = &guard;
    WARREN_TRY(beginAttempt(a, id, config));
    auto r = prepareAttempt(a);
    if (r) r = commitAttempt(a);
    if (!r) {
      rollback(a, r.error());
      return fail(std::move(r.error()).context("launch '" + cid + "' failed at " + a.step));
    }
  }
  return status(id);
}

}  // namespace warren::core
