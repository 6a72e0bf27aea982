// Who is calling: identified from the socket's peer credentials only.
//
//   host root     uid 0 in warrend's user namespace, in no container
//   container X   the caller's mount namespace is X's (X's warren-init's), or
//                 the caller descends from X's warren-init; may manage only
//                 X's descendants
//   anyone else   nothing (403)
//
// Pid reuse: the caller is pinned by a pidfd from SO_PEERPIDFD (Linux 6.5+)
// and must still be alive after its namespaces were read; without
// SO_PEERPIDFD a process that started after the connection was accepted is
// refused.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "supervisor.hpp"
#include "warren/sdk/result.hpp"

namespace warren::daemon {

struct Caller {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  bool host_root = false;
  std::optional<v1::ContainerID> container;  // the caller's container
  std::string describe() const;
};

// Identify the peer of a connected Unix socket. accepted_ticks: the boot-time
// clock (in /proc stat ticks) when the connection was accepted.
Result<Caller> identify(int conn_fd, uint64_t accepted_ticks, Supervisor& sup);

// Whether `caller` may act on `target` (launch it, wait on it, kill, remove,
// update). Host root: anything; container X: strict descendants of X only.
Result<void> authorize(const Caller& caller, const v1::ContainerID& target, const std::string& what);
// For task groups: the parent may be X itself or a descendant of X.
Result<void> authorizeParent(const Caller& caller, const v1::ContainerID& parent,
                             const std::string& what);
bool isDescendant(const v1::ContainerID& id, const v1::ContainerID& ancestor);

uint64_t bootTicksNow();

}  // namespace warren::daemon
