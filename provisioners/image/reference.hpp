// Image references: oci:, oci-archive:, docker-archive:, docker://.
#pragma once

#include <string>
#include <vector>

#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

enum class Scheme { OciLayout, OciArchive, DockerArchive, Registry };

struct Reference {
  Scheme scheme;
  std::string original;  // as given
  // Local stores: the layout directory or the archive file, and the
  // optional tag (oci) or image name (docker-archive) after it.
  std::string path;
  std::string tag;
  // Registry: host[:port], repository path, and a tag or "sha256:..." digest.
  std::string host;
  std::string repository;
  std::string digest;  // set when pulled by digest

  std::string canonical() const;
};

// The schemes this provisioner handles, as PluginInfo lists them.
std::vector<std::string> supportedSchemes();

// "unknown image reference scheme in 'foo:bar' (supported: oci, ...)".
Result<Reference> parseReference(const std::string& ref);

}  // namespace warren::provisioners::image
