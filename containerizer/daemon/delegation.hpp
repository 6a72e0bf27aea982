// warrend under a systemd unit with Delegate=yes on a cgroup v2 host: the
// unit's cgroup is warrend's to manage, but v2's "no internal processes"
// rule lets no cgroup hold processes while its children have controllers.
// So warrend moves itself into <unit>/supervisor and its containers go
// under <unit>/containers (systemd >= 254 can do the first step itself with
// DelegateSubgroup=; Debian 12 has 252).
#pragma once

#include <string>

#include "warren/sdk/result.hpp"

namespace warren::daemon {

// `hierarchy`: where cgroup2 is mounted; `requested_root`: --cgroups_root
// as given ("" when not given). Moves this process into
// <own cgroup>/supervisor and returns the cgroups root to use (the requested
// one, which must lie below the own cgroup, or <own cgroup>/containers).
// Refused on anything but a pure v2 mount, and from the root cgroup.
Result<std::string> enterDelegatedCgroup(const std::string& hierarchy, const std::string& requested_root);

}  // namespace warren::daemon
