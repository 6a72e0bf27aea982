#include "nvml.hpp"

#include <dlfcn.h>

namespace warren::isolators::gpu {
namespace {

// The subset of nvml.h warren uses (types as the NVML API defines them).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr nvmlReturn_t kSuccess = 0;

}  // namespace

struct Nvml::Api {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*errorString)(nvmlReturn_t);
  nvmlReturn_t (*getCount)(unsigned int*);
  nvmlReturn_t (*getHandleByIndex)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*getMinorNumber)(nvmlDevice_t, unsigned int*);
  nvmlReturn_t (*getUuid)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*getName)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*driverVersion)(char*, unsigned int);
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*);  // optional
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);            // optional

  std::string err(nvmlReturn_t r) const {
    const char* s = errorString != nullptr ? errorString(r) : nullptr;
    return s != nullptr ? std::string(s) : "NVML error " + std::to_string(r);
  }
};

namespace {

template <typename F>
bool resolve(void* h, const char* name, F*& out) {
  out = reinterpret_cast<F*>(::dlsym(h, name));
  return out != nullptr;
}

}  // namespace

Result<std::unique_ptr<Nvml>> Nvml::load(const std::string& library) {
  std::string lib = library.empty() ? "libnvidia-ml.so.1" : library;
  // Never dlclose'd: libraries stay loaded for the life of the process.
  void* h = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = ::dlerror();
    return fail(Code::Unavailable, "cannot load NVML '" + lib + "': " + (e ? e : "unknown error"));
  }
  auto api = std::make_unique<Api>();
  const char* missing = nullptr;
  auto need = [&](const char* name, auto*& fn) {
    if (!resolve(h, name, fn) && missing == nullptr) missing = name;
  };
  need("nvmlInit_v2", api->init);
  need("nvmlShutdown", api->shutdown);
  need("nvmlErrorString", api->errorString);
  need("nvmlDeviceGetCount_v2", api->getCount);
  need("nvmlDeviceGetHandleByIndex_v2", api->getHandleByIndex);
  need("nvmlDeviceGetMinorNumber", api->getMinorNumber);
  need("nvmlDeviceGetUUID", api->getUuid);
  need("nvmlDeviceGetName", api->getName);
  need("nvmlSystemGetDriverVersion", api->driverVersion);
  if (missing != nullptr) {
    return fail(Code::Unavailable, "NVML '" + lib + "' has no symbol " + missing);
  }
  resolve(h, "nvmlDeviceGetUtilizationRates", api->utilization);
  resolve(h, "nvmlDeviceGetMemoryInfo", api->memory);
  if (nvmlReturn_t r = api->init(); r != kSuccess) {
    return fail(Code::Unavailable, "NVML '" + lib + "': nvmlInit_v2: " + api->err(r));
  }
  return std::unique_ptr<Nvml>(new Nvml(lib, std::move(api)));
}

Nvml::Nvml(std::string library, std::unique_ptr<Api> api)
    : library_(std::move(library)), api_(std::move(api)) {}

Nvml::~Nvml() { api_->shutdown(); }

Result<std::vector<GpuInfo>> Nvml::devices() const {
  unsigned int count = 0;
  if (nvmlReturn_t r = api_->getCount(&count); r != kSuccess) {
    return fail(Code::Unavailable, "NVML nvmlDeviceGetCount_v2: " + api_->err(r));
  }
  std::vector<GpuInfo> out;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t d = nullptr;
    GpuInfo g;
    unsigned int minor = 0;
    char buf[96] = {};
    std::string where = "NVML GPU index " + std::to_string(i) + ": ";
    if (nvmlReturn_t r = api_->getHandleByIndex(i, &d); r != kSuccess) {
      return fail(Code::Unavailable, where + "nvmlDeviceGetHandleByIndex_v2: " + api_->err(r));
    }
    if (nvmlReturn_t r = api_->getMinorNumber(d, &minor); r != kSuccess) {
      return fail(Code::Unavailable, where + "nvmlDeviceGetMinorNumber: " + api_->err(r));
    }
    g.minor = minor;
    if (nvmlReturn_t r = api_->getUuid(d, buf, sizeof(buf) - 1); r != kSuccess) {
      return fail(Code::Unavailable, where + "nvmlDeviceGetUUID: " + api_->err(r));
    }
    g.uuid = buf;
    buf[0] = '\0';
    if (api_->getName(d, buf, sizeof(buf) - 1) == kSuccess) g.name = buf;
    out.push_back(std::move(g));
  }
  return out;
}

std::string Nvml::driverVersion() const {
  char buf[96] = {};
  return api_->driverVersion(buf, sizeof(buf) - 1) == kSuccess ? std::string(buf) : std::string();
}

GpuSample Nvml::sample(uint32_t minor) const {
  GpuSample s;
  unsigned int count = 0;
  if (api_->getCount(&count) != kSuccess) return s;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t d = nullptr;
    unsigned int m = 0;
    if (api_->getHandleByIndex(i, &d) != kSuccess || api_->getMinorNumber(d, &m) != kSuccess ||
        m != minor) {
      continue;
    }
    nvmlUtilization_t u{};
    if (api_->utilization != nullptr && api_->utilization(d, &u) == kSuccess) {
      s.utilization_percent = u.gpu;
    }
    nvmlMemory_t mem{};
    if (api_->memory != nullptr && api_->memory(d, &mem) == kSuccess) {
      s.memory_used_bytes = mem.used;
      s.memory_total_bytes = mem.total;
    }
    break;
  }
  return s;
}

}  // namespace warren::isolators::gpu
