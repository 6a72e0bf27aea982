// Every ContainerConfig field is the core's or an isolator's (issue #18):
// an isolator names the fields it takes in PluginInfo.container_fields
// ("volumes", "resources.mem_bytes", ...); a launch that sets a field no
// isolator in use takes is refused, naming the field and - learned from the
// INFO of the plugins found - the isolator that would take it.
#pragma once

#include <string>
#include <vector>

#include "warren/v1/container.pb.h"

namespace warren::core {

// The set fields of a config, by reflection: a message field by its set
// subfields ("resources.disk_bytes"), any other by its name ("volumes").
std::vector<std::string> setConfigFields(const v1::ContainerConfig& config);

// Fields the core itself acts on (command, env, user, rootfs, ...).
bool coreConfigField(const std::string& name);

}  // namespace warren::core
