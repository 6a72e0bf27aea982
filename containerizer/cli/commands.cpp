#include "commands.hpp"
#include "io_commands.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <random>
#include <set>

#include "daemon_client.hpp"
#include "events.hpp"
#include "group.hpp"
#include "images.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {

namespace {

using Strings = std::vector<std::string>;

std::string randomName() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return std::string(buf, 12);
}

std::string str(const po::variables_map& vm, const char* k) {
  return vm.count(k) ? vm[k].as<std::string>() : std::string();
}

struct LaunchSpec {
  v1::ContainerID id;
  v1::ContainerConfig config;
};

Result<LaunchSpec> parseLaunch(const po::variables_map& vm) {
  LaunchSpec s;
  auto& c = s.config;
  auto* res = c.mutable_resources();
  if (vm["share_pid"].as<bool>()) c.set_share_pid_namespace(true);
  if (vm["debug"].as<bool>()) c.set_container_class(v1::DEBUG);
  if (vm["userns"].as<bool>()) c.set_user_namespace(true);
  if (vm.count("rootfs")) c.set_rootfs(str(vm, "rootfs"));
  if (vm.count("image")) c.set_image(str(vm, "image"));
  if (vm.count("network")) c.set_network_mode(str(vm, "network"));
  if (vm.count("hostname")) c.set_hostname(str(vm, "hostname"));
  if (vm.count("workdir")) c.set_working_dir(str(vm, "workdir"));
  if (vm.count("user")) c.set_user(str(vm, "user"));
  if (vm["interactive"].as<bool>()) c.set_open_stdin(true);
  if (vm["tty"].as<bool>()) c.set_tty(true);
  if (vm.count("cpus")) {
    WARREN_ASSIGN_OR_RETURN(double v, parseCpus(str(vm, "cpus")));
    res->set_cpus(v);
  }
  if (vm.count("mem")) {
    WARREN_ASSIGN_OR_RETURN(uint64_t v, parseSize("--mem", str(vm, "mem")));
    res->set_mem_bytes(v);
  }
  if (vm.count("pids")) {
    WARREN_ASSIGN_OR_RETURN(uint64_t v, parsePositive("--pids", str(vm, "pids")));
    res->set_pids(v);
  }
  if (vm.count("disk")) {
    WARREN_ASSIGN_OR_RETURN(uint64_t v, parseSize("--disk", str(vm, "disk")));
    res->set_disk_bytes(v);
  }
  if (vm["rootfs_writable"].as<bool>()) c.set_rootfs_writable(true);
  if (vm.count("ipc")) c.set_ipc_mode(str(vm, "ipc"));  // checked by filesystem/linux
  if (vm.count("shm_size")) {
    WARREN_ASSIGN_OR_RETURN(uint64_t v, parseSize("--shm_size", str(vm, "shm_size")));
    c.set_shm_size_bytes(v);
  }
  if (vm.count("max_completion_time")) {
    WARREN_ASSIGN_OR_RETURN(uint64_t ms, parseDurationMs("--max_completion_time", str(vm, "max_completion_time")));
    c.set_max_completion_time_ms(ms);
  }
  if (vm.count("volume")) {
    // Parsed and checked by the volumes plugin in prepare (its grammar):
    // isolator setting volumes.spec_<n>, numbered in the order given.
    const auto& specs = vm["volume"].as<Strings>();
    for (size_t i = 0; i < specs.size(); ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "volumes.spec_%03zu", i);
      (*c.mutable_isolator_settings())[key] = specs[i];
    }
  }
  if (vm.count("cap_add")) {
    for (const auto& cap : splitList(vm["cap_add"].as<Strings>())) c.add_capabilities(cap);
  }
  if (vm.count("seccomp")) (*c.mutable_isolator_settings())["seccomp.profile"] = str(vm, "seccomp");
  if (vm.count("gpus")) {  // whole GPUs, for gpu/nvidia
    std::string v = str(vm, "gpus");
    WARREN_ASSIGN_OR_RETURN(uint64_t g, parsePositive("--gpus", v));
    if (g > 65536) return fail(Code::InvalidArgument, "invalid --gpus '" + v + "': too many GPUs");
    res->set_gpus(static_cast<uint32_t>(g));
  }
  if (vm.count("device")) {  // CDI devices, for devices/cdi
    auto& d = (*c.mutable_isolator_settings())["devices/cdi.devices"];
    for (const auto& v : splitList(vm["device"].as<Strings>())) d += (d.empty() ? "" : ",") + v;
  }
  if (vm.count("env")) {
    for (const auto& v : vm["env"].as<Strings>()) {
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) {
        return fail(Code::InvalidArgument, "invalid --env '" + v + "': expected KEY=VALUE");
      }
      (*c.mutable_env())[v.substr(0, eq)] = v.substr(eq + 1);
    }
  }
  if (vm.count("command")) {
    const auto& cmd = vm["command"].as<Strings>();
    c.mutable_command()->set_value(cmd[0]);
    for (size_t i = 1; i < cmd.size(); ++i) c.mutable_command()->add_arguments(cmd[i]);
  }
  std::string id = vm.count("id") ? str(vm, "id") : randomName();
  std::string parent = str(vm, "parent");
  // A name may begin with '-' in the API, but on a command line it would be
  // read as a flag everywhere else: the CLI does not create one.
  for (const auto& [flag, v] : {std::pair{"--id", id}, std::pair{"--parent", parent}}) {
    if (!v.empty() && v[0] == '-') {
      return fail(Code::InvalidArgument, std::string("invalid ") + flag + " '" + v +
                                             "': a container name given on the command line may not begin with '-'");
    }
  }
  if (vm.count("parent")) {
    auto p = parseId(parent);
    if (!p) return fail(Code::InvalidArgument, "invalid --parent: " + p.error().message());
    if (id.find('.') != std::string::npos) {
      return fail(Code::InvalidArgument, "invalid --id '" + id + "' with --parent: give only the child's name");
    }
    WARREN_TRY(validateName(id));
  }
  WARREN_ASSIGN_OR_RETURN(s.id, parseId(parent.empty() ? id : parent + "." + id));
  return s;
}

