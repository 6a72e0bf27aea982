// What a plugin file links and exports, read from its ELF dynamic section
// (no dlopen: nothing of the plugin runs). The conformance kit uses it to
// check that a plugin exports only its descriptor and is not tied to the
// host's logging library (spdlog/fmt) - plugins log through the C callback.
#pragma once

#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::check {

struct ElfDeps {
  std::vector<std::string> needed;     // DT_NEEDED
  std::vector<std::string> undefined;  // undefined dynamic symbols
  std::vector<std::string> exported;   // defined global/weak dynamic symbols
};

Result<ElfDeps> readElfDeps(const std::string& path);

// Entries of `deps` that tie the plugin to spdlog or fmt: NEEDED libraries
// and undefined symbols in those namespaces (mangled "N6spdlog" / "N3fmt").
std::vector<std::string> hostLoggingTies(const ElfDeps& deps);

}  // namespace warren::check
