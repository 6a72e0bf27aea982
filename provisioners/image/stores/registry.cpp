// docker://HOST[:PORT]/NAME[:TAG|@DIGEST] - Registry HTTP API v2 pull.
// Bearer token auth when the registry answers 401 with WWW-Authenticate;
// plain HTTP only for hosts listed in registry_insecure.
#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "stores/http.hpp"
#include "stores/source.hpp"

namespace warren::provisioners::image {
namespace {

using nlohmann::json;

const char* kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

class RegistrySource : public Source {
 public:
  RegistrySource(Reference ref, const SourceOptions& opts)
      : ref_(std::move(ref)), log_(opts.log), limits_(opts.limits), cancel_(opts.cancel) {
    bool insecure = opts.insecure_registries.count(ref_.host) > 0;
    base_ = (insecure ? "http://" : "https://") + ref_.host + "/v2/" + ref_.repository;
    what_ = "image '" + ref_.original + "'";
  }

  Result<ResolvedImage> resolve() override {
    BlobRef top;
    top.digest = ref_.digest;
    std::string tagOrDigest = ref_.digest.empty() ? ref_.tag : ref_.digest;
    WARREN_ASSIGN_OR_RETURN(auto resp, get("/manifests/" + tagOrDigest, true, ""));
    top.media_type = contentType(resp);
    if (top.digest.empty()) {
      // By tag: the digest is that of the bytes we got; a registry's
      // Docker-Content-Digest header must agree with it.
      top.digest = "sha256:" + sha256Hex(resp.body);
      auto h = resp.headers.find("docker-content-digest");
      if (h != resp.headers.end() && h->second.rfind("sha256:", 0) == 0 && h->second != top.digest) {
        return fail(Code::FailedPrecondition, what_ + ": manifest digest mismatch: registry says " +
                                                  h->second + ", content is " + top.digest);
      }
    } else {
      WARREN_TRY(verifyBytes(resp.body, top.digest, what_ + ": manifest"));
    }
    Fetchers f;
    f.limits = limits_;
    f.manifest = [this](const BlobRef& b) -> Result<std::string> {
      WARREN_TRY(digestHex(b.digest));
      WARREN_ASSIGN_OR_RETURN(auto r, get("/manifests/" + b.digest, true, ""));
      WARREN_TRY(verifyBytes(r.body, b.digest, what_ + ": manifest"));
      return r.body;
    };
    f.blob = [this](const BlobRef& b) -> Result<std::string> {
      WARREN_TRY(digestHex(b.digest));
      WARREN_ASSIGN_OR_RETURN(auto r, get("/blobs/" + b.digest, false, ""));
      WARREN_TRY(verifyBytes(r.body, b.digest, what_ + ": blob"));
      return r.body;
    };
    return resolveManifest(top, resp.body, f, what_);
  }

  Result<void> fetchBlob(const BlobRef& layer, const std::string& dest) override {
    WARREN_TRY(digestHex(layer.digest));
    WARREN_TRY(get("/blobs/" + layer.digest, false, dest, fetch_progress_));
    return {};
  }

 private:
  static std::string contentType(const HttpResponse& r) {
    auto it = r.headers.find("content-type");
    if (it == r.headers.end()) return "";
    std::string t = it->second.substr(0, it->second.find(';'));
    // Registries answer generic types for documents without a mediaType.
    if (t == "application/json" || t == "text/plain" || t == "application/octet-stream") return "";
    return t;
  }

  Result<HttpResponse> get(const std::string& path, bool manifest, const std::string& to_file,
                           const std::function<void(uint64_t)>& progress = nullptr) {
    std::string url = base_ + path;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<std::string> headers;
      if (manifest) headers.push_back(kAccept);
      if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
      HttpProgress hp;
      if (progress) hp = [&progress](uint64_t done, uint64_t) { progress(done); };
      auto r = httpGet(url, headers, to_file, cancel_.get(), hp);
      if (!r && r.error().code() == Code::FailedPrecondition) {
        return fail(Code::FailedPrecondition, what_ + ": pull cancelled");
      }
      if (!r) {
        return fail(Code::Unavailable, what_ + ": registry " + ref_.host + " unreachable: " +
                                           r.error().message());
      }
      if (r->status >= 200 && r->status < 300) return r;
      if (r->status == 401 && attempt == 0 && token_.empty()) {
        auto h = r->headers.find("www-authenticate");
        if (h != r->headers.end()) {
          auto auth = parseAuthenticate(h->second);
          if (auth["scheme"] == "bearer") {
            WARREN_TRY(fetchToken(auth));
            continue;
          }
        }
      }
      return fail(statusError(*r, path));
    }
    return fail(Code::PermissionDenied, what_ + ": registry " + ref_.host + " refused the token");
  }

  Error statusError(const HttpResponse& r, const std::string& path) {
    std::string detail;
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j["errors"].is_array() && !j["errors"].empty() &&
        j["errors"][0].is_object()) {
      detail = ": " + j["errors"][0].value("message", "");
    }
    std::string where = "registry " + ref_.host + " answered HTTP " + std::to_string(r.status) +
                        " for " + ref_.repository + path + detail;
    if (r.status == 404) return Error(Code::NotFound, what_ + ": not found: " + where);
    if (r.status == 401 || r.status == 403) return Error(Code::PermissionDenied, what_ + ": unauthorized: " + where);
    return Error(Code::Unavailable, what_ + ": " + where);
  }

  Result<void> fetchToken(std::map<std::string, std::string> auth) {
    if (auth["realm"].empty()) return fail(Code::PermissionDenied, what_ + ": 401 without a token realm");
    std::string url = auth["realm"];
    std::string scope = auth["scope"].empty() ? "repository:" + ref_.repository + ":pull" : auth["scope"];
    url += (url.find('?') == std::string::npos ? "?" : "&");
    if (!auth["service"].empty()) url += "service=" + urlEncode(auth["service"]) + "&";
    url += "scope=" + urlEncode(scope);
    if (log_) log_->info("registry {} asks for a token; requesting one from {}", ref_.host, auth["realm"]);
    auto r = httpGet(url, {}, "", cancel_.get());
    if (!r) return fail(Code::Unavailable, what_ + ": token service unreachable: " + r.error().message());
    if (r->status != 200) {
      return fail(Code::PermissionDenied, what_ + ": token service " + auth["realm"] + " answered HTTP " +
                                              std::to_string(r->status));
    }
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_discarded() && j.is_object()) token_ = j.value("token", j.value("access_token", ""));
    if (token_.empty()) return fail(Code::PermissionDenied, what_ + ": token service gave no token");
    return {};
  }

  Reference ref_;
  std::shared_ptr<sdk::Logger> log_;
  ImageLimits limits_;
  std::shared_ptr<const sdk::CancelToken> cancel_;
  std::string base_, what_, token_;
};

}  // namespace

Result<std::unique_ptr<Source>> openRegistry(const Reference& ref, const SourceOptions& opts) {
  return std::make_unique<RegistrySource>(ref, opts);
}

}  // namespace warren::provisioners::image