Result<v1::ContainerID> idArg(const po::variables_map& vm, const std::string& cmd, const char* key = "id") {
  if (!vm.count(key)) {
    return fail(Code::InvalidArgument, "warren " + cmd + " needs a container ID (see warren " + cmd + " --help)");
  }
  return parseId(vm[key].as<std::string>());
}

const char* stateName(v1::State s) {
  return s == v1::STATE_UNSPECIFIED ? "UNKNOWN" : v1::State_Name(s).c_str();
}

}  // namespace

sigset_t runForwardedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&set, sig);
  return set;
}

namespace {

// `warren run`: launch attached, forward signals, wait, destroy.
int runCommand(Containerizer& c, const LaunchSpec& s, const Options& opts, bool via_daemon) {
  auto& out = Output::get();
  v1::ContainerConfig cfg = s.config;
  // -i/-t: through warren-init's relay (a terminal needs it); else the
  // container writes straight to our stdout/stderr. Through warrend it
  // cannot have our fds: relayed too, its stdin open (so warren-init keeps
  // its output until we attach) and closed once we are attached.
  bool input = cfg.open_stdin() || cfg.tty();
  bool relayed = input || via_daemon;
  if (via_daemon && !input) cfg.set_open_stdin(true);
  if (!relayed) cfg.set_inherit_stdio(true);
  if (out.json()) {
    // stdout carries only the JSON document: the command writes to stderr.
    int keep = fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (keep < 0 || dup2(2, 1) < 0) {
      return out.fail(Error(Code::Internal, std::string("redirect the command's stdout: ") + strerror(errno)));
    }
    out.setStdoutFd(keep);
  }
  sigset_t set = runForwardedSignals();
  sigprocmask(SIG_BLOCK, &set, nullptr);  // already blocked by main() before any thread
  ProgressDisplay progress(stderr, ::isatty(2) == 1);
  if (!cfg.image().empty()) setActiveProgress(&progress);
  auto launched = c.launch(s.id, cfg);
  setActiveProgress(nullptr);
  if (!launched) return out.fail(launched.error());
  releaseHeldLogs("");
  if (relayed) {
    auto r = relay(c, opts, s.id, input, cfg.tty(), &set, /*close_stdin=*/!input);
    if (!r) {
      (void)c.destroy(s.id);
      return out.fail(r.error());
    }
  }
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  auto wfd = c.waitFd(s.id);
  if (wfd && sfd >= 0) {
    while (true) {
      pollfd p[2] = {{wfd->get(), POLLIN, 0}, {sfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[0].revents) break;
      if (p[1].revents) {
        signalfd_siginfo si{};
        if (read(sfd, &si, sizeof si) == sizeof si) (void)c.forwardSignal(s.id, static_cast<int>(si.ssi_signo));
      }
    }
  }
  auto t = c.wait(s.id);
  auto d = c.destroy(s.id);
  if (!t) return out.fail(t.error());
  if (!d) return out.fail(d.error());
  int code = exitCodeOf(*t);
  if (out.json()) {
    out.print(terminationJson(s.id, *t));
  } else if (t->reason() == v1::Termination::COMMAND_NOT_FOUND ||
             t->reason() == v1::Termination::LAUNCH_FAILED || t->reason() == v1::Termination::INIT_DIED) {
    std::fprintf(stderr, "warren: %s\n", t->message().c_str());
  }
  return code;
}

bool isDescendant(const v1::ContainerID& id, const v1::ContainerID& parent) {
  if (id.path_size() <= parent.path_size()) return false;
  for (int i = 0; i < parent.path_size(); ++i) {
    if (id.path(i) != parent.path(i)) return false;
  }
  return true;
}

nlohmann::json infoJson(const ContainerInfo& ci) {
  v1::ContainerID parent = ci.id;
  parent.mutable_path()->RemoveLast();
  return {{"id", formatId(ci.id)},
          {"parent", parent.path_size() ? nlohmann::json(formatId(parent)) : nlohmann::json(nullptr)},
          {"state", stateName(ci.state)},
          {"pid", ci.pid},
          {"depth", ci.id.path_size()},
          {"termination", ci.termination ? toJson(*ci.termination) : nlohmann::json(nullptr)}};
}

int psCommand(Containerizer& c, const po::variables_map& vm) {
  auto& out = Output::get();
  std::optional<v1::ContainerID> parent;
  if (vm.count("parent")) {
    auto p = parseId(str(vm, "parent"));
    if (!p) return out.fail(Error(Code::InvalidArgument, "invalid --parent: " + p.error().message()));
    parent = *p;
  }
  std::set<v1::State> states;
  if (vm.count("state")) {
    for (auto name : splitList(vm["state"].as<Strings>())) {
      for (auto& ch : name) ch = static_cast<char>(std::toupper(ch));
      v1::State st;
      if (!v1::State_Parse(name, &st) || st == v1::STATE_UNSPECIFIED) {
        return out.fail(Error(Code::InvalidArgument,
                              "invalid --state '" + name +
                                  "': expected PROVISIONING, PREPARING, ISOLATING, RUNNING, DESTROYING or TERMINATED"));
      }
      states.insert(st);
    }
  }
  bool top_only = vm["no_nested"].as<bool>() || vm["no-nested"].as<bool>();
  auto list = c.containers();
  if (!list) return out.fail(list.error());
  std::vector<ContainerInfo> shown;
  for (auto& ci : *list) {
    if (parent && !isDescendant(ci.id, *parent)) continue;
    if (!states.empty() && !states.count(ci.state)) continue;
    if (top_only && ci.id.path_size() > 1) continue;
    shown.push_back(std::move(ci));
  }
  if (out.json()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& ci : shown) arr.push_back(infoJson(ci));
    out.print(arr);
    return 0;
  }
  std::printf("%-40s %-11s %8s  %s\n", "ID", "STATE", "PID", "EXIT");
  for (const auto& ci : shown) {
    int indent = parent ? ci.id.path_size() - parent->path_size() - 1 : ci.id.path_size() - 1;
    std::string name(static_cast<size_t>(2 * std::max(indent, 0)), ' ');
    name += indent > 0 ? "└─" + ci.id.path(ci.id.path_size() - 1) : formatId(ci.id);
    std::string exit = ci.termination ? ci.termination->message() : "";
    size_t width = 0;  // display width: UTF-8 continuation bytes take no column
    for (unsigned char ch : name) width += (ch & 0xC0) != 0x80;
    if (width < 40) name.append(40 - width, ' ');
    std::printf("%s %-11s %8d  %s\n", name.c_str(), stateName(ci.state), ci.pid, exit.c_str());
  }
  return 0;
}

int pluginsCommand(Containerizer& c) {
  auto& out = Output::get();
  auto list = c.plugins();
  auto errors = c.pluginErrors();
  if (out.json()) {
    nlohmann::json j{{"plugins", nlohmann::json::array()}, {"errors", errors}};
    for (const auto& p : list) {
      j["plugins"].push_back({{"name", p.name}, {"short_name", p.short_name}, {"version", p.version},
                              {"kind", p.kind}, {"path", p.path}});
    }
    out.print(j);
    return 0;
  }
  std::printf("%-12s %-20s %-40s %-8s %s\n", "KIND", "SHORT NAME", "NAME", "VERSION", "PATH");
  for (const auto& p : list) {
    std::printf("%-12s %-20s %-40s %-8s %s\n", p.kind.c_str(), p.short_name.c_str(), p.name.c_str(),
                p.version.c_str(), p.path.c_str());
  }
  for (const auto& e : errors) std::printf("error: %s\n", e.c_str());
  return 0;
}

int inspectCommand(Containerizer& c, const v1::ContainerID& id) {
  auto& out = Output::get();
  auto list = c.containers();
  if (!list) return out.fail(list.error());
  const ContainerInfo* ci = nullptr;
  for (const auto& x : *list) {
    if (formatId(x.id) == formatId(id)) ci = &x;
  }
  if (ci == nullptr) return out.fail(Error(Code::NotFound, "unknown container '" + formatId(id) + "'"));
  const auto& cp = ci->checkpoint;
  nlohmann::json j = infoJson(*ci);
  j["config"] = toJson(cp.config());
  j["limits"] = toJson(cp.config().resources());
  j["sandbox"] = cp.sandbox();
  j["rootfs"] = cp.rootfs();
  j["isolators"] = nlohmann::json(std::vector<std::string>(cp.isolators().begin(), cp.isolators().end()));
  j["provisioner"] = cp.provisioner();
  j["group"] = cp.group();
  j["launched_at_ms"] = cp.launched_at_ms();
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& m : cp.launch_info().mounts()) mounts.push_back(toJson(m));
  j["mounts"] = mounts;
  nlohmann::json net{{"mode", cp.config().network_mode()}, {"hostname", cp.launch_info().hostname()},
                     {"ip_addresses", nlohmann::json::array()}};
  j["cgroup"] = nullptr;
  j["labels"] = nlohmann::json::object();
  if (ci->state != v1::TERMINATED) {
    auto st = c.status(id);
    if (st) {
      j["cgroup"] = st->cgroup().empty() ? nlohmann::json(nullptr) : nlohmann::json(st->cgroup());
      net["ip_addresses"] = nlohmann::json(std::vector<std::string>(st->ip_addresses().begin(),
                                                                    st->ip_addresses().end()));
      if (!st->hostname().empty()) net["hostname"] = st->hostname();
      j["labels"] = toJson(*st)["labels"];
    }
  }
  j["network"] = net;
  out.print(j);
  return 0;
}

