// An image store: where manifests, configs and layer blobs come from.
#pragma once

#include <functional>

#include <memory>
#include <set>
#include <string>

#include "warren/sdk/log.hpp"

#include "manifest.hpp"
#include "reference.hpp"
#include "warren/sdk/cancel.hpp"
#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

struct SourceOptions {
  std::string tmp_dir;                     // scratch space inside the store
  std::set<std::string> insecure_registries;  // HOST:PORT spoken to over plain HTTP
  std::shared_ptr<sdk::Logger> log;
  ImageLimits limits;  // manifest/config sizes, unpacked size and files
  // Set per provision: the pull stops soon after it fires (null: never).
  std::shared_ptr<const sdk::CancelToken> cancel;
};

class Source {
 public:
  virtual ~Source() = default;
  // Resolve the reference to one image for the host's platform; manifest and
  // config are verified against their digests.
  virtual Result<ResolvedImage> resolve() = 0;
  // Write the layer blob to `dest` (a new file). The caller verifies it
  // against layer.digest before using it.
  virtual Result<void> fetchBlob(const BlobRef& layer, const std::string& dest) = 0;
  // Bytes of the blob being fetched so far (sources that transfer over a
  // network call it as data arrives; local ones need not).
  void setFetchProgress(std::function<void(uint64_t done)> f) { fetch_progress_ = std::move(f); }

 protected:
  std::function<void(uint64_t done)> fetch_progress_;
};

Result<std::unique_ptr<Source>> openOciLayout(const Reference& ref, const SourceOptions& opts);
Result<std::unique_ptr<Source>> openOciArchive(const Reference& ref, const SourceOptions& opts);
Result<std::unique_ptr<Source>> openDockerArchive(const Reference& ref, const SourceOptions& opts);
Result<std::unique_ptr<Source>> openRegistry(const Reference& ref, const SourceOptions& opts);

inline Result<std::unique_ptr<Source>> openSource(const Reference& ref, const SourceOptions& opts) {
  switch (ref.scheme) {
    case Scheme::OciLayout: return openOciLayout(ref, opts);
    case Scheme::OciArchive: return openOciArchive(ref, opts);
    case Scheme::DockerArchive: return openDockerArchive(ref, opts);
    case Scheme::Registry: return openRegistry(ref, opts);
  }
  return fail(Code::InvalidArgument, "unknown scheme in '" + ref.original + "'");
}

// Copies a file (used by local stores for fetchBlob).
Result<void> copyFile(const std::string& from, const std::string& to);

}  // namespace warren::provisioners::image
