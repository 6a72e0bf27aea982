#include "manifest.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

namespace warren::provisioners::image {

using nlohmann::json;

namespace {

Result<json> parseJson(const std::string& bytes, const std::string& what) {
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Code::InvalidArgument, what + ": not a JSON object");
  }
  return j;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<BlobRef> descriptor(const json& j, const std::string& what) {
  if (!j.is_object()) return fail(Code::InvalidArgument, what + ": descriptor is not an object");
  BlobRef d;
  d.digest = str(j, "digest");
  d.media_type = str(j, "mediaType");
  auto s = j.find("size");
  if (s != j.end() && s->is_number_integer()) d.size = s->get<int64_t>();
  if (d.digest.empty()) return fail(Code::InvalidArgument, what + ": descriptor without a digest");
  return d;
}

std::string sniffType(const json& j) {
  std::string t = str(j, "mediaType");
  if (!t.empty()) return t;
  if (j.contains("manifests")) return kOciIndex;
  if (j.contains("layers")) return kOciManifest;
  return "";
}

std::vector<std::string> stringList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

bool isIndexType(const std::string& t) { return t == kOciIndex || t == kDockerList; }
bool isManifestType(const std::string& t) { return t == kOciManifest || t == kDockerManifest; }

Result<void> checkLayerType(const std::string& t) {
  static const char* kOk[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  for (const char* ok : kOk) {
    if (t == ok) return {};
  }
  return fail(Code::Unimplemented, "unsupported layer media type '" + t + "'");
}

std::string hostArchitecture() {
  struct utsname u {};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "armv7l") return "arm";
  if (m == "i686" || m == "i386") return "386";
  return m;
}

Result<BlobRef> pickPlatform(const std::string& index_json, const std::string& what) {
  WARREN_ASSIGN_OR_RETURN(json j, parseJson(index_json, what + ": index"));
  auto ms = j.find("manifests");
  if (ms == j.end() || !ms->is_array() || ms->empty()) {
    return fail(Code::NotFound, what + ": index lists no manifests");
  }
  std::string arch = hostArchitecture();
  std::string seen;
  for (const auto& m : *ms) {
    auto p = m.find("platform");
    if (p == m.end() || !p->is_object()) continue;
    std::string os = str(*p, "os"), a = str(*p, "architecture");
    seen += (seen.empty() ? "" : ", ") + os + "/" + a;
    if (os == "linux" && a == arch) return descriptor(m, what);
  }
  return fail(Code::NotFound, what + ": no manifest for linux/" + arch +
                                  " in the index (available: " + (seen.empty() ? "none" : seen) + ")");
}

Result<ResolvedImage> resolveManifest(const BlobRef& desc, const std::string& bytes,
                                      const Fetchers& fetch, const std::string& what) {
  BlobRef cur = desc;
  std::string body = bytes;
  const auto& lim = fetch.limits;
  WARREN_TRY(checkReadSize(cur, body.size(), lim.max_manifest_bytes, "--image_max_manifest_bytes",
                           what + ": manifest " + cur.digest));
  for (int depth = 0; depth < 4; ++depth) {
    WARREN_ASSIGN_OR_RETURN(json j, parseJson(body, what + ": manifest " + cur.digest));
    std::string type = cur.media_type.empty() ? sniffType(j) : cur.media_type;
    std::string inner = str(j, "mediaType");
    if (!inner.empty() && !cur.media_type.empty() && inner != cur.media_type) {
      return fail(Code::InvalidArgument, what + ": manifest " + cur.digest + " claims media type '" +
                                             inner + "' but was described as '" + cur.media_type + "'");
    }
    if (isIndexType(type)) {
      WARREN_ASSIGN_OR_RETURN(cur, pickPlatform(body, what));
      WARREN_TRY(checkBlobSize(cur, lim.max_manifest_bytes, "--image_max_manifest_bytes",
                               what + ": manifest " + cur.digest));
      WARREN_ASSIGN_OR_RETURN(body, fetch.manifest(cur));
      WARREN_TRY(checkReadSize(cur, body.size(), lim.max_manifest_bytes, "--image_max_manifest_bytes",
                               what + ": manifest " + cur.digest));
      continue;
    }
    if (!isManifestType(type)) {
      return fail(Code::Unimplemented, what + ": unsupported manifest media type '" +
                                           (type.empty() ? std::string("(none)") : type) + "'");
    }
    ResolvedImage img;
    img.manifest_digest = cur.digest;
    auto cfg = j.find("config");
    if (cfg == j.end()) return fail(Code::InvalidArgument, what + ": manifest has no config");
    WARREN_ASSIGN_OR_RETURN(BlobRef cd, descriptor(*cfg, what + ": config"));
    img.config_digest = cd.digest;
    auto layers = j.find("layers");
    if (layers == j.end() || !layers->is_array()) {
      return fail(Code::InvalidArgument, what + ": manifest has no layers array");
    }
    for (const auto& l : *layers) {
      WARREN_ASSIGN_OR_RETURN(BlobRef ld, descriptor(l, what + ": layer"));
      auto ok = checkLayerType(ld.media_type);
      if (!ok) return fail(ok.error().context(what + ": layer " + ld.digest));
      img.layers.push_back(std::move(ld));
    }
    WARREN_TRY(checkBlobSize(cd, lim.max_config_bytes, "--image_max_config_bytes", what + ": config " + cd.digest));
    WARREN_ASSIGN_OR_RETURN(img.config_json, fetch.blob(cd));
    WARREN_TRY(checkReadSize(cd, img.config_json.size(), lim.max_config_bytes, "--image_max_config_bytes",
                             what + ": config " + cd.digest));
    WARREN_TRY(parseImageConfig(img.config_json, what));
    return img;
  }
  return fail(Code::InvalidArgument, what + ": indexes nested too deeply");
}

Result<v1::ImageConfig> parseImageConfig(const std::string& config_json, const std::string& what) {
  WARREN_ASSIGN_OR_RETURN(json j, parseJson(config_json, what + ": image config"));
  v1::ImageConfig out;
  auto c = j.find("config");
  if (c == j.end() || !c->is_object()) return out;
  for (auto& s : stringList(*c, "Entrypoint")) out.add_entrypoint(s);
  for (auto& s : stringList(*c, "Cmd")) out.add_cmd(s);
  for (auto& s : stringList(*c, "Env")) out.add_env(s);
  out.set_working_dir(str(*c, "WorkingDir"));
  out.set_user(str(*c, "User"));
  return out;
}

Result<std::vector<std::string>> parseDiffIds(const std::string& config_json, const std::string& what) {
  WARREN_ASSIGN_OR_RETURN(json j, parseJson(config_json, what + ": image config"));
  auto r = j.find("rootfs");
  if (r == j.end() || !r->is_object()) return fail(Code::InvalidArgument, what + ": config has no rootfs");
  return stringList(*r, "diff_ids");
}

}  // namespace warren::provisioners::image

