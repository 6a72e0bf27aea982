// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "cgroups_isolator.hpp"

namespace warren::isolators::cgroups {

namespace {
void flag(v1::PluginInfo& i, const char* name, const char* type, const char* def, const char* help) {
  auto* f = i.add_flags();
  f->set_name(name);
  f->set_type(type);
  f->set_default_value(def);
  f->set_help(help);
}
}  // namespace

v1::PluginInfo CgroupsIsolator::describe() {
  v1::PluginInfo i;
  flag(i, "cgroups_enable_cfs", "bool", "false", "hard CPU limits with the CFS quota");
  flag(i, "cgroups_hierarchy", "string", "", "where the cgroup hierarchies are mounted (default /sys/fs/cgroup)");
  return i;
}

}  // namespace warren::isolators::cgroups
