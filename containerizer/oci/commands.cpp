#include "commands.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "console.hpp"
#include "exec.hpp"
#include "log.hpp"
#include "oci_spec.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::oci {
namespace {

using json = nlohmann::json;

constexpr const char* kOciVersion = "1.1.0";
constexpr const char* kCgroupHierarchy = "/sys/fs/cgroup";

Result<std::unique_ptr<Containerizer>> containerizer(const Context& ctx, const std::string& console_socket = "") {
  Options o;
  if (!console_socket.empty()) {
    o.console_sink = [console_socket](const v1::ContainerID&, UniqueFd master) {
      return sendConsole(console_socket, master.get());
    };
  }
  o.work_dir = ctx.global.root + "/work";
  o.runtime_dir = ctx.global.root + "/run";
  // cgroups are the oci isolator's, at linux.cgroupsPath: no warren root
  // is claimed or used (the cgroups isolator is not loaded).
  o.cgroups_root = "/warren-oci";
  o.claims_dir.clear();
  o.isolation = {"oci", "seccomp"};
  o.kill_grace = std::chrono::milliseconds(0);
  o.hold_until_start = true;  // create = launch held; start = Containerizer::start
  return Containerizer::create(o, ctx.log);
}

Result<v1::ContainerID> idOf(const std::string& text) {
  auto id = parseId(text);
  if (!id || id->path_size() != 1) {
    return fail(Code::InvalidArgument, "container ID '" + text +
                                           "': warren-oci takes IDs of 1-64 characters [A-Za-z0-9_-]");
  }
  return *id;
}

struct Found {
  ContainerInfo info;
  std::string status;  // creating, created, running, paused, stopped
};

std::string settingOf(const ContainerInfo& ci, const char* key) {
  const auto& s = ci.checkpoint.config().isolator_settings();
  auto it = s.find(key);
  return it == s.end() ? "" : it->second;
}

std::string cgroupPath(const ContainerInfo& ci) {
  return cgroupPathOf(settingOf(ci, kSettingSpec), formatId(ci.id));
}

Result<Found> find(Containerizer& c, const std::string& text) {
  WARREN_ASSIGN_OR_RETURN(auto id, idOf(text));
  WARREN_ASSIGN_OR_RETURN(auto all, c.containers());
  for (auto& ci : all) {
    if (formatId(ci.id) != formatId(id)) continue;
    Found f{ci, "stopped"};
    switch (ci.state) {
      case v1::PROVISIONING:
      case v1::PREPARING:
      case v1::ISOLATING: f.status = "creating"; break;
      case v1::RUNNING: {
        f.status = ci.held ? "created" : "running";
        auto frozen = fs::readFile(std::string(kCgroupHierarchy) + "/freezer" + cgroupPath(ci) + "/freezer.state");
        if (!ci.held && frozen && frozen->rfind("FROZEN", 0) == 0) f.status = "paused";
        break;
      }
      default: f.status = "stopped";
    }
    return f;
  }
  return fail(Code::NotFound, "container '" + text + "' does not exist");
}

std::string rfc3339Ms(int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms % 1000));
  return out;
}

Result<void> writePidFile(const std::string& path, int pid) {
  std::string tmp = path + ".warren-oci.tmp";
  WARREN_TRY(fs::writeFile(tmp, std::to_string(pid)));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("write --pid-file '" + path + "'");
  return {};
}

