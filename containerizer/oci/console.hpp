// process.terminal: a pseudo-terminal whose master goes to the caller's
// console socket (SCM_RIGHTS, as runc) and whose slave is the command's
// stdio and controlling terminal.
#pragma once

#include <string>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"

namespace warren::oci {

struct Pty {
  UniqueFd master, slave;
};

Result<Pty> openPty(unsigned rows, unsigned cols);
Result<void> sendConsole(const std::string& socket_path, int master);

}  // namespace warren::oci
