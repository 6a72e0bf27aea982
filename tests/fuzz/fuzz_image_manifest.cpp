// Fuzz target: image manifest, index and config parsing
// (provisioners/image/manifest.cpp). The input is up to three documents
// separated by NUL bytes (raw NUL cannot occur in JSON text): the top-level
// manifest or index, the manifest an index points to, and the image config.
// The first byte picks the media type the top document was described with.
// Invariants: no crash, UB or exception; a resolved image has a manifest and
// a config digest, only unpackable layer types, and the config it fetched.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "manifest.hpp"

using namespace warren;
using namespace warren::provisioners::image;

namespace {

std::vector<std::string> splitNul(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() < 2) {
    size_t z = s.find('\0', start);
    if (z == std::string::npos) break;
    out.push_back(s.substr(start, z - start));
    start = z + 1;
  }
  out.push_back(s.substr(start));
  while (out.size() < 3) out.push_back("");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kTypes[] = {"", kOciManifest, kOciIndex, kDockerManifest, kDockerList};
  BlobRef top{"sha256:top", kTypes[data[0] % 5], static_cast<int64_t>(size)};
  auto docs = splitNul(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));

  (void)pickPlatform(docs[0], "fuzz");
  (void)parseImageConfig(docs[2], "fuzz");
  (void)parseDiffIds(docs[2], "fuzz");

  int manifest_fetches = 0;
  Fetchers fetch;
  fetch.manifest = [&](const BlobRef& d) -> Result<std::string> {
    FUZZ_CHECK(!d.digest.empty(), "fetching a manifest without a digest");
    ++manifest_fetches;
    return docs[1];
  };
  fetch.blob = [&](const BlobRef& d) -> Result<std::string> {
    FUZZ_CHECK(!d.digest.empty(), "fetching a blob without a digest");
    return docs[2];
  };
  auto img = resolveManifest(top, docs[0], fetch, "fuzz");
  FUZZ_CHECK(manifest_fetches <= 4, "%d manifest fetches: nesting is not bounded", manifest_fetches);
  if (!img) return 0;
  FUZZ_CHECK(!img->manifest_digest.empty() && !img->config_digest.empty(), "resolved without digests");
  FUZZ_CHECK(img->config_json == docs[2], "resolved config is not the fetched one");
  for (const auto& l : img->layers) {
    FUZZ_CHECK(checkLayerType(l.media_type).has_value(), "layer type '%s' accepted", l.media_type.c_str());
  }
  return 0;
}
