#include "flags.hpp"

#include <signal.h>
#include <string.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace warren::cli {

namespace {

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

po::options_description globalDescription() {
  po::options_description d("Global flags (each also settable as WARREN_<NAME> or in --config)");
  d.add_options()
      ("work_dir", po::value<std::string>()->default_value("/var/lib/warren"), "persistent state: sandboxes, image layers")
      ("runtime_dir", po::value<std::string>()->default_value("/run/warren"), "runtime state: checkpoints, exit statuses")
      ("isolation", po::value<std::string>()->default_value("filesystem/linux,pid,network,volumes,cgroups,seccomp"), "isolators, comma-separated")
      ("plugin_dir", po::value<std::vector<std::string>>()->composing(), "plugin directory (repeatable)")
      ("cgroups_root", po::value<std::string>()->default_value("/warren"), "absolute cgroup root for all containers")
      ("config", po::value<std::string>(), "config file with the same flags, one `name = value` per line")
      ("init_path", po::value<std::string>(), "path of warren-init")
      ("log_level", po::value<std::string>()->default_value("warn"), "trace, debug, info, warn, error")
      ("network_bridge", po::value<std::string>()->default_value("warren0"), "bridge for bridged containers")
      ("network_cidr", po::value<std::string>(), "address range for bridged containers (enables bridge mode by default)")
      ("host_path_allowlist", po::value<std::string>(), "comma-separated host path prefixes volumes may use")
      ("cgroups_enable_cfs", po::value<bool>()->default_value(false), "hard CPU limits with the CFS quota")
      ("cgroups_hierarchy", po::value<std::string>(), "where the cgroup hierarchies are mounted (default /sys/fs/cgroup)")
      ("image_provisioner_backend", po::value<std::string>(), "overlay, copy or bind (default: auto)")
      ("registry_insecure", po::value<std::string>(), "comma-separated HOST:PORT registries reached over plain HTTP")
      ("image_max_manifest_bytes", po::value<std::string>(), "largest image manifest/index read (default 4M)")
      ("image_max_config_bytes", po::value<std::string>(), "largest image config read (default 8M)")
      ("image_max_unpacked_bytes", po::value<std::string>(), "largest unpacked image, all layers (default 8G)")
      ("image_max_files", po::value<std::string>(), "most files in one image, all layers (default 1000000)")
      ("isolator_config", po::value<std::vector<std::string>>()->composing(), "SHORT_NAME=JSON typed config for a plugin (repeatable)")
      ("plugin_isolation", po::value<std::vector<std::string>>()->composing(), "process or inprocess for every plugin, or SHORT_NAME=process|inprocess (repeatable); default: process for third-party plugins, inprocess for warren's own")
      ("plugin_call_timeout_ms", po::value<int>()->default_value(60000), "deadline of one plugin call")
      ("kill_grace", po::value<double>()->default_value(10.0), "destroy: seconds between SIGTERM and SIGKILL (0: SIGKILL at once)")
      ("pull", po::value<std::string>(), "image pull policy: missing (default; a stored registry image launches offline), always, never")
      ("claims_dir", po::value<std::string>()->default_value("/run/warren-claims"), "where instances claim their --cgroups_root (empty: no claim)")
      ("json", po::bool_switch(), "machine-readable output");
  return d;
}

}  // namespace

std::string globalHelp() {
  std::ostringstream s;
  s << globalDescription();
  return s.str();
}

Result<int> parseGlobal(int argc, char** argv, GlobalFlags& out) {
  // Global flags come before the subcommand.
  int sub = 1;
  while (sub < argc && std::strncmp(argv[sub], "--", 2) == 0) {
    std::string a = argv[sub];
    if (a == "--json" || a.find('=') != std::string::npos) {
      ++sub;
    } else if (a == "--help") {
      ++sub;
    } else {
      sub += 2;
    }
  }
  if (sub > argc) sub = argc;
  auto desc = globalDescription();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(sub, argv).options(desc).run(), vm);
    po::store(po::parse_environment(desc, [&](const std::string& env) -> std::string {
                if (env.rfind("WARREN_", 0) != 0) return "";
                std::string name = env.substr(7);
                for (auto& c : name) c = static_cast<char>(std::tolower(c));
                return desc.find_nothrow(name, false) ? name : "";
              }),
              vm);
    if (vm.count("config")) {
      std::string path = vm["config"].as<std::string>();
      std::ifstream f(path);
      if (!f) {
        return fail(Code::InvalidArgument, "cannot read config file '" + path + "': " +
                                               std::strerror(errno));
      }
      po::store(po::parse_config_file(f, desc), vm);
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    return fail(Code::InvalidArgument, e.what());
  }
  auto& o = out.options;
  o.work_dir = vm["work_dir"].as<std::string>();
  o.runtime_dir = vm["runtime_dir"].as<std::string>();
  o.cgroups_root = vm["cgroups_root"].as<std::string>();
  o.isolation = splitList(vm["isolation"].as<std::string>());
  if (vm.count("plugin_dir")) o.plugin_dirs = vm["plugin_dir"].as<std::vector<std::string>>();
  if (vm.count("init_path")) o.init_path = vm["init_path"].as<std::string>();
  out.log_level = vm["log_level"].as<std::string>();
  out.json = vm["json"].as<bool>();
  o.plugin_flags["network_bridge"] = vm["network_bridge"].as<std::string>();
  o.plugin_flags["cgroups_enable_cfs"] = vm["cgroups_enable_cfs"].as<bool>() ? "true" : "false";
  for (const char* k : {"network_cidr", "host_path_allowlist", "image_provisioner_backend",
                        "registry_insecure", "cgroups_hierarchy", "image_max_manifest_bytes",
                        "image_max_config_bytes", "image_max_unpacked_bytes", "image_max_files", "pull"}) {
    if (vm.count(k)) o.plugin_flags[k] = vm[k].as<std::string>();
  }
  if (vm.count("isolator_config")) {
    for (const auto& kv : vm["isolator_config"].as<std::vector<std::string>>()) {
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
  if (ms <= 0) return fail(Code::InvalidArgument, "--plugin_call_timeout_ms must be positive");
  o.plugin_call_deadline = std::chrono::milliseconds(ms);
  double grace = vm["kill_grace"].as<double>();
  if (!(grace >= 0) || grace > 86400) {
    return fail(Code::InvalidArgument, "--kill_grace must be between 0 and 86400 seconds");
  }
  o.kill_grace = std::chrono::milliseconds(static_cast<int64_t>(grace * 1000));
  o.claims_dir = vm["claims_dir"].as<std::string>();
  return sub;
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
