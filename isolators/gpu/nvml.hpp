// NVML, loaded at run time with dlopen (no link-time dependency on the
// driver): the few entry points warren calls, behind a small class so the
// isolator can run on a static GPU list instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::gpu {

struct GpuInfo {
  uint32_t minor = 0;  // /dev/nvidia<minor>
  std::string uuid;    // "" when unknown (static list without uuid)
  std::string name;    // model name from NVML
};

struct GpuSample {
  std::optional<double> utilization_percent;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
};

class Nvml {
 public:
  // dlopen `library` ("libnvidia-ml.so.1" when empty), resolve the entry
  // points, nvmlInit_v2. Errors name the library and the failing call.
  static Result<std::unique_ptr<Nvml>> load(const std::string& library);
  ~Nvml();  // nvmlShutdown; the library itself stays loaded

  Result<std::vector<GpuInfo>> devices() const;
  std::string driverVersion() const;
  // Utilisation and memory of the GPU with this minor; fields NVML cannot
  // give are left empty.
  GpuSample sample(uint32_t minor) const;
  const std::string& library() const { return library_; }

 private:
  struct Api;
  Nvml(std::string library, std::unique_ptr<Api> api);
  std::string library_;
  std::unique_ptr<Api> api_;
};

}  // namespace warren::isolators::gpu
