#include "linux_layout.hpp"

#include <sys/stat.h>

#include <initializer_list>

#include "warren/sdk/ids.hpp"

namespace warren::isolators::filesystem {
namespace {

v1::Mount mount(const std::string& source, const std::string& target, const std::string& type,
                std::initializer_list<const char*> options) {
  v1::Mount m;
  m.set_source(source);
  m.set_target(target);
  m.set_type(type);
  for (const char* o : options) m.add_options(o);
  m.set_create_dir(true);
  return m;
}

v1::Mount shmMount(uint64_t bytes) {
  v1::Mount m = mount("shm", "/dev/shm", "tmpfs", {"nosuid", "nodev", "noexec", "mode=1777"});
  m.add_options("size=" + std::to_string(bytes));
  return m;
}

void addDev(v1::LaunchInfo& li, const LayoutOptions& o, uint64_t shm_bytes) {
  *li.add_mounts() = mount("tmpfs", "/dev", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
  for (const auto& dev : deviceNodes()) {
    v1::Mount m = mount(dev, dev, "bind", {"bind"});
    m.set_create_dir(false);
    m.set_create_file(true);
    *li.add_mounts() = m;
  }
  *li.add_mounts() = mount("devpts", "/dev/pts", "devpts",
                           {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
  // /dev/ptmx is left to warren-init (a symlink to pts/ptmx): a bind of the
  // host's ptmx node would not find this container's devpts instance, and
  // bind sources are taken from the host before the rootfs exists.
  *li.add_mounts() = shmMount(shm_bytes);
  if (o.mqueue) {
    *li.add_mounts() = mount("mqueue", "/dev/mqueue", "mqueue", {"nosuid", "nodev", "noexec"});
  }
}

}  // namespace

const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> paths = {
      "/proc/kcore",       "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/sched_debug", "/proc/scsi", "/proc/acpi",          "/sys/firmware",
  };
  return paths;
}

const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> paths = {
      "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
  };
  return paths;
}

const std::vector<std::string>& deviceNodes() {
  static const std::vector<std::string> nodes = {
      "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
  };
  return nodes;
}

bool hasOwnRootfs(const v1::ContainerContext& c) {
  if (c.rootfs().empty()) return false;
  if (!c.has_parent()) return true;
  // Asked for (a rootfs dir, even its parent's, or an image): the core
  // pivots it into that root, through an overlay of its own (issue #18).
  return !c.config().rootfs().empty() || !c.config().image().empty();
}

Result<std::optional<bool>> readonlyRootfsSetting(const v1::ContainerConfig& config) {
  const std::string prefix = std::string(kShortName) + ".";
  std::optional<bool> value;
  for (const auto& [key, v] : config.isolator_settings()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (key != prefix + "readonly_rootfs") {
      return fail(Code::InvalidArgument,
                  "unknown isolator setting '" + key + "' (known: " + prefix + "readonly_rootfs)");
    }
    if (v == "true") {
      value = true;
    } else if (v == "false") {
      value = false;
    } else {
      return fail(Code::InvalidArgument,
                  "isolator setting '" + key + "' must be true or false, not '" + v + "'");
    }
  }
  return value;
}

Result<IpcPlan> ipcPlan(const v1::ContainerContext& c) {
  const auto& cfg = c.config();
  const std::string id = formatId(c.id());
  const bool nested = c.has_parent() || c.id().path_size() > 1;
  const std::string& mode = cfg.ipc_mode();
  if (!mode.empty() && mode != "private" && mode != "share_parent") {
    return fail(Code::InvalidArgument, "container '" + id + "': unknown ipc_mode '" + mode +
                                           "' (expected private or share_parent)");
  }
  if (cfg.container_class() == v1::DEBUG && (!mode.empty() || cfg.shm_size_bytes() != 0)) {
    return fail(Code::InvalidArgument, "container '" + id + "': a DEBUG container shares its parent's IPC "
                                           "namespace and /dev/shm; it cannot set ipc_mode or shm_size_bytes");
  }
  if (!nested && mode == "share_parent") {
    return fail(Code::InvalidArgument, "container '" + id + "': ipc_mode 'share_parent' needs a parent container");
  }
  IpcPlan p;
  p.new_namespace = nested && mode == "private";
  p.own_shm = p.new_namespace || hasOwnRootfs(c);
  if (cfg.shm_size_bytes() != 0 && !p.own_shm) {
    return fail(Code::InvalidArgument, "container '" + id + "': shm_size_bytes needs a /dev/shm of its own "
                                           "(ipc_mode 'private', or a rootfs or image of its own)");
  }
  return p;
}

Result<v1::LaunchInfo> buildLaunchInfo(const v1::ContainerContext& c, const LayoutOptions& o) {
  v1::LaunchInfo li;
  auto setting = readonlyRootfsSetting(c.config());
  if (!setting) return fail(setting.error());
  auto ipc = ipcPlan(c);
  if (!ipc) return fail(ipc.error());
  // A DEBUG container lives in its parent's mount namespace: anything we
  // described would be applied to the parent's.
  if (c.config().container_class() == v1::DEBUG) {
    if (setting->value_or(false)) {
      return fail(Code::InvalidArgument,
                  "a DEBUG container shares its parent's root filesystem; it cannot set readonly_rootfs");
    }
    return li;
  }
  const uint64_t shm_bytes = c.config().shm_size_bytes() != 0 ? c.config().shm_size_bytes() : o.shm_bytes;
  if (ipc->new_namespace) {
    // The core entered the parent's IPC namespace; this one replaces it
    // (the core skips that ENTER for ipc_mode "private").
    auto* ns = li.add_namespaces();
    ns->set_type(v1::Namespace::IPC);
    ns->set_action(v1::Namespace::CREATE);
  }
  bool own = hasOwnRootfs(c);
  if (ipc->new_namespace && !own) {
    // Its parent's root: a /dev/shm of its own over the parent's, in its
    // own mount namespace (nothing is made: /dev/shm is there).
    v1::Mount m = shmMount(shm_bytes);
    m.set_create_dir(false);
    *li.add_mounts() = m;
  }
  if (own) {
    struct stat st {};
    if (::stat(c.rootfs().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(Code::FailedPrecondition, "rootfs '" + c.rootfs() + "' is not a directory");
    }
    li.set_rootfs(c.rootfs());
    addDev(li, o, shm_bytes);
    if (o.sys == SysMode::Sysfs) {
      *li.add_mounts() = mount("sysfs", "/sys", "sysfs", {"ro", "nosuid", "nodev", "noexec"});
    } else if (o.sys == SysMode::Bind) {
      *li.add_mounts() = mount("/sys", "/sys", "bind", {"rbind", "ro", "nosuid", "nodev", "noexec"});
    }
    // /proc: warren-init mounts one for every container with a rootfs.
    li.set_readonly_rootfs(setting->value_or(o.readonly_rootfs));
  } else if (setting->value_or(false)) {
    return fail(Code::InvalidArgument,
                std::string(kShortName) + ".readonly_rootfs needs a container with its own rootfs");
  }
  // Masks and read-only paths apply with or without a rootfs: warren-init
  // may mount a fresh /proc over the inherited (masked) one.
  for (const auto& p : defaultMaskedPaths()) li.add_masked_paths(p);
  for (const auto& p : o.extra_masked_paths) li.add_masked_paths(p);
  for (const auto& p : defaultReadonlyPaths()) li.add_readonly_paths(p);
  for (const auto& p : o.extra_readonly_paths) li.add_readonly_paths(p);
  return li;
}

}  // namespace warren::isolators::filesystem
