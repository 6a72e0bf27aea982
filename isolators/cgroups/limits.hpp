// What a container asks of the cgroups isolator, parsed and validated:
// resources (cpus, mem, pids) plus the isolator's own per-container settings
// ("cgroups.<key>" in ContainerConfig.isolator_settings).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren::isolators::cgroups {

inline constexpr uint64_t kMinMemBytes = 4ULL << 20;  // below this nothing starts
inline constexpr uint64_t kMinPids = 2;               // warren-init and the command
inline constexpr double kMinCpus = 0.01;              // 1ms per 100ms CFS period
inline constexpr double kMaxCpus = 1048576;           // far beyond any machine; keeps CFS quota and shares in range

// One "cgroups.io_max" entry: caps for one block device (0: no cap).
struct IoMax {
  std::string device;  // "MAJ:MIN"
  uint64_t rbps = 0, wbps = 0, riops = 0, wiops = 0;
};

struct Limits {
  double cpus = 0;          // 0: unset
  uint64_t mem_bytes = 0;   // 0: unset
  uint64_t swap_bytes = 0;  // 0: unset ("cgroups.memory_swap")
  uint64_t pids = 0;        // 0: unset
  std::string cpuset_cpus;  // "" unset ("cgroups.cpuset_cpus", e.g. "0-1")
  std::string cpuset_mems;  // "" unset ("cgroups.cpuset_mems")
  std::vector<std::string> extra_devices;  // "cgroups.devices_allow": "c 10:200 rwm;..."
  uint32_t io_weight = 0;                  // "cgroups.io_weight": 1..10000 (v2 scale)
  std::vector<IoMax> io_max;               // "cgroups.io_max": "8:0 rbps=1M wbps=1M; 254:0 riops=100"
  // "cgroups.oom_score_adj" (-1000..1000) for the container's processes; unset: inherited.
  bool has_oom_score_adj = false;
  int oom_score_adj = 0;
  // "cgroups.share_parent=true": a nested container with no cgroup of its
  // own; its processes run in (and count against) its parent's.
  bool share_parent = false;
  // The CFS quota choice made when the cgroup was created, kept in the
  // isolator's record so a later update applies the same (-1: not recorded,
  // the isolator's current --cgroups_enable_cfs decides).
  int cfs = -1;
  uint64_t cfs_period_us = 0;

  bool any() const {
    return cpus > 0 || mem_bytes > 0 || pids > 0 || swap_bytes > 0 || !cpuset_cpus.empty() ||
           !cpuset_mems.empty() || !extra_devices.empty() || io_weight > 0 || !io_max.empty();
  }
};

// "64M", "64MiB", "1.5G", "512k", "4096" (bytes; binary units). Zero,
// negative, unparsable and overflowing sizes are errors naming the text.
Result<uint64_t> parseSize(std::string_view text);
// 67108864 -> "64MiB" (exact units only), otherwise the number of bytes.
std::string formatSize(uint64_t bytes);

// One device rule "c 1:3 rwm" / "b *:* m" / "a": validated.
Result<void> validateDeviceRule(std::string_view rule);

// Resources + settings -> Limits, validated (bounds, syntax). Unknown
// "cgroups.*" settings are errors naming the key.
Result<Limits> limitsFromConfig(const v1::ContainerConfig& config);
// Resources only (update requests); 0 fields stay 0 (unchanged).
Result<Limits> limitsFromResources(const v1::Resources& resources);

// Is `child` within `parent` (each limit the child sets must not exceed
// the parent's limit of the same kind, when the parent has one)? The error
// names the resource, e.g. "resources.mem_bytes 512MiB of 'pod.web' exceeds
// the limit 256MiB of its parent 'pod'".
Result<void> checkWithin(const Limits& child, const std::string& child_id, const Limits& parent,
                         const std::string& parent_id, const std::string& relation = "parent");

// Text record of the limits applied to one container, so later calls (from
// any process) can check children and updates against them.
std::string serializeLimits(const Limits& l);
Limits parseLimits(const std::string& text);

}  // namespace warren::isolators::cgroups
