// oci:/path[:tag] - an OCI image layout directory (index.json + blobs/sha256),
// and oci-archive:/path.tar[:tag] - the same layout as a tar file.
#include <fcntl.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "extract.hpp"
#include "stores/source.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {

using nlohmann::json;

Result<void> copyFile(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return failErrno("open '" + from + "'");
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return failErrno("create '" + to + "'");
  std::string buf(1 << 16, '\0');
  while (true) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno("read '" + from + "'");
    if (n == 0) break;
    WARREN_TRY(fs::writeAll(out.get(), std::string_view(buf.data(), static_cast<size_t>(n)), to));
  }
  return {};
}

namespace {

class OciLayoutSource : public Source {
 public:
  OciLayoutSource(std::string dir, std::string tag, std::string what, std::string cleanup,
                  ImageLimits limits = {})
      : dir_(std::move(dir)), tag_(std::move(tag)), what_(std::move(what)), cleanup_(std::move(cleanup)),
        limits_(limits) {}
  ~OciLayoutSource() override {
    if (!cleanup_.empty()) (void)fs::removeTree(cleanup_);
  }

  Result<ResolvedImage> resolve() override {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(Code::NotFound, what_ + ": OCI layout directory '" + dir_ + "' does not exist");
    }
    auto index = fs::readFile(dir_ + "/index.json");
    if (!index) return fail(Code::NotFound, what_ + ": '" + dir_ + "' is not an OCI layout (no index.json)");
    WARREN_ASSIGN_OR_RETURN(BlobRef top, pickFromIndex(*index));
    Fetchers f;
    f.manifest = [this](const BlobRef& b) { return readBlob(b); };
    f.blob = f.manifest;
    f.limits = limits_;
    WARREN_TRY(checkBlobSize(top, limits_.max_manifest_bytes, "--image_max_manifest_bytes",
                             what_ + ": manifest " + top.digest));
    WARREN_ASSIGN_OR_RETURN(auto bytes, readBlob(top));
    return resolveManifest(top, bytes, f, what_);
  }

  Result<void> fetchBlob(const BlobRef& layer, const std::string& dest) override {
    WARREN_ASSIGN_OR_RETURN(auto path, blobPath(layer));
    return copyFile(path, dest);
  }

 private:
  Result<std::string> blobPath(const BlobRef& b) {
    WARREN_ASSIGN_OR_RETURN(auto hex, digestHex(b.digest));
    std::string p = dir_ + "/blobs/sha256/" + hex;
    if (!fs::exists(p)) return fail(Code::NotFound, what_ + ": blob " + b.digest + " is missing from the layout");
    return p;
  }

  Result<std::string> readBlob(const BlobRef& b) {
    WARREN_ASSIGN_OR_RETURN(auto path, blobPath(b));
    // Its size before reading it: a blob larger than any manifest or config
    // may be is never read into memory, whatever its descriptor claims (the
    // descriptor's size is compared with what was read after the digest).
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return failErrno(what_ + ": blob " + b.digest);
    WARREN_TRY(checkReadSize(BlobRef{}, static_cast<uint64_t>(st.st_size),
                             std::max(limits_.max_manifest_bytes, limits_.max_config_bytes),
                             "--image_max_manifest_bytes / --image_max_config_bytes", what_ + ": blob " + b.digest));
    WARREN_ASSIGN_OR_RETURN(auto bytes, fs::readFile(path));
    WARREN_TRY(verifyBytes(bytes, b.digest, what_ + ": blob"));
    return bytes;
  }

  // index.json: the manifest named by tag (annotation
  // org.opencontainers.image.ref.name), the only one, or the host's platform.
  Result<BlobRef> pickFromIndex(const std::string& index) {
    json j = json::parse(index, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j["manifests"].is_array()) {
      return fail(Code::InvalidArgument, what_ + ": malformed index.json");
    }
    const auto& ms = j["manifests"];
    std::vector<std::string> tags;
    auto toRef = [](const json& m) {
      BlobRef b;
      b.digest = m.value("digest", "");
      b.media_type = m.value("mediaType", "");
      b.size = m.value("size", int64_t{-1});
      return b;
    };
    for (const auto& m : ms) {
      std::string name;
      if (m.contains("annotations") && m["annotations"].is_object()) {
        name = m["annotations"].value("org.opencontainers.image.ref.name", "");
      }
      if (!name.empty()) tags.push_back(name);
      if (!tag_.empty() && name == tag_) return toRef(m);
    }
    if (!tag_.empty()) {
      std::string list;
      for (auto& t : tags) list += (list.empty() ? "" : ", ") + t;
      return fail(Code::NotFound, what_ + ": tag '" + tag_ + "' not found in the layout (tags: " +
                                      (list.empty() ? "none" : list) + ")");
    }
    if (ms.size() == 1) return toRef(ms[0]);
    if (ms.empty()) return fail(Code::NotFound, what_ + ": the layout's index.json lists no images");
    bool platforms = true;
    for (const auto& m : ms) platforms = platforms && m.contains("platform");
    if (platforms) return pickPlatform(index, what_);
    return fail(Code::InvalidArgument, what_ + ": the layout holds " + std::to_string(ms.size()) +
                                           " images; name one with ':TAG'");
  }

  std::string dir_, tag_, what_, cleanup_;
  ImageLimits limits_;
};

}  // namespace

Result<std::unique_ptr<Source>> openOciLayout(const Reference& ref, const SourceOptions& opts) {
  return std::make_unique<OciLayoutSource>(ref.path, ref.tag, "image '" + ref.original + "'", "", opts.limits);
}

Result<std::unique_ptr<Source>> openOciArchive(const Reference& ref, const SourceOptions& opts) {
  std::string what = "image '" + ref.original + "'";
  struct stat st {};
  if (::stat(ref.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(Code::NotFound, what + ": archive '" + ref.path + "' does not exist");
  }
  WARREN_TRY(fs::mkdirs(opts.tmp_dir));
  std::string tmpl = opts.tmp_dir + "/oci-archive.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno("mkdtemp '" + tmpl + "'");
  auto src = std::make_unique<OciLayoutSource>(tmpl, ref.tag, what, tmpl, opts.limits);
  ExtractOptions eo;
  eo.what = what + ": archive";
  // The archive holds compressed layers: bounded like the unpacked image.
  eo.max_bytes = opts.limits.max_unpacked_bytes;
  eo.max_files = opts.limits.max_files;
  eo.limit_hint = " (--image_max_unpacked_bytes / --image_max_files)";
  WARREN_TRY(extractTar(ref.path, tmpl, eo));
  return std::unique_ptr<Source>(std::move(src));
}

}  // namespace warren::provisioners::image
