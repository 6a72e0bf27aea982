#include "host/plugin_host.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "host/call_executor.hpp"
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
};

class PluginHostImpl;

class PluginImpl final : public Plugin {
 public:
  PluginImpl(PluginHostImpl* host, LoadedLibrary lib, void* instance)
      : host_(host), lib_(std::move(lib)), instance_(instance) {}
  const Descriptor& descriptor() const override { return lib_.descriptor; }
  const v1::PluginInfo& info() const override { return info_; }
  Result<std::string> callRaw(v1::Method method, const std::string& request) override;

  PluginHostImpl* host_;
  LoadedLibrary lib_;
  void* instance_;
  v1::PluginInfo info_;
  std::atomic<bool> wedged_{false};
  std::string wedged_by_;  // set before wedged_
};

class PluginHostImpl final : public PluginHost {
 public:
  PluginHostImpl(HostOptions opts, std::shared_ptr<spdlog::logger> log)
      : opts_(std::move(opts)), log_(std::move(log)), cache_(opts_.descriptor_cache) {
    if (!log_) log_ = std::make_shared<spdlog::logger>("warren.plugins");
    cache_.load();
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

  Result<std::string> call(PluginImpl& p, uint32_t method, const std::string& request);

 private:
  std::string prefix(const Descriptor& d) const {
    return "plugin '" + d.short_name + "' (" + d.path + "): ";
  }
  std::string deadlineText() const { return std::to_string(opts_.call_deadline.count()) + "ms"; }
  Result<const Descriptor*> loadLocked(const std::string& path);
  Result<std::unique_ptr<PluginImpl>> create(const LoadedLibrary& lib);
  Result<std::string> pluginDir(const std::string& base, const Descriptor& d);

  HostOptions opts_;
  std::shared_ptr<spdlog::logger> log_;
  CallExecutor exec_;
  mutable std::recursive_mutex mu_;
  std::map<std::string, LoadedLibrary> libs_;       // path -> checked library
  std::map<std::string, Error> failed_;             // path -> why it did not load
  std::map<std::string, std::string> by_name_;      // name or short name -> path
  std::vector<Error> errors_;
  std::map<std::string, std::unique_ptr<PluginImpl>> instances_;  // short name
  std::vector<PluginImpl*> created_;                // creation order
  std::set<std::string> wedged_creates_;            // paths whose create() overran
  std::vector<PluginLog*> logs_;                    // leaked on purpose; sinks cleared at exit
  DescriptorCache cache_;
};

Result<std::string> PluginImpl::callRaw(v1::Method method, const std::string& request) {
  return host_->call(*this, static_cast<uint32_t>(method), request);
}

Result<std::string> PluginHostImpl::call(PluginImpl& p, uint32_t method, const std::string& request) {
  const Descriptor& d = p.descriptor();
  const std::string name = methodName(method);
  if (p.wedged_.load()) {
    return fail(Code::Unavailable, prefix(d) + name + " not called: the plugin is wedged since " +
                                       p.wedged_by_ + " exceeded its deadline of " + deadlineText());
  }
  auto data = std::make_shared<CallData>();
  data->request = request;
  const warren_plugin_descriptor* raw = p.lib_.raw;
  void* inst = p.instance_;
  bool in_time = exec_.run(
      [data, raw, inst, method]() {
        warren_sink sink{&data->out, &appendToString};
        try {
          data->rc = raw->call(inst, method, reinterpret_cast<const uint8_t*>(data->request.data()),
                               data->request.size(), &sink);
        } catch (...) {
          data->threw = true;
        }
      },
      // A pull is bounded by the provisioner's own stall timeout (no progress
      // for 30 s), not by the call deadline: a big image may take longer.
      method == static_cast<uint32_t>(v1::PROVISION) || method == static_cast<uint32_t>(v1::PULL)
          ? std::chrono::milliseconds(0)
          : opts_.call_deadline);
  if (!in_time) {
    p.wedged_by_ = name;
    p.wedged_.store(true);
    return fail(Code::Unavailable, prefix(d) + name + " exceeded its deadline of " + deadlineText());
  }
  if (data->threw) return fail(Code::Internal, prefix(d) + name + " threw an exception");
  if (data->rc != WARREN_OK) {
    std::string msg = data->out.empty() ? std::string("failed with code ") + std::to_string(data->rc)
                                        : data->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(data->rc), prefix(d) + name + ": " + msg);
  }
  return std::move(data->out);
}

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

