#include "volumes_isolator.hpp"

#include <map>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sandbox_dirs.hpp"
#include "volume_paths.hpp"
#include "volume_spec.hpp"
#include "warren/isolators/volumes/config.pb.h"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::volumes {

using warren::volumes::checkBeneath;
using warren::volumes::checkVolumeShape;
using warren::volumes::formatVolumeSpec;
using warren::volumes::mkdirBeneath;
using warren::volumes::parseAllowlist;
using warren::volumes::resolveHostPath;

namespace {

// A root of its own (an image or a rootfs), not its parent's.
bool ownRoot(const v1::ContainerContext& c) {
  bool asked = !c.config().rootfs().empty() || !c.config().image().empty();
  return asked && !c.rootfs().empty();
}

size_t depthOf(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

bool validMode(const std::string& mode) {
  if (mode.empty() || mode.size() > 4) return false;
  return std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
}

}  // namespace

VolumesIsolator::VolumesIsolator(std::vector<std::string> allowlist, std::string tmpfs_mode,
                                 uint64_t max_tmpfs_bytes)
    : allowlist_(std::move(allowlist)),
      tmpfs_mode_(std::move(tmpfs_mode)),
      max_tmpfs_bytes_(max_tmpfs_bytes),
      log_(sdk::makeLogger("warren.isolator.volumes")) {}

Result<std::unique_ptr<VolumesIsolator>> VolumesIsolator::create(const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<warren::isolators::volumes::Config>(ctx);
  if (!cfg) return fail(cfg.error());
  std::string mode = cfg->tmpfs_mode().empty() ? "1777" : cfg->tmpfs_mode();
  if (!validMode(mode)) {
    return fail(Code::InvalidArgument, "invalid config: tmpfs_mode '" + mode + "' is not an octal mode");
  }
  std::vector<std::string> allowlist;
  auto it = ctx.flags().find("host_path_allowlist");
  if (it != ctx.flags().end()) {
    auto parsed = parseAllowlist(it->second);
    if (!parsed) return fail(parsed.error());
    allowlist = std::move(*parsed);
  }
  return std::unique_ptr<VolumesIsolator>(
      new VolumesIsolator(std::move(allowlist), mode, cfg->max_tmpfs_bytes()));
}

Result<VolumesIsolator::Planned> VolumesIsolator::plan(const v1::ContainerContext& c,
                                                       const v1::Volume& v) const {
  WARREN_TRY(checkVolumeShape(v, c.has_parent(), max_tmpfs_bytes_));
  Planned p;
  p.volume = v;
  switch (v.source()) {
    case v1::Volume::SANDBOX_SELF:
    case v1::Volume::SANDBOX_PARENT: {
      bool self = v.source() == v1::Volume::SANDBOX_SELF;
      p.sandbox = self ? c.sandbox() : c.parent().sandbox();
      if (p.sandbox.empty() || p.sandbox.front() != '/') {
        return fail(Code::FailedPrecondition, std::string(self ? "the container" : "the parent") +
                                                  " has no sandbox directory");
      }
      p.relative = v.source_path();
      p.source = p.sandbox + "/" + p.relative;
      // The sandbox must exist (the parent's always does; our own is made
      // by the containerizer before prepare) and nothing on the way may be
      // a symlink.
      if (::access(p.sandbox.c_str(), F_OK) != 0) {
        return fail(Code::FailedPrecondition, "sandbox '" + p.sandbox + "' does not exist");
      }
      WARREN_TRY(checkBeneath(p.sandbox, p.relative));
      p.source_root = p.sandbox;
      return p;
    }
    case v1::Volume::HOST_PATH: {
      bool missing = false;
      auto resolved = resolveHostPath(v.source_path(), allowlist_, &p.source_root,
                                      v.create() ? &missing : nullptr);
      if (!resolved) return fail(resolved.error());
      p.source = *resolved;
      if (missing) {
        p.create_relative = p.source == p.source_root ? "" : p.source.substr(p.source_root.size() + 1);
        // Whatever exists on the way must be a real directory (no symlink).
        WARREN_TRY(checkBeneath(p.source_root, p.create_relative));
        return p;
      }
      struct stat st {};
      if (::stat(p.source.c_str(), &st) != 0) return failErrno("host path '" + p.source + "'");
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        return fail(Code::InvalidArgument, "host path '" + v.source_path() + "' is neither a directory nor a regular file");
      }
      p.file = S_ISREG(st.st_mode);
      return p;
    }
    case v1::Volume::TMPFS:
      p.source = "tmpfs";
      return p;
    default:
      return fail(Code::InvalidArgument, "volume has no source type");
  }
}

