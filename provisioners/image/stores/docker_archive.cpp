// docker-archive:/path.tar[:name:tag] - what `docker save` and skopeo write:
// manifest.json naming a config file and uncompressed layer tars, each
// verified against the config's rootfs.diff_ids.
#include <sys/stat.h>

#include <map>

#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "extract.hpp"
#include "stores/source.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {
namespace {

using nlohmann::json;

class DockerArchiveSource : public Source {
 public:
  DockerArchiveSource(std::string dir, std::string name, std::string what, ImageLimits limits)
      : dir_(std::move(dir)), name_(std::move(name)), what_(std::move(what)), limits_(limits) {}
  ~DockerArchiveSource() override { (void)fs::removeTree(dir_); }

  Result<ResolvedImage> resolve() override {
    auto mf = fs::readFile(dir_ + "/manifest.json");
    if (!mf) return fail(Code::NotFound, what_ + ": not a docker archive (no manifest.json)");
    json j = json::parse(*mf, nullptr, false);
    if (j.is_discarded() || !j.is_array() || j.empty()) {
      return fail(Code::InvalidArgument, what_ + ": malformed manifest.json");
    }
    WARREN_ASSIGN_OR_RETURN(json entry, pick(j));
    if (!entry.is_object() || !entry["Config"].is_string() || !entry["Layers"].is_array()) {
      return fail(Code::InvalidArgument, what_ + ": manifest.json entry lacks Config or Layers");
    }
    ResolvedImage img;
    img.manifest_digest = "sha256:" + sha256Hex(entry.dump());
    WARREN_ASSIGN_OR_RETURN(auto cfgPath, member(entry["Config"].get<std::string>()));
    struct stat cst {};
    if (::stat(cfgPath.c_str(), &cst) != 0) return failErrno(what_ + ": config '" + cfgPath + "'");
    WARREN_TRY(checkReadSize(BlobRef{}, static_cast<uint64_t>(cst.st_size), limits_.max_config_bytes,
                             "--image_max_config_bytes", what_ + ": config"));
    WARREN_ASSIGN_OR_RETURN(img.config_json, fs::readFile(cfgPath));
    img.config_digest = "sha256:" + sha256Hex(img.config_json);
    // The config's file name is its digest in every writer we know of.
    std::string stem = entry["Config"].get<std::string>();
    auto slash = stem.rfind('/');
    stem = slash == std::string::npos ? stem : stem.substr(slash + 1);
    if (stem.size() >= 64 && digestHex("sha256:" + stem.substr(0, 64))) {
      WARREN_TRY(verifyBytes(img.config_json, "sha256:" + stem.substr(0, 64), what_ + ": config"));
    }
    WARREN_ASSIGN_OR_RETURN(auto diffIds, parseDiffIds(img.config_json, what_));
    const auto& layers = entry["Layers"];
    if (diffIds.size() != layers.size()) {
      return fail(Code::InvalidArgument, what_ + ": manifest.json lists " + std::to_string(layers.size()) +
                                             " layers but the config has " + std::to_string(diffIds.size()) +
                                             " diff_ids");
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      if (!layers[i].is_string()) return fail(Code::InvalidArgument, what_ + ": malformed Layers entry");
      WARREN_ASSIGN_OR_RETURN(auto path, member(layers[i].get<std::string>()));
      WARREN_TRY(digestHex(diffIds[i]));
      BlobRef b;
      b.digest = diffIds[i];
      b.media_type = "application/vnd.docker.image.rootfs.diff.tar";
      paths_[b.digest] = path;
      img.layers.push_back(b);
    }
    return img;
  }

  Result<void> fetchBlob(const BlobRef& layer, const std::string& dest) override {
    auto it = paths_.find(layer.digest);
    if (it == paths_.end()) return fail(Code::NotFound, what_ + ": no layer " + layer.digest);
    return copyFile(it->second, dest);
  }

 private:
  Result<json> pick(const json& j) {
    if (name_.empty()) {
      if (j.size() == 1) return j[0];
      return fail(Code::InvalidArgument, what_ + ": the archive holds " + std::to_string(j.size()) +
                                             " images; name one with ':NAME:TAG'");
    }
    std::string all;
    for (const auto& e : j) {
      if (!e.is_object() || !e.contains("RepoTags") || !e["RepoTags"].is_array()) continue;
      for (const auto& t : e["RepoTags"]) {
        if (!t.is_string()) continue;
        std::string s = t.get<std::string>();
        all += (all.empty() ? "" : ", ") + s;
        if (s == name_ || s == "docker.io/" + name_ || s == "docker.io/library/" + name_) return e;
      }
    }
    return fail(Code::NotFound, what_ + ": image '" + name_ + "' not in the archive (has: " +
                                    (all.empty() ? "no tags" : all) + ")");
  }

  Result<std::string> member(const std::string& name) {
    auto rel = cleanEntryPath(name);
    if (!rel || rel->empty()) {
      return fail(Code::InvalidArgument, what_ + ": manifest.json names '" + name + "' outside the archive");
    }
    std::string p = dir_ + "/" + *rel;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(Code::NotFound, what_ + ": '" + name + "' is missing from the archive");
    }
    return p;
  }

  std::string dir_, name_, what_;
  ImageLimits limits_;
  std::map<std::string, std::string> paths_;
};

}  // namespace

Result<std::unique_ptr<Source>> openDockerArchive(const Reference& ref, const SourceOptions& opts) {
  std::string what = "image '" + ref.original + "'";
  struct stat st {};
  if (::stat(ref.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(Code::NotFound, what + ": archive '" + ref.path + "' does not exist");
  }
  WARREN_TRY(fs::mkdirs(opts.tmp_dir));
  std::string tmpl = opts.tmp_dir + "/docker-archive.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno("mkdtemp '" + tmpl + "'");
  auto src = std::make_unique<DockerArchiveSource>(tmpl, ref.tag, what, opts.limits);
  ExtractOptions eo;
  eo.what = what + ": archive";
  eo.max_bytes = opts.limits.max_unpacked_bytes;
  eo.max_files = opts.limits.max_files;
  eo.limit_hint = " (--image_max_unpacked_bytes / --image_max_files)";
  WARREN_TRY(extractTar(ref.path, tmpl, eo));
  return std::unique_ptr<Source>(std::move(src));
}

}  // namespace warren::provisioners::image
