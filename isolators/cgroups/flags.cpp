// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "cgroups_isolator.hpp"
#include "warren/sdk/flags.hpp"

namespace warren::isolators::cgroups {

v1::PluginInfo CgroupsIsolator::describe() {
  v1::PluginInfo i;
  sdk::addFlag(i, "cgroups_enable_cfs", "bool", "false", "hard CPU limits with the CFS quota");
  sdk::addFlag(i, "cgroups_hierarchy", "string", "", "where the cgroup hierarchies are mounted (default /sys/fs/cgroup)");
  for (const char* f : {"resources.cpus", "resources.mem_bytes", "resources.pids"}) i.add_container_fields(f);
  return i;
}

}  // namespace warren::isolators::cgroups
