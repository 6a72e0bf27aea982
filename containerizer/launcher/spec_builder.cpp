// LaunchRequest (protobuf LaunchInfo + argv) -> the compact Spec warren-init
// reads. Everything that can be validated host-side is validated here, so a
// bad LaunchInfo fails spawn() with a clear message before any process exists.
#include "launcher/spec_builder.hpp"

#include <sched.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace warren::launcher {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<uint64_t> nsFlag(v1::Namespace::Type t) {
  switch (t) {
    case v1::Namespace::MNT: return CLONE_NEWNS;
    case v1::Namespace::UTS: return CLONE_NEWUTS;
    case v1::Namespace::IPC: return CLONE_NEWIPC;
    case v1::Namespace::PID: return CLONE_NEWPID;
    case v1::Namespace::NET: return CLONE_NEWNET;
    case v1::Namespace::CGROUP: return CLONE_NEWCGROUP;
    case v1::Namespace::USER: return CLONE_NEWUSER;
    default: return fail(Code::InvalidArgument, "namespace of unknown type " + std::to_string(t));
  }
}

std::vector<std::string> commandArgv(const v1::CommandInfo& c) {
  if (c.shell()) return {"/bin/sh", "-c", c.value()};
  std::vector<std::string> argv{c.value()};
  for (const auto& a : c.arguments()) argv.push_back(a);
  return argv;
}

bool absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

// `source` is `root` or lies below it by whole components, with no ".."
// component in the part below (warren-init resolves that part beneath root).
bool beneath(const std::string& source, const std::string& root) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (source.compare(0, r.size(), r) != 0) return false;
  if (source.size() != r.size() && r != "/" && source[r.size()] != '/') return false;
  std::string rest = source.substr(r.size());
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t e = rest.find('/', pos);
    if (e == std::string::npos) e = rest.size();
    if (rest.compare(pos, e - pos, "..") == 0 && e - pos == 2) return false;
    pos = e + 1;
  }
  return true;
}

// At most 340 lines (the kernel's limit), each non-empty, ranges not
// wrapping past 2^32-1 and not overlapping on either side; container uid and
// gid 0 must be mapped (warren-init becomes root of the namespace).
Result<void> checkMapping(const char* what, const google::protobuf::RepeatedPtrField<v1::IdMapping>& ms) {
  if (ms.empty()) return fail(Code::InvalidArgument, std::string("a new user namespace needs ") + what);
  if (ms.size() > 340) return fail(Code::InvalidArgument, std::string(what) + ": more than 340 lines");
  bool root = false;
  for (int i = 0; i < ms.size(); ++i) {
    const auto& m = ms[i];
    auto line = [&] {
      return std::string(what) + " line '" + std::to_string(m.container_id()) + " " +
             std::to_string(m.host_id()) + " " + std::to_string(m.size()) + "'";
    };
    if (m.size() == 0 || uint64_t{m.container_id()} + m.size() > 0xFFFFFFFFull ||
        uint64_t{m.host_id()} + m.size() > 0xFFFFFFFFull) {
      return fail(Code::InvalidArgument, line() + " is empty or wraps past 4294967294");
    }
    for (int j = 0; j < i; ++j) {
      const auto& o = ms[j];
      bool in = m.container_id() < o.container_id() + o.size() && o.container_id() < m.container_id() + m.size();
      bool out = m.host_id() < o.host_id() + o.size() && o.host_id() < m.host_id() + m.size();
      if (in || out) return fail(Code::InvalidArgument, line() + " overlaps an earlier line");
    }
    root = root || m.container_id() == 0;
  }
  if (!root) return fail(Code::InvalidArgument, std::string(what) + " do not map id 0 of the container");
  return {};
}

Result<void> checkIdMappings(const v1::LaunchInfo& li, bool create) {
  if (!create && li.uid_mappings().empty() && li.gid_mappings().empty()) {
    return fail(Code::InvalidArgument, "an entered user namespace needs its uid/gid mappings too");
  }
  WARREN_TRY(checkMapping("uid_mappings", li.uid_mappings()));
  return checkMapping("gid_mappings", li.gid_mappings());
}

