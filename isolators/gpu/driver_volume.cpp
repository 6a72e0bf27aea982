#include "driver_volume.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "warren/sdk/fs.hpp"

namespace warren::isolators::gpu {

namespace {

// The loader cache's layout (glibc's elf/cache.h, "new" format).
constexpr std::string_view kCacheMagic = "glibc-ld.so.cache";
constexpr std::string_view kCacheVersion = "1.1";
constexpr size_t kHeaderSize = 48;  // magic+version (20), nlibs, len_strings, flags+pad, ext offset, unused[3]
constexpr size_t kEntrySize = 24;   // flags, key, value, osversion (4 each), hwcap (8)
constexpr int32_t kFlagTypeMask = 0x00ff;
constexpr int32_t kFlagElfLibc6 = 0x0003;
constexpr int32_t kFlagRequiredMask = 0xff00;
#if defined(__x86_64__)
constexpr int32_t kFlagThisAbi = 0x0300;  // FLAG_X8664_LIB64
#elif defined(__aarch64__)
constexpr int32_t kFlagThisAbi = 0x0a00;  // FLAG_AARCH64_LIB64
#else
constexpr int32_t kFlagThisAbi = -1;  // no driver volume on other ABIs
#endif

// NVIDIA's compute and utility libraries (what NVIDIA_DRIVER_CAPABILITIES
// "compute,utility" names), by their name before ".so".
const std::set<std::string, std::less<>> kLibraries = {
    "libnvidia-ml",       "libnvidia-cfg",         "libcuda",
    "libcudadebugger",    "libnvidia-opencl",      "libnvidia-ptxjitcompiler",
    "libnvidia-fatbinaryloader", "libnvidia-allocator", "libnvidia-compiler",
    "libnvidia-nvvm",     "libnvidia-gpucomp",     "libnvidia-pkcs11",
    "libnvidia-pkcs11-openssl3"};

const char* const kBinaries[] = {"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
                                 "nvidia-cuda-mps-control", "nvidia-cuda-mps-server"};

uint32_t u32(std::string_view b, size_t off) {
  uint32_t v = 0;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

// A NUL-terminated string at `off` of the cache (offsets count from the
// start of the new-format header, which is the start of the file here).
Result<std::string> cacheString(std::string_view b, uint32_t off, const std::string& what) {
  if (off >= b.size()) return fail(Code::InvalidArgument, what + ": a string offset is past the end");
  size_t end = b.find('\0', off);
  if (end == std::string_view::npos) return fail(Code::InvalidArgument, what + ": an unterminated string");
  return std::string(b.substr(off, end - off));
}

std::string baseName(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Link or copy `from` to `to` (mode kept).
Result<void> placeFile(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return {};
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::none, ec);
  if (ec) return fail(Code::Internal, "copy '" + from + "' to '" + to + "': " + ec.message());
  return {};
}

// The driver version names a directory: digits, letters, '.', '-' only.
bool safeVersion(const std::string& v) {
  if (v.empty() || v.size() > 64 || v[0] == '.' || v[0] == '-') return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; });
}

}  // namespace

Result<std::vector<CacheEntry>> parseLoaderCache(std::string_view b, const std::string& what) {
  if (b.size() < kHeaderSize || b.substr(0, kCacheMagic.size()) != kCacheMagic) {
    return fail(Code::InvalidArgument, what + ": not a glibc loader cache in the " + std::string(kCacheMagic) +
                                           std::string(kCacheVersion) + " format (made by ldconfig of glibc >= 2.32)");
  }
  if (b.substr(kCacheMagic.size(), kCacheVersion.size()) != kCacheVersion) {
    return fail(Code::InvalidArgument, what + ": loader cache version '" +
                                           std::string(b.substr(kCacheMagic.size(), kCacheVersion.size())) +
                                           "' (this warren reads " + std::string(kCacheVersion) + ")");
  }
  const uint32_t nlibs = u32(b, 20);
  if (nlibs > (b.size() - kHeaderSize) / kEntrySize) {
    return fail(Code::InvalidArgument, what + ": " + std::to_string(nlibs) + " entries do not fit in " +
                                           std::to_string(b.size()) + " bytes (truncated?)");
  }
  std::vector<CacheEntry> out;
  for (uint32_t i = 0; i < nlibs; ++i) {
    size_t e = kHeaderSize + size_t{i} * kEntrySize;
    int32_t flags = static_cast<int32_t>(u32(b, e));
    if ((flags & kFlagTypeMask) != kFlagElfLibc6 || (flags & kFlagRequiredMask) != kFlagThisAbi) continue;
    WARREN_ASSIGN_OR_RETURN(std::string name, cacheString(b, u32(b, e + 4), what));
    WARREN_ASSIGN_OR_RETURN(std::string path, cacheString(b, u32(b, e + 8), what));
    out.push_back({std::move(name), std::move(path)});
  }
  return out;
}

