// An OCI runtime bundle's config.json (runtime-spec 1.0-1.1), mapped onto
// warren: the ContainerConfig the core takes (command, env, user, cwd, root,
// hostname) and the LaunchInfo the `oci` isolator contributes (namespaces,
// mounts, rlimits, capabilities, masked/read-only paths), plus the cgroup
// settings it applies at linux.cgroupsPath. One parser for warren-oci (which
// refuses a bundle before anything is made) and the plugin (which acts on it).
//
// Every field is either honoured or refused with an error naming it: an
// unknown field, or a known one warren cannot honour yet, never passes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"
#include "warren/v1/launch.pb.h"

namespace warren::oci {

// Isolator settings warren-oci hands to the `oci` isolator.
inline constexpr const char* kSettingSpec = "oci.spec";      // config.json's text
inline constexpr const char* kSettingBundle = "oci.bundle";  // absolute bundle dir

struct DeviceRule {  // linux.resources.devices[i] (cgroup v1 devices.allow/deny)
  bool allow = false;
  char type = 'a';   // a, c, b
  int64_t major = -1, minor = -1;  // -1 = '*'
  std::string access = "rwm";
};

struct CgroupSettings {
  std::string path;  // linux.cgroupsPath (absolute), or /warren-oci/<id> when absent
  std::optional<int64_t> mem_limit, mem_reservation, mem_swap;
  std::optional<uint64_t> mem_swappiness;
  std::optional<uint64_t> cpu_shares, cpu_period;
  std::optional<int64_t> cpu_quota;
  std::optional<int64_t> pids_limit;
  std::vector<DeviceRule> devices;
};

struct Spec {
  v1::ContainerConfig config;  // for Containerizer::launch (no settings yet)
  v1::LaunchInfo launch;       // the `oci` isolator's contribution
  CgroupSettings cgroup;
  std::map<std::string, std::string> sysctl;  // key (dots) -> value
  std::map<std::string, std::string> annotations;
  std::optional<int> oom_score_adj;
  bool terminal = false;
  bool new_netns = false;  // network namespace without a path: bring lo up
  bool new_ipcns = true;
  std::string seccomp_json;  // linux.seccomp as JSON, "" when absent
  std::string oci_version;
};

// `text` is config.json, `bundle` the absolute bundle directory (root.path
// and relative bind sources resolve against it), `id` the container ID.
Result<Spec> parseSpec(const std::string& text, const std::string& bundle, const std::string& id);

// `exec --process FILE`: a config.json "process" object alone (config and
// launch.capabilities/rlimits filled; errors name process.* fields).
Result<Spec> parseProcessSpec(const std::string& text);

// resources as `update --resources` gives them (linux.resources' shape).
Result<CgroupSettings> parseResources(const std::string& json, CgroupSettings base);

// The cgroup v1 hierarchies warren-oci places a container in.
const std::vector<std::string>& cgroupControllers();

}  // namespace warren::oci

namespace warren::oci {
// linux.cgroupsPath of config.json (or the default for `id`), without
// checking anything else: for cleanup, when the bundle may be gone.
std::string cgroupPathOf(const std::string& text, const std::string& id);
}  // namespace warren::oci
