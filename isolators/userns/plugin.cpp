// The exported descriptor of the userns isolator, and nothing else.
#include "userns_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::userns::UsernsIsolator, "org.warren.isolator.userns", "userns",
                       "0.1.0")
