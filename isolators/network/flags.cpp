// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "network_isolator.hpp"

namespace warren::isolators::network {

namespace {
void flag(v1::PluginInfo& i, const char* name, const char* type, const char* def, const char* help) {
  auto* f = i.add_flags();
  f->set_name(name);
  f->set_type(type);
  f->set_default_value(def);
  f->set_help(help);
}
}  // namespace

v1::PluginInfo NetworkIsolator::describe() {
  v1::PluginInfo i;
  flag(i, "network_bridge", "string", "warren0", "bridge for bridged containers");
  flag(i, "network_cidr", "string", "", "address range for bridged containers (set: bridge is the default mode)");
  return i;
}

}  // namespace warren::isolators::network
