// The seccomp isolator: gives every container's command a seccomp filter,
// compiled here (host-side, libseccomp) into a BPF program that LaunchInfo
// carries as bytes; warren-init installs it as the last step before execve,
// after no_new_privs. It only describes; warren-init acts.
//
//   isolator setting seccomp.profile   filter
//   (unset) / "default"                the built-in default (or Config.default_profile)
//   "unconfined"                       none (the only way to run without one)
//   "/abs/path.json"                   that OCI seccomp JSON
//   "{...}"                            inline OCI seccomp JSON
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "profile.hpp"
#include "warren/isolators/seccomp/config.pb.h"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::seccomp {

inline constexpr const char* kShortName = "seccomp";
inline constexpr size_t kMaxProfileBytes = 4 << 20;

class SeccompIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<SeccompIsolator>> create(const v1::PluginContext& ctx);

  v1::PluginInfo info() const override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;

 private:
  SeccompIsolator(Config config, std::string default_json, std::string cache_dir);
  // The built-in default for a capability set: from memory, from the
  // on-disk cache (a CLI process launches one container, and compiling costs
  // tens of ms), or compiled and cached.
  Result<std::string> defaultFilter(const std::vector<std::string>& caps);

  Config config_;
  std::string cache_dir_;  // the plugin's runtime dir; "" = no disk cache
  std::string default_json_;  // Config.default_profile's text, or "" for the built-in
  std::mutex mu_;
  std::map<std::string, std::string> cache_;  // profile key -> default BPF
  std::shared_ptr<sdk::Logger> log_;
};

// The pure decision, for tests: the BPF bytes for one container ("" when
// unconfined). `default_json` as in the isolator.
Result<std::string> filterFor(const v1::ContainerConfig& config, const std::string& default_json);

// A stable key of a profile's content (names the on-disk cache entry).
std::string profileKey(const Profile& p);

// Reads a profile file (bounded), for the isolator and tests.
Result<std::string> readProfileFile(const std::string& path);

}  // namespace warren::isolators::seccomp
