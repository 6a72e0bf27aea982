#include "volume_paths.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace warren::volumes {
namespace {

// Checks every '/'-separated component of `rel` (no leading '/').
Result<void> checkComponents(std::string_view what, std::string_view path, std::string_view rel) {
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    std::string_view comp = rel.substr(start, slash - start);
    if (comp == "..") {
      return fail(Code::InvalidArgument,
                  std::string(what) + " '" + std::string(path) + "' must not contain '..'");
    }
    if (comp.empty() || comp == ".") {
      return fail(Code::InvalidArgument, std::string(what) + " '" + std::string(path) +
                                             "' is not normalized (no '//', '.', or trailing '/')");
    }
    start = slash + 1;
  }
  return {};
}

std::string realPath(const std::string& p, int* err) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) {
    *err = errno;
    return {};
  }
  *err = 0;
  return buf;
}

std::string joinPrefixes(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& p : v) {
    if (!out.empty()) out += ",";
    out += p;
  }
  return out.empty() ? "empty" : out;
}

}  // namespace

Result<void> checkContainerPath(std::string_view path) {
  if (path.empty()) return fail(Code::InvalidArgument, "container path is empty");
  if (path.front() != '/') {
    return fail(Code::InvalidArgument, "container path '" + std::string(path) + "' is not absolute");
  }
  if (path == "/") return fail(Code::InvalidArgument, "container path '/' is the root itself");
  if (path.find('\0') != std::string_view::npos) {
    return fail(Code::InvalidArgument, "container path contains a NUL byte");
  }
  return checkComponents("container path", path, path.substr(1));
}

Result<void> checkSandboxPath(std::string_view path) {
  if (path.empty()) return fail(Code::InvalidArgument, "sandbox path is empty");
  if (path.front() == '/') {
    return fail(Code::InvalidArgument,
                "sandbox path '" + std::string(path) + "' must be relative to the sandbox");
  }
  if (path.find('\0') != std::string_view::npos) {
    return fail(Code::InvalidArgument, "sandbox path contains a NUL byte");
  }
  WARREN_TRY(checkComponents("sandbox path", path, path));
  // The core keeps nested containers' sandboxes in <sandbox>/containers;
  // mounting that would expose (or hide) every child's sandbox.
  if (path == "containers" || path.substr(0, 11) == "containers/") {
    return fail(Code::InvalidArgument, "sandbox path '" + std::string(path) +
                                           "' is reserved for nested containers' sandboxes");
  }
  // <sandbox>/.warren holds the rootfs's upper layer (the core's).
  if (path == ".warren" || path.substr(0, 8) == ".warren/") {
    return fail(Code::InvalidArgument, "sandbox path '" + std::string(path) + "' is reserved for warren");
  }
  return {};
}

bool isUnder(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Result<std::vector<std::string>> parseAllowlist(std::string_view csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    std::string_view item = csv.substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    while (item.size() > 1 && item.back() == '/') item.remove_suffix(1);
    if (!item.empty()) {
      if (item.front() != '/') {
        return fail(Code::InvalidArgument,
                    "host_path_allowlist entry '" + std::string(item) + "' is not absolute");
      }
      out.emplace_back(item);
    }
    start = comma + 1;
  }
  return out;
}

