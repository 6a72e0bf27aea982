#include "flags.hpp"

#include <signal.h>
#include <string.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "host/install_layout.hpp"
#include "plugin_flags.hpp"
#include "warren/sdk/abi.h"

#ifndef WARREN_REL_LIBDIR
#define WARREN_REL_LIBDIR "lib"
#define WARREN_REL_LIBEXECDIR "libexec"
#endif
#ifndef WARREN_VERSION
#define WARREN_VERSION "unknown"
#endif

namespace warren::cli {

namespace {

constexpr int kStyle = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing &
                       ~po::command_line_style::allow_sticky;

using Strings = std::vector<std::string>;

po::options_description launchOptions() {
  po::options_description d("Options");
  d.add_options()
      ("id", po::value<std::string>(), "the container's name (default: random); with --parent, the child's name")
      ("parent", po::value<std::string>(), "launch nested under this container")
      ("rootfs", po::value<std::string>(), "a host directory used as the root filesystem")
      ("image", po::value<std::string>(), "an image reference (oci:, oci-archive:, docker-archive:, docker://)")
      ("volume", po::value<Strings>()->composing(), "TYPE:SOURCE:TARGET[:ro] (repeatable; parsed by the volumes plugin)")
      ("cpus", po::value<std::string>(), "CPU limit, e.g. 0.5")
      ("mem", po::value<std::string>(), "memory limit, e.g. 512M")
      ("pids", po::value<std::string>(), "limit on the number of processes")
      ("disk", po::value<std::string>(), "disk limit on the sandbox, which holds the rootfs's writes too, e.g. 1G (disk/du or disk/xfs)")
      ("rootfs_writable", po::bool_switch(), "write into the --rootfs directory itself, not into an upper layer in the sandbox")
      ("max_completion_time", po::value<std::string>(), "kill the command this long after it started, e.g. 90s, 5m or 1500ms (termination MAX_COMPLETION_TIME)")
      ("network", po::value<std::string>(), "network mode: host, none or bridge")
      ("share_pid", po::bool_switch(), "nested only: share the parent's pid namespace")
      ("ipc", po::value<std::string>(), "IPC namespace: private (its own, with its own /dev/shm) or share_parent (a nested container's default) (filesystem/linux)")
      ("shm_size", po::value<std::string>(), "size of the container's own /dev/shm, e.g. 256M (filesystem/linux)")
      ("debug", po::bool_switch(), "a DEBUG container: joins the parent's namespaces and cgroups")
      ("userns", po::bool_switch(), "run in a user namespace of its own, ids mapped from --userns_range (userns plugin)")
      ("env", po::value<Strings>()->composing(), "KEY=VALUE in the command's environment (repeatable)")
      ("workdir", po::value<std::string>(), "working directory inside the container")
      ("user", po::value<std::string>(), "user name or uid[:gid], resolved inside the rootfs")
      ("hostname", po::value<std::string>(), "host name (top-level containers)")
      ("cap_add", po::value<Strings>()->composing(), "capability kept for the command, added to CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE (repeatable, comma-separated)")
      ("seccomp", po::value<std::string>(), "default, unconfined or PROFILE.json: the seccomp isolator's filter")
      ("gpus", po::value<std::string>(), "whole GPUs for the container (gpu/nvidia)")
      ("device", po::value<Strings>()->composing(), "a CDI device VENDOR/CLASS=NAME (devices/cdi; repeatable)")
      ("agent_api", po::bool_switch(), "mount warrend's agent socket at /run/warren-agent/warrend.sock (read-only; announced in WARREN_AGENT_SOCKET); needs warrend running and the volumes isolator")
      ("interactive,i", po::bool_switch(), "keep the command's stdin open (run: ours is forwarded to it)")
      ("tty,t", po::bool_switch(), "give the command a terminal (run: ours in raw mode, its size followed)");
  return d;
}

po::options_description logsOptions() {
  po::options_description d("Options");
  d.add_options()
      ("follow,f", po::bool_switch(), "keep printing what the container writes until it ends")
      ("stderr", po::bool_switch(), "the stderr log instead of stdout");
  return d;
}

po::options_description execOptions() {
  po::options_description d("Options");
  d.add_options()
      ("interactive,i", po::bool_switch(), "forward our stdin to the command")
      ("tty,t", po::bool_switch(), "give the command a terminal (ours in raw mode)");
  return d;
}

po::options_description noOptions() { return po::options_description("Options"); }

po::options_description updateOptions() {
  po::options_description d("Options");
  d.add_options()
      ("cpus", po::value<std::string>(), "new CPU limit")
      ("mem", po::value<std::string>(), "new memory limit")
      ("pids", po::value<std::string>(), "new process limit");
  return d;
}

po::options_description psOptions() {
  po::options_description d("Options");
  d.add_options()
      ("parent", po::value<std::string>(), "only this container's descendants")
      ("state", po::value<Strings>()->composing(), "only these states (repeatable, comma-separated): RUNNING, TERMINATED, ...")
      ("no_nested", po::bool_switch(), "only top-level containers (also --no-nested)")
      ("no-nested", po::bool_switch(), "same as --no_nested");
  return d;
}

po::options_description waitOptions() {
  po::options_description d("Options");
  d.add_options()("timeout_ms", po::value<long>(), "give up after this many milliseconds (warren exits 125)");
  return d;
}

po::options_description eventsOptions() {
  po::options_description d("Options");
  d.add_options()
      ("id", po::value<Strings>()->composing(), "only these containers' events (repeatable, comma-separated)")
      ("parent", po::value<std::string>(), "only the events of this container's descendants");
  return d;
}

po::options_description groupLaunchOptions() {
  po::options_description d("Options");
  d.add_options()
      ("parent", po::value<std::string>(), "the parent container (required)")
      ("max_completion_time", po::value<std::string>(), "each member's deadline unless its spec sets one, e.g. 90s or 5m (overrides the spec's maxCompletionTimeMs)");
  return d;
}

const std::vector<CommandSpec> kCommands = {
    {"run", "run [OPTIONS] -- CMD [ARGS...]",
     "Launch a container attached to this terminal, forward signals, wait for it, destroy it, and exit "
     "with the command's code. With --json the command's stdout goes to warren's stderr and stdout holds "
     "one JSON document.",
     launchOptions, {"command..."}},
    {"launch", "launch [OPTIONS] -- CMD [ARGS...]",
     "Launch a container detached (output goes to files in its sandbox); prints its ID.", launchOptions,
     {"command..."}},
    {"logs", "logs [-f] [--stderr] ID",
     "Print a container's stdout (or stderr) log from its sandbox (rotated part first); -f follows it live.",
     logsOptions, {"id"}},
    {"attach", "attach ID",
     "Attach to a running container: its output to ours, our stdin to it when it has one (a terminal in raw "
     "mode), signals forwarded; exits with its code when it ends.",
     noOptions, {"id"}},
    {"exec", "exec [-i] [-t] ID -- CMD [ARGS...]",
     "Run a command in a running container (a DEBUG container in its namespaces and cgroups, removed after); "
     "exits with the command's code.",
     execOptions, {"id", "command..."}},
    {"wait", "wait [OPTIONS] ID",
     "Wait for a container to end; exits with the command's code (128+N when killed by signal N).",
     waitOptions, {"id"}},
    {"kill", "kill ID [SIGNAL]", "Send a signal (a name like TERM or a number; default KILL).", noOptions,
     {"id", "signal"}},
    {"destroy", "destroy ID", "Kill a container (descendants first), clean up every resource and forget it.",
     noOptions, {"id"}},
    {"status", "status ID", "One container's status: state, pid, cgroup, sandbox, addresses.", noOptions,
     {"id"}},
    {"usage", "usage ID", "One container's resource usage and limits.", noOptions, {"id"}},
    {"inspect", "inspect ID",
     "Everything about one container: config, state, limits, cgroup paths, mounts, network (JSON).",
     noOptions, {"id"}},
    {"update", "update ID [--cpus N] [--mem SIZE] [--pids N]", "Change the limits of a running container.",
     updateOptions, {"id"}},
    {"ps", "ps [--parent ID] [--state STATE] [--no-nested]", "Every container, as a tree.", psOptions, {}},
    {"plugins", "plugins", "Loaded plugins and plugin load errors.", noOptions, {}},
    {"events", "events [--id ID] [--parent ID]",
     "Lifecycle events from warrend as they happen (launched, running, limitation, terminated, destroyed), "
     "one line or one JSON object per event, until SIGINT or SIGTERM. Needs warrend.",
     eventsOptions, {}},
    {"recover", "recover",
     "Reconcile with the world after a restart: adopt live containers, finish those that exited, destroy "
     "orphans.",
     noOptions, {}},
    {"group launch", "group launch --parent ID FILE",
     "Launch a task group (JSON spec in FILE) under a parent, all-or-nothing; prints the members' IDs.",
     groupLaunchOptions, {"file"}},
    {"group wait", "group wait PARENT NAME", "Wait for every member of a task group.", noOptions,
     {"parent", "name"}},
    {"group kill", "group kill PARENT NAME [SIGNAL]", "Signal every member of a task group.", noOptions,
     {"parent", "name", "signal"}},
    {"group destroy", "group destroy PARENT NAME", "Destroy every member of a task group.", noOptions,
     {"parent", "name"}},
    {"images ls", "images ls", "Images in the store.", noOptions, {}},
    {"images pull", "images pull REF",
     "Fetch an image into the store (a progress bar per layer on a terminal).", noOptions, {"reference"}},
    {"images prune", "images prune", "Remove the layers and images no container uses.", noOptions, {}},
    {"help", "help [COMMAND]", "Help on warren or on one command.", noOptions, {"topic..."}},
};

po::options_description commonOptions() {
  po::options_description d("Common options");
  d.add_options()("help,h", po::bool_switch(), "print this help and exit")
      ("json", po::bool_switch(), "machine-readable output (also a global flag)");
  return d;
}

std::string stripDots(const std::string& p) {
  return p.size() > 3 && p.compare(p.size() - 3, 3, "...") == 0 ? p.substr(0, p.size() - 3) : p;
}

}  // namespace

const std::vector<CommandSpec>& commands() { return kCommands; }

const CommandSpec* findCommand(const std::string& name) {
  for (const auto& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

po::options_description coreDescription() {
  po::options_description d("Global flags (before the command; each also WARREN_<NAME> or `name = value` in --config)");
  d.add_options()
      ("help,h", po::bool_switch(), "print help and exit")
      ("version", po::bool_switch(), "print the version and the plugin SDK ABI, and exit")
      ("json", po::bool_switch(), "machine-readable output: JSON on stdout, errors as JSON on stderr")
      ("config", po::value<std::string>(), "config file with the same flags, one `name = value` per line")
      ("work_dir", po::value<std::string>()->default_value("/var/lib/warren"), "persistent state: sandboxes, image layers")
      ("runtime_dir", po::value<std::string>()->default_value("/run/warren"), "runtime state: checkpoints, exit statuses")
      ("isolation", po::value<Strings>()->composing(), ("isolators in order (repeatable, comma-separated; default " + kDefaultIsolation + ")").c_str())
      ("plugin_dir", po::value<Strings>()->composing(), "plugin directory (repeatable; ',' or ':' separated)")
      ("cgroups_root", po::value<std::string>()->default_value("/warren"), "absolute cgroup root for all containers")
      ("init_path", po::value<std::string>(), "path of warren-init")
      ("isolator_config", po::value<Strings>()->composing(), "SHORT_NAME=JSON typed config for a plugin (repeatable)")
      ("plugin_call_timeout_ms", po::value<int>()->default_value(60000), "deadline of one plugin call")
      ("plugin_isolation", po::value<Strings>()->composing(), "process or inprocess for every plugin, or SHORT_NAME=process|inprocess (repeatable); default: process for third-party plugins, inprocess for warren's own")
      ("kill_grace", po::value<double>()->default_value(10.0), "destroy: seconds between SIGTERM and SIGKILL (0: SIGKILL at once)")
      ("claims_dir", po::value<std::string>()->default_value("/run/warren-claims"), "where instances claim their --cgroups_root (empty: no claim)")
      ("log_level", po::value<std::string>()->default_value("warn"), "trace, debug, info, warn, error, critical, off")
      ("log_format", po::value<std::string>()->default_value("text"), "text or json (one object per line)")
      ("log_file", po::value<std::string>(), "append log lines to this file instead of stderr")
      ("daemon", po::value<std::string>()->default_value("auto"), "warren CLI: go through warrend: auto (when its socket answers), always (error if it does not), never (embedded)")
      ("api_socket", po::value<std::string>(), "warrend's API socket (default <runtime_dir>/warrend.sock)");
  return d;
}

po::options_description globalDescription() {
  po::options_description d;
  d.add(coreDescription());
  if (!pluginFlags().empty()) d.add(pluginFlagDescription());
  return d;
}

std::vector<std::string> splitList(const std::vector<std::string>& values, bool colons) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::string item;
    for (char c : v + ",") {
      if (c == ',' || (colons && c == ':')) {
        if (!item.empty()) out.push_back(item);
        item.clear();
      } else {
        item += c;
      }
    }
  }
  return out;
}

namespace {

// Finds the subcommand: the first word that is neither a global flag nor
// the value of one. An unknown flag in front of it is an error here, so that
// a misspelt global flag is never taken for the command.
Result<int> findSubcommand(int argc, char** argv, const po::options_description& desc, bool lenient) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return i + 1;
    if (a.size() < 2 || a[0] != '-') return i;
    if (a == "-h") continue;
    if (a.rfind("--", 0) != 0) {
      return fail(Code::InvalidArgument, "unknown global flag '" + a + "' (see warren --help)");
    }
    std::string name = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
    const auto* o = desc.find_nothrow(name, false, false, false);
    if (o == nullptr && lenient) {  // perhaps a plugin's flag: they all take a value
      if (a.find('=') == std::string::npos) ++i;
      continue;
    }
    if (o == nullptr) {
      return fail(Code::InvalidArgument, "unknown global flag '--" + name +
                                             "' (global flags go before the command; see warren --help)");
    }
    if (a.find('=') == std::string::npos && o->semantic()->max_tokens() > 0) ++i;
  }
  return argc;
}

