// Safe tar extraction (libarchive): nothing is ever written outside the
// destination directory. Entries with absolute paths or '..' components,
// entries written through a symlink, and hardlinks to targets outside are
// refused with an error naming the entry. Layer tars also get their OCI
// whiteouts converted to overlayfs form: `.wh.name` becomes a 0/0 character
// device `name`, `.wh..wh..opq` sets trusted.overlay.opaque=y on its directory.
#pragma once

#include <cstdint>
#include <string>

#include "warren/sdk/cancel.hpp"
#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

inline constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

struct ExtractOptions {
  std::string what;         // "layer sha256:..." - prefixes every error
  bool whiteouts = false;   // convert OCI whiteouts (image layers)
  // Limits (an image's remaining budget): the sum of entry sizes and the
  // number of entries; checked from each entry's header, before its data is
  // written. `limit_hint` names what to raise in the error.
  uint64_t max_bytes = UINT64_MAX;
  uint64_t max_files = UINT64_MAX;
  std::string limit_hint;
  uint64_t* files_out = nullptr;  // set to the number of entries extracted
  // Checked per entry and data block: FailedPrecondition "cancelled" once it fires.
  const sdk::CancelToken* cancel = nullptr;
};

// Extracts `archive_path` (tar, optionally gzip/zstd/xz compressed) into the
// existing directory `dest`. Returns the number of content bytes written.
// Runs of zeros are written as holes (sparse files stay sparse).
// On error `dest` may hold a partial tree; the caller removes it.
Result<uint64_t> extractTar(const std::string& archive_path, const std::string& dest,
                            const ExtractOptions& opts);

// Normalizes a tar entry name to a relative path without '.' components;
// refuses absolute paths and '..'. "" means the archive root.
Result<std::string> cleanEntryPath(const std::string& name);

}  // namespace warren::provisioners::image
