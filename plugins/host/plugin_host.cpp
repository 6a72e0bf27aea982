#include "host/plugin_host.hpp"

#include "host/install_layout.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "host/call_executor.hpp"
#include "host/plugin_process.hpp"
#include "host/wire.hpp"
#include "host/dependency_order.hpp"
#include "host/descriptor_cache.hpp"
#include "host/loader.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::plugins {
namespace fs = std::filesystem;

namespace {

const char* kindName(Kind k) { return k == Kind::Isolator ? "isolator" : "provisioner"; }

std::string methodName(uint32_t method) {
  if (!v1::Method_IsValid(static_cast<int>(method))) return "method " + std::to_string(method);
  std::string n = v1::Method_Name(static_cast<v1::Method>(method));
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  return n;
}

Code codeFromPlugin(int32_t rc) {
  if (rc > 0 && rc <= static_cast<int32_t>(Code::Unimplemented)) return static_cast<Code>(rc);
  return Code::Internal;
}

void appendToString(void* ctx, const uint8_t* data, size_t len) {
  if (data != nullptr && len > 0) static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(data), len);
}

// What a plugin gets as its warren_host. Deliberately leaked: abi.h promises
// it stays valid for the life of the process (an abandoned call may still log).
struct PluginLog {
  warren_host host{};
  std::shared_ptr<spdlog::logger> logger;
  std::string short_name;
  std::mutex sink_mu;  // guards sink; the host clears it when destroyed
  EventSink sink;
};

// Every PluginLog ever made, reachable from a global for the life of the
// process: the leak is deliberate (see above), and LeakSanitizer is told so by
// their staying reachable rather than by a suppression.
void keepForever(PluginLog* pl) {
  static std::mutex mu;
  static auto* all = new std::vector<PluginLog*>();
  std::lock_guard<std::mutex> g(mu);
  all->push_back(pl);
}

void eventFromPlugin(void* ctx, const uint8_t* data, size_t len) {
  try {
    auto* pl = static_cast<PluginLog*>(ctx);
    if (pl == nullptr || (data == nullptr && len > 0)) return;
    v1::PluginEvent ev;
    if (!ev.ParseFromArray(data, static_cast<int>(len))) {
      pl->logger->warn("dropped a malformed event ({} bytes)", len);
      return;
    }
    std::lock_guard lock(pl->sink_mu);
    if (pl->sink) pl->sink(pl->short_name, ev);
  } catch (...) {
  }
}

void logFromPlugin(void* ctx, int32_t level, const char* /*component*/, const char* msg, size_t len) {
  try {
    auto* pl = static_cast<PluginLog*>(ctx);
    if (pl == nullptr || msg == nullptr) return;
    spdlog::level::level_enum lvl = spdlog::level::info;
    switch (level) {
      case WARREN_LOG_TRACE: lvl = spdlog::level::trace; break;
      case WARREN_LOG_DEBUG: lvl = spdlog::level::debug; break;
      case WARREN_LOG_INFO: lvl = spdlog::level::info; break;
      case WARREN_LOG_WARN: lvl = spdlog::level::warn; break;
      case WARREN_LOG_ERROR: lvl = spdlog::level::err; break;
      default: break;
    }
    pl->logger->log(lvl, "{}", std::string_view(msg, len));
  } catch (...) {
  }
}

// One plugin call's data. Owned by the job, so a call abandoned past its
// deadline never writes into freed memory.
struct CallData {
  std::string request;
  std::string out;
  int32_t rc = WARREN_INTERNAL;
  bool threw = false;
  void* instance = nullptr;  // create()'s result
  // A create past its deadline is abandoned; whoever of the two (the late
  // create, the host) comes second destroys what it made, so nothing leaks.
  std::mutex mu;
  bool abandoned = false;
  bool finished = false;
};

// The instance of an abandoned create, destroyed by the plugin that made it.
void destroyAbandoned(const warren_plugin_descriptor* raw, CallData& data) {
  if (data.rc == WARREN_OK && data.instance != nullptr) {
    try {
      raw->destroy(data.instance);
    } catch (...) {
    }
    data.instance = nullptr;
  }
}

