// The exported descriptor of the disk/xfs isolator, and nothing else.
#include "xfs_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::disk_xfs::XfsIsolator, "org.warren.isolator.disk.xfs", "disk/xfs",
                       "0.1.0")
