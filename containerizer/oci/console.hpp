// process.terminal: warren-init opens the pty in the container; its master
// goes to the caller's console socket (SCM_RIGHTS, as runc does).
#pragma once

#include <string>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"

namespace warren::oci {

Result<void> sendConsole(const std::string& socket_path, int master);

}  // namespace warren::oci
