#include "oci_spec.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "warren/sdk/fd.hpp"

namespace warren::oci {
namespace {

using json = nlohmann::json;

Error bad(const std::string& field, const std::string& why) {
  return Error(Code::InvalidArgument, "config.json: " + field + ": " + why);
}

// Every key of `obj` must be one of `known`; the first other one is refused.
Result<void> onlyKnown(const json& obj, const std::string& where, std::initializer_list<const char*> known,
                       const std::string& why = "not supported by warren-oci") {
  if (!obj.is_object()) return fail(bad(where.empty() ? "(top level)" : where, "must be an object"));
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* n : known) ok = ok || k == n;
    if (!ok) return fail(bad(where.empty() ? k : where + "." + k, why));
  }
  return {};
}

bool empty(const json& v) {
  return v.is_null() || ((v.is_array() || v.is_object() || v.is_string()) && v.empty());
}

// A field warren does not honour: fine when absent or empty, refused otherwise.
Result<void> refuseSet(const json& obj, const std::string& where, const char* key,
                       const std::string& why = "not supported by warren-oci") {
  if (obj.contains(key) && !empty(obj[key])) return fail(bad(where + key, why));
  return {};
}

template <typename T>
Result<T> get(const json& obj, const char* key, const std::string& where) {
  try {
    return obj.at(key).get<T>();
  } catch (const json::exception&) {
    return fail(bad(where + key, "missing or of the wrong type"));
  }
}

std::string joinPath(const std::string& base, const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  return base + "/" + p;
}

