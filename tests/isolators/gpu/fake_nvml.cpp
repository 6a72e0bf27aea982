// A fake NVML (libnvidia-ml.so.1) for machines without an NVIDIA driver:
// the entry points the gpu/nvidia isolator calls, answering from the
// environment so each test chooses its GPUs. The isolator dlopen's it
// exactly as it would the real library (config nvml_library).
//
//   WARREN_FAKE_NVML_MINORS=0,1,2,3   the GPUs' minor numbers (default "0,1")
//   WARREN_FAKE_NVML_INIT_ERROR=N     nvmlInit_v2 returns N (e.g. 9: driver not loaded)
//
// GPU i (by minor m): UUID "GPU-fake-<m>", utilisation 10+m %, 16 GiB of
// memory with (m+1) GiB used.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct FakeDevice {
  unsigned minor;
};

std::vector<FakeDevice>& devices() {
  static std::vector<FakeDevice> d;
  return d;
}

bool g_init = false;

int fill(char* buf, unsigned len, const char* text) {
  if (std::strlen(text) + 1 > len) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::strcpy(buf, text);
  return 0;
}

}  // namespace

struct nvmlDevice_st {
  unsigned index;
};
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned gpu, memory;
};
struct nvmlMemory_t {
  unsigned long long total, free, used;
};

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  if (const char* e = std::getenv("WARREN_FAKE_NVML_INIT_ERROR")) return std::atoi(e);
  devices().clear();
  const char* m = std::getenv("WARREN_FAKE_NVML_MINORS");
  std::string list = m ? m : "0,1";
  size_t i = 0;
  while (i < list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    if (j > i) devices().push_back({static_cast<unsigned>(std::atoi(list.substr(i, j - i).c_str()))});
    i = j + 1;
  }
  g_init = true;
  return 0;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  g_init = false;
  return 0;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(int r) {
  switch (r) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned* count) {
  if (!g_init) return 1;
  *count = static_cast<unsigned>(devices().size());
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t* d) {
  if (!g_init) return 1;
  if (i >= devices().size()) return 2;
  static nvmlDevice_st handles[64];
  handles[i].index = i;
  *d = &handles[i];
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned* minor) {
  *minor = devices().at(d->index).minor;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetUUID(nvmlDevice_t d, char* buf, unsigned len) {
  char text[64];
  std::snprintf(text, sizeof text, "GPU-fake-%u", devices().at(d->index).minor);
  return fill(buf, len, text);
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(nvmlDevice_t, char* buf, unsigned len) {
  return fill(buf, len, "Fake NVIDIA GPU");
}

__attribute__((visibility("default"))) int nvmlSystemGetDriverVersion(char* buf, unsigned len) {
  return fill(buf, len, "999.99.99-fake");
}

__attribute__((visibility("default"))) int nvmlDeviceGetUtilizationRates(nvmlDevice_t d,
                                                                         nvmlUtilization_t* u) {
  u->gpu = 10 + devices().at(d->index).minor;
  u->memory = 5;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  m->total = 16ull << 30;
  m->used = static_cast<unsigned long long>(devices().at(d->index).minor + 1) << 30;
  m->free = m->total - m->used;
  return 0;
}

}  // extern "C"
