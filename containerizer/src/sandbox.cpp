#include "sandbox.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "warren/sdk/fs.hpp"

namespace warren::core {
namespace {

// The host id of container id `id` under `mappings` (none: the id itself).
uint32_t hostId(const google::protobuf::RepeatedPtrField<v1::IdMapping>& mappings, uint32_t id) {
  for (const auto& m : mappings) {
    if (id >= m.container_id() && id - m.container_id() < m.size()) return m.host_id() + (id - m.container_id());
  }
  return mappings.empty() ? id : 65534;  // unmapped: nobody
}

}  // namespace

bool runsOnHostRoot(const v1::ContainerState& s) {
  if (!s.launch_info().rootfs().empty()) return false;
  for (const auto& m : s.launch_info().mounts()) {
    if (m.target() == kSandboxPath) return false;  // a root of its own above it
  }
  return true;
}

bool rootIsHost(const v1::ContainerState& st, const v1::ContainerState* parent) {
  if (!st.rootfs().empty()) return false;
  return parent == nullptr || runsOnHostRoot(*parent);
}

std::string sandboxInContainer(const v1::ContainerState& st, bool host_root) {
  return host_root ? st.sandbox() : std::string(kSandboxPath);
}

void addSandbox(const v1::ContainerState& st, const std::string& sandboxes_root, bool host_root,
                v1::LaunchInfo& li) {
  std::string inside = sandboxInContainer(st, host_root);
  if (!host_root) {
    v1::Mount* m = li.add_mounts();
    m->set_source(st.sandbox());
    m->set_source_root(sandboxes_root);  // a parent container can write below it
    m->set_target(kSandboxPath);
    m->set_type("bind");
    m->add_options("bind");
    m->add_options("nosuid");
    m->add_options("nodev");
    m->set_create_dir(true);
  }
  (*li.mutable_env())["WARREN_SANDBOX"] = inside;
  (*li.mutable_env())["MESOS_SANDBOX"] = inside;
  li.add_chown_paths(inside);
  li.add_chown_paths(inside + "/stdout");
  li.add_chown_paths(inside + "/stderr");
}

Result<void> addRootfsOverlay(const v1::ContainerState& st, const std::string& sandboxes_root,
                              v1::LaunchInfo& li) {
  const auto& c = st.config();
  if (c.rootfs().empty() || c.rootfs_writable() || st.rootfs() != c.rootfs()) return {};
  struct stat root {};
  if (::stat(c.rootfs().c_str(), &root) != 0) return failErrno("rootfs '" + c.rootfs() + "'");
  std::string base = st.sandbox() + "/" + kRootfsUpperDir;
  WARREN_TRY(fs::mkdirs(base, 0700));
  std::string upper = base + "/upper", work = base + "/work";
  if (::mkdir(upper.c_str(), 0755) != 0 && errno != EEXIST) return failErrno("mkdir '" + upper + "'");
  if (::mkdir(work.c_str(), 0700) != 0 && errno != EEXIST) return failErrno("mkdir '" + work + "'");
  // The overlay's root directory is the upper's: it must look like the
  // rootfs's. Under a user namespace the lower layer is idmapped (disk id N
  // is the container's N) but the upper is not (the kernel creates the
  // overlay's work dirs as the host's root, which an idmapped upper could
  // not store): its ids are the container's host ids.
  uid_t uid = hostId(li.uid_mappings(), root.st_uid);
  gid_t gid = hostId(li.gid_mappings(), root.st_gid);
  if (::lchown(upper.c_str(), uid, gid) != 0 || ::chmod(upper.c_str(), root.st_mode & 07777) != 0) {
    return failErrno("set owner and mode of '" + upper + "'");
  }
  li.set_rootfs_upper_dir(base);
  li.set_rootfs_upper_root(sandboxes_root);
  return {};
}

}  // namespace warren::core