int updateCommand(Containerizer& c, const v1::ContainerID& id, const po::variables_map& vm) {
  auto& out = Output::get();
  v1::Resources r;
  if (vm.count("cpus")) {
    auto v = parseCpus(str(vm, "cpus"));
    if (!v) return out.fail(v.error());
    r.set_cpus(*v);
  }
  if (vm.count("mem")) {
    auto v = parseSize("--mem", str(vm, "mem"));
    if (!v) return out.fail(v.error());
    r.set_mem_bytes(*v);
  }
  if (vm.count("pids")) {
    auto v = parsePositive("--pids", str(vm, "pids"));
    if (!v) return out.fail(v.error());
    r.set_pids(*v);
  }
  if (r.ByteSizeLong() == 0) {
    return out.fail(Error(Code::InvalidArgument, "warren update: give at least one of --cpus, --mem, --pids"));
  }
  auto u = c.update(id, r);
  if (!u) return out.fail(u.error());
  if (out.json()) out.print({{"id", formatId(id)}, {"resources", toJson(r)}});
  return 0;
}

}  // namespace

int exitCodeOf(const v1::Termination& t) {
  if (t.reason() == v1::Termination::COMMAND_NOT_FOUND) {
    // warren-init records exec's errno text: EACCES/ENOEXEC mean "found but
    // not executable" (126, as a shell and Podman say); anything else 127.
    for (int e : {EACCES, ENOEXEC, EISDIR, EPERM}) {
      if (t.message().find(strerror(e)) != std::string::npos) return kExitNotExecutable;
    }
    return kExitNotFound;
  }
  if (t.has_exit_status()) return t.exit_code();
  if (t.signal() > 0) return 128 + t.signal();
  return kExitWarren;
}

