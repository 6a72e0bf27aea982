// The exported descriptor of the cgroups isolator; nothing else.
#include "cgroups_isolator.hpp"
#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::cgroups::CgroupsIsolator, "org.warren.isolator.cgroups",
                       "cgroups", "0.1.0")
