// Process helpers: pidfds, liveness with start-time check (pid reuse).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"

namespace warren::core {

uint64_t startTimeOf(pid_t pid);  // 0 when gone
// A pidfd for pid when it is still the same process (start time matches).
Result<UniqueFd> openProcess(pid_t pid, uint64_t start_time);
bool isAlive(pid_t pid, uint64_t start_time);
// Wait until the pidfd is readable (process exited). false on timeout.
bool waitExit(int pidfd, std::optional<std::chrono::milliseconds> timeout);
// Reap pid when it is our child (no-op otherwise).
void reapIfChild(pid_t pid);
Result<void> signalProcess(int pidfd, int sig);

// Ends every warren-init whose runtime dir (held open on its fd 4,
// launcher/spec.hpp kRuntimeDirFd) is `runtime_dir` and waits for it: a
// launch interrupted before its pid was checkpointed leaves an init nobody
// recorded, which would otherwise write its exit status into the dir while
// it is being removed. Returns how many were ended.
int endInitsHolding(const std::string& runtime_dir);

// Fault injection for the crash-point tests (internal, documented in
// docs/architecture.md): WARREN_FAULT_KILL_AT=<step> SIGKILLs this process at
// the named step; WARREN_FAULT_PAUSE_AT=<step>:<file> writes <file> there and
// waits until <file> is removed. No-op when neither names this step.
void faultPoint(const char* step);

}  // namespace warren::core
