// The exported descriptor of the network isolator, and nothing else.
#include "network_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::network::NetworkIsolator,
                       "org.warren.isolator.network", "network", "0.1.0")
