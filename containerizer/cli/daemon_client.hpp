// The CLI as a client of warrend (--daemon=auto|always|never, issue #14).
//
// With warrend answering on its socket, every change to a container -
// launch, wait, kill, a forwarded signal, destroy, update, task groups - is a
// call to warrend, so its supervisor stays the one observer and writer of
// every record. What only reads the state on disk (ps, status, inspect,
// usage, logs, images, plugins) reads it as the embedded CLI does, through
// a local Containerizer over the same dirs, so the output is the same
// either way.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "flags.hpp"
#include "warren/containerizer.hpp"

namespace warren::cli {

// Where warrend's API socket is for these flags (--api_socket, default
// <runtime_dir>/warrend.sock).
std::string apiSocketOf(const GlobalFlags& g);

// A ContainerID as the agent API's JSON ({"value", "parent": {...}}).
nlohmann::json agentId(const v1::ContainerID& id);

// Whether this command goes through warrend: `never` -> no; `always` ->
// yes, or an error naming the socket when nothing answers there; `auto` ->
// when something answers. Returns the socket to use.
Result<std::optional<std::string>> chooseDaemon(const GlobalFlags& g);

// A Containerizer whose changes go to warrend at `socket` and whose reads go
// to `local` (the same dirs). `grace`: destroy's SIGTERM-to-SIGKILL wait.
std::unique_ptr<Containerizer> daemonContainerizer(std::string socket, std::unique_ptr<Containerizer> local,
                                                   std::chrono::milliseconds grace);

}  // namespace warren::cli
