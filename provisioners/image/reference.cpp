#include "reference.hpp"

#include <sys/stat.h>

namespace warren::provisioners::image {
namespace {

bool isTagChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool validTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  for (char c : t) {
    if (!isTagChar(c)) return false;
  }
  return true;
}

// "path[:suffix]" for local stores: the first prefix (split at a ':') that
// exists on disk is the path; without any, the whole string is the path.
void splitLocal(const std::string& rest, std::string& path, std::string& suffix) {
  for (size_t i = rest.find(':'); i != std::string::npos; i = rest.find(':', i + 1)) {
    struct stat st {};
    if (::stat(rest.substr(0, i).c_str(), &st) == 0) {
      path = rest.substr(0, i);
      suffix = rest.substr(i + 1);
      return;
    }
  }
  path = rest;
  suffix.clear();
  // Nothing exists: still split off a plausible tag so the error names the path.
  auto c = rest.rfind(':');
  if (c != std::string::npos && rest.find('/', c) == std::string::npos && validTag(rest.substr(c + 1))) {
    path = rest.substr(0, c);
    suffix = rest.substr(c + 1);
  }
}

bool validRepoChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
         c == '/';
}

Result<Reference> parseRegistry(const std::string& ref, std::string rest) {
  Reference r;
  r.scheme = Scheme::Registry;
  r.original = ref;
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "invalid image reference '" + ref + "': " + why);
  };
  auto at = rest.find('@');
  if (at != std::string::npos) {
    r.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  auto slash = rest.find('/');
  std::string first = slash == std::string::npos ? "" : rest.substr(0, slash);
  if (!first.empty() && (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                         first == "localhost")) {
    r.host = first;
    rest = rest.substr(slash + 1);
  } else {
    r.host = "registry-1.docker.io";
    if (rest.find('/') == std::string::npos) rest = "library/" + rest;
  }
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && r.digest.empty()) {
    r.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!validTag(r.tag)) return bad("invalid tag '" + r.tag + "'");
  } else if (colon != std::string::npos) {
    return bad("both a tag and a digest");
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  if (rest.empty() || rest.front() == '/' || rest.back() == '/') return bad("empty repository name");
  for (char c : rest) {
    if (!validRepoChar(c)) return bad("repository '" + rest + "' must be lowercase [a-z0-9._-/]");
  }
  if (rest.find("..") != std::string::npos || rest.find("//") != std::string::npos) {
    return bad("malformed repository '" + rest + "'");
  }
  r.repository = rest;
  return r;
}

}  // namespace

std::vector<std::string> supportedSchemes() {
  return {"oci", "oci-archive", "docker-archive", "docker"};
}

std::string Reference::canonical() const {
  switch (scheme) {
    case Scheme::OciLayout: return "oci:" + path + (tag.empty() ? "" : ":" + tag);
    case Scheme::OciArchive: return "oci-archive:" + path + (tag.empty() ? "" : ":" + tag);
    case Scheme::DockerArchive: return "docker-archive:" + path + (tag.empty() ? "" : ":" + tag);
    case Scheme::Registry:
      return "docker://" + host + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
  }
  return original;
}

Result<Reference> parseReference(const std::string& ref) {
  auto colon = ref.find(':');
  std::string scheme = colon == std::string::npos ? "" : ref.substr(0, colon);
  std::string rest = colon == std::string::npos ? ref : ref.substr(colon + 1);
  if (scheme == "docker") {
    if (rest.rfind("//", 0) != 0) {
      return fail(Code::InvalidArgument, "invalid image reference '" + ref + "': expected docker://HOST/NAME:TAG");
    }
    return parseRegistry(ref, rest.substr(2));
  }
  Reference r;
  r.original = ref;
  if (scheme == "oci") {
    r.scheme = Scheme::OciLayout;
  } else if (scheme == "oci-archive") {
    r.scheme = Scheme::OciArchive;
  } else if (scheme == "docker-archive") {
    r.scheme = Scheme::DockerArchive;
  } else {
    std::string names;
    for (const auto& s : supportedSchemes()) names += (names.empty() ? "" : ", ") + s;
    return fail(Code::InvalidArgument, "unknown image reference scheme in '" + ref +
                                           "' (supported: " + names + ")");
  }
  if (rest.empty()) return fail(Code::InvalidArgument, "invalid image reference '" + ref + "': no path");
  splitLocal(rest, r.path, r.tag);
  if (r.path.empty() || r.path.front() != '/') {
    return fail(Code::InvalidArgument,
                "invalid image reference '" + ref + "': the path must be absolute");
  }
  if (r.scheme != Scheme::DockerArchive && !r.tag.empty() && !validTag(r.tag)) {
    return fail(Code::InvalidArgument, "invalid image reference '" + ref + "': invalid tag '" + r.tag + "'");
  }
  return r;
}

}  // namespace warren::provisioners::image
