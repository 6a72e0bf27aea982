// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "network_isolator.hpp"
#include "warren/sdk/flags.hpp"

namespace warren::isolators::network {

v1::PluginInfo NetworkIsolator::describe() {
  v1::PluginInfo i;
  sdk::addFlag(i, "network_bridge", "string", "warren0", "bridge for bridged containers");
  sdk::addFlag(i, "network_cidr", "string", "", "address range for bridged containers (set: bridge is the default mode)");
  i.add_container_fields("network_mode");
  return i;
}

}  // namespace warren::isolators::network