Result<int> parseSignal(std::string s) {
  if (s.empty()) return SIGTERM;
  bool digits = s.find_first_not_of("0123456789") == std::string::npos;
  if (digits) {
    int n = std::atoi(s.c_str());
    if (n <= 0 || n >= 65) return fail(Code::InvalidArgument, "invalid signal '" + s + "'");
    return n;
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (int n = 1; n < 32; ++n) {
    const char* abbrev = sigabbrev_np(n);
    if (abbrev != nullptr && s == abbrev) return n;
  }
  return fail(Code::InvalidArgument, "unknown signal '" + s + "'");
}

std::vector<int> cgroupPids(const ContainerInfo& ci) {
  std::vector<int> pids;
  auto text = fs::readFile(std::string(kCgroupHierarchy) + "/pids" + cgroupPath(ci) + "/cgroup.procs");
  std::istringstream in(text ? *text : "");
  for (int p; in >> p;) pids.push_back(p);
  return pids;
}

// ---- commands ----

Result<int> create(Context& ctx) {
  const auto& cmd = ctx.cmd;
  if (ctx.global.systemd_cgroup) {
    return fail(Code::Unimplemented, "--systemd-cgroup: warren-oci manages cgroupfs paths only (drop the flag; "
                                     "containerd: SystemdCgroup = false, Podman: --cgroup-manager cgroupfs)");
  }
  std::string id_text = cmd.args[0];
  WARREN_ASSIGN_OR_RETURN(auto id, idOf(id_text));
  std::string preserve = cmd.get("preserve-fds", "0");
  if (preserve != "0") return fail(Code::Unimplemented, "--preserve-fds " + preserve + ": not supported by warren-oci yet");
  std::string bundle = cmd.get("bundle", ".");
  char real[PATH_MAX];
  if (::realpath(bundle.c_str(), real) == nullptr) return failErrno("--bundle '" + bundle + "'");
  bundle = real;
  auto text = fs::readFile(bundle + "/config.json");
  if (!text) return fail(std::move(text.error()).context("bundle '" + bundle + "'"));
  WARREN_ASSIGN_OR_RETURN(auto spec, parseSpec(*text, bundle, id_text));
  v1::ContainerConfig config = spec.config;
  (*config.mutable_isolator_settings())[kSettingSpec] = *text;
  (*config.mutable_isolator_settings())[kSettingBundle] = bundle;
  (*config.mutable_isolator_settings())["seccomp.profile"] = spec.seccomp_json.empty() ? "unconfined" : spec.seccomp_json;
  std::string console = cmd.get("console-socket");
  if (spec.terminal && console.empty()) {
    return fail(Code::InvalidArgument, "process.terminal is true: --console-socket is needed");
  }
  if (!spec.terminal && !console.empty()) {
    return fail(Code::InvalidArgument, "--console-socket given but process.terminal is false");
  }
  // A terminal: warren-init opens a pty in the container's own /dev/pts
  // (its slave becomes the command's stdio and controlling terminal) and
  // the master reaches the console socket through Options::console_sink.
  config.set_tty(spec.terminal);
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx, spec.terminal ? console : ""));
  auto st = c->launch(id, config);
  if (!st) return fail(std::move(st.error()));
  if (cmd.has("pid-file")) {
    auto w = writePidFile(cmd.get("pid-file"), st->pid());
    if (!w) {
      (void)c->destroy(id, std::chrono::milliseconds(0));
      return fail(std::move(w.error()));
    }
  }
  ctx.log->info("container {} created (pid {})", id_text, st->pid());
  return 0;
}

Result<int> start(Context& ctx) {
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  if (f.status != "created") {
    return fail(Code::FailedPrecondition, "cannot start container '" + ctx.cmd.args[0] + "': it is " + f.status);
  }
  WARREN_TRY(c->start(f.info.id));
  return 0;
}

Result<int> state(Context& ctx) {
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  json annotations = json::object();
  try {
    auto j = json::parse(settingOf(f.info, kSettingSpec));
    if (j.contains("annotations") && j["annotations"].is_object()) annotations = j["annotations"];
  } catch (const json::exception&) {
  }
  bool alive = f.status == "created" || f.status == "running" || f.status == "paused";
  json out = {{"ociVersion", kOciVersion},
              {"id", ctx.cmd.args[0]},
              {"status", f.status},
              {"pid", alive ? f.info.pid : 0},
              {"bundle", settingOf(f.info, kSettingBundle)},
              {"rootfs", f.info.checkpoint.config().rootfs()},
              {"created", rfc3339Ms(f.info.checkpoint.launched_at_ms())},
              {"owner", ""},
              {"annotations", annotations}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

Result<int> killCmd(Context& ctx) {
  const auto& cmd = ctx.cmd;
  WARREN_ASSIGN_OR_RETURN(int sig, parseSignal(cmd.args.size() > 1 ? cmd.args[1] : ""));
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, cmd.args[0]));
  if (cmd.has("all")) {
    // Whatever is left in its cgroup, also once warren-init has exited (a
    // shim kills the rest of a shared pid namespace that way), as runc does.
    for (int p : cgroupPids(f.info)) ::kill(p, sig);
    return 0;
  }
  if (f.status == "stopped" || f.status == "creating") {
    // runc's words: the shims take "container not running" as "already
    // finished", not as a failed kill (containerd's checkKillError).
    return fail(Code::FailedPrecondition, "container not running: '" + cmd.args[0] + "' is " + f.status);
  }
  // A created container's warren-init waits with its signals blocked: any
  // signal ends it (SIGKILL), as the command never ran.
  WARREN_TRY(c->kill(f.info.id, f.status == "created" ? SIGKILL : sig));
  return 0;
}

