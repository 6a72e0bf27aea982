// The NVIDIA driver's user space for containers with their own rootfs: the
// libraries of the running driver version (found in the dynamic loader's
// cache, /etc/ld.so.cache) and its tools (found in a list of bin dirs),
// gathered once per driver version into one read-only volume that
// gpu/nvidia mounts at /usr/local/nvidia (bin/, lib64/), as Mesos's
// NVIDIA volume does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::isolators::gpu {

// One library entry of the loader cache: its name (the soname, e.g.
// "libcuda.so.1") and the path the loader would open.
struct CacheEntry {
  std::string name;
  std::string path;
};

// The entries of a glibc loader cache (the "glibc-ld.so.cache1.1" format,
// what ldconfig writes since glibc 2.32) built for this machine's ABI
// (x86-64 or aarch64 libc6). A file in another format, or a truncated or
// inconsistent one, is an error naming it.
Result<std::vector<CacheEntry>> parseLoaderCache(std::string_view bytes, const std::string& what);

// A driver library: the real file and the names the loader knows it by.
struct DriverLibrary {
  std::string real_path;           // e.g. /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05
  std::vector<std::string> names;  // e.g. libcuda.so.1
};

// The compute and utility libraries of driver `version` among `entries`:
// those whose real file is "<lib>.so.<version>". Others (a stale library of
// an older driver) are left out.
std::vector<DriverLibrary> driverLibraries(const std::vector<CacheEntry>& entries, const std::string& version);

// The driver's tools found in `bin_dirs` (nvidia-smi, nvidia-debugdump, ...).
std::vector<std::string> driverBinaries(const std::vector<std::string>& bin_dirs);

// Makes (or finds, when a previous run made it) `<root>/<version>` holding
// bin/ and lib64/ for `libs` and `bins`: files hard-linked where the file
// system allows it, copied otherwise, each library's names as symlinks. Made
// under a temporary name and renamed, so a half-made volume is never used.
Result<std::string> stageDriverVolume(const std::string& root, const std::string& version,
                                      const std::vector<DriverLibrary>& libs,
                                      const std::vector<std::string>& bins);

}  // namespace warren::isolators::gpu
