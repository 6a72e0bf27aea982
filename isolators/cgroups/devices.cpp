// devices (v1): default deny, then the standard devices a container needs.
// cgroup v2 has no devices files; access is filtered by an eBPF program
// attached to the cgroup, which this isolator does not load yet (README).
#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::devices {

const std::vector<std::string>& standardRules() {
  static const std::vector<std::string> kRules = {
      "c *:* m",     // mknod of any character device (opening it is still denied)
      "b *:* m",     // mknod of any block device
      "c 1:3 rwm",   // /dev/null
      "c 1:5 rwm",   // /dev/zero
      "c 1:7 rwm",   // /dev/full
      "c 1:8 rwm",   // /dev/random
      "c 1:9 rwm",   // /dev/urandom
      "c 5:0 rwm",   // /dev/tty
      "c 5:1 rwm",   // /dev/console
      "c 5:2 rwm",   // /dev/ptmx
      "c 136:* rwm", // /dev/pts/*
  };
  return kRules;
}

Result<void> applyV1(const std::string& dir, const std::vector<std::string>& extra) {
  WARREN_TRY(writeValue(dir + "/devices.deny", "a"));
  for (const auto& rule : standardRules()) WARREN_TRY(writeValue(dir + "/devices.allow", rule));
  for (const auto& rule : extra) {
    auto r = writeValue(dir + "/devices.allow", rule);
    if (!r) {
      return fail(Code::PermissionDenied, "device rule '" + rule +
                                              "' is not allowed (a parent container denies it): " +
                                              r.error().message());
    }
  }
  return {};
}

}  // namespace warren::isolators::cgroups::devices
