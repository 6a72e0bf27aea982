// devices (v2): cgroup v2 has no devices files; access is decided by a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. We generate
// the program from the same rule strings v1 takes ("c 1:3 rwm", "b *:* m",
// "a"), load it with the raw bpf() syscall and attach it with
// BPF_F_ALLOW_MULTI, so a nested container's program runs in addition to
// its parents' (any program saying no denies: a child can only narrow).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::cgroups::devices {

// One parsed rule. type: 'a' (all), 'c' or 'b'; major/minor -1 = any;
// access: bitmask of kMknod|kRead|kWrite.
struct Rule {
  char type = 'a';
  int64_t major = -1;
  int64_t minor = -1;
  uint32_t access = 7;
};
inline constexpr uint32_t kMknod = 1, kRead = 2, kWrite = 4;  // BPF_DEVCG_ACC_*

Result<Rule> parseRule(const std::string& rule);

// The program's instructions (struct bpf_insn, 8 bytes each) allowing
// exactly `allow` and denying everything else.
std::vector<uint64_t> buildProgram(const std::vector<Rule>& allow);

// Load the program for the standard rules plus `extra` and attach it to the
// cgroup directory `dir` (with BPF_F_ALLOW_MULTI). The attachment lives as
// long as the cgroup; no fd is kept.
Result<void> applyV2(const std::string& dir, const std::vector<std::string>& extra);

// Whether `dir` is on a real cgroup2 filesystem (not a test's fake).
bool isCgroup2(const std::string& dir);
// Whether `dir` is a real cgroup2 hierarchy and this kernel loads device programs.
bool supportedV2(const std::string& dir);

}  // namespace warren::isolators::cgroups::devices
