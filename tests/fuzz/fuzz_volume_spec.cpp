// Fuzz target: the `--volume TYPE:SOURCE:TARGET[:OPTION]...` grammar
// (isolators/volumes/volume_spec.cpp), parsed by the CLI and the isolator.
// Also the --host_path_allowlist list. Invariants: no crash or UB; an error is one line naming the spec; a parsed
// volume formats back to a spec that parses to the same volume; sizes
// round-trip through formatSize.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "volume_paths.hpp"
#include "volume_spec.hpp"

using namespace warren;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto n = volumes::parseSize(text)) {
    FUZZ_CHECK(*n > 0, "size '%s' parsed to 0", std::string(text).c_str());
    auto again = volumes::parseSize(volumes::formatSize(*n));
    FUZZ_CHECK(again && *again == *n, "size %llu does not round-trip", static_cast<unsigned long long>(*n));
  }
  if (auto list = volumes::parseAllowlist(text)) {  // --host_path_allowlist
    for (const auto& p : *list) FUZZ_CHECK(volumes::isUnder(p, p), "'%s' is not under itself", p.c_str());
  }
  auto v = volumes::parseVolumeSpec(text);
  if (!v) {
    const std::string& m = v.error().message();
    FUZZ_CHECK(m.rfind("invalid volume '", 0) == 0, "error without the spec: %s", m.c_str());
    return 0;
  }
  std::string spec = volumes::formatVolumeSpec(*v);
  auto again = volumes::parseVolumeSpec(spec);
  FUZZ_CHECK(again.has_value(), "formatted spec '%s' does not parse: %s", spec.c_str(),
             again.error().message().c_str());
  FUZZ_CHECK(again->SerializeAsString() == v->SerializeAsString(), "spec '%s' does not round-trip",
             spec.c_str());
  return 0;
}