namespace warren::provisioners::image {

Result<void> checkBlobSize(const BlobRef& desc, uint64_t limit, const char* flag, const std::string& what) {
  if (desc.size > 0 && static_cast<uint64_t>(desc.size) > limit) {
    return fail(Code::InvalidArgument, what + " is " + std::to_string(desc.size) + " bytes, above the limit of " +
                                           std::to_string(limit) + " (" + flag + ")");
  }
  return {};
}

Result<void> checkReadSize(const BlobRef& desc, uint64_t read, uint64_t limit, const char* flag,
                           const std::string& what) {
  if (read > limit) {
    return fail(Code::InvalidArgument, what + " is " + std::to_string(read) + " bytes, above the limit of " +
                                           std::to_string(limit) + " (" + flag + ")");
  }
  if (desc.size >= 0 && static_cast<uint64_t>(desc.size) != read) {
    return fail(Code::InvalidArgument, what + ": read " + std::to_string(read) + " bytes but its descriptor says " +
                                           std::to_string(desc.size));
  }
  return {};
}

Result<ImageLimits> parseImageLimits(const std::map<std::string, std::string>& flags) {
  ImageLimits l;
  struct F { const char* name; uint64_t* field; };
  const F fields[] = {{"image_max_manifest_bytes", &l.max_manifest_bytes},
                      {"image_max_config_bytes", &l.max_config_bytes},
                      {"image_max_unpacked_bytes", &l.max_unpacked_bytes},
                      {"image_max_files", &l.max_files}};
  for (const auto& f : fields) {
    auto it = flags.find(f.name);
    if (it == flags.end() || it->second.empty()) continue;
    const std::string& v = it->second;
    size_t digits = v.find_first_not_of("0123456789");
    std::string unit = digits == std::string::npos ? "" : v.substr(digits);
    uint64_t mult = unit.empty() ? 1 : unit == "K" || unit == "k" ? 1ULL << 10 : unit == "M" || unit == "m" ? 1ULL << 20
                  : unit == "G" || unit == "g" ? 1ULL << 30 : unit == "T" || unit == "t" ? 1ULL << 40 : 0;
    if (digits == 0 || mult == 0 || (digits == std::string::npos ? v.size() : digits) > 15) {
      return fail(Code::InvalidArgument, std::string("invalid --") + f.name + " '" + v +
                                             "': expected a positive number, optionally with K, M, G or T");
    }
    uint64_t n = std::stoull(v.substr(0, digits)) * mult;
    if (n == 0) return fail(Code::InvalidArgument, std::string("invalid --") + f.name + " '" + v + "': must be positive");
    *f.field = n;
  }
  return l;
}

}  // namespace warren::provisioners::image
