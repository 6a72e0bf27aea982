// `warren logs`, `attach`, `exec` and the I/O of `run -i/-t` (io_commands.cpp).
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "warren/containerizer.hpp"

namespace warren::cli {

int logsCommand(Containerizer& c, const Options& o, const v1::ContainerID& id, bool follow, bool err);
int attachCommand(Containerizer& c, const Options& o, const v1::ContainerID& id);
int execCommand(Containerizer& c, const Options& o, const v1::ContainerID& parent,
                const std::vector<std::string>& argv, bool interactive, bool tty);
// Output to ours, our stdin to the container (when `input`), signals in
// `forward` to the container, until its output ends. close_stdin: its
// stdin is closed once our output attach is in place. A container that
// already ended has its logs printed instead.
Result<void> relay(Containerizer& c, const Options& o, const v1::ContainerID& id, bool input, bool tty,
                   const sigset_t* forward, bool close_stdin = false);

}  // namespace warren::cli