class PluginHostImpl;

// A plugin's own executors. Not thread-safe: one, so its calls run one at a
// time. Thread-safe: up to kParallel, so calls for different containers run
// concurrently. A call takes an idle executor, waiting for one; the waiting
// does not count against its deadline.
class ExecutorPool {
 public:
  static constexpr size_t kParallel = 8;
  explicit ExecutorPool(size_t n) { grow(n); }
  void grow(size_t n) {
    std::lock_guard lock(mu_);
    while (execs_.size() < n) {
      execs_.push_back(std::make_unique<CallExecutor>());
      idle_.push_back(execs_.back().get());
    }
  }
  bool run(std::function<void()> fn, std::chrono::milliseconds deadline) {
    CallExecutor* e = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty(); });
      e = idle_.back();
      idle_.pop_back();
    }
    bool ok = e->run(std::move(fn), deadline);
    {
      std::lock_guard lock(mu_);
      idle_.push_back(e);
    }
    cv_.notify_one();
    return ok;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<CallExecutor>> execs_;
  std::vector<CallExecutor*> idle_;
};

// What both kinds of instance share with the host.
class HostedPlugin : public Plugin {
 public:
  HostedPlugin(PluginHostImpl* host, Descriptor d) : host_(host), desc_(std::move(d)) {}
  const Descriptor& descriptor() const override { return desc_; }
  const v1::PluginInfo& info() const override { return info_; }
  // Destroys the instance (in-process) or ends the plugin process.
  virtual void shutdown() = 0;

  PluginHostImpl* host_;
  Descriptor desc_;
  v1::PluginInfo info_;
};

class InProcessPlugin final : public HostedPlugin {
 public:
  InProcessPlugin(PluginHostImpl* host, const LoadedLibrary& lib, void* instance, size_t parallel)
      : HostedPlugin(host, lib.descriptor), raw_(lib.raw), instance_(instance), pool_(parallel) {}
  Isolation isolation() const override { return Isolation::InProcess; }
  Result<std::string> callRaw(v1::Method method, const std::string& request) override;
  void shutdown() override;

  const warren_plugin_descriptor* raw_;
  void* instance_;
  ExecutorPool pool_;
  std::atomic<bool> wedged_{false};
  std::mutex wedged_mu_;
  std::string wedged_by_;
};

class ProcessPlugin final : public HostedPlugin {
 public:
  ProcessPlugin(PluginHostImpl* host, Descriptor d, std::string helper, std::string context,
                PluginLog* pl);
  Isolation isolation() const override { return Isolation::Process; }
  Result<std::string> callRaw(v1::Method method, const std::string& request) override;
  void shutdown() override;
  // Starts the process and creates the instance when none runs (first use,
  // or after a crash: "the plugin is restarted").
  Result<void> ensureRunning(const std::string& for_what);
  Result<std::string> request(uint32_t type, uint32_t method, const std::string& name,
                              const std::string& payload);

  std::string context_;
  std::unique_ptr<PluginProcess> proc_;
  std::mutex start_mu_;
  std::mutex serial_;  // one call at a time unless thread_safe
  std::atomic<bool> thread_safe_{false};
};

class PluginHostImpl final : public PluginHost {
 public:
  PluginHostImpl(HostOptions opts, std::shared_ptr<spdlog::logger> log)
      : opts_(std::move(opts)), log_(std::move(log)), cache_(opts_.descriptor_cache) {
    if (!log_) log_ = std::make_shared<spdlog::logger>("warren.plugins");
    cache_.load();
    helper_ = findPluginHostBinary(opts_.plugin_host_path);
  }
  ~PluginHostImpl() override;