Result<void> addNamespaces(const v1::LaunchInfo& li, Spec& s) {
  uint64_t created = 0, entered = 0;
  for (const auto& n : li.namespaces()) {
    WARREN_ASSIGN_OR_RETURN(uint64_t flag, nsFlag(n.type()));
    const char* name = namespaceName(flag);
    if (n.action() == v1::Namespace::CREATE) {
      if (created & flag) continue;  // asked twice: one new namespace
      created |= flag;
      s.namespaces.push_back({flag, false, ""});
    } else if (n.action() == v1::Namespace::ENTER) {
      if (!absolute(n.path())) {
        return fail(Code::InvalidArgument,
                    std::string("ENTER ") + name + " namespace needs an absolute path, got '" +
                        n.path() + "'");
      }
      if (entered & flag) {
        return fail(Code::InvalidArgument,
                    std::string("the ") + name + " namespace is entered twice");
      }
      entered |= flag;
      s.namespaces.push_back({flag, true, n.path()});
    } else {
      return fail(Code::InvalidArgument, std::string(name) + " namespace without an action");
    }
  }
  // CREATE after ENTER of the same type means "a new one inside the entered
  // one" (mnt: cloned from it; pid: nested under it). Other types cannot be
  // both: the new one would simply replace the entered one.
  uint64_t both = created & entered & ~static_cast<uint64_t>(CLONE_NEWNS | CLONE_NEWPID);
  if (both) {
    return fail(Code::InvalidArgument, std::string("the ") + namespaceName(both & -both) +
                                           " namespace is both entered and created");
  }
  bool own_mnt = created & CLONE_NEWNS;
  if (!own_mnt) {
    if (!li.rootfs().empty()) {
      return fail(Code::InvalidArgument,
                  "rootfs '" + li.rootfs() + "' needs the container's own mount namespace (CREATE MNT)");
    }
    if (li.mounts_size() || li.files_size() || li.masked_paths_size() ||
        li.readonly_paths_size() || li.readonly_rootfs()) {
      return fail(Code::InvalidArgument,
                  "mounts, files, masked/readonly paths need the container's own mount namespace "
                  "(CREATE MNT)");
    }
  }
  if ((created | entered) & CLONE_NEWUSER) {
    WARREN_TRY(checkIdMappings(li, created & CLONE_NEWUSER));
  } else if (li.uid_mappings_size() || li.gid_mappings_size()) {
    return fail(Code::InvalidArgument, "uid/gid mappings need a user namespace (CREATE or ENTER USER)");
  }
  if (!li.hostname().empty() && !((created | entered) & CLONE_NEWUTS)) {
    return fail(Code::InvalidArgument,
                "hostname '" + li.hostname() + "' needs a UTS namespace of the container's (CREATE or ENTER UTS)");
  }
  return {};
}

Result<void> addMounts(const v1::LaunchInfo& li, Spec& s) {
  for (const auto& m : li.mounts()) {
    if (!absolute(m.target())) {
      return fail(Code::InvalidArgument,
                  "mount target '" + m.target() + "' is not an absolute container path");
    }
    if (m.type().empty() && std::find(m.options().begin(), m.options().end(), "bind") == m.options().end() &&
        std::find(m.options().begin(), m.options().end(), "rbind") == m.options().end()) {
      return fail(Code::InvalidArgument, "mount '" + m.target() + "' has no type");
    }
    if (!m.source_root().empty() &&
        (!absolute(m.source_root()) || !absolute(m.source()) || !beneath(m.source(), m.source_root()))) {
      return fail(Code::InvalidArgument, "mount '" + m.target() + "': source '" + m.source() +
                                             "' is not beneath its source root '" + m.source_root() + "'");
    }
    MountSpec ms{m.source(), m.target(), m.type(), {m.options().begin(), m.options().end()},
                 m.create_dir(), m.create_file(), m.source_root()};
    s.mounts.push_back(std::move(ms));
  }
  // Extra /etc files: read-only file binds, in a stable order.
  std::map<std::string, std::string> files(li.files().begin(), li.files().end());
  for (const auto& [target, source] : files) {
    if (!absolute(target) || !absolute(source)) {
      return fail(Code::InvalidArgument,
                  "file '" + source + "' -> '" + target + "': both paths must be absolute");
    }
    s.mounts.push_back({source, target, "bind", {"bind", "ro", "nosuid", "nodev"}, false, true, ""});
  }
  for (const auto& p : li.masked_paths()) {
    if (!absolute(p)) return fail(Code::InvalidArgument, "masked path '" + p + "' is not absolute");
    s.masked_paths.push_back(p);
  }
  for (const auto& p : li.readonly_paths()) {
    if (!absolute(p)) return fail(Code::InvalidArgument, "readonly path '" + p + "' is not absolute");
    s.readonly_paths.push_back(p);
  }
  return {};
}

}  // namespace

