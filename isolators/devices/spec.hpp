// CDI (Container Device Interface) specs: parsing (JSON, and YAML through
// libyaml), the registry of devices found in the spec directories, and the
// edits of requested devices. https://github.com/cncf-tags/container-device-interface
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "warren/sdk/result.hpp"

namespace warren::isolators::cdi {

struct DeviceNode {
  std::string path;       // in the container
  std::string host_path;  // "" = path
  std::string type;       // "c", "b" or "" (from the host node)
  int64_t major = -1;     // -1: from the host node
  int64_t minor = -1;
  std::string permissions;  // "" = "rwm"
};

struct MountEdit {
  std::string host_path;
  std::string container_path;
  std::string type;  // "" = bind
  std::vector<std::string> options;
};

struct Hook {
  std::string hook_name;  // createRuntime, createContainer, startContainer, poststart, poststop, prestart
  std::string path;
  std::vector<std::string> args;  // args[0] is argv[0]
  std::vector<std::string> env;
};

struct ContainerEdits {
  std::vector<std::string> env;  // "K=V"
  std::vector<DeviceNode> device_nodes;
  std::vector<MountEdit> mounts;
  std::vector<Hook> hooks;
};

struct Spec {
  std::string file;  // where it came from
  std::string kind;  // "vendor.com/class"
  ContainerEdits edits;  // applied once when any device of the spec is used
  std::map<std::string, ContainerEdits> devices;  // by name
};

// Text -> JSON. YAML documents are converted (plain scalars that read as
// integers/booleans/null become those; quoted ones stay strings).
Result<nlohmann::json> parseText(const std::string& text, bool yaml);
// A parsed document -> Spec, validated (required fields, types, names).
// Errors name the field, e.g. "devices[1].containerEdits.deviceNodes[0]: no path".
Result<Spec> specFromJson(const nlohmann::json& doc);

// Every spec under `dirs` (*.json, *.yaml, *.yml); a device name defined
// again in a later directory replaces the earlier one, twice in one
// directory is an error. Any malformed spec is an error naming its file.
struct Registry {
  std::vector<Spec> specs;
  // "vendor.com/class=name" -> (spec index, device name)
  std::map<std::string, std::pair<size_t, std::string>> devices;
};
Result<Registry> loadRegistry(const std::vector<std::string>& dirs);

// "vendor.com/class=name" split and validated.
Result<std::pair<std::string, std::string>> parseDeviceName(const std::string& qualified);

}  // namespace warren::isolators::cdi
