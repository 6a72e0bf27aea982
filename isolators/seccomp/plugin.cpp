// The exported descriptor of the seccomp isolator, and nothing else.
#include "seccomp_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::seccomp::SeccompIsolator, "org.warren.isolator.seccomp",
                       "seccomp", "0.1.0")
