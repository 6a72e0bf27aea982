// OCI / Docker manifests, indexes and image configs: parsing, media types,
// picking the host's platform out of an index.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::provisioners::image {

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";

// A content descriptor (manifest entry, config, layer).
struct BlobRef {
  std::string digest;
  std::string media_type;
  int64_t size = -1;
};

// An image resolved down to one platform: everything verified.
struct ResolvedImage {
  std::string manifest_digest;
  std::string config_digest;
  std::string config_json;
  std::vector<BlobRef> layers;  // bottom first
};

bool isIndexType(const std::string& media_type);
bool isManifestType(const std::string& media_type);
// Layer media types we can unpack (tar, tar+gzip, tar+zstd, docker rootfs diffs).
Result<void> checkLayerType(const std::string& media_type);

// "amd64", "arm64", ... for the running kernel.
std::string hostArchitecture();

// What one image may cost, so a hostile image or store cannot fill memory or
// disk: sizes of the manifest(s) and config read into memory, and the total
// unpacked size and file count of its layers. Operator flags
// --image_max_manifest_bytes, --image_max_config_bytes,
// --image_max_unpacked_bytes, --image_max_files (sizes take K/M/G/T).
struct ImageLimits {
  uint64_t max_manifest_bytes = 4ULL << 20;
  uint64_t max_config_bytes = 8ULL << 20;
  uint64_t max_unpacked_bytes = 8ULL << 30;
  uint64_t max_files = 1000000;
};
Result<ImageLimits> parseImageLimits(const std::map<std::string, std::string>& flags);

// A descriptor's declared size against a limit and, once read, against what
// was read. `what` names the blob ("image 'x': config sha256:...").
Result<void> checkBlobSize(const BlobRef& desc, uint64_t limit, const char* flag, const std::string& what);
Result<void> checkReadSize(const BlobRef& desc, uint64_t read, uint64_t limit, const char* flag,
                           const std::string& what);

// How a store reads content. Each returns bytes already verified against the
// descriptor's digest.
struct Fetchers {
  std::function<Result<std::string>(const BlobRef&)> manifest;
  std::function<Result<std::string>(const BlobRef&)> blob;
  ImageLimits limits;
};

// Follow a manifest or index (bytes already verified, media type from the
// descriptor/Content-Type, may be empty) down to one image for the host's
// platform. `what` names the image in errors.
Result<ResolvedImage> resolveManifest(const BlobRef& desc, const std::string& bytes,
                                      const Fetchers& fetch, const std::string& what);

// Pick the descriptor for linux/<host arch> in an index document.
Result<BlobRef> pickPlatform(const std::string& index_json, const std::string& what);

// Entrypoint, Cmd, Env, WorkingDir, User from an image config.
Result<v1::ImageConfig> parseImageConfig(const std::string& config_json, const std::string& what);

// rootfs.diff_ids of an image config (docker-archive layer digests).
Result<std::vector<std::string>> parseDiffIds(const std::string& config_json, const std::string& what);

}  // namespace warren::provisioners::image
