#include "volume_spec_bridge.hpp"

#include "volume_spec.hpp"

namespace warren::cli {

// The grammar is the volumes isolator's (isolators/volumes/volume_spec.hpp).
Result<v1::Volume> parseVolumeFlag(const std::string& spec) { return volumes::parseVolumeSpec(spec); }

}  // namespace warren::cli