  void scan() override;
  Result<const Descriptor*> loadFile(const std::string& path) override;
  const std::vector<Error>& errors() const override { return errors_; }
  std::vector<const Descriptor*> available(Kind kind) const override;
  Result<PluginDescription> describe(const std::string& short_name) const override;
  std::vector<PluginDescription> describeAll() const override;
  Result<Plugin*> instance(Kind kind, const std::string& short_name) override;
  Result<std::vector<Plugin*>> isolators(const std::vector<std::string>& names) override;
  Isolation isolationOf(const Descriptor& d) const override;

  std::string prefix(const Descriptor& d) const {
    return "plugin '" + d.short_name + "' (" + d.path + "): ";
  }
  std::string deadlineText() const { return std::to_string(opts_.call_deadline.count()) + "ms"; }
  std::chrono::milliseconds deadline() const { return opts_.call_deadline; }
  // A pull is bounded by the provisioner's own stall timeout (no progress
  // for 30 s), not by the call deadline: a big image may take longer.
  std::chrono::milliseconds deadlineFor(uint32_t method) const {
    return method == static_cast<uint32_t>(v1::PROVISION) || method == static_cast<uint32_t>(v1::PULL)
               ? std::chrono::milliseconds(0)
               : opts_.call_deadline;
  }
  const std::shared_ptr<spdlog::logger>& log() const { return log_; }

 private:
  Result<const Descriptor*> loadLocked(const std::string& path);
  Result<LoadedLibrary> readDescriptor(const std::string& path);
  Result<std::unique_ptr<HostedPlugin>> create(LoadedLibrary& lib);
  Result<std::unique_ptr<HostedPlugin>> createInProcess(LoadedLibrary& lib, const std::string& ctx,
                                                        PluginLog* pl);
  Result<std::string> pluginDir(const std::string& base, const Descriptor& d);
  PluginLog* makePluginLog(const Descriptor& d);

  HostOptions opts_;
  std::shared_ptr<spdlog::logger> log_;
  std::string helper_;  // warren-plugin-host ("" = not found)
  mutable std::recursive_mutex mu_;
  std::map<std::string, LoadedLibrary> libs_;       // path -> checked library
  std::map<std::string, Error> failed_;             // path -> why it did not load
  std::map<std::string, std::string> by_name_;      // name or short name -> path
  std::map<std::string, std::string> by_proto_;     // embedded proto file -> path
  std::vector<Error> errors_;
  std::map<std::string, std::unique_ptr<HostedPlugin>> instances_;  // short name
  std::vector<HostedPlugin*> created_;              // creation order
  std::set<std::string> wedged_creates_;            // paths whose create() overran
  std::vector<PluginLog*> logs_;                    // leaked on purpose; sinks cleared at exit
  DescriptorCache cache_;
};

// ---------------------------------------------------------------- in process

Result<std::string> InProcessPlugin::callRaw(v1::Method m, const std::string& request) {
  const uint32_t method = static_cast<uint32_t>(m);
  const Descriptor& d = desc_;
  const std::string name = methodName(method);
  const std::string pfx = host_->prefix(d);
  if (wedged_.load()) {
    std::lock_guard lock(wedged_mu_);
    return fail(Code::Unavailable, pfx + name + " not called: the plugin is wedged since " +
                                       wedged_by_ + " exceeded its deadline of " +
                                       host_->deadlineText());
  }
  auto data = std::make_shared<CallData>();
  data->request = request;
  const warren_plugin_descriptor* raw = raw_;
  void* inst = instance_;
  bool in_time = pool_.run(
      [data, raw, inst, method]() {
        warren_sink sink{&data->out, &appendToString};
        try {
          data->rc = raw->call(inst, method, reinterpret_cast<const uint8_t*>(data->request.data()),
                               data->request.size(), &sink);
        } catch (...) {
          data->threw = true;
        }
      },
      host_->deadlineFor(method));
  if (!in_time) {
    {
      std::lock_guard lock(wedged_mu_);
      if (!wedged_.load()) wedged_by_ = name;
    }
    wedged_.store(true);
    return fail(Code::Unavailable, pfx + name + " exceeded its deadline of " + host_->deadlineText());
  }
  if (data->threw) return fail(Code::Internal, pfx + name + " threw an exception");
  if (data->rc != WARREN_OK) {
    std::string msg = data->out.empty() ? std::string("failed with code ") + std::to_string(data->rc)
                                        : data->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(data->rc), pfx + name + ": " + msg);
  }
  return std::move(data->out);
}