nlohmann::json terminationJson(const v1::ContainerID& id, const v1::Termination& t) {
  return {{"id", formatId(id)}, {"exit_code", exitCodeOf(t)}, {"termination", toJson(t)}};
}

int dispatch(const CommandSpec& spec, const po::variables_map& vm, GlobalFlags& g,
             std::shared_ptr<spdlog::logger> log) {
  auto& out = Output::get();
  const std::string& cmd = spec.name;
  std::optional<LaunchSpec> launch;
  if (cmd == "run" || cmd == "launch") {
    auto s = parseLaunch(vm);
    if (!s) return out.fail(s.error());
    launch = std::move(*s);
  }
  if (launch && vm["agent_api"].as<bool>()) {
    // As warrend does for `"warren":{"agent_api":true}` (daemon/mapping.cpp):
    // its second socket, bind-mounted read-only, allowlisted for the volumes isolator.
    std::string agent_dir = g.options.runtime_dir + "/agent";
    struct stat sb {};
    if (::stat((agent_dir + "/warrend.sock").c_str(), &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
      return out.fail(Error(Code::FailedPrecondition, "--agent_api: no warrend agent socket at '" + agent_dir +
                                                          "/warrend.sock' (start warrend with the same --runtime_dir)"));
    }
    auto& allow = g.options.plugin_flags["host_path_allowlist"];
    allow = allow.empty() ? agent_dir : allow + "," + agent_dir;
    v1::Volume* v = launch->config.add_volumes();
    v->set_source(v1::Volume::HOST_PATH);
    v->set_source_path(agent_dir);
    v->set_container_path("/run/warren-agent");
    v->set_read_only(true);
    (*launch->config.mutable_env())["WARREN_AGENT_SOCKET"] = "/run/warren-agent/warrend.sock";
  }
  std::optional<v1::ContainerID> id;
  if (std::find(spec.positional.begin(), spec.positional.end(), "id") != spec.positional.end()) {
    auto r = idArg(vm, cmd);
    if (!r) return out.fail(r.error());
    id = *r;
  }
  std::optional<int> sig;
  if (vm.count("signal")) {
    auto s = parseSignal(vm["signal"].as<std::string>());
    if (!s) return out.fail(s.error());
    sig = *s;
  }
  // Progress comes from the plugins' events, to whichever display is active.
  g.options.plugin_event_sink = [](const std::string&, const v1::PluginEvent& ev) {
    auto* d = activeProgress();
    if (d == nullptr) return;
    if (auto e = progressOf(ev.kind(), ev.item(), ev.done(), ev.total(), ev.message())) d->onEvent(*e);
  };
  // Through warrend when it answers (--daemon); `events` only exists there.
  auto via = chooseDaemon(g);
  if (!via) return out.fail(via.error());
  if (cmd == "events") {
    if (!*via) {
      return out.fail(Error(Code::FailedPrecondition,
                            "warren events needs warrend: nothing answers on '" + apiSocketOf(g) +
                                "'" + (g.daemon == "never" ? " (and --daemon=never was given)" : "")));
    }
    return eventsCommand(**via, vm);
  }
  auto made = Containerizer::create(g.options, log);
  if (!made) return out.fail(made.error());
  if (*via) *made = daemonContainerizer(**via, std::move(*made), g.options.kill_grace);
  Containerizer& c = **made;

  if (cmd == "run") return runCommand(c, *launch, g.options, via->has_value());
  if (cmd == "logs") return logsCommand(c, g.options, *id, vm["follow"].as<bool>(), vm["stderr"].as<bool>());
  if (cmd == "attach") return attachCommand(c, g.options, *id);
  if (cmd == "exec") {
    std::vector<std::string> argv;
    if (vm.count("command")) argv = vm["command"].as<std::vector<std::string>>();
    return execCommand(c, g.options, *id, argv, vm["interactive"].as<bool>(), vm["tty"].as<bool>());
  }
  if (cmd == "launch") {
    auto st = c.launch(launch->id, launch->config);
    if (!st) return out.fail(st.error());
    if (out.json()) out.print(toJson(*st));
    else std::printf("%s\n", formatId(launch->id).c_str());
    return 0;
  }
  if (cmd == "ps") return psCommand(c, vm);
  if (cmd == "plugins") return pluginsCommand(c);
  if (cmd.rfind("group ", 0) == 0) return groupCommand(c, spec, vm);
  if (cmd.rfind("images ", 0) == 0) return imagesCommand(c, spec, vm);
  if (cmd == "recover") {
    auto r = c.recover();
    if (!r) return out.fail(r.error());
    if (out.json()) {
      auto list = c.containers();
      if (!list) return out.fail(list.error());
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& ci : *list) arr.push_back(infoJson(ci));
      out.print({{"containers", arr}});
    }
    return 0;
  }
  if (cmd == "wait") {
    std::optional<std::chrono::milliseconds> timeout;
    if (vm.count("timeout_ms")) {
      long ms = vm["timeout_ms"].as<long>();
      if (ms <= 0) return out.fail(Error(Code::InvalidArgument, "invalid --timeout_ms: expected a positive number"));
      timeout = std::chrono::milliseconds(ms);
    }
    auto t = c.wait(*id, timeout);
    if (!t) return out.fail(t.error());
    if (out.json()) out.print(terminationJson(*id, *t));
    return exitCodeOf(*t);
  }
  if (cmd == "kill") {
    int s = sig.value_or(SIGKILL);
    auto r = c.kill(*id, s);
    if (!r) return out.fail(r.error());
    if (out.json()) out.print({{"id", formatId(*id)}, {"signal", s}});
    return 0;
  }
  if (cmd == "destroy") {
    auto t = c.destroy(*id);
    if (!t) return out.fail(t.error());
    if (out.json()) out.print(terminationJson(*id, *t));
    return 0;
  }
  if (cmd == "status") {
    auto s = c.status(*id);
    if (!s) return out.fail(s.error());
    if (out.json()) {
      out.print(toJson(*s));
      return 0;
    }
    std::printf("id: %s\nstate: %s\npid: %d\nhostname: %s\nsandbox: %s\n", formatId(s->id()).c_str(),
                stateName(s->state()), s->pid(), s->hostname().c_str(), s->sandbox().c_str());
    if (!s->rootfs().empty()) std::printf("rootfs: %s\n", s->rootfs().c_str());
    if (!s->cgroup().empty()) std::printf("cgroup: %s\n", s->cgroup().c_str());
    for (const auto& ip : s->ip_addresses()) std::printf("ip: %s\n", ip.c_str());
    return 0;
  }
  if (cmd == "usage") {
    auto u = c.usage(*id);
    if (!u) return out.fail(u.error());
    nlohmann::json j = toJson(*u);
    if (out.json()) {
      j["id"] = formatId(*id);
      out.print(j);
      return 0;
    }
    for (const auto& [k, v] : j.items()) std::printf("%s: %s\n", k.c_str(), v.dump().c_str());
    return 0;
  }
  if (cmd == "inspect") return inspectCommand(c, *id);
  if (cmd == "update") return updateCommand(c, *id, vm);
  return out.fail(Error(Code::Internal, "command '" + cmd + "' has no implementation"));
}

}  // namespace warren::cli
