// Test helper shared by the filesystem/linux and volumes tests: one isolator
// loaded through the real plugin host.
#pragma once

#include <sys/mount.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>

#include "host/plugin_host.hpp"
#include "host_mounts.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {

class IsolatorPlugin {
 public:
  IsolatorPlugin(const TestEnv& env, const std::string& file, const std::string& short_name,
                 std::map<std::string, std::string> flags = {}, const std::string& config = "") {
    plugins::HostOptions opts;
    opts.plugin_dirs = {env.plugin_dir};
    opts.work_dir = env.work_dir;
    opts.runtime_dir = env.runtime_dir;
    opts.flags = std::move(flags);
    if (!config.empty()) opts.configs[short_name] = config;
    host_ = plugins::PluginHost::create(
        opts, std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
    auto loaded = host_->loadFile(env.plugin_dir + "/" + file);
    if (!loaded) {
      error = loaded.error().message();
      return;
    }
    auto inst = host_->instance(plugins::Kind::Isolator, short_name);
    if (inst) {
      plugin = *inst;
    } else {
      error = inst.error().message();
    }
  }

  Result<v1::LaunchInfo> prepare(const v1::ContainerContext& c) {
    v1::PrepareRequest req;
    *req.mutable_container() = c;
    auto r = plugin->call<v1::PrepareResponse>(v1::PREPARE, req);
    if (!r) return fail(r.error());
    return r->launch_info();
  }
  Result<void> cleanup(const v1::ContainerID& id, const v1::ContainerState& state = {}) {
    v1::ContainerRequest req;
    *req.mutable_id() = id;
    *req.mutable_state() = state;
    auto r = plugin->call<v1::Empty>(v1::CLEANUP, req);
    if (!r) return fail(r.error());
    return {};
  }
  Result<void> recover(const std::vector<v1::ContainerState>& known) {
    v1::RecoverRequest req;
    for (const auto& s : known) *req.add_containers() = s;
    auto r = plugin->call<v1::Empty>(v1::RECOVER, req);
    if (!r) return fail(r.error());
    return {};
  }

  plugins::Plugin* plugin = nullptr;
  std::string error;

 private:
  std::unique_ptr<plugins::PluginHost> host_;
};

}  // namespace warren::testing
