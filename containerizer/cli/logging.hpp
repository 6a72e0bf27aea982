// The CLI's log sinks: text or JSON lines on stderr (or --log_file), and
// journald's "<N>" priority prefixes when stderr is the journal
// (JOURNAL_STREAM names it, as systemd sets it for a service).
//
// Lines logged while a command is in progress are held until the command
// prints its result or its failure: a failure that the library logged on its
// way up is then printed once, as the error, not once more as a log line.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "warren/sdk/result.hpp"

namespace warren::cli {

struct LogSettings {
  std::string level = "warn";
  std::string format = "text";  // text | json
  std::string file;             // empty: stderr (or the journal)
};

// Validates the settings and installs the default logger "warren".
Result<std::shared_ptr<spdlog::logger>> setUpLogging(const LogSettings& s);

// True when stderr is the journal's stream (JOURNAL_STREAM=dev:ino matches).
bool stderrIsJournal();

// Prints the held lines, minus those that repeat `error` (a failure about to
// be printed); later lines are printed as they come.
void releaseHeldLogs(const std::string& error);

}  // namespace warren::cli