void InProcessPlugin::shutdown() {
  if (wedged_.load()) {
    host_->log()->warn("{}not destroyed: it is wedged", host_->prefix(desc_));
    return;
  }
  const warren_plugin_descriptor* raw = raw_;
  void* inst = instance_;
  bool in_time =
      pool_.run([raw, inst]() { try { raw->destroy(inst); } catch (...) {} }, host_->deadline());
  if (!in_time) {
    host_->log()->warn("{}destroy exceeded its deadline of {}", host_->prefix(desc_),
                       host_->deadlineText());
  }
}

// ---------------------------------------------------------------- out of process

ProcessPlugin::ProcessPlugin(PluginHostImpl* host, Descriptor d, std::string helper,
                             std::string context, PluginLog* pl)
    : HostedPlugin(host, std::move(d)), context_(std::move(context)) {
  thread_safe_ = desc_.static_info.thread_safe();
  proc_ = std::make_unique<PluginProcess>(
      std::move(helper), desc_.path,
      [pl](int32_t level, const std::string& text) {
        logFromPlugin(pl, level, nullptr, text.data(), text.size());
      },
      [pl](const std::string& bytes) {
        eventFromPlugin(pl, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      });
}

Result<void> ProcessPlugin::ensureRunning(const std::string& for_what) {
  std::lock_guard lock(start_mu_);
  const std::string pfx = host_->prefix(desc_);
  auto started = proc_->ensureStarted();
  if (!started) {
    return fail(Code::Unavailable, pfx + for_what + ": cannot start warren-plugin-host: " +
                                       started.error().message());
  }
  if (!*started) return {};
  if (proc_->starts() > 1) {
    host_->log()->warn("{}restarting its plugin process (start {})", pfx, proc_->starts());
  }
  auto r = proc_->request(wire::kCreate, 0, context_, host_->deadline(), "create");
  if (!r) {
    proc_->kill("create failed");
    std::string msg = r.error().message();
    if (msg.rfind("exceeded", 0) == 0) return fail(Code::Unavailable, pfx + "create " + msg);
    return fail(Code::Unavailable, pfx + "create: " + msg);
  }
  if (r->rc != WARREN_OK) {
    proc_->kill("create failed");
    std::string msg = r->out.empty() ? "no message" : r->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(r->rc), pfx + "create failed: " + msg);
  }
  return {};
}

Result<std::string> ProcessPlugin::request(uint32_t type, uint32_t method, const std::string& name,
                                           const std::string& payload) {
  const std::string pfx = host_->prefix(desc_);
  WARREN_TRY(ensureRunning(name));
  std::unique_lock serial(serial_, std::defer_lock);
  if (!thread_safe_.load()) serial.lock();
  auto r = proc_->request(type, static_cast<int32_t>(method), payload, host_->deadlineFor(method),
                          name);
  if (!r) {
    std::string msg = r.error().message();
    if (msg.rfind("exceeded", 0) == 0) return fail(Code::Unavailable, pfx + name + " " + msg);
    return fail(Code::Unavailable, pfx + name + ": " + msg);
  }
  if (r->rc != WARREN_OK) {
    std::string msg = r->out.empty() ? std::string("failed with code ") + std::to_string(r->rc)
                                     : r->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(r->rc), pfx + name + ": " + msg);
  }
  return std::move(r->out);
}

Result<std::string> ProcessPlugin::callRaw(v1::Method m, const std::string& request) {
  const uint32_t method = static_cast<uint32_t>(m);
  return this->request(wire::kCall, method, methodName(method), request);
}

void ProcessPlugin::shutdown() { proc_->stop(host_->deadline()); }

