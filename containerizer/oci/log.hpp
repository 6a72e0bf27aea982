// warren-oci's log: --log FILE in --log-format text or json, as runc writes
// it. containerd's shim (go-runc) reads the last "error" line of the JSON
// log to report why a command failed; errors also go to stderr.
#pragma once

#include <memory>
#include <string>

#include "warren/sdk/result.hpp"

namespace spdlog {
class logger;
}

namespace warren::oci {

// A logger writing to `path` (nothing when empty) in `format`; `debug`
// lowers the level from warn to debug.
Result<std::shared_ptr<spdlog::logger>> openLog(const std::string& path, const std::string& format, bool debug);

// One error line in the log (when open) and on stderr.
void logError(const std::shared_ptr<spdlog::logger>& log, const std::string& msg);

}  // namespace warren::oci
