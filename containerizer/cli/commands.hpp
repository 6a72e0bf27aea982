#pragma once

#include <signal.h>

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <nlohmann/json.hpp>

#include "flags.hpp"

namespace warren::cli {

// Runs one parsed subcommand; returns the process exit code.
int dispatch(const CommandSpec& spec, const po::variables_map& vm, GlobalFlags& g,
             std::shared_ptr<spdlog::logger> log);

// The exit code for a termination: the command's own code; 126 when it
// could not be executed, 127 when not found; 128+N for signal N; 125 when
// warren could not set the container up.
int exitCodeOf(const v1::Termination& t);

// The signals `warren run` forwards to its container (INT TERM HUP QUIT
// USR1 USR2 WINCH). main() blocks them before anything starts a thread, so
// no thread of warren's can be the one that takes them (and dies of them).
sigset_t runForwardedSignals();

// {"id", "exit_code", "termination"}
nlohmann::json terminationJson(const v1::ContainerID& id, const v1::Termination& t);

}  // namespace warren::cli