// ---------------------------------------------------------------- host

Result<std::string> PluginHostImpl::pluginDir(const std::string& base, const Descriptor& d) {
  if (base.empty()) return std::string();
  std::string leaf = d.short_name;
  std::replace(leaf.begin(), leaf.end(), '/', '_');
  std::string dir = base + "/plugins/" + leaf;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(Code::Internal, prefix(d) + "cannot create '" + dir + "': " + ec.message());
  }
  return dir;
}

PluginLog* PluginHostImpl::makePluginLog(const Descriptor& d) {
  auto* pl = new PluginLog();  // leaked on purpose, see PluginLog
  pl->logger = std::make_shared<spdlog::logger>("warren.plugin." + d.short_name,
                                                log_->sinks().begin(), log_->sinks().end());
  pl->logger->set_level(log_->level());
  pl->host.struct_size = sizeof(warren_host);
  pl->host.ctx = pl;
  pl->host.log = &logFromPlugin;
  pl->host.event = &eventFromPlugin;
  pl->short_name = d.short_name;
  pl->sink = opts_.event_sink;
  logs_.push_back(pl);
  keepForever(pl);
  return pl;
}

Isolation PluginHostImpl::isolationOf(const Descriptor& d) const {
  if (auto it = opts_.isolation.find(d.short_name); it != opts_.isolation.end()) return it->second;
  if (auto it = opts_.isolation.find("*"); it != opts_.isolation.end()) return it->second;
  return isFirstParty(d) ? opts_.first_party_isolation : opts_.third_party_isolation;
}

Result<std::unique_ptr<HostedPlugin>> PluginHostImpl::create(LoadedLibrary& lib) {
  const Descriptor& d = lib.descriptor;
  if (wedged_creates_.count(d.path) != 0) {
    return fail(Code::Unavailable, prefix(d) + "create not called: the plugin is wedged since " +
                                       "create exceeded its deadline of " + deadlineText());
  }
  v1::PluginContext ctx;
  ctx.set_work_dir(opts_.work_dir);
  ctx.set_runtime_dir(opts_.runtime_dir);
  ctx.set_cgroups_root(opts_.cgroups_root);
  if (auto it = opts_.configs.find(d.short_name); it != opts_.configs.end()) {
    ctx.set_config_json(it->second);
  }
  for (const auto& [k, v] : opts_.flags) (*ctx.mutable_flags())[k] = v;
  for (const auto& f : d.static_info.flags()) {
    if (ctx.flags().count(f.name()) == 0) (*ctx.mutable_flags())[f.name()] = f.default_value();
  }
  WARREN_ASSIGN_OR_RETURN(std::string work, pluginDir(opts_.work_dir, d));
  WARREN_ASSIGN_OR_RETURN(std::string run, pluginDir(opts_.runtime_dir, d));
  ctx.set_plugin_work_dir(work);
  ctx.set_plugin_runtime_dir(run);
  std::string ctx_bytes;
  if (!ctx.SerializeToString(&ctx_bytes)) {
    return fail(Code::Internal, prefix(d) + "could not serialize the plugin context");
  }
  PluginLog* pl = makePluginLog(d);

  std::unique_ptr<HostedPlugin> plugin;
  if (isolationOf(d) == Isolation::Process) {
    if (helper_.empty()) {
      return fail(Code::FailedPrecondition,
                  prefix(d) + "cannot run out of process: warren-plugin-host not found next to "
                              "the executable, in ../libexec/warren or the build tree (set "
                              "--plugin_isolation " + d.short_name + "=inprocess)");
    }
    auto p = std::make_unique<ProcessPlugin>(this, d, helper_, ctx_bytes, pl);
    WARREN_TRY(p->ensureRunning("create"));
    plugin = std::move(p);
  } else {
    WARREN_ASSIGN_OR_RETURN(plugin, createInProcess(lib, ctx_bytes, pl));
  }
  auto info = plugin->call<v1::PluginInfo>(v1::INFO, v1::Empty{});
  if (!info) {
    plugin->shutdown();
    return fail(info.error());
  }
  plugin->info_ = std::move(*info);
  if (auto* ip = dynamic_cast<InProcessPlugin*>(plugin.get()); ip && plugin->info_.thread_safe()) {
    ip->pool_.grow(ExecutorPool::kParallel);
  }
  if (auto* pp = dynamic_cast<ProcessPlugin*>(plugin.get()); pp && plugin->info_.thread_safe()) {
    pp->thread_safe_ = true;
  }
  return plugin;
}

