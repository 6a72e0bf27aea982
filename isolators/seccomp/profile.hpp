// A seccomp profile in memory: the runtime-spec linux.seccomp shape (also
// the containers-common/Docker JSON, whose includes/excludes are resolved
// against the container's capabilities and the host's architecture when the
// JSON is read). The built-in default, an OCI JSON parser, and the compiler
// to a classic BPF program (libseccomp) all meet in this struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::seccomp {

enum class ActionKind { Allow, Errno, KillThread, KillProcess, Trap, Trace, Log };

struct Action {
  ActionKind kind = ActionKind::Errno;
  uint32_t value = 1;  // errno for Errno (default EPERM), message for Trace
  bool operator==(const Action&) const = default;
};

struct ArgCmp {
  unsigned index = 0;     // 0-5
  std::string op;         // SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT, _MASKED_EQ
  uint64_t value = 0;
  uint64_t value_two = 0;  // the mask's datum for MASKED_EQ
};

struct Rule {
  std::vector<std::string> names;
  Action action;
  std::vector<ArgCmp> args;
};

struct Profile {
  Action default_action;
  std::vector<std::string> architectures;  // SCMP_ARCH_*; empty: the host's only
  std::vector<Rule> rules;
};

// The capabilities a container's command holds: crun's default set plus the
// config's additions ("CAP_*" names, upper case).
std::vector<std::string> effectiveCapabilities(const std::vector<std::string>& added);

// The built-in default: the rules of the widely used containers-common /
// Docker profile (default_profile.cpp). Calls that are known and denied fail
// with EPERM; calls the profile does not know fail with ENOSYS (so libcs fall
// back from new calls such as clone3); calls guarded by a capability are
// allowed only when `caps` holds it.
Profile defaultProfile(const std::vector<std::string>& caps);

// Parses an OCI seccomp JSON. `what` names the source in errors ("profile
// '/etc/x.json'"); every error is one line naming the field.
Result<Profile> parseProfile(const std::string& json, const std::string& what,
                             const std::vector<std::string>& caps);

// Compiles to the kernel's classic BPF (struct sock_filter array, bytes).
Result<std::string> compileProfile(const Profile& p);

}  // namespace warren::isolators::seccomp
