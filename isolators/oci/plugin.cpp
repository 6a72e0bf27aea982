// The exported descriptor of the oci isolator, and nothing else.
#include "oci_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::oci::OciIsolator, "org.warren.isolator.oci", "oci", "0.1.0")