Result<std::unique_ptr<HostedPlugin>> PluginHostImpl::createInProcess(LoadedLibrary& lib,
                                                                      const std::string& ctx_bytes,
                                                                      PluginLog* pl) {
  const Descriptor& d = lib.descriptor;
  if (lib.raw == nullptr) {
    // Described in a child (or listed from the cache): load it here now. Its
    // proto files must not be registered yet (protobuf would abort in dlopen).
    WARREN_ASSIGN_OR_RETURN(auto real, loadLibrary(d.path, &d.proto_files));
    if (real.descriptor.name != d.name || real.descriptor.short_name != d.short_name) {
      return fail(Code::FailedPrecondition, "plugin '" + d.path + "': changed while warren was reading it");
    }
    lib.raw = real.raw;
  }
  auto data = std::make_shared<CallData>();
  data->request = ctx_bytes;
  const warren_plugin_descriptor* raw = lib.raw;
  const warren_host* host = &pl->host;
  size_t parallel = d.static_info.thread_safe() ? ExecutorPool::kParallel : 1;
  auto pool = std::make_unique<ExecutorPool>(1);
  bool in_time = pool->run(
      [data, raw, host]() {
        warren_sink sink{&data->out, &appendToString};
        try {
          data->rc = raw->create(host, reinterpret_cast<const uint8_t*>(data->request.data()),
                                 data->request.size(), &data->instance, &sink);
        } catch (...) {
          data->threw = true;
        }
        std::lock_guard l(data->mu);
        data->finished = true;
        if (data->abandoned) destroyAbandoned(raw, *data);
      },
      opts_.call_deadline);
  if (!in_time) {
    {
      std::lock_guard l(data->mu);
      data->abandoned = true;
      if (data->finished) destroyAbandoned(raw, *data);
    }
    wedged_creates_.insert(d.path);
    return fail(Code::Unavailable, prefix(d) + "create exceeded its deadline of " + deadlineText());
  }
  if (data->threw) return fail(Code::Internal, prefix(d) + "create threw an exception");
  if (data->rc != WARREN_OK || data->instance == nullptr) {
    std::string msg = data->out.empty() ? "no message" : data->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(data->rc), prefix(d) + "create failed: " + msg);
  }
  return std::unique_ptr<HostedPlugin>(
      std::make_unique<InProcessPlugin>(this, lib, data->instance, parallel));
}

PluginHostImpl::~PluginHostImpl() {
  std::lock_guard lock(mu_);
  Defer drop_sinks([&] {
    for (PluginLog* pl : logs_) {
      std::lock_guard sl(pl->sink_mu);
      pl->sink = nullptr;
    }
  });
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) (*it)->shutdown();
}

