// Path rules of the volumes isolator: the shape of container and sandbox
// paths, and the host path allowlist (component-aware, symlinks resolved).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren::volumes {

// Absolute, normalized ("/a/b": no empty, "." or ".." components, no
// trailing '/'), not "/" itself. The error names the path and the rule.
Result<void> checkContainerPath(std::string_view path);

// Relative, normalized, non-empty, no "." or ".." components, and not in
// "containers" (where nested containers' sandboxes live).
Result<void> checkSandboxPath(std::string_view path);

// True when `path` is `prefix` or lies below it, by whole components
// ("/srv/data" is under "/srv" but not under "/sr"). Both normalized.
bool isUnder(std::string_view path, std::string_view prefix);

// "/srv, /data/x/ ,," -> {"/srv", "/data/x"}: trimmed, trailing '/' removed,
// empties dropped. Relative entries are an error naming them.
Result<std::vector<std::string>> parseAllowlist(std::string_view csv);

// Resolve `host_path` (symlinks followed; it must exist) and check it lies
// under one of the allowlist prefixes (each resolved too). Returns the
// resolved path. Errors (one line, naming the path):
//   "host path '/etc' is not under an allowed prefix (allowlist: /srv)"
//   "host path '/srv/nope' does not exist"
// `matched_prefix` (optional) receives the resolved allowlist prefix the
// path lies under: warren-init resolves the path again beneath it, without
// following symlinks, when it mounts (a rename racing us cannot lead out).
//
// The allowlist is checked first, on the path's text ("." and ".." folded):
// a path outside it is refused before anything about it is looked up, so a
// refusal reveals nothing (issue #18). With `missing` non-null, a path that
// does not exist yet is no error: *missing is set, the folded path returned
// and `matched_prefix` names the (resolved) prefix to create it beneath.
Result<std::string> resolveHostPath(const std::string& host_path,
                                    const std::vector<std::string>& allowlist,
                                    std::string* matched_prefix = nullptr, bool* missing = nullptr);

// "/a/./b/../c" -> "/a/c", on the text alone.
std::string lexicallyNormal(const std::string& path);

// Shape checks of one volume that need no filesystem access: source type,
// paths, tmpfs size (and `max_tmpfs_bytes` when non-zero). `nested` says
// whether the container has a parent (PARENT volumes need one).
Result<void> checkVolumeShape(const v1::Volume& volume, bool nested, uint64_t max_tmpfs_bytes);

}  // namespace warren::volumes