bool isDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<void> parseProcess(const json& p, const std::string& bundle, Spec& s) {
  const std::string w = "process.";
  WARREN_TRY(onlyKnown(p, "process",
                       {"terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd", "capabilities",
                        "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "selinuxLabel",
                        "scheduler", "ioPriority", "execCPUAffinity"}));
  (void)bundle;
  for (const char* k : {"commandLine", "apparmorProfile", "selinuxLabel", "scheduler", "ioPriority",
                        "execCPUAffinity"}) {
    WARREN_TRY(refuseSet(p, w, k));
  }
  auto& c = s.config;
  WARREN_ASSIGN_OR_RETURN(auto args, get<std::vector<std::string>>(p, "args", w));
  if (args.empty() || args[0].empty()) return fail(bad("process.args", "must name a program"));
  c.mutable_command()->set_value(args[0]);
  for (size_t i = 1; i < args.size(); ++i) c.mutable_command()->add_arguments(args[i]);
  WARREN_ASSIGN_OR_RETURN(auto cwd, get<std::string>(p, "cwd", w));
  if (cwd.empty() || cwd[0] != '/') return fail(bad("process.cwd", "must be an absolute path"));
  c.set_working_dir(cwd);
  if (p.contains("env")) {
    WARREN_ASSIGN_OR_RETURN(auto env, get<std::vector<std::string>>(p, "env", w));
    for (const auto& kv : env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return fail(bad("process.env", "'" + kv + "' is not KEY=VALUE"));
      (*c.mutable_env())[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  if (p.contains("terminal")) {
    WARREN_ASSIGN_OR_RETURN(s.terminal, get<bool>(p, "terminal", w));
  }
  if (p.contains("consoleSize")) {
    const auto& cs = p["consoleSize"];
    WARREN_TRY(onlyKnown(cs, "process.consoleSize", {"height", "width"}));
    if (cs.contains("height")) c.set_tty_rows(cs.value("height", 0u));
    if (cs.contains("width")) c.set_tty_columns(cs.value("width", 0u));
  }
  // user: uid[:gid]; warren-init adds the supplementary groups /etc/group
  // gives the user, so additionalGids must be among what that gives: only
  // the primary gid is accepted here.
  uint32_t uid = 0, gid = 0;
  if (p.contains("user")) {
    const auto& u = p["user"];
    WARREN_TRY(onlyKnown(u, "process.user", {"uid", "gid", "umask", "additionalGids", "username"}));
    WARREN_TRY(refuseSet(u, "process.user.", "username", "only for Windows"));
    WARREN_ASSIGN_OR_RETURN(uid, get<uint32_t>(u, "uid", "process.user."));
    WARREN_ASSIGN_OR_RETURN(gid, get<uint32_t>(u, "gid", "process.user."));
    if (u.contains("umask") && !u["umask"].is_null()) {
      WARREN_ASSIGN_OR_RETURN(auto um, get<uint32_t>(u, "umask", "process.user."));
      if (um != 022) return fail(bad("process.user.umask", "only 0022 (warren's) is supported"));
    }
    if (u.contains("additionalGids") && !u["additionalGids"].is_null()) {
      WARREN_ASSIGN_OR_RETURN(auto gids, get<std::vector<uint32_t>>(u, "additionalGids", "process.user."));
      for (auto g : gids) {
        if (g != gid) {
          return fail(bad("process.user.additionalGids",
                          "group " + std::to_string(g) +
                              ": warren-init takes supplementary groups from the rootfs's /etc/group only"));
        }
      }
    }
  }
  c.set_user(std::to_string(uid) + ":" + std::to_string(gid));
  if (p.contains("rlimits")) {
    if (!p["rlimits"].is_array()) return fail(bad("process.rlimits", "must be an array"));
    int i = 0;
    for (const auto& r : p["rlimits"]) {
      std::string where = "process.rlimits[" + std::to_string(i++) + "].";
      WARREN_TRY(onlyKnown(r, where.substr(0, where.size() - 1), {"type", "hard", "soft"}));
      auto* l = s.launch.add_rlimits();
      WARREN_ASSIGN_OR_RETURN(auto type, get<std::string>(r, "type", where));
      WARREN_ASSIGN_OR_RETURN(auto hard, get<uint64_t>(r, "hard", where));
      WARREN_ASSIGN_OR_RETURN(auto soft, get<uint64_t>(r, "soft", where));
      l->set_type(type);
      l->set_hard(hard);
      l->set_soft(soft);
    }
  }
  if (p.contains("noNewPrivileges")) {
    // warren-init always sets no_new_privs (it installs seccomp last): a
    // false here is tightened, never loosened. Documented in the README.
    WARREN_ASSIGN_OR_RETURN(bool nnp, get<bool>(p, "noNewPrivileges", w));
    (void)nnp;
  }
  if (p.contains("oomScoreAdj") && !p["oomScoreAdj"].is_null()) {
    WARREN_ASSIGN_OR_RETURN(int adj, get<int>(p, "oomScoreAdj", w));
    if (adj < -1000 || adj > 1000) return fail(bad("process.oomScoreAdj", "must be in -1000..1000"));
    s.oom_score_adj = adj;
  }
  // Capabilities: warren keeps one set; for root it is the bounding,
  // effective and permitted set, for another user the bounding set only
  // (plus its ambient ones). Inheritable and ambient are within bounding,
  // ambient also inheritable (the kernel's rules).
  if (p.contains("capabilities") && !p["capabilities"].is_null()) {
    const auto& caps = p["capabilities"];
    WARREN_TRY(onlyKnown(caps, "process.capabilities", {"bounding", "effective", "permitted", "inheritable", "ambient"}));
    auto setOf = [&](const char* k) -> Result<std::set<std::string>> {
      std::vector<std::string> v;
      if (caps.contains(k) && !caps[k].is_null()) {
        WARREN_ASSIGN_OR_RETURN(v, get<std::vector<std::string>>(caps, k, "process.capabilities."));
      }
      return std::set<std::string>(v.begin(), v.end());
    };
    WARREN_ASSIGN_OR_RETURN(auto bset, setOf("bounding"));
    WARREN_ASSIGN_OR_RETURN(auto inh, setOf("inheritable"));
    WARREN_ASSIGN_OR_RETURN(auto amb, setOf("ambient"));
    auto within = [](const std::set<std::string>& a, const std::set<std::string>& b) {
      return std::includes(b.begin(), b.end(), a.begin(), a.end());
    };
    if (!within(inh, bset)) return fail(bad("process.capabilities.inheritable", "must be within the bounding set"));
    if (!within(amb, inh)) return fail(bad("process.capabilities.ambient", "must be within the inheritable set"));
    for (const char* k : {"effective", "permitted"}) {
      WARREN_ASSIGN_OR_RETURN(auto set, setOf(k));
      if (uid == 0 ? set != bset : set != amb) {
        return fail(bad(std::string("process.capabilities.") + k,
                        uid == 0 ? "must equal the bounding set (warren keeps one set for root)"
                                 : "must equal the ambient set for a non-root user (warren gives it no other)"));
      }
    }
    if (bset.empty()) {
      return fail(bad("process.capabilities.bounding", "an empty set is not supported yet"));
    }
    for (const auto& cap : bset) s.launch.add_capabilities(cap);
    for (const auto& cap : inh) s.launch.add_inheritable_capabilities(cap);
    for (const auto& cap : amb) s.launch.add_ambient_capabilities(cap);
  }
  return {};
}

v1::Mount makeMount(const std::string& source, const std::string& target, const std::string& type,
                    const std::vector<std::string>& options) {
  v1::Mount m;
  m.set_source(source);
  m.set_target(target);
  m.set_type(type);
  for (const auto& o : options) m.add_options(o);
  m.set_create_dir(true);
  return m;
}

// /sys/fs/cgroup on cgroup v1: a tmpfs with the container's own cgroup of
// each hierarchy bound read-only (as runc does), never the host's tree.
void addCgroupMounts(const std::string& target, const CgroupSettings& cg, Spec& s) {
  *s.launch.add_mounts() = makeMount("tmpfs", target, "tmpfs", {"nosuid", "nodev", "noexec", "mode=755"});
  for (const auto& c : cgroupControllers()) {
    *s.launch.add_mounts() =
        makeMount("/sys/fs/cgroup/" + c + cg.path, target + "/" + c, "bind",
                  {"rbind", "ro", "nosuid", "nodev", "noexec"});
  }
}

Result<void> parseMounts(const json& mounts, const std::string& bundle, bool own_netns, Spec& s) {
  if (!mounts.is_array()) return fail(bad("mounts", "must be an array"));
  std::vector<v1::Mount> cgroup_mounts;
  int i = 0;
  for (const auto& m : mounts) {
    std::string where = "mounts[" + std::to_string(i++) + "]";
    WARREN_TRY(onlyKnown(m, where, {"destination", "source", "type", "options", "uidMappings", "gidMappings"}));
    WARREN_TRY(refuseSet(m, where + ".", "uidMappings"));
    WARREN_TRY(refuseSet(m, where + ".", "gidMappings"));
    WARREN_ASSIGN_OR_RETURN(auto dest, get<std::string>(m, "destination", where + "."));
    if (dest.empty() || dest[0] != '/') return fail(bad(where + ".destination", "must be an absolute path"));
    std::string type = m.value("type", "");
    std::string source = m.value("source", "");
    std::vector<std::string> options;
    if (m.contains("options") && !m["options"].is_null()) {
      WARREN_ASSIGN_OR_RETURN(options, get<std::vector<std::string>>(m, "options", where + "."));
    }
    bool bind = type == "bind" || std::count(options.begin(), options.end(), "bind") ||
                std::count(options.begin(), options.end(), "rbind");
    for (const auto& o : options) {
      static const std::set<std::string> kUnsupported = {"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev",
                                                         "rnoexec", "rexec", "idmap", "ridmap", "nosymfollow",
                                                         "tmpcopyup", "copy-symlink"};
      if (kUnsupported.count(o)) return fail(bad(where + ".options", "option '" + o + "' is not supported"));
    }
    if (bind) {
      if (source.empty()) return fail(bad(where + ".source", "a bind mount needs a source"));
      source = joinPath(bundle, source);
      struct stat st {};
      if (::stat(source.c_str(), &st) != 0) return fail(bad(where + ".source", "'" + source + "' does not exist"));
      v1::Mount b = makeMount(source, dest, "bind", options);
      if (!S_ISDIR(st.st_mode)) {
        b.set_create_dir(false);
        b.set_create_file(true);
      }
      *s.launch.add_mounts() = b;
      continue;
    }
    if (type == "cgroup" || type == "cgroup2") {
      addCgroupMounts(dest, s.cgroup, s);
      continue;
    }
    if (type == "sysfs" && !own_netns) {
      // The kernel refuses a sysfs outside the container's own network
      // namespace: a read-only bind of the host's (as crun does).
      *s.launch.add_mounts() = makeMount("/sys", dest, "bind", {"rbind", "ro", "nosuid", "nodev", "noexec"});
      continue;
    }
    static const std::set<std::string> kTypes = {"proc", "tmpfs", "devpts", "mqueue", "sysfs"};
    if (!kTypes.count(type)) {
      return fail(bad(where + ".type", "'" + type + "' is not supported (bind, proc, tmpfs, devpts, mqueue, sysfs, cgroup)"));
    }
    *s.launch.add_mounts() = makeMount(source.empty() ? type : source, dest, type, options);
    if (dest == "/dev" && type == "tmpfs") {
      // The default devices of the runtime spec, bound from the host.
      for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}) {
        v1::Mount d = makeMount(dev, dev, "bind", {"bind"});
        d.set_create_dir(false);
        d.set_create_file(true);
        *s.launch.add_mounts() = d;
      }
    }
  }
  return {};
}

// linux.namespaces[i].path must name a namespace of `type` (nsfs, NS_GET_NSTYPE).
Result<void> checkNamespace(const std::string& path, const std::string& type, const std::string& field) {
  static const std::map<std::string, int> kFlags = {
      {"network", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}};
  auto it = kFlags.find(type);
  if (it == kFlags.end()) return fail(bad(field, "joining a " + type + " namespace is not supported"));
  if (path[0] != '/') return fail(bad(field, "'" + path + "' is not an absolute path"));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(bad(field, "cannot open '" + path + "': " + std::strerror(errno)));
  struct statfs sf {};
  if (::fstatfs(fd.get(), &sf) != 0 || sf.f_type != NSFS_MAGIC) {
    return fail(bad(field, "'" + path + "' is not a namespace"));
  }
  int got = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (got != it->second) return fail(bad(field, "'" + path + "' is not a " + type + " namespace"));
  return {};
}

Result<void> parseNamespaces(const json& nss, Spec& s) {
  if (!nss.is_array()) return fail(bad("linux.namespaces", "must be an array"));
  std::set<std::string> seen;
  int i = 0;
  for (const auto& n : nss) {
    std::string where = "linux.namespaces[" + std::to_string(i++) + "]";
    WARREN_TRY(onlyKnown(n, where, {"type", "path"}));
    WARREN_ASSIGN_OR_RETURN(auto type, get<std::string>(n, "type", where + "."));
    std::string path = n.value("path", "");
    if (!seen.insert(type).second) return fail(bad(where + ".type", "'" + type + "' is listed twice"));
    auto add = [&](v1::Namespace::Type t) {
      auto* ns = s.launch.add_namespaces();
      ns->set_type(t);
      ns->set_action(path.empty() ? v1::Namespace::CREATE : v1::Namespace::ENTER);
      ns->set_path(path);
    };
    if (!path.empty() && (type == "network" || type == "pid" || type == "ipc" || type == "uts")) {
      // A pod's namespace (Podman's infra, a CRI sandbox): it must be one,
      // of this type, now; warren-init opens it again before anything of
      // the container runs and checks the same (see checkNamespace).
      WARREN_TRY(checkNamespace(path, type, where + ".path"));
    }
    if (type == "mount") {
      // warren makes it for every top-level container itself.
      if (!path.empty()) return fail(bad(where + ".path", "joining an existing mount namespace is not supported"));
    } else if (type == "uts" || type == "ipc") {
      // warren makes these for every top-level container; a path joins one
      // instead (the core then makes none: yieldJoinedNamespaces).
      if (!path.empty()) add(type == "uts" ? v1::Namespace::UTS : v1::Namespace::IPC);
    } else if (type == "pid") {
      add(v1::Namespace::PID);
    } else if (type == "network") {
      add(v1::Namespace::NET);
      s.new_netns = path.empty();
    } else if (type == "cgroup") {
      if (!path.empty()) return fail(bad(where + ".path", "joining an existing cgroup namespace is not supported"));
      add(v1::Namespace::CGROUP);
    } else if (type == "user" || type == "time") {
      return fail(bad(where + ".type", "'" + type + "' namespaces are not supported by warren-oci yet"));
    } else {
      return fail(bad(where + ".type", "unknown namespace type '" + type + "'"));
    }
  }
  for (const char* t : {"mount", "uts", "ipc"}) {
    if (!seen.count(t)) {
      return fail(bad("linux.namespaces", std::string("warren always gives a container its own ") + t +
                                              " namespace; list it"));
    }
  }
  return {};
}

Result<void> parseDeviceRules(const json& devs, const std::string& where, std::vector<DeviceRule>& out) {
  if (!devs.is_array()) return fail(bad(where, "must be an array"));
  int i = 0;
  for (const auto& d : devs) {
    std::string w = where + "[" + std::to_string(i++) + "]";
    WARREN_TRY(onlyKnown(d, w, {"allow", "type", "major", "minor", "access"}));
    DeviceRule r;
    WARREN_ASSIGN_OR_RETURN(r.allow, get<bool>(d, "allow", w + "."));
    std::string type = d.value("type", "a");
    if (type != "a" && type != "c" && type != "b") return fail(bad(w + ".type", "must be a, c or b"));
    r.type = type[0];
    if (d.contains("major") && !d["major"].is_null()) r.major = d["major"].get<int64_t>();
    if (d.contains("minor") && !d["minor"].is_null()) r.minor = d["minor"].get<int64_t>();
    r.access = d.value("access", "rwm");
    if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos) {
      return fail(bad(w + ".access", "must be made of r, w and m"));
    }
    out.push_back(r);
  }
  return {};
}