Result<int> deleteCmd(Context& ctx) {
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  if ((f.status == "running" || f.status == "paused") && !ctx.cmd.has("force")) {
    return fail(Code::FailedPrecondition, "cannot delete container '" + ctx.cmd.args[0] + "' that is " + f.status +
                                              " (use --force)");
  }
  if (f.status == "paused") {
    (void)fs::writeFile(std::string(kCgroupHierarchy) + "/freezer" + cgroupPath(f.info) + "/freezer.state", "THAWED");
  }
  auto t = c->destroy(f.info.id, std::chrono::milliseconds(0));
  if (!t) return fail(std::move(t.error()));
  return 0;
}

Result<int> ps(Context& ctx) {
  std::string format = ctx.cmd.get("format", "table");
  if (format != "table" && format != "json") return fail(Code::InvalidArgument, "--format must be table or json");
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  auto pids = f.status == "stopped" ? std::vector<int>{} : cgroupPids(f.info);
  if (format == "json") {
    std::printf("%s\n", json(pids).dump().c_str());
  } else {
    std::printf("PID\n");
    for (int p : pids) std::printf("%d\n", p);
  }
  return 0;
}

Result<int> freeze(Context& ctx, bool on) {
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  if (f.status != (on ? "running" : "paused")) {
    return fail(Code::FailedPrecondition, "container '" + ctx.cmd.args[0] + "' is " + f.status);
  }
  std::string file = std::string(kCgroupHierarchy) + "/freezer" + cgroupPath(f.info) + "/freezer.state";
  WARREN_TRY(fs::writeFile(file, on ? "FROZEN" : "THAWED"));
  return 0;
}

Result<int> update(Context& ctx) {
  std::string from = ctx.cmd.get("resources");
  if (from.empty()) return fail(Code::InvalidArgument, "update: --resources FILE|- is needed");
  std::string text;
  if (from == "-") {
    std::stringstream ss;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  } else {
    WARREN_ASSIGN_OR_RETURN(text, fs::readFile(from));
  }
  WARREN_ASSIGN_OR_RETURN(auto cg, parseResources(text, CgroupSettings{}));
  if (cg.mem_reservation || cg.mem_swap || cg.mem_swappiness || cg.cpu_shares || !cg.devices.empty()) {
    return fail(Code::Unimplemented, "update: only memory.limit, cpu.quota/period and pids.limit can be changed yet");
  }
  v1::Resources r;
  if (cg.mem_limit && *cg.mem_limit > 0) r.set_mem_bytes(static_cast<uint64_t>(*cg.mem_limit));
  if (cg.pids_limit && *cg.pids_limit > 0) r.set_pids(static_cast<uint64_t>(*cg.pids_limit));
  if (cg.cpu_quota && *cg.cpu_quota > 0) {
    r.set_cpus(static_cast<double>(*cg.cpu_quota) / static_cast<double>(cg.cpu_period.value_or(100000)));
  }
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, ctx.cmd.args[0]));
  WARREN_TRY(c->update(f.info.id, r));
  return 0;
}

