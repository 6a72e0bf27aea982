// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "userns_isolator.hpp"
#include "warren/sdk/flags.hpp"

namespace warren::isolators::userns {

v1::PluginInfo UsernsIsolator::describe() {
  v1::PluginInfo i;
  sdk::addFlag(i, "userns_range", "string", "268435456:268435456",
               "host uid/gid range START:COUNT that user-namespaced containers are mapped into");
  sdk::addFlag(i, "userns_size", "int", "65536", "uids/gids per user-namespaced container (0..N-1 inside)");
  i.add_container_fields("user_namespace");
  return i;
}

}  // namespace warren::isolators::userns
