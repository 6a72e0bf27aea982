// The exported descriptor of the disk/du isolator, and nothing else.
#include "du_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::disk_du::DuIsolator, "org.warren.isolator.disk.du", "disk/du",
                       "0.1.0")