std::vector<DriverLibrary> driverLibraries(const std::vector<CacheEntry>& entries, const std::string& version) {
  std::map<std::string, DriverLibrary> by_real;
  const std::string suffix = ".so." + version;
  for (const auto& e : entries) {
    auto so = e.name.find(".so");
    if (so == std::string::npos || !kLibraries.count(e.name.substr(0, so))) continue;
    char real[PATH_MAX];
    if (::realpath(e.path.c_str(), real) == nullptr) continue;  // a dangling cache entry
    std::string r = real;
    std::string file = baseName(r);
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        file.substr(0, so) != e.name.substr(0, so)) {
      continue;  // another driver version's library
    }
    auto& lib = by_real[r];
    lib.real_path = r;
    if (e.name != file && std::find(lib.names.begin(), lib.names.end(), e.name) == lib.names.end()) {
      lib.names.push_back(e.name);
    }
  }
  std::vector<DriverLibrary> out;
  for (auto& [_, lib] : by_real) {
    std::sort(lib.names.begin(), lib.names.end());
    out.push_back(std::move(lib));
  }
  return out;
}

std::vector<std::string> driverBinaries(const std::vector<std::string>& bin_dirs) {
  std::vector<std::string> out;
  for (const char* name : kBinaries) {
    for (const auto& dir : bin_dirs) {
      std::string p = dir + "/" + name;
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        out.push_back(p);
        break;
      }
    }
  }
  return out;
}

Result<std::string> stageDriverVolume(const std::string& root, const std::string& version,
                                      const std::vector<DriverLibrary>& libs,
                                      const std::vector<std::string>& bins) {
  if (!safeVersion(version)) {
    return fail(Code::InvalidArgument, "driver version '" + version + "' cannot name a directory");
  }
  const std::string dir = root + "/" + version;
  if (fs::exists(dir)) return dir;  // made earlier: complete, since it is renamed into place last
  WARREN_TRY(fs::mkdirs(root, 0755));
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);  // a crashed earlier attempt of this pid number
  auto made = [&]() -> Result<void> {
    WARREN_TRY(fs::mkdirs(tmp + "/lib64", 0755));
    WARREN_TRY(fs::mkdirs(tmp + "/bin", 0755));
    for (const auto& lib : libs) {
      const std::string file = baseName(lib.real_path);
      WARREN_TRY(placeFile(lib.real_path, tmp + "/lib64/" + file));
      for (const auto& n : lib.names) {
        if (::symlink(file.c_str(), (tmp + "/lib64/" + n).c_str()) != 0) {
          return failErrno("symlink '" + tmp + "/lib64/" + n + "'");
        }
      }
    }
    for (const auto& b : bins) WARREN_TRY(placeFile(b, tmp + "/bin/" + baseName(b)));
    if (::rename(tmp.c_str(), dir.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST) {
      return failErrno("rename '" + tmp + "' to '" + dir + "'");
    }
    return {};
  }();
  std::filesystem::remove_all(tmp, ec);  // left only when another process won the rename, or on failure
  if (!made) return fail(std::move(made.error()).context("driver volume '" + dir + "'"));
  return dir;
}

}  // namespace warren::isolators::gpu
