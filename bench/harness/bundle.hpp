// The busybox rootfs every runtime runs, and OCI bundles for the peers.
#pragma once

#include <string>
#include <vector>

namespace bench {

// dir/ gets bin/busybox (static) and applet links (true, sleep, sh, cat) plus
// the empty mount points a container needs. Returns "" or an error message.
std::string makeRootfs(const std::string& dir);

struct BundleSpec {
  std::vector<std::string> args{"/bin/true"};
  std::string cgroups_path;  // absolute, e.g. /warren-bench/crun-7
  int join_pid = 0;          // >0: join that process's pid/net/ipc/uts namespaces
};

// Writes dir/config.json (5 namespaces, the usual /proc /dev /sys mounts,
// pivot_root into dir/rootfs, which must exist). Returns "" or an error.
std::string writeConfig(const std::string& dir, const BundleSpec& spec);

bool writeFile(const std::string& path, const std::string& data);

}  // namespace bench
