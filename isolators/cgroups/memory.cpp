// memory: the hard limit (v1 memory.limit_in_bytes, v2 memory.max), an
// optional swap allowance, usage/peak and the OOM-kill counters watch() reads.
#include <unistd.h>

#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::memory {

Result<void> applyV1(const std::string& dir, uint64_t mem, uint64_t swap) {
  if (mem == 0) return {};
  // memory.memsw.limit_in_bytes (memory + swap) must stay >= the memory
  // limit at every step, so the order depends on the direction of change.
  uint64_t memsw = kUnlimited;
  std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
  bool has_memsw = isFile(memsw_file);
  if (has_memsw) {
    auto cur_mem = readU64(dir + "/memory.limit_in_bytes");
    auto cur_memsw = readU64(memsw_file);
    if (swap > 0) {
      memsw = mem + swap;
    } else if (cur_mem && cur_memsw && *cur_memsw != kUnlimited && *cur_mem != kUnlimited) {
      memsw = mem + (*cur_memsw - *cur_mem);  // keep the swap allowance of an update
    }
  } else if (swap > 0) {
    return fail(Code::FailedPrecondition,
                "cgroups.memory_swap needs swap accounting (no '" + memsw_file + "')");
  }
  std::string limit_file = dir + "/memory.limit_in_bytes";
  auto cur = readU64(limit_file);
  bool raising = cur && (*cur == kUnlimited || mem > *cur);
  if (has_memsw && memsw != kUnlimited && raising) {
    WARREN_TRY(writeValue(memsw_file, std::to_string(memsw)));
  }
  auto r = writeValue(limit_file, std::to_string(mem));
  if (!r) {
    if (r.error().err() == EBUSY) {
      return fail(Code::FailedPrecondition,
                  "the kernel could not reclaim enough memory to lower the limit to " +
                      std::to_string(mem) + " bytes ('" + limit_file + "': busy)");
    }
    return r;
  }
  if (has_memsw && memsw != kUnlimited && !raising) {
    WARREN_TRY(writeValue(memsw_file, std::to_string(memsw)));
  }
  return {};
}

// Lowering memory.max below what a cgroup uses makes the kernel OOM-kill in
// it. Instead: set memory.high first (reclaim, throttling, no kill), give the
// kernel a bounded moment, and refuse the decrease if usage stays above it -
// the in-place resize problem Kubernetes meets (KEP-1287).
Result<void> lowerV2(const std::string& dir, uint64_t mem) {
  std::string high = dir + "/memory.high";
  auto current = readU64(dir + "/memory.current");
  if (!current || *current <= mem || !isFile(high)) return {};
  WARREN_TRY(writeValue(high, std::to_string(mem)));
  for (int i = 0; i < 50 && current && *current > mem; ++i) {
    ::usleep(20000);
    current = readU64(dir + "/memory.current");
  }
  if (current && *current > mem) {
    (void)writeValue(high, "max");
    return fail(Code::FailedPrecondition,
                "the kernel could not reclaim enough memory to lower the limit to " + std::to_string(mem) +
                    " bytes: the container still uses " + std::to_string(*current) +
                    " bytes (refused rather than OOM-killing it)");
  }
  return {};
}

Result<void> applyV2(const std::string& dir, uint64_t mem, uint64_t swap) {
  if (mem == 0) return {};
  auto cur = readU64(dir + "/memory.max");
  bool lowering = cur && (*cur == kUnlimited || mem < *cur);
  if (lowering) WARREN_TRY(lowerV2(dir, mem));
  WARREN_TRY(writeValue(dir + "/memory.max", std::to_string(mem)));
  if (lowering && isFile(dir + "/memory.high")) WARREN_TRY(writeValue(dir + "/memory.high", "max"));
  if (swap > 0) {
    std::string f = dir + "/memory.swap.max";
    if (!isFile(f)) {
      return fail(Code::FailedPrecondition, "cgroups.memory_swap needs swap accounting (no '" + f + "')");
    }
    WARREN_TRY(writeValue(f, std::to_string(swap)));
  }
  return {};
}

void statsV1(const std::string& dir, Stats& s) {
  s.mem_usage = readU64(dir + "/memory.usage_in_bytes").value_or(0);
  s.mem_peak = readU64(dir + "/memory.max_usage_in_bytes").value_or(0);
  s.mem_limit = readU64(dir + "/memory.limit_in_bytes").value_or(kUnlimited);
}

void statsV2(const std::string& dir, Stats& s) {
  s.mem_usage = readU64(dir + "/memory.current").value_or(0);
  // memory.peak exists from Linux 5.19; before that the usage is the best we have.
  s.mem_peak = readU64(dir + "/memory.peak").value_or(s.mem_usage);
  s.mem_limit = readU64(dir + "/memory.max").value_or(kUnlimited);
  s.oom_kills = oomKillsV2(dir);
}

uint64_t oomKillsV1(const std::string& dir) {
  return readKey(dir + "/memory.oom_control", "oom_kill").value_or(0);
}

uint64_t oomKillsV2(const std::string& dir) {
  return readKey(dir + "/memory.events", "oom_kill").value_or(0);
}

}  // namespace warren::isolators::cgroups::memory
