// Builds images for the tests by hand: tar layers (libarchive), sha256
// digests, configs, manifests, OCI layouts (optionally multi-platform),
// oci-archive and docker-archive files.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace warren::testing::images {

struct Entry {
  enum Type { File, Dir, Symlink, Hardlink } type = File;
  std::string path;
  std::string data;  // content (File) or target (Symlink/Hardlink)
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
};

inline Entry file(std::string p, std::string data, mode_t mode = 0644) {
  return {Entry::File, std::move(p), std::move(data), mode};
}
inline Entry dir(std::string p, mode_t mode = 0755) { return {Entry::Dir, std::move(p), "", mode}; }
inline Entry symlink(std::string p, std::string target) {
  return {Entry::Symlink, std::move(p), std::move(target), 0777};
}
inline Entry hardlink(std::string p, std::string target) {
  return {Entry::Hardlink, std::move(p), std::move(target), 0644};
}

enum class Compression { None, Gzip, Zstd };

// A tar archive of the entries (in order), compressed as asked.
std::string makeTar(const std::vector<Entry>& entries, Compression c = Compression::None);
// Entries for every file, dir and symlink under `root` (relative paths).
std::vector<Entry> entriesOf(const std::string& root);

std::string sha256(const std::string& data);  // "sha256:<hex>"

struct Layer {
  std::string tar;         // uncompressed tar
  Compression compression = Compression::Gzip;
};

struct Image {
  std::vector<Layer> layers;
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user;
  std::string architecture;  // "" = host
};

// Writes an OCI layout at `dir` holding `images`, each tagged (annotation
// org.opencontainers.image.ref.name). Returns the manifest digests.
std::vector<std::string> writeOciLayout(const std::string& dir,
                                        const std::vector<std::pair<std::string, Image>>& images);
// One tag whose index.json entry is an image index with one manifest per
// given image (each with its architecture).
void writeMultiPlatformLayout(const std::string& dir, const std::string& tag,
                              const std::vector<Image>& per_platform);
// Path of a blob in a layout.
std::string blobPath(const std::string& layout, const std::string& digest);
// Rewrites a manifest's mediaType (and index.json's descriptor) to `type`.
void setManifestMediaType(const std::string& layout, const std::string& type);

// docker-archive: manifest.json + <hex>.json config + <n>/layer.tar.
void writeDockerArchive(const std::string& path, const Image& img, const std::string& repo_tag);
// A tar of a directory (oci-archive of a layout).
void tarDirectory(const std::string& dir, const std::string& path);

std::string hostArch();

}  // namespace warren::testing::images
