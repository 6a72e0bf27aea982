#include "volume_spec_bridge.hpp"

namespace warren::cli {

Result<v1::Volume> parseVolumeFlag(const std::string& spec) {
  return fail(Code::Unimplemented, "--volume '" + spec + "': volumes are not available yet");
}

}  // namespace warren::cli