// "/a/./b/../c" -> "/a/c", textually (nothing on disk is looked at).
std::string lexicallyNormal(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(start, slash - start);
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!comp.empty() && comp != ".") {
      parts.push_back(comp);
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

Result<std::string> resolveHostPath(const std::string& host_path,
                                    const std::vector<std::string>& allowlist,
                                    std::string* matched_prefix, bool* missing) {
  if (host_path.empty() || host_path.front() != '/') {
    return fail(Code::InvalidArgument, "host path '" + host_path + "' is not absolute");
  }
  auto refuse = [&](const std::string& shown) {
    return fail(Code::InvalidArgument, "host path " + shown + " is not under an allowed prefix (" +
                                           "host_path_allowlist: " + joinPrefixes(allowlist) + ")");
  };
  // 1. The allowlist, by the path's text alone: a refusal says nothing about
  //    whether a path outside it exists.
  std::string normal = lexicallyNormal(host_path);
  std::string lexical_prefix;  // the allowlist entry (resolved) the text lies under
  std::string rebased;         // the path's text below it
  for (const auto& prefix : allowlist) {
    int perr = 0;
    std::string real_prefix = realPath(prefix, &perr);
    if (real_prefix.empty()) continue;  // nothing exists under a missing prefix
    for (const std::string& p : {lexicallyNormal(prefix), real_prefix}) {
      if (lexical_prefix.empty() && isUnder(normal, p)) {
        lexical_prefix = real_prefix;
        std::string tail = p == "/" ? normal : normal.substr(p.size());  // "" or "/..."
        rebased = real_prefix == "/" ? (tail.empty() ? "/" : tail) : real_prefix + tail;
      }
    }
  }
  if (lexical_prefix.empty()) return refuse("'" + host_path + "'");
  // 2. Only now: does it exist, and where does it really lead.
  int err = 0;
  std::string resolved = realPath(host_path, &err);
  if (resolved.empty()) {
    if ((err == ENOENT) && missing != nullptr) {
      // The caller makes it beneath the prefix, following no symlink.
      *missing = true;
      if (matched_prefix) *matched_prefix = lexical_prefix;
      return rebased;
    }
    if (err == ENOENT || err == ENOTDIR) {
      return fail(Code::InvalidArgument, "host path '" + host_path + "' does not exist", err);
    }
    return fail(Code::InvalidArgument,
                Error::sys(err, "host path '" + host_path + "'").message(), err);
  }
  if (missing != nullptr) *missing = false;
  for (const auto& prefix : allowlist) {
    int perr = 0;
    std::string real_prefix = realPath(prefix, &perr);
    if (real_prefix.empty()) continue;
    if (isUnder(resolved, real_prefix)) {
      if (matched_prefix) *matched_prefix = real_prefix;
      return resolved;
    }
  }
  return refuse(resolved == host_path ? "'" + host_path + "'"
                                      : "'" + host_path + "' (resolves to '" + resolved + "')");
}

Result<void> checkVolumeShape(const v1::Volume& v, bool nested, uint64_t max_tmpfs_bytes) {
  WARREN_TRY(checkContainerPath(v.container_path()));
  if (v.create() && v.source() != v1::Volume::HOST_PATH) {
    return fail(Code::InvalidArgument, "create applies to host volumes only (sandbox dirs are always made)");
  }
  const std::string& prop = v.propagation();
  if (!prop.empty() && prop != "private" && prop != "rslave" && prop != "rshared") {
    return fail(Code::InvalidArgument, "propagation '" + prop + "' (use private, rslave or rshared)");
  }
  if ((prop == "rslave" || prop == "rshared") && v.source() == v1::Volume::TMPFS) {
    return fail(Code::InvalidArgument, "propagation '" + prop + "' needs a bind volume, not a tmpfs");
  }
  switch (v.source()) {
    case v1::Volume::SANDBOX_SELF:
      return checkSandboxPath(v.source_path());
    case v1::Volume::SANDBOX_PARENT:
      if (!nested) {
        return fail(Code::InvalidArgument,
                    "a parent sandbox volume needs a nested container (this one has no parent)");
      }
      return checkSandboxPath(v.source_path());
    case v1::Volume::HOST_PATH:
      if (v.source_path().empty() || v.source_path().front() != '/') {
        return fail(Code::InvalidArgument,
                    "host path '" + v.source_path() + "' is not absolute");
      }
      return {};
    case v1::Volume::TMPFS:
      if (!v.source_path().empty()) {
        return fail(Code::InvalidArgument, "a tmpfs volume takes no source path");
      }
      if (v.size_bytes() == 0) return fail(Code::InvalidArgument, "a tmpfs volume needs a size");
      if (v.size_bytes() < 4096) {
        return fail(Code::InvalidArgument, "tmpfs size " + std::to_string(v.size_bytes()) +
                                               " is smaller than one page (4096 bytes)");
      }
      if (max_tmpfs_bytes != 0 && v.size_bytes() > max_tmpfs_bytes) {
        return fail(Code::InvalidArgument, "tmpfs size " + std::to_string(v.size_bytes()) +
                                               " exceeds the limit of " +
                                               std::to_string(max_tmpfs_bytes) + " bytes");
      }
      return {};
    case v1::Volume::IMAGE:
      return fail(Code::Unimplemented, "image volume '" + v.image() + "': image volumes are not supported yet");
    default:
      return fail(Code::InvalidArgument, "volume has no source type");
  }
}

}  // namespace warren::volumes
