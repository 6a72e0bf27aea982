// The exported descriptor of the devices/cdi isolator, and nothing else.
#include "cdi_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::cdi::CdiIsolator, "org.warren.isolator.devices.cdi",
                       "devices/cdi", "0.1.0")
