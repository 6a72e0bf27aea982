// The exported descriptor of the pid isolator, and nothing else.
#include "pid_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::pid::PidIsolator, "org.warren.isolator.pid", "pid",
                       "0.1.0")