v1::Mount VolumesIsolator::mountFor(const Planned& p) const {
  v1::Mount m;
  m.set_source(p.source);
  m.set_source_root(p.source_root);
  m.set_target(p.volume.container_path());
  m.set_create_dir(!p.file);
  m.set_create_file(p.file);
  if (p.volume.source() == v1::Volume::TMPFS) {
    m.set_type("tmpfs");
    for (const char* o : {"nosuid", "nodev"}) m.add_options(o);
    m.add_options("size=" + std::to_string(p.volume.size_bytes()));
    m.add_options("mode=" + tmpfs_mode_);
  } else {
    m.set_type("bind");
    // A read-only bind is deliberately not recursive: a submount of the
    // source would otherwise stay writable inside the container.
    bool recursive = p.volume.source() == v1::Volume::HOST_PATH && !p.volume.read_only();
    m.add_options(recursive ? "rbind" : "bind");
  }
  if (p.volume.read_only()) m.add_options("ro");
  if (!p.volume.propagation().empty()) m.add_options(p.volume.propagation());
  // Binds reach nested containers with a root of their own too.
  m.set_inherit(p.volume.source() != v1::Volume::TMPFS);
  return m;
}

// The config's volumes, then those given as spec strings: isolator setting
// "volumes.spec_<n>" = "TYPE:SOURCE:TARGET[:ro]" (what `warren --volume`
// passes; the grammar is this plugin's, volume_spec.hpp), in key order.
static Result<std::vector<v1::Volume>> volumesOf(const v1::ContainerConfig& config) {
  std::vector<v1::Volume> out(config.volumes().begin(), config.volumes().end());
  std::map<std::string, std::string> specs(config.isolator_settings().begin(), config.isolator_settings().end());
  for (const auto& [key, value] : specs) {
    if (key.rfind("volumes.", 0) != 0) continue;
    if (key.rfind("volumes.spec_", 0) != 0) {
      return fail(Code::InvalidArgument, "unknown volumes setting '" + key + "' (volumes.spec_<n> = SPEC)");
    }
    WARREN_ASSIGN_OR_RETURN(auto v, warren::volumes::parseVolumeSpec(value));
    out.push_back(std::move(v));
  }
  return out;
}

Result<v1::LaunchInfo> VolumesIsolator::prepare(const v1::PrepareRequest& request) {
  const auto& c = request.container();
  const std::string id = formatId(c.id());
  WARREN_ASSIGN_OR_RETURN(auto volumes, volumesOf(c.config()));
  if (c.config().container_class() == v1::DEBUG && !volumes.empty()) {
    return fail(Code::InvalidArgument,
                "volume 1 (" + formatVolumeSpec(volumes[0]) +
                    "): a DEBUG container shares its parent's mount namespace and cannot have volumes");
  }
  // 1. Validate every volume before anything is created.
  std::vector<Planned> planned;
  std::set<std::string> targets;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const auto& v = volumes[i];
    std::string name = "volume " + std::to_string(i + 1) + " (" + formatVolumeSpec(v) + ")";
    auto p = plan(c, v);
    if (!p) return fail(Error(p.error().code(), name + ": " + p.error().message(), p.error().err()));
    if (!targets.insert(v.container_path()).second) {
      return fail(Code::InvalidArgument,
                  name + ": container path '" + v.container_path() + "' is used by another volume");
    }
    planned.push_back(std::move(*p));
  }
  // 2. Create sandbox directories; undo on failure so nothing half-made stays
  //    (a PARENT directory would otherwise outlive this failed launch).
  std::vector<std::string> created;
  Defer undo([&] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
  });
  for (const auto& p : planned) {
    if (!p.create_relative.empty()) {
      auto made = mkdirBeneath(p.source_root, p.create_relative, &created);
      if (!made) {
        return fail(Error(made.error().code(),
                          "volume (" + formatVolumeSpec(p.volume) + "): " + made.error().message(),
                          made.error().err()));
      }
      log_->info("container_id={} made host dir '{}' (root, 0755)", id, p.source);
    }
    if (p.sandbox.empty()) continue;
    auto made = mkdirBeneath(p.sandbox, p.relative, &created);
    if (!made) {
      return fail(Error(made.error().code(),
                        "volume (" + formatVolumeSpec(p.volume) + "): " + made.error().message(),
                        made.error().err()));
    }
  }
  undo.dismiss();
  // 3. Describe the mounts, outer paths before inner ones.
  std::stable_sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
    return depthOf(a.volume.container_path()) < depthOf(b.volume.container_path());
  });
  v1::LaunchInfo li;
  // A nested container with a root of its own does not see its parent's:
  // it gets the parent's (inherited) binds first, unless it mounts
  // something of its own at the same path.
  if (c.has_parent() && ownRoot(c)) {
    for (const auto& m : c.parent().launch_info().mounts()) {
      if (!m.inherit() || targets.count(m.target())) continue;
      *li.add_mounts() = m;
    }
  }
  for (const auto& p : planned) {
    *li.add_mounts() = mountFor(p);
    // The container's user may write its sandbox volumes (warren-init
    // hands them over when that user is not root).
    if (!p.sandbox.empty() && !p.volume.read_only()) li.add_chown_paths(p.volume.container_path());
    log_->info("container_id={} volume {} -> {}", id, formatVolumeSpec(p.volume), p.source);
  }
  return li;
}

}  // namespace warren::isolators::volumes