// An installed warren finds warren-init and the plugins relative to its own
// binary (<prefix>/bin/warren -> <prefix>/<libdir>/warren/plugins), so a
// package built for one prefix and installed under another still works
// (host/install_layout.hpp); --plugin_dir and --init_path override.
void installedDefaults(Options& o) {
  std::error_code ec;
  const auto& layout = plugins::installLayout();
  if (o.plugin_dirs.empty()) o.plugin_dirs = defaultPluginDirs();
  if (o.init_path.empty() && std::filesystem::exists(layout.init_path, ec)) o.init_path = layout.init_path;
}

Result<void> checkGlobal(const po::variables_map& vm, GlobalFlags& out) {
  auto& o = out.options;
  o.work_dir = vm["work_dir"].as<std::string>();
  o.runtime_dir = vm["runtime_dir"].as<std::string>();
  o.cgroups_root = vm["cgroups_root"].as<std::string>();
  out.cgroups_root_given = !vm["cgroups_root"].defaulted();
  // The front ends' default (libwarren has none): warren, warrend and a
  // --config file's `isolation = ...` all go through here.
  o.isolation = splitList(vm.count("isolation") ? vm["isolation"].as<Strings>() : Strings{kDefaultIsolation});
  if (o.isolation.empty()) return fail(Code::InvalidArgument, "--isolation names no isolator");
  if (vm.count("plugin_dir")) o.plugin_dirs = splitList(vm["plugin_dir"].as<Strings>(), true);
  if (vm.count("init_path")) o.init_path = vm["init_path"].as<std::string>();
  installedDefaults(o);
  out.log.level = vm["log_level"].as<std::string>();
  out.log_level = out.log.level;
  out.log.format = vm["log_format"].as<std::string>();
  if (vm.count("log_file")) out.log.file = vm["log_file"].as<std::string>();
  out.json = vm["json"].as<bool>();
  out.help = vm["help"].as<bool>();
  out.version = vm["version"].as<bool>();
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!kLevels.count(out.log.level)) {
    return fail(Code::InvalidArgument, "invalid --log_level '" + out.log.level +
                                           "': expected trace, debug, info, warn, error, critical or off");
  }
  if (out.log.format != "text" && out.log.format != "json") {
    return fail(Code::InvalidArgument, "invalid --log_format '" + out.log.format + "': expected text or json");
  }
  WARREN_TRY(applyPluginFlags(vm, o));
  if (vm.count("isolator_config")) {
    for (const auto& kv : vm["isolator_config"].as<Strings>()) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return fail(Code::InvalidArgument, "invalid --isolator_config '" + kv + "': expected NAME=JSON");
      }
      o.plugin_configs[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  if (vm.count("plugin_isolation")) {
    for (const auto& kv : vm["plugin_isolation"].as<std::vector<std::string>>()) {
      auto eq = kv.find('=');
      if (eq == 0) {
        return fail(Code::InvalidArgument, "invalid --plugin_isolation '" + kv + "': expected [NAME=]process|inprocess");
      }
      if (eq == std::string::npos) {
        o.plugin_isolation["*"] = kv;
      } else {
        o.plugin_isolation[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
  }
  int ms = vm["plugin_call_timeout_ms"].as<int>();
  if (ms <= 0) {
    return fail(Code::InvalidArgument, "invalid --plugin_call_timeout_ms '" + std::to_string(ms) +
                                           "': expected a positive number of milliseconds");
  }
  o.plugin_call_deadline = std::chrono::milliseconds(ms);
  double grace = vm["kill_grace"].as<double>();
  if (!(grace >= 0) || grace > 86400) {
    return fail(Code::InvalidArgument, "invalid --kill_grace '" + std::to_string(grace) +
                                           "': expected between 0 and 86400 seconds");
  }
  o.kill_grace = std::chrono::milliseconds(static_cast<int64_t>(grace * 1000));
  o.claims_dir = vm["claims_dir"].as<std::string>();
  out.daemon = vm["daemon"].as<std::string>();
  if (out.daemon != "auto" && out.daemon != "always" && out.daemon != "never") {
    return fail(Code::InvalidArgument, "invalid --daemon '" + out.daemon + "': expected auto, always or never");
  }
  if (vm.count("api_socket")) {
    out.api_socket = vm["api_socket"].as<std::string>();
    if (out.api_socket.empty() || out.api_socket[0] != '/') {
      return fail(Code::InvalidArgument, "--api_socket must be an absolute path, got '" + out.api_socket + "'");
    }
  }
  return {};
}

}  // namespace

namespace {

// WARREN_<NAME> -> option name, for every option of `desc` ('.', '/' and
// '-' in a name are '_' in the environment).
std::function<std::string(const std::string&)> envMapper(const po::options_description& desc) {
  auto names = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& o : desc.options()) {
    std::string env = "WARREN_";
    for (char c : o->long_name()) env += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    if (o->long_name() != "help" && o->long_name() != "version") (*names)[env] = o->long_name();
  }
  return [names](const std::string& env) {
    auto it = names->find(env);
    return it == names->end() ? std::string() : it->second;
  };
}

// Command line, then environment, then --config file.
Result<void> parseSources(int end, char** argv, const po::options_description& desc, bool lenient,
                          po::variables_map& vm) {
  try {
    auto cl = po::command_line_parser(end, argv).options(desc).style(kStyle);
    if (lenient) cl.allow_unregistered();
    po::store(cl.run(), vm);
    po::store(po::parse_environment(desc, envMapper(desc)), vm);
    if (vm.count("config")) {
      std::string path = vm["config"].as<std::string>();
      std::ifstream f(path);
      if (!f) {
        return fail(Code::InvalidArgument, "cannot read config file '" + path + "': " + std::strerror(errno));
      }
      try {
        po::store(po::parse_config_file(f, desc, lenient), vm);
      } catch (const std::exception& e) {
        return fail(Code::InvalidArgument, "config file '" + path + "': " + e.what());
      }
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    return fail(Code::InvalidArgument, e.what());
  }
  return {};
}

}  // namespace

Result<void> parseGlobal(int argc, char** argv, GlobalFlags& out, int& sub) {
  // Phase 1: warren's own flags only, to learn where the plugins are.
  auto core = coreDescription();
  WARREN_ASSIGN_OR_RETURN(int first, findSubcommand(argc, argv, core, true));
  int end = first;
  if (end > 1 && end <= argc && std::string(argv[end - 1]) == "--") --end;
  po::variables_map pre;
  WARREN_TRY(parseSources(end, argv, core, true, pre));
  std::vector<std::string> dirs;
  if (pre.count("plugin_dir")) dirs = splitList(pre["plugin_dir"].as<Strings>(), true);
  if (dirs.empty()) dirs = defaultPluginDirs();
  // The descriptor cache spares opening unchanged plugin files; it may be
  // rewritten, so not when only help or the version is asked for.
  bool readOnly = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    readOnly = readOnly || a == "-h" || a == "--help" || a == "help" || a == "--version" || a == "__generate";
  }
  std::string runtime = pre.count("runtime_dir") ? pre["runtime_dir"].as<std::string>() : "";
  discoverPluginFlags(dirs, readOnly || runtime.empty() || !std::filesystem::is_directory(runtime)
                                ? std::string()
                                : runtime + "/plugins.cache");
  // Phase 2: everything, strictly.
  auto desc = globalDescription();
  WARREN_ASSIGN_OR_RETURN(sub, findSubcommand(argc, argv, desc, false));
  end = sub;
  if (end > 1 && end <= argc && std::string(argv[end - 1]) == "--") --end;
  po::variables_map vm;
  WARREN_TRY(parseSources(end, argv, desc, false, vm));
  return checkGlobal(vm, out);
}

Result<int> parseGlobal(int argc, char** argv, GlobalFlags& out) {
  int sub = argc;
  WARREN_TRY(parseGlobal(argc, argv, out, sub));
  return sub;
}

std::string globalHelp() {
  std::ostringstream s;
  s << globalDescription();
  return s.str();
}

Result<void> parseCommand(const CommandSpec& spec, const std::vector<std::string>& args,
                          po::variables_map& vm) {
  po::options_description all;
  all.add(spec.options()).add(commonOptions());
  po::options_description hidden;
  po::positional_options_description pos;
  for (const auto& p : spec.positional) {
    std::string name = stripDots(p);
    bool rest = name != p;
    if (rest) hidden.add_options()(name.c_str(), po::value<Strings>());
    else hidden.add_options()(name.c_str(), po::value<std::string>());
    pos.add(name.c_str(), rest ? -1 : 1);
  }
  all.add(hidden);
  // `-it` / `-ti` as Docker and Podman spell them (sticky short options are
  // otherwise off): the only two switches that may be joined.
  std::vector<std::string> expanded;
  bool rest = false;
  for (const auto& a : args) {
    rest = rest || a == "--";
    if (!rest && (a == "-it" || a == "-ti")) {
      expanded.push_back("-i");
      expanded.push_back("-t");
    } else {
      expanded.push_back(a);
    }
  }
  try {
    po::store(po::command_line_parser(expanded).options(all).positional(pos).style(kStyle).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::string m = "warren " + spec.name + ": " + e.what();
    if (spec.positional == Strings{"command..."}) m += " (put the command after --)";
    return fail(Code::InvalidArgument, m);
  }
  return {};
}

std::string usageText() {
  std::ostringstream s;
  s << "usage: warren [GLOBAL FLAGS] COMMAND [ARGS]\n\n"
       "warren runs containers, nested containers and task groups; isolation and images come from\n"
       "plugins. `warren COMMAND --help` describes one command.\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string sum = c.summary.substr(0, c.summary.find(". ") == std::string::npos ? std::string::npos
                                                                                   : c.summary.find(". ") + 1);
    s << "  " << c.synopsis << "\n      " << sum << "\n";
  }
  s << "\nexit status: the container's own code for run and wait (128+N when killed by signal N);\n"
       "125 when warren itself failed, 126 when the command could not be executed, 127 when it\n"
       "was not found.\n\n";
  s << globalDescription();
  return s.str();
}