Result<void> parseResourcesInto(const json& r, const std::string& w, CgroupSettings& cg) {
  WARREN_TRY(onlyKnown(r, w, {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma",
                              "unified"}));
  for (const char* k : {"hugepageLimits", "network", "rdma", "unified"}) WARREN_TRY(refuseSet(r, w + ".", k));
  if (r.contains("blockIO") && !r["blockIO"].is_null()) {
    WARREN_TRY(onlyKnown(r["blockIO"], w + ".blockIO", {}));
  }
  try {
    if (r.contains("devices") && !r["devices"].is_null()) {
      cg.devices.clear();
      WARREN_TRY(parseDeviceRules(r["devices"], w + ".devices", cg.devices));
    }
    if (r.contains("memory") && !r["memory"].is_null()) {
      const auto& m = r["memory"];
      WARREN_TRY(onlyKnown(m, w + ".memory", {"limit", "reservation", "swap", "swappiness", "kernel", "kernelTCP",
                                               "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"}));
      for (const char* k : {"kernel", "kernelTCP", "checkBeforeUpdate"}) WARREN_TRY(refuseSet(m, w + ".memory.", k));
      if (m.value("disableOOMKiller", false)) return fail(bad(w + ".memory.disableOOMKiller", "not supported"));
      if (m.contains("limit") && !m["limit"].is_null()) cg.mem_limit = m["limit"].get<int64_t>();
      if (m.contains("reservation") && !m["reservation"].is_null()) cg.mem_reservation = m["reservation"].get<int64_t>();
      if (m.contains("swap") && !m["swap"].is_null()) cg.mem_swap = m["swap"].get<int64_t>();
      if (m.contains("swappiness") && !m["swappiness"].is_null()) cg.mem_swappiness = m["swappiness"].get<uint64_t>();
    }
    if (r.contains("cpu") && !r["cpu"].is_null()) {
      const auto& c = r["cpu"];
      WARREN_TRY(onlyKnown(c, w + ".cpu", {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
                                            "cpus", "mems", "idle"}));
      for (const char* k : {"burst", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"}) {
        WARREN_TRY(refuseSet(c, w + ".cpu.", k));
      }
      if (c.contains("shares") && !c["shares"].is_null()) cg.cpu_shares = c["shares"].get<uint64_t>();
      if (c.contains("quota") && !c["quota"].is_null()) cg.cpu_quota = c["quota"].get<int64_t>();
      if (c.contains("period") && !c["period"].is_null()) cg.cpu_period = c["period"].get<uint64_t>();
    }
    if (r.contains("pids") && !r["pids"].is_null()) {
      WARREN_TRY(onlyKnown(r["pids"], w + ".pids", {"limit"}));
      if (r["pids"].contains("limit")) cg.pids_limit = r["pids"]["limit"].get<int64_t>();
    }
  } catch (const json::exception& e) {
    return fail(bad(w, std::string("a value has the wrong type (") + e.what() + ")"));
  }
  return {};
}

Result<void> parseLinux(const json& l, Spec& s, const std::string& id) {
  const std::string w = "linux.";
  WARREN_TRY(onlyKnown(l, "linux",
                       {"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "cgroupsPath",
                        "resources", "rootfsPropagation", "seccomp", "sysctl", "maskedPaths", "readonlyPaths",
                        "mountLabel", "intelRdt", "personality", "memoryPolicy"}));
  for (const char* k : {"uidMappings", "gidMappings", "timeOffsets", "devices", "mountLabel", "intelRdt",
                        "personality", "memoryPolicy"}) {
    WARREN_TRY(refuseSet(l, w, k));
  }
  if (l.contains("rootfsPropagation")) {
    std::string p = l.value("rootfsPropagation", "");
    if (!p.empty() && p != "private" && p != "rprivate") {
      return fail(bad("linux.rootfsPropagation", "only private/rprivate (warren's) is supported"));
    }
  }
  s.cgroup.path = l.value("cgroupsPath", "");
  if (s.cgroup.path.empty()) s.cgroup.path = "/warren-oci/" + id;
  if (s.cgroup.path.find(':') != std::string::npos) {
    return fail(bad("linux.cgroupsPath", "'" + s.cgroup.path +
                                             "' is a systemd slice:prefix:name path; warren-oci manages cgroupfs paths only (no --systemd-cgroup)"));
  }
  if (s.cgroup.path[0] != '/') return fail(bad("linux.cgroupsPath", "must be an absolute path"));
  if (s.cgroup.path.find("/..") != std::string::npos || s.cgroup.path == "/") {
    return fail(bad("linux.cgroupsPath", "'" + s.cgroup.path + "' is not a cgroup of its own"));
  }
  if (l.contains("namespaces")) WARREN_TRY(parseNamespaces(l["namespaces"], s));
  else return fail(bad("linux.namespaces", "missing (warren needs at least mount, uts and ipc)"));
  if (l.contains("resources") && !l["resources"].is_null()) {
    WARREN_TRY(parseResourcesInto(l["resources"], "linux.resources", s.cgroup));
  }
  if (l.contains("sysctl") && !l["sysctl"].is_null()) {
    for (const auto& [k, v] : l["sysctl"].items()) {
      if (!v.is_string()) return fail(bad("linux.sysctl." + k, "must be a string"));
      bool net = k.rfind("net.", 0) == 0;
      bool ipc = k.rfind("kernel.msg", 0) == 0 || k.rfind("kernel.shm", 0) == 0 || k == "kernel.sem" ||
                 k.rfind("fs.mqueue.", 0) == 0;
      if (!net && !ipc) return fail(bad("linux.sysctl." + k, "only namespaced net.* and IPC sysctls are supported"));
      if (k.find('/') != std::string::npos || k.find("..") != std::string::npos) {
        return fail(bad("linux.sysctl." + k, "not a sysctl name"));
      }
      s.sysctl[k] = v.get<std::string>();
    }
  }
  for (const char* k : {"maskedPaths", "readonlyPaths"}) {
    if (!l.contains(k) || l[k].is_null()) continue;
    WARREN_ASSIGN_OR_RETURN(auto paths, get<std::vector<std::string>>(l, k, w));
    for (const auto& p : paths) {
      if (p.empty() || p[0] != '/') return fail(bad(w + k, "'" + p + "' is not an absolute path"));
      if (k[0] == 'm') s.launch.add_masked_paths(p);
      else s.launch.add_readonly_paths(p);
    }
  }
  if (l.contains("seccomp") && !l["seccomp"].is_null()) s.seccomp_json = l["seccomp"].dump();
  return {};
}

}  // namespace