void PluginHostImpl::scan() {
  std::lock_guard lock(mu_);
  errors_.clear();
  for (const auto& dir : opts_.plugin_dirs) {
    std::vector<std::string> files;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    if (ec) {
      errors_.push_back(Error(Code::NotFound, "plugin dir '" + dir + "': " + ec.message()));
      log_->warn("{}", errors_.back().message());
      continue;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      std::error_code tec;
      if (it->path().extension() == ".so" && it->is_regular_file(tec)) {
        files.push_back(it->path().string());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto r = loadLocked(f);
      if (!r) {
        errors_.push_back(r.error());
        log_->warn("{}", r.error().message());
      }
    }
  }
  cache_.save();
}

Result<const Descriptor*> PluginHostImpl::loadFile(const std::string& path) {
  std::lock_guard lock(mu_);
  return loadLocked(path);
}

// A file's checked descriptor: from warren-plugin-host --describe when that
// binary is there (the plugin's initializers never run in this process), else
// by loading it here.
Result<LoadedLibrary> PluginHostImpl::readDescriptor(const std::string& path) {
  if (helper_.empty()) return loadLibrary(path);
  WARREN_ASSIGN_OR_RETURN(auto pd, describeInChild(helper_, path, opts_.call_deadline));
  LoadedLibrary lib;
  Descriptor& d = lib.descriptor;
  d.path = path;
  d.name = pd.name();
  d.short_name = pd.short_name();
  d.version = pd.version();
  if (pd.kind() != WARREN_KIND_ISOLATOR && pd.kind() != WARREN_KIND_PROVISIONER) {
    return fail(Code::FailedPrecondition, "plugin '" + path + "': unknown plugin kind " +
                                              std::to_string(pd.kind()));
  }
  d.kind = static_cast<Kind>(pd.kind());
  d.abi_major = static_cast<uint16_t>(pd.abi_major());
  d.abi_minor = static_cast<uint16_t>(pd.abi_minor());
  d.static_info = pd.info();
  d.proto_files.assign(pd.proto_files().begin(), pd.proto_files().end());
  return lib;
}

Result<const Descriptor*> PluginHostImpl::loadLocked(const std::string& path) {
  if (auto it = libs_.find(path); it != libs_.end()) return &it->second.descriptor;
  if (auto it = failed_.find(path); it != failed_.end()) return fail(it->second);
  Result<LoadedLibrary> lib = fail(Code::Internal, "not loaded");
  if (auto cached = cache_.find(path)) {
    lib = LoadedLibrary{*cached, nullptr};  // dlopen deferred to the first instance
  } else {
    lib = readDescriptor(path);
  }
  if (lib) {
    const Descriptor& d = lib->descriptor;
    for (const std::string* n : {&d.name, &d.short_name}) {
      if (auto other = by_name_.find(*n); other != by_name_.end()) {
        lib = fail(Code::AlreadyExists, "plugin '" + path + "': duplicate plugin name '" + *n +
                                            "' (already loaded from '" + other->second + "')");
        break;
      }
    }
  }
  if (lib) {
    for (const auto& f : lib->descriptor.proto_files) {
      if (by_proto_.count(f) != 0) {
        lib = fail(Code::FailedPrecondition,
                   "plugin '" + path + "': defines proto file '" + f +
                       "', which is already loaded (the same plugin installed twice, or SDK "
                       "protos compiled into the plugin)");
        break;
      }
    }
  }
  if (!lib) {
    failed_.emplace(path, lib.error());
    return fail(lib.error());
  }
  cache_.put(lib->descriptor);
  by_name_[lib->descriptor.name] = path;
  by_name_[lib->descriptor.short_name] = path;
  for (const auto& f : lib->descriptor.proto_files) by_proto_[f] = path;
  auto& stored = libs_[path] = std::move(*lib);
  log_->debug("loaded plugin '{}' ({} {}) from '{}'", stored.descriptor.short_name,
              stored.descriptor.name, stored.descriptor.version, path);
  return &stored.descriptor;
}

std::vector<const Descriptor*> PluginHostImpl::available(Kind kind) const {
  std::lock_guard lock(mu_);
  std::vector<const Descriptor*> out;
  for (const auto& [path, lib] : libs_) {
    if (lib.descriptor.kind == kind) out.push_back(&lib.descriptor);
  }
  std::sort(out.begin(), out.end(),
            [](const Descriptor* a, const Descriptor* b) { return a->short_name < b->short_name; });
  return out;
}

Result<PluginDescription> PluginHostImpl::describe(const std::string& short_name) const {
  std::lock_guard lock(mu_);
  for (const auto& [path, lib] : libs_) {
    if (lib.descriptor.short_name == short_name) {
      return PluginDescription{lib.descriptor.short_name, lib.descriptor.kind,
                               lib.descriptor.static_info};
    }
  }
  std::string list;
  for (const auto& d : describeAll()) list += (list.empty() ? "" : ", ") + d.short_name;
  return fail(Code::NotFound, "unknown plugin '" + short_name +
                                  "' (available: " + (list.empty() ? "none" : list) + ")");
}

std::vector<PluginDescription> PluginHostImpl::describeAll() const {
  std::lock_guard lock(mu_);
  std::vector<PluginDescription> out;
  for (const auto& [path, lib] : libs_) {
    out.push_back({lib.descriptor.short_name, lib.descriptor.kind, lib.descriptor.static_info});
  }
  std::sort(out.begin(), out.end(), [](const PluginDescription& a, const PluginDescription& b) {
    return a.short_name < b.short_name;
  });
  return out;
}

Result<Plugin*> PluginHostImpl::instance(Kind kind, const std::string& short_name) {
  std::lock_guard lock(mu_);
  if (auto it = instances_.find(short_name); it != instances_.end()) {
    if (it->second->descriptor().kind == kind) return it->second.get();
  }
  LoadedLibrary* found = nullptr;
  for (auto& [path, lib] : libs_) {
    if (lib.descriptor.kind == kind && lib.descriptor.short_name == short_name) found = &lib;
  }
  if (found == nullptr) {
    std::string list;
    for (const Descriptor* d : available(kind)) list += (list.empty() ? "" : ", ") + d->short_name;
    return fail(Code::NotFound, std::string("unknown ") + kindName(kind) + " '" + short_name +
                                    "' (available: " + (list.empty() ? "none" : list) + ")");
  }
  WARREN_ASSIGN_OR_RETURN(auto plugin, create(*found));
  HostedPlugin* p = plugin.get();
  instances_[short_name] = std::move(plugin);
  created_.push_back(p);
  return p;
}

Result<std::vector<Plugin*>> PluginHostImpl::isolators(const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  std::vector<Plugin*> plugins;
  std::vector<DependencyNode> nodes;
  for (const auto& n : names) {
    WARREN_ASSIGN_OR_RETURN(Plugin * p, instance(Kind::Isolator, n));
    plugins.push_back(p);
    const auto& deps = p->info().dependencies();
    nodes.push_back({n, std::vector<std::string>(deps.begin(), deps.end())});
  }
  // Optional ordering (PluginInfo.after/before) binds only isolators in use.
  for (size_t i = 0; i < plugins.size(); ++i) {
    auto in_use = [&](const std::string& n) {
      for (size_t j = 0; j < names.size(); ++j) if (names[j] == n && j != i) return j;
      return names.size();
    };
    for (const auto& a : plugins[i]->info().after()) {
      if (in_use(a) < names.size()) nodes[i].dependencies.push_back(a);
    }
    for (const auto& b : plugins[i]->info().before()) {
      if (size_t j = in_use(b); j < names.size()) nodes[j].dependencies.push_back(names[i]);
    }
  }
  WARREN_ASSIGN_OR_RETURN(auto order, dependencyOrder(nodes));
  std::vector<Plugin*> out;
  for (size_t i : order) out.push_back(plugins[i]);
  return out;
}

}  // namespace

bool isFirstParty(const Descriptor& d) { return d.name.rfind("org.warren.", 0) == 0; }

std::string findPluginHostBinary(const std::string& configured) {
  if (!configured.empty()) return ::access(configured.c_str(), X_OK) == 0 ? configured : "";
  // The one of this install (or build tree), found relative to the binary
  // holding this code (host/install_layout.hpp).
  const std::string& c = installLayout().plugin_host_path;
  return ::access(c.c_str(), X_OK) == 0 ? c : "";
}

std::unique_ptr<PluginHost> PluginHost::create(HostOptions opts, std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<PluginHostImpl>(std::move(opts), std::move(log));
}

}  // namespace warren::plugins