Result<Spec> buildSpec(const LaunchRequest& req) {
  const auto& li = req.launch_info;
  Spec s;
  if (req.argv.empty() || req.argv[0].empty()) {
    return fail(Code::InvalidArgument, "launch: empty command");
  }
  if (!absolute(req.runtime_dir)) {
    return fail(Code::InvalidArgument, "launch: runtime dir '" + req.runtime_dir + "' is not absolute");
  }
  s.runtime_dir = req.runtime_dir;
  s.argv = req.argv;
  if (req.io.relay && (!absolute(req.io.sandbox_root) || !beneath(req.io.sandbox_dir, req.io.sandbox_root))) {
    return fail(Code::InvalidArgument, "launch: sandbox '" + req.io.sandbox_dir + "' is not below '" +
                                           req.io.sandbox_root + "'");
  }
  s.io = req.io;
  s.hold_until_start = req.hold_until_start;
  if (req.console && !req.hold_until_start) {
    return fail(Code::InvalidArgument, "launch: a console needs hold_until_start");
  }
  s.console = req.console;
  s.console_rows = req.console_rows;
  s.console_cols = req.console_cols;
  WARREN_TRY(addNamespaces(li, s));

  std::map<std::string, std::string> env(li.env().begin(), li.env().end());
  for (const auto& [k, v] : env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
      return fail(Code::InvalidArgument, "environment variable name '" + k + "' is invalid");
    }
  }
  if (!env.count("PATH")) env["PATH"] = kDefaultPath;
  for (const auto& [k, v] : env) s.env.push_back(k + "=" + v);

  if (!li.rootfs().empty() && !absolute(li.rootfs())) {
    return fail(Code::InvalidArgument, "rootfs '" + li.rootfs() + "' is not an absolute path");
  }
  s.rootfs = li.rootfs();
  s.readonly_rootfs = li.readonly_rootfs();
  if (!li.rootfs_upper_dir().empty()) {
    if (s.rootfs.empty()) {
      return fail(Code::InvalidArgument, "rootfs upper layer '" + li.rootfs_upper_dir() + "' without a rootfs");
    }
    if (!absolute(li.rootfs_upper_root()) || !beneath(li.rootfs_upper_dir(), li.rootfs_upper_root())) {
      return fail(Code::InvalidArgument, "rootfs upper layer '" + li.rootfs_upper_dir() +
                                             "' is not beneath '" + li.rootfs_upper_root() + "'");
    }
    s.rootfs_upper = li.rootfs_upper_dir();
    s.rootfs_upper_root = li.rootfs_upper_root();
  }
  s.host_root = req.host_root && s.rootfs.empty();
  s.max_completion_ms = req.max_completion_ms;
  for (const auto& p : li.chown_paths()) {
    if (!absolute(p)) return fail(Code::InvalidArgument, "chown path '" + p + "' is not absolute");
    s.chown_paths.push_back(p);
  }
  WARREN_TRY(addMounts(li, s));
  s.hostname = li.hostname();
  s.user = li.user();
  if (!li.working_dir().empty() && !absolute(li.working_dir())) {
    return fail(Code::InvalidArgument,
                "working dir '" + li.working_dir() + "' is not an absolute container path");
  }
  s.working_dir = li.working_dir();

  if (li.capabilities_size() == 0) {
    s.capabilities = defaultCapabilities();
  } else {
    for (const auto& name : li.capabilities()) {
      int c = capabilityFromName(name);
      if (c < 0) return fail(Code::InvalidArgument, "unknown capability '" + name + "'");
      if (std::find(s.capabilities.begin(), s.capabilities.end(), c) == s.capabilities.end()) {
        s.capabilities.push_back(c);
      }
    }
  }
  // OCI inheritable / ambient: within the kept set (the kernel refuses
  // more), ambient also inheritable.
  for (auto [field, names, out] :
       {std::tuple{"inheritable", &li.inheritable_capabilities(), &s.inheritable_caps},
        std::tuple{"ambient", &li.ambient_capabilities(), &s.ambient_caps}}) {
    for (const auto& name : *names) {
      int c = capabilityFromName(name);
      if (c < 0) return fail(Code::InvalidArgument, "unknown " + std::string(field) + " capability '" + name + "'");
      if (std::find(s.capabilities.begin(), s.capabilities.end(), c) == s.capabilities.end()) {
        return fail(Code::InvalidArgument, std::string(field) + " capability '" + name + "' is not a kept capability");
      }
      bool ambient = out == &s.ambient_caps;
      if (ambient && std::find(s.inheritable_caps.begin(), s.inheritable_caps.end(), c) == s.inheritable_caps.end()) {
        return fail(Code::InvalidArgument, "ambient capability '" + name + "' is not inheritable");
      }
      if (std::find(out->begin(), out->end(), c) == out->end()) out->push_back(c);
    }
  }
  for (const auto& r : li.rlimits()) {
    int res = rlimitFromName(r.type());
    if (res < 0) return fail(Code::InvalidArgument, "unknown rlimit '" + r.type() + "'");
    if (r.soft() > r.hard()) {
      return fail(Code::InvalidArgument, std::string(rlimitName(res)) + ": soft limit " +
                                             std::to_string(r.soft()) + " above hard limit " +
                                             std::to_string(r.hard()));
    }
    s.rlimits.push_back({res, r.soft(), r.hard()});
  }
  for (const auto& c : li.pre_exec()) {
    if (c.value().empty()) return fail(Code::InvalidArgument, "pre_exec step with an empty command");
    s.pre_exec.push_back(commandArgv(c));
  }
  if (!li.seccomp_bpf().empty()) {
    // BPF_MAXINSNS: the kernel refuses longer classic programs.
    size_t n = li.seccomp_bpf().size();
    if (n % 8 != 0 || n / 8 > 4096) {
      return fail(Code::InvalidArgument, "seccomp filter of " + std::to_string(n) +
                                             " bytes is not a BPF program of 1 to 4096 instructions");
    }
    s.seccomp_bpf = li.seccomp_bpf();
  }
  return s;
}

}  // namespace warren::launcher
