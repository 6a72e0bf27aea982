// The exit status file warren-init writes into a container's runtime dir
// (atomically: write temp, fsync, rename) before it exits, so the status
// survives any restart of whoever launched the container. Format, one
// `key value` per line:
//   status <raw waitpid status of the command>
//   reason exited|signaled|exec_failed|setup_failed
//   message <one line, may be empty>
#pragma once

#include <optional>
#include <string>

namespace warren::launcher {

inline constexpr const char* kExitStatusFile = "exit_status";
// OCI create/start: the fifo a held warren-init waits on (Spec::hold_until_start).
inline constexpr const char* kStartFifo = "start";

struct ExitStatus {
  int wait_status = 0;
  std::string reason;   // exited | signaled | exec_failed | setup_failed
  std::string message;
};

// Parses the file's text; nullopt if malformed.
std::optional<ExitStatus> parseExitStatus(const std::string& text);
std::string formatExitStatus(const ExitStatus& s);

}  // namespace warren::launcher
