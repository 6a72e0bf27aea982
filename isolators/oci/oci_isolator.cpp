#include "oci_isolator.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::oci {
namespace {

constexpr const char* kHierarchy = "/sys/fs/cgroup";

struct Settings {
  std::string spec, bundle;
};

Result<Settings> settingsOf(const v1::ContainerConfig& c) {
  Settings s;
  for (const auto& [k, v] : c.isolator_settings()) {
    if (k == warren::oci::kSettingSpec) s.spec = v;
    else if (k == warren::oci::kSettingBundle) s.bundle = v;
    else if (k.rfind("oci.", 0) == 0) {
      return fail(Code::InvalidArgument, "unknown isolator setting '" + k + "' (known: oci.spec, oci.bundle)");
    }
  }
  return s;
}

// In a child that joins the container's namespaces: sysctls (net.* in its
// network namespace, IPC ones in its IPC namespace) and loopback up in a
// new network namespace. The error travels back through a pipe.
Result<void> inNamespaces(int pid, const warren::oci::Spec& s) {
  bool net_work = s.new_netns;
  bool ipc_work = false;
  for (const auto& [k, v] : s.sysctl) (k.rfind("net.", 0) == 0 ? net_work : ipc_work) = true;
  if (!net_work && !ipc_work) return {};
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return failErrno("pipe");
  // Everything the child needs is made before the fork.
  std::vector<std::pair<std::string, std::string>> sys;
  for (const auto& [k, v] : s.sysctl) {
    std::string path = "/proc/sys/" + k;
    for (size_t i = 10; i < path.size(); ++i) if (path[i] == '.') path[i] = '/';
    sys.emplace_back(path, v);
  }
  std::string net = "/proc/" + std::to_string(pid) + "/ns/net";
  std::string ipc = "/proc/" + std::to_string(pid) + "/ns/ipc";
  pid_t child = fork();
  if (child < 0) return failErrno("fork");
  if (child == 0) {
    close(p[0]);
    auto die = [&](const std::string& what) {
      std::string m = what + ": " + std::strerror(errno);
      (void)!write(p[1], m.data(), m.size());
      _exit(1);
    };
    auto join = [&](const std::string& path, int type) {
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, type) != 0) die("join '" + path + "'");
      close(fd);
    };
    if (net_work) join(net, CLONE_NEWNET);
    if (ipc_work) join(ipc, CLONE_NEWIPC);
    if (s.new_netns) {
      int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ifreq ifr{};
      std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
      if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) die("read flags of lo");
      ifr.ifr_flags |= IFF_UP;
      if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) die("bring lo up");
    }
    for (const auto& [path, v] : sys) {
      int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, v.data(), v.size()) != static_cast<ssize_t>(v.size())) die("sysctl '" + path + "'");
      close(fd);
    }
    _exit(0);
  }
  close(p[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!msg.empty()) return fail(Code::Internal, msg);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail(Code::Internal, "namespace setup child failed");
  return {};
}

Result<warren::oci::Spec> specOf(const v1::ContainerContext& c) {
  WARREN_ASSIGN_OR_RETURN(auto set, settingsOf(c.config()));
  if (set.spec.empty()) {
    return fail(Code::InvalidArgument, "the oci isolator needs isolator setting 'oci.spec' (warren-oci sets it)");
  }
  return warren::oci::parseSpec(set.spec, set.bundle, formatId(c.id()));
}

}  // namespace

OciIsolator::OciIsolator() : log_(sdk::makeLogger("warren.isolator.oci")) {}

Result<std::unique_ptr<OciIsolator>> OciIsolator::create(const v1::PluginContext& ctx) {
  if (!ctx.config_json().empty() && ctx.config_json() != "{}") {
    return fail(Code::InvalidArgument, "oci isolator: takes no config");
  }
  return std::unique_ptr<OciIsolator>(new OciIsolator());
}

v1::PluginInfo OciIsolator::info() const {
  v1::PluginInfo i;
  i.set_supports_nesting(false);  // a bundle is a top-level container
  i.set_supports_standalone(true);
  return i;
}

Result<v1::LaunchInfo> OciIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  WARREN_ASSIGN_OR_RETURN(auto set, settingsOf(c.config()));
  if (set.spec.empty()) return v1::LaunchInfo{};  // not a bundle: nothing to add
  WARREN_ASSIGN_OR_RETURN(auto spec, specOf(c));
  if (cgroupV2(kHierarchy)) {
    return fail(Code::Unimplemented, "linux.cgroupsPath: warren-oci supports cgroup v1 hierarchies only yet");
  }
  WARREN_TRY(createCgroups(kHierarchy, spec.cgroup));
  WARREN_TRY(applyLimits(kHierarchy, spec.cgroup));
  log_->info("container_id={} cgroup {}", formatId(c.id()), spec.cgroup.path);
  return spec.launch;
}

Result<void> OciIsolator::isolate(const v1::IsolateRequest& req) {
  WARREN_ASSIGN_OR_RETURN(auto set, settingsOf(req.container().config()));
  if (set.spec.empty()) return {};
  WARREN_ASSIGN_OR_RETURN(auto spec, specOf(req.container()));
  WARREN_TRY(joinCgroups(kHierarchy, spec.cgroup.path, req.pid()));
  if (spec.oom_score_adj) {
    auto r = fs::writeFile("/proc/" + std::to_string(req.pid()) + "/oom_score_adj", std::to_string(*spec.oom_score_adj));
    if (!r) return fail(std::move(r.error()).context("process.oomScoreAdj"));
  }
  auto r = inNamespaces(req.pid(), spec);
  if (!r) return fail(std::move(r.error()).context("linux.sysctl / loopback"));
  return {};
}

Result<void> OciIsolator::update(const v1::UpdateRequest& req) {
  WARREN_ASSIGN_OR_RETURN(auto set, settingsOf(req.container().config()));
  if (set.spec.empty()) return {};
  warren::oci::CgroupSettings cg;
  cg.path = warren::oci::cgroupPathOf(set.spec, formatId(req.container().id()));
  const auto& r = req.resources();
  if (r.mem_bytes() != 0) cg.mem_limit = static_cast<int64_t>(r.mem_bytes());
  if (r.pids() != 0) cg.pids_limit = static_cast<int64_t>(r.pids());
  if (r.cpus() != 0) {
    cg.cpu_period = 100000;
    cg.cpu_quota = static_cast<int64_t>(r.cpus() * 100000);
  }
  return applyLimits(kHierarchy, cg);
}

Result<v1::ResourceStatistics> OciIsolator::usage(const v1::ContainerRequest& req) {
  WARREN_ASSIGN_OR_RETURN(auto set, settingsOf(req.state().config()));
  if (set.spec.empty()) return v1::ResourceStatistics{};
  return cgroupUsage(kHierarchy, warren::oci::cgroupPathOf(set.spec, formatId(req.id())));
}

Result<void> OciIsolator::cleanup(const v1::ContainerRequest& req) {
  if (!req.has_state()) return {};
  auto set = settingsOf(req.state().config());
  if (!set || set->spec.empty()) return {};
  std::string path = warren::oci::cgroupPathOf(set->spec, formatId(req.id()));
  return removeCgroups(kHierarchy, path);
}

}  // namespace warren::isolators::oci
