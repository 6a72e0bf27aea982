#include "image_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace warren::testing::images {

using nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

la_ssize_t appendCb(archive*, void* ctx, const void* buf, size_t n) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

void writeBytes(const std::string& path, const std::string& data) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::string readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string compress(const std::string& tar, Compression c) {
  if (c == Compression::None) return tar;
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (c == Compression::Gzip) {
    archive_write_add_filter_gzip(a);
    archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);  // deterministic blobs
  } else {
    archive_write_add_filter_zstd(a);
  }
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, appendCb, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(tar.size()));
  archive_write_header(a, e);
  archive_write_data(a, tar.data(), tar.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string mediaType(Compression c) {
  switch (c) {
    case Compression::None: return "application/vnd.oci.image.layer.v1.tar";
    case Compression::Gzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::Zstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
  }
  return "";
}

std::string addBlob(const std::string& layout, const std::string& data) {
  std::string d = sha256(data);
  writeBytes(blobPath(layout, d), data);
  return d;
}

std::string configJson(const Image& img) {
  json cfg{{"architecture", img.architecture.empty() ? hostArch() : img.architecture},
           {"os", "linux"},
           {"config", {{"Entrypoint", img.entrypoint}, {"Cmd", img.cmd}, {"Env", img.env},
                       {"WorkingDir", img.working_dir}, {"User", img.user}}},
           {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  for (const auto& l : img.layers) cfg["rootfs"]["diff_ids"].push_back(sha256(l.tar));
  return cfg.dump();
}

// Writes config, layers and manifest blobs; returns the manifest descriptor.
json addImage(const std::string& layout, const Image& img) {
  std::string cfg = configJson(img);
  json m{{"schemaVersion", 2},
         {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                     {"digest", addBlob(layout, cfg)}, {"size", cfg.size()}}},
         {"layers", json::array()}};
  for (const auto& l : img.layers) {
    std::string blob = compress(l.tar, l.compression);
    m["layers"].push_back({{"mediaType", mediaType(l.compression)}, {"digest", addBlob(layout, blob)},
                           {"size", blob.size()}});
  }
  std::string mb = m.dump();
  return json{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"digest", addBlob(layout, mb)}, {"size", mb.size()},
              {"platform", {{"os", "linux"}, {"architecture", img.architecture.empty() ? hostArch() : img.architecture}}}};
}

void writeIndex(const std::string& layout, const json& manifests) {
  writeBytes(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  writeBytes(layout + "/index.json", json{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                          {"manifests", manifests}}.dump());
}

}  // namespace

std::string hostArch() {
  struct utsname u {};
  uname(&u);
  std::string m = u.machine;
  return m == "x86_64" ? "amd64" : m == "aarch64" ? "arm64" : m;
}

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  static const char* kHex = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string makeTar(const std::vector<Entry>& entries, Compression c) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, appendCb, nullptr);
  for (const auto& en : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, en.path.c_str());
    archive_entry_set_uid(e, en.uid);
    archive_entry_set_gid(e, en.gid);
    archive_entry_set_perm(e, en.mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (en.type) {
      case Entry::File:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(en.data.size()));
        break;
      case Entry::Dir: archive_entry_set_filetype(e, AE_IFDIR); break;
      case Entry::Symlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, en.data.c_str());
        break;
      case Entry::Hardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, en.data.c_str());
        break;
    }
    archive_write_header(a, e);
    if (en.type == Entry::File && !en.data.empty()) archive_write_data(a, en.data.data(), en.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return compress(out, c);
}

std::vector<Entry> entriesOf(const std::string& root) {
  std::vector<Entry> out;
  std::vector<stdfs::path> paths;
  for (auto it = stdfs::recursive_directory_iterator(root); it != stdfs::recursive_directory_iterator(); ++it) {
    paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::string rel = p.lexically_relative(root).string();
    struct stat st {};
    lstat(p.c_str(), &st);
    if (S_ISDIR(st.st_mode)) out.push_back(dir(rel, st.st_mode & 07777));
    else if (S_ISLNK(st.st_mode)) out.push_back(symlink(rel, stdfs::read_symlink(p).string()));
    else if (S_ISREG(st.st_mode)) out.push_back(file(rel, readBytes(p), st.st_mode & 07777));
  }
  return out;
}

std::string blobPath(const std::string& layout, const std::string& digest) {
  return layout + "/blobs/sha256/" + digest.substr(7);
}

std::vector<std::string> writeOciLayout(const std::string& dir,
                                        const std::vector<std::pair<std::string, Image>>& images) {
  json manifests = json::array();
  std::vector<std::string> digests;
  for (const auto& [tag, img] : images) {
    json d = addImage(dir, img);
    d.erase("platform");
    d["annotations"] = {{"org.opencontainers.image.ref.name", tag}};
    digests.push_back(d["digest"]);
    manifests.push_back(d);
  }
  writeIndex(dir, manifests);
  return digests;
}

void writeMultiPlatformLayout(const std::string& dir, const std::string& tag,
                              const std::vector<Image>& per_platform) {
  json idx{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
           {"manifests", json::array()}};
  for (const auto& img : per_platform) idx["manifests"].push_back(addImage(dir, img));
  std::string ib = idx.dump();
  json d{{"mediaType", "application/vnd.oci.image.index.v1+json"}, {"digest", addBlob(dir, ib)},
         {"size", ib.size()}, {"annotations", {{"org.opencontainers.image.ref.name", tag}}}};
  writeIndex(dir, json::array({d}));
}

void setManifestMediaType(const std::string& layout, const std::string& type) {
  json idx = json::parse(readBytes(layout + "/index.json"));
  for (auto& d : idx["manifests"]) {
    std::string old = d["digest"];
    json m = json::parse(readBytes(blobPath(layout, old)));
    m["mediaType"] = type;
    std::string mb = m.dump();
    d["digest"] = addBlob(layout, mb);
    d["size"] = mb.size();
    d["mediaType"] = type;
  }
  writeBytes(layout + "/index.json", idx.dump());
}

void writeDockerArchive(const std::string& path, const Image& img, const std::string& repo_tag) {
  std::vector<Entry> entries;
  std::string cfg = configJson(img);
  std::string cfgName = sha256(cfg).substr(7) + ".json";
  entries.push_back(file(cfgName, cfg));
  json m{{"Config", cfgName}, {"RepoTags", {repo_tag}}, {"Layers", json::array()}};
  for (size_t i = 0; i < img.layers.size(); ++i) {
    std::string name = std::to_string(i) + "/layer.tar";
    entries.push_back(dir(std::to_string(i)));
    entries.push_back(file(name, img.layers[i].tar));
    m["Layers"].push_back(name);
  }
  entries.push_back(file("manifest.json", json::array({m}).dump()));
  writeBytes(path, makeTar(entries));
}

void tarDirectory(const std::string& d, const std::string& path) {
  writeBytes(path, makeTar(entriesOf(d)));
}

}  // namespace warren::testing::images
