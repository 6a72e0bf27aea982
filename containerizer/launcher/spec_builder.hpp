// Builds warren-init's Spec from a LaunchRequest, validating it host-side.
#pragma once

#include "launcher/launcher.hpp"
#include "launcher/spec.hpp"

namespace warren::launcher {

Result<Spec> buildSpec(const LaunchRequest& req);

}  // namespace warren::launcher