std::string commandHelp(const CommandSpec& c) {
  std::ostringstream s;
  s << "usage: warren [GLOBAL FLAGS] " << c.synopsis << "\n\n" << c.summary << "\n\n";
  auto opts = c.options();
  if (!opts.options().empty()) s << opts << "\n";
  s << commonOptions();
  return s.str();
}

std::string versionNumber() { return WARREN_VERSION; }

std::string versionText() {
  return std::string("warren ") + WARREN_VERSION + " (plugin SDK ABI " + std::to_string(WARREN_ABI_MAJOR) +
         "." + std::to_string(WARREN_ABI_MINOR) + ")\n";
}

Result<uint64_t> parseSize(const std::string& flag, const std::string& text) {
  auto bad = [&] {
    return fail(Code::InvalidArgument, "invalid " + flag + " '" + text +
                                           "': expected a positive size like 512M, 2G or 65536");
  };
  if (text.empty() || text[0] == '-') return bad();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || !(v > 0) || !std::isfinite(v)) return bad();
  std::string unit(end);
  for (auto& c : unit) c = static_cast<char>(std::tolower(c));
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "ki" || unit == "kib") mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mi" || unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gi" || unit == "gib") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "ti" || unit == "tib") mult = 1024.0 * 1024 * 1024 * 1024;
  else return bad();
  double bytes = v * mult;
  if (bytes < 1 || bytes > 1.8e19) return bad();
  return static_cast<uint64_t>(bytes);
}