const std::vector<std::string>& cgroupControllers() {
  static const std::vector<std::string> c = {"memory", "cpu", "cpuacct", "pids", "freezer", "devices", "blkio"};
  return c;
}

Result<Spec> parseSpec(const std::string& text, const std::string& bundle, const std::string& id) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return fail(Code::InvalidArgument, std::string("config.json: not JSON: ") + e.what());
  }
  Spec s;
  WARREN_TRY(onlyKnown(j, "", {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks",
                               "annotations", "linux"}));
  WARREN_ASSIGN_OR_RETURN(s.oci_version, get<std::string>(j, "ociVersion", ""));
  if (s.oci_version.rfind("1.", 0) != 0) {
    return fail(bad("ociVersion", "'" + s.oci_version + "' is not a 1.x runtime spec"));
  }
  WARREN_TRY(refuseSet(j, "", "domainname"));
  if (j.contains("hooks") && !j["hooks"].is_null()) {
    WARREN_TRY(onlyKnown(j["hooks"], "hooks", {}, "hooks are not supported by warren-oci yet"));
  }
  if (!j.contains("process")) return fail(bad("process", "missing (create needs a process)"));
  if (!j.contains("linux")) return fail(bad("linux", "missing"));
  WARREN_TRY(parseLinux(j["linux"], s, id));
  WARREN_TRY(parseProcess(j["process"], bundle, s));
  if (!j.contains("root")) return fail(bad("root", "missing"));
  WARREN_TRY(onlyKnown(j["root"], "root", {"path", "readonly"}));
  WARREN_ASSIGN_OR_RETURN(auto root, get<std::string>(j["root"], "path", "root."));
  root = joinPath(bundle, root);
  if (!isDir(root)) return fail(bad("root.path", "'" + root + "' is not a directory"));
  s.config.set_rootfs(root);
  // The bundle's rootfs is the container's own (a snapshot): written in place,
  // as runc does, not through warren's upper layer (issue #18).
  s.config.set_rootfs_writable(true);
  s.launch.set_readonly_rootfs(j["root"].value("readonly", false));
  if (j.contains("hostname")) s.config.set_hostname(j.value("hostname", ""));
  bool own_netns = false;
  for (const auto& n : s.launch.namespaces()) own_netns = own_netns || n.type() == v1::Namespace::NET;
  if (j.contains("mounts")) WARREN_TRY(parseMounts(j["mounts"], bundle, own_netns, s));
  if (j.contains("annotations") && !j["annotations"].is_null()) {
    for (const auto& [k, v] : j["annotations"].items()) {
      if (!v.is_string()) return fail(bad("annotations." + k, "must be a string"));
      s.annotations[k] = v.get<std::string>();
    }
  }
  s.config.set_inherit_stdio(true);
  return s;
}

Result<Spec> parseProcessSpec(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return fail(Code::InvalidArgument, std::string("process.json: not JSON: ") + e.what());
  }
  Spec s;
  WARREN_TRY(parseProcess(j, "", s));
  return s;
}

Result<CgroupSettings> parseResources(const std::string& text, CgroupSettings base) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return fail(Code::InvalidArgument, std::string("resources: not JSON: ") + e.what());
  }
  WARREN_TRY(parseResourcesInto(j, "resources", base));
  return base;
}

}  // namespace warren::oci

namespace warren::oci {
std::string cgroupPathOf(const std::string& text, const std::string& id) {
  std::string path;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.contains("linux") && j["linux"].is_object()) path = j["linux"].value("cgroupsPath", "");
  } catch (const nlohmann::json::exception&) {
  }
  return path.empty() ? "/warren-oci/" + id : path;
}
}  // namespace warren::oci
