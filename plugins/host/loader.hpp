// Loads one plugin file with Boost.DLL and checks its descriptor before
// anything in it is called. Libraries are never unloaded.
#pragma once

#include <string>
#include <vector>

#include "host/plugin_host.hpp"
#include "warren/sdk/abi.h"
#include "warren/sdk/result.hpp"

namespace warren::plugins {

struct LoadedLibrary {
  Descriptor descriptor;
  const warren_plugin_descriptor* raw = nullptr;  // lives as long as the process
};

// Bytes of the descriptor the host reads (ABI 1.0: through `call`).
constexpr uint32_t kDescriptorBytesRead =
    offsetof(warren_plugin_descriptor, call) + sizeof(warren_plugin_descriptor::call);
// ABI 1.1 adds `describe`.
constexpr uint32_t kDescriptorBytesRead11 =
    offsetof(warren_plugin_descriptor, describe) + sizeof(warren_plugin_descriptor::describe);
// ABI 1.2 adds `proto_files`.
constexpr uint32_t kDescriptorBytesRead12 =
    offsetof(warren_plugin_descriptor, proto_files) + sizeof(warren_plugin_descriptor::proto_files);
// What a descriptor of ABI 1.<minor> must hold.
constexpr uint32_t descriptorBytesFor(uint16_t minor) {
  return minor >= 2 ? kDescriptorBytesRead12 : minor >= 1 ? kDescriptorBytesRead11 : kDescriptorBytesRead;
}

// "plugin '<path>': not a loadable shared library: <reason>", ... (one line).
// Before dlopen, refuses a file whose proto files are already registered in
// this process: `known_protos` when the descriptor was read already (in a
// warren-plugin-host child), else the names scanned from the file's bytes.
// With `check_protos` false nothing is checked (warren-plugin-host itself:
// a clash aborts there, and its protobuf log handler reports it).
Result<LoadedLibrary> loadLibrary(const std::string& path,
                                  const std::vector<std::string>* known_protos = nullptr,
                                  bool check_protos = true);

// Checks a descriptor that is already in memory (loadLibrary's second half)
// and reads its static PluginInfo through `describe` (ABI >= 1.1), e.g.
//   "plugin '<path>': describe failed: <message>".
Result<LoadedLibrary> checkDescriptor(const std::string& path, const warren_plugin_descriptor* d);

// Names of the proto files whose generated code a library embeds (and would
// register in protobuf's global pool when loaded), read from its bytes.
std::vector<std::string> embeddedProtoFiles(std::string_view bytes);

// Valid names: reverse-DNS "org.vendor.isolator.x" and short "x" or "a/b".
bool validPluginName(const std::string& name);
bool validShortName(const std::string& name);

}  // namespace warren::plugins