Result<std::unique_ptr<PluginImpl>> PluginHostImpl::create(const LoadedLibrary& lib) {
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

  auto data = std::make_shared<CallData>();
  if (!ctx.SerializeToString(&data->request)) {
    return fail(Code::Internal, prefix(d) + "could not serialize the plugin context");
  }
  const warren_plugin_descriptor* raw = lib.raw;
  const warren_host* host = &pl->host;
  bool in_time = exec_.run(
      [data, raw, host]() {
        warren_sink sink{&data->out, &appendToString};
        try {
          data->rc = raw->create(host, reinterpret_cast<const uint8_t*>(data->request.data()),
                                 data->request.size(), &data->instance, &sink);
        } catch (...) {
          data->threw = true;
        }
      },
      opts_.call_deadline);
  if (!in_time) {
    wedged_creates_.insert(d.path);
    return fail(Code::Unavailable, prefix(d) + "create exceeded its deadline of " + deadlineText());
  }
  if (data->threw) return fail(Code::Internal, prefix(d) + "create threw an exception");
  if (data->rc != WARREN_OK || data->instance == nullptr) {
    std::string msg = data->out.empty() ? "no message" : data->out;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return fail(codeFromPlugin(data->rc), prefix(d) + "create failed: " + msg);
  }
  auto plugin = std::make_unique<PluginImpl>(this, lib, data->instance);
  auto info = plugin->call<v1::PluginInfo>(v1::INFO, v1::Empty{});
  if (!info) {
    if (!plugin->wedged_.load()) {
      void* inst = plugin->instance_;
      exec_.run([raw, inst]() { try { raw->destroy(inst); } catch (...) {} }, opts_.call_deadline);
    }
    return fail(info.error());
  }
  plugin->info_ = std::move(*info);
  return plugin;
}

PluginHostImpl::~PluginHostImpl() {
  std::lock_guard lock(mu_);
  Defer drop_sinks([&] {
    for (PluginLog* pl : logs_) {
      std::lock_guard sl(pl->sink_mu);
      pl->sink = nullptr;
    }
  });
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    PluginImpl* p = *it;
    if (p->wedged_.load()) {
      log_->warn("{}not destroyed: it is wedged", prefix(p->descriptor()));
      continue;
    }
    const warren_plugin_descriptor* raw = p->lib_.raw;
    void* inst = p->instance_;
    bool in_time =
        exec_.run([raw, inst]() { try { raw->destroy(inst); } catch (...) {} }, opts_.call_deadline);
    if (!in_time) {
      log_->warn("{}destroy exceeded its deadline of {}", prefix(p->descriptor()), deadlineText());
    }
  }
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

Result<const Descriptor*> PluginHostImpl::loadLocked(const std::string& path) {
  if (auto it = libs_.find(path); it != libs_.end()) return &it->second.descriptor;
  if (auto it = failed_.find(path); it != failed_.end()) return fail(it->second);
  Result<LoadedLibrary> lib = fail(Code::Internal, "not loaded");
  if (auto cached = cache_.find(path)) {
    lib = LoadedLibrary{*cached, nullptr};  // dlopen deferred to the first instance
  } else {
    lib = loadLibrary(path);
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
  if (!lib) {
    failed_.emplace(path, lib.error());
    return fail(lib.error());
  }
  cache_.put(lib->descriptor);
  by_name_[lib->descriptor.name] = path;
  by_name_[lib->descriptor.short_name] = path;
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
  const LoadedLibrary* found = nullptr;
  for (const auto& [path, lib] : libs_) {
    if (lib.descriptor.kind == kind && lib.descriptor.short_name == short_name) found = &lib;
  }
  if (found == nullptr) {
    std::string list;
    for (const Descriptor* d : available(kind)) list += (list.empty() ? "" : ", ") + d->short_name;
    return fail(Code::NotFound, std::string("unknown ") + kindName(kind) + " '" + short_name +
                                    "' (available: " + (list.empty() ? "none" : list) + ")");
  }
  if (found->raw == nullptr) {
    // Listed from the descriptor cache: load and check it for real now.
    auto real = loadLibrary(found->descriptor.path);
    if (!real) return fail(real.error());
    if (real->descriptor.name != found->descriptor.name ||
        real->descriptor.short_name != found->descriptor.short_name) {
      return fail(Code::FailedPrecondition, "plugin '" + found->descriptor.path +
                                                "': changed while warren was reading it");
    }
    const_cast<LoadedLibrary*>(found)->raw = real->raw;
  }
  WARREN_ASSIGN_OR_RETURN(auto plugin, create(*found));
  PluginImpl* p = plugin.get();
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

std::unique_ptr<PluginHost> PluginHost::create(HostOptions opts, std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<PluginHostImpl>(std::move(opts), std::move(log));
}

}  // namespace warren::plugins
