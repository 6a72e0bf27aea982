// The exported descriptor of the volumes isolator, and nothing else.
#include "volumes_isolator.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::volumes::VolumesIsolator, "org.warren.isolator.volumes",
                       "volumes", "0.1.0")