Result<int> execCmd(Context& ctx) {
  const auto& cmd = ctx.cmd;
  std::string from = cmd.get("process");
  if (from.empty()) return fail(Code::InvalidArgument, "exec: --process FILE|- is needed");
  if (cmd.get("preserve-fds", "0") != "0") return fail(Code::Unimplemented, "exec: --preserve-fds is not supported yet");
  std::string text;
  if (from == "-") {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  } else {
    WARREN_ASSIGN_OR_RETURN(text, fs::readFile(from));
  }
  ExecRequest req;
  WARREN_ASSIGN_OR_RETURN(req.spec, parseProcessSpec(text));
  bool tty = req.spec.terminal || cmd.has("tty");
  req.console_socket = cmd.get("console-socket");
  if (tty && req.console_socket.empty()) return fail(Code::InvalidArgument, "exec: a terminal needs --console-socket");
  if (!tty && !req.console_socket.empty()) {
    return fail(Code::InvalidArgument, "exec: --console-socket given but process.terminal is false");
  }
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto f, find(*c, cmd.args[0]));
  if (f.status != "running" && f.status != "created") {
    return fail(Code::FailedPrecondition, "cannot exec in container '" + cmd.args[0] + "': it is " + f.status);
  }
  req.container_launch = f.info.checkpoint.launch_info();
  req.cgroup_path = cgroupPath(f.info);
  req.init_pid = f.info.pid;
  req.pid_file = cmd.get("pid-file");
  req.detach = cmd.has("detach");
  c.reset();  // nothing of the Containerizer (plugin threads) lives on into the fork
  return execProcess(req);
}

Result<int> list(Context& ctx) {
  WARREN_ASSIGN_OR_RETURN(auto c, containerizer(ctx));
  WARREN_ASSIGN_OR_RETURN(auto all, c->containers());
  json out = json::array();
  for (const auto& ci : all) {
    WARREN_ASSIGN_OR_RETURN(auto f, find(*c, formatId(ci.id)));
    out.push_back({{"id", formatId(ci.id)}, {"pid", f.status == "stopped" ? 0 : ci.pid}, {"status", f.status},
                   {"bundle", settingOf(ci, kSettingBundle)}});
  }
  if (ctx.cmd.get("format", "table") == "json") {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("ID\tPID\tSTATUS\tBUNDLE\n");
    for (const auto& e : out) {
      std::printf("%s\t%d\t%s\t%s\n", e["id"].get<std::string>().c_str(), e["pid"].get<int>(),
                  e["status"].get<std::string>().c_str(), e["bundle"].get<std::string>().c_str());
    }
  }
  return 0;
}

Result<int> features() {
  json f = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", kOciVersion},
      {"hooks", json::array()},
      {"mountOptions", {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "noatime", "relatime",
                        "strictatime", "private", "rprivate", "slave", "rslave", "shared", "rshared"}},
      {"linux",
       {{"namespaces", {"mount", "uts", "ipc", "pid", "network", "cgroup"}},
        {"capabilities", json::array()},
        {"cgroup", {{"v1", true}, {"v2", false}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp", {{"enabled", true}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"org.warren.oci.refuses", "any config.json field it cannot honour, by name"}}}};
  std::printf("%s\n", f.dump(2).c_str());
  return 0;
}

// `spec`: a starting config.json (busybox-like sh), as `runc spec` writes.
Result<int> specCmd(Context& ctx) {
  std::string path = ctx.cmd.get("bundle", ".") + "/config.json";
  if (::access(path.c_str(), F_OK) == 0) return fail(Code::AlreadyExists, "'" + path + "' already exists");
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json s = {
      {"ociVersion", kOciVersion},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "warren"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
      {"linux",
       {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        {"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        {"maskedPaths", {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                         "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
  WARREN_TRY(fs::writeFile(path, s.dump(2) + "\n"));
  return 0;
}

}  // namespace

int run(Context& ctx) {
  const std::string& n = ctx.cmd.name;
  Result<int> r = 0;
  if (n == "create") r = create(ctx);
  else if (n == "start") r = start(ctx);
  else if (n == "state") r = state(ctx);
  else if (n == "kill") r = killCmd(ctx);
  else if (n == "delete") r = deleteCmd(ctx);
  else if (n == "ps") r = ps(ctx);
  else if (n == "pause") r = freeze(ctx, true);
  else if (n == "resume") r = freeze(ctx, false);
  else if (n == "update") r = update(ctx);
  else if (n == "list") r = list(ctx);
  else if (n == "exec") r = execCmd(ctx);
  else if (n == "features") r = features();
  else if (n == "spec") r = specCmd(ctx);
  else r = fail(Code::Unimplemented, "'" + n + "' is not implemented by warren-oci yet");
  if (!r) {
    logError(ctx.log, r.error().message());
    return 1;
  }
  return *r;
}

}  // namespace warren::oci
