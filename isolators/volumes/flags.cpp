// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "volumes_isolator.hpp"
#include "warren/sdk/flags.hpp"

namespace warren::isolators::volumes {

v1::PluginInfo VolumesIsolator::describe() {
  v1::PluginInfo i;
  sdk::addFlag(i, "host_path_allowlist", "list", "", "host path prefixes that host: volumes may use");
  i.add_container_fields("volumes");  // and the volumes.spec_<n> settings
  return i;
}

}  // namespace warren::isolators::volumes