Result<double> parseCpus(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !(v > 0) || !std::isfinite(v)) {
    return fail(Code::InvalidArgument, "invalid --cpus '" + text + "': expected a positive number like 0.5");
  }
  return v;
}

Result<uint64_t> parseDurationMs(const std::string& flag, const std::string& text) {
  auto bad = [&] {
    return fail(Code::InvalidArgument, "invalid " + flag + " '" + text +
                                           "': expected a positive duration like 1500ms, 90s, 5m or 2h");
  };
  if (text.empty() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0]))) {
    return bad();
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || !std::isfinite(v)) return bad();
  std::string unit(end);
  double mult = 0;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60.0 * 1000;
  else if (unit == "h") mult = 3600.0 * 1000;
  else return bad();
  double ms = v * mult;
  if (ms < 1 || ms > 1e15) return bad();
  return static_cast<uint64_t>(ms);
}

Result<uint64_t> parsePositive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || v <= 0) {
    return fail(Code::InvalidArgument, "invalid " + flag + " '" + text + "': expected a positive integer");
  }
  return static_cast<uint64_t>(v);
}

Result<int> parseSignal(const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0') {
    if (v > 0 && v < 65) return static_cast<int>(v);
  } else {
    std::string name = text;
    for (auto& c : name) c = static_cast<char>(std::toupper(c));
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    for (int s = 1; s < 65; ++s) {
      const char* abbrev = ::sigabbrev_np(s);
      if (abbrev != nullptr && name == abbrev) return s;
    }
  }
  return fail(Code::InvalidArgument, "invalid signal '" + text + "'");
}

}  // namespace warren::cli
