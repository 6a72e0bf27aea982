#include "daemon_flags.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

namespace warren::daemon {

namespace {

struct OwnFlag {
  const char* name;
  const char* help;
};

constexpr OwnFlag kOwn[] = {
    {"api_socket", "the API's Unix socket (default <runtime_dir>/warrend.sock)"},
    {"max_body_bytes", "largest request body; larger ones get 413 before they are read (default 4M)"},
    {"max_connections", "connections served at once; more get 503 (default 1024)"},
    {"header_timeout_ms", "time a client has to send a request's header (default 10000)"},
    {"body_timeout_ms", "time a client has to send a request's body (default 30000)"},
    {"log_format", "text or json (default text)"},
    {"worker_threads", "threads finishing terminated containers (default 4)"},
    {"delegated_cgroup", "cgroup v2 under a unit with Delegate=yes: move into <own cgroup>/supervisor, containers "
                         "under <own cgroup>/containers (the default --cgroups_root then); a switch (default false)"},
};

bool isOwn(const std::string& name) {
  for (const auto& f : kOwn) {
    if (name == f.name) return true;
  }
  return false;
}

Result<int64_t> positive(const std::string& name, const std::string& v) {
  if (name == "max_body_bytes") {
    WARREN_ASSIGN_OR_RETURN(auto n, cli::parseSize("--" + name, v));
    return static_cast<int64_t>(n);
  }
  WARREN_ASSIGN_OR_RETURN(auto n, cli::parsePositive("--" + name, v));
  return static_cast<int64_t>(n);
}

}  // namespace

std::string daemonHelp() {
  std::string s =
      "usage: warrend [FLAGS]\n\n"
      "warrend: the warren supervisor and its Mesos v1 agent API on a Unix socket.\n\n"
      "Daemon flags (each also settable as WARREN_<NAME>):\n";
  for (const auto& f : kOwn) s += "  --" + std::string(f.name) + "  " + f.help + "\n";
  return s + "\n" + cli::globalHelp();
}

Result<DaemonFlags> parseDaemonFlags(int argc, char** argv) {
  std::map<std::string, std::string> own;
  for (const auto& f : kOwn) {
    std::string env = "WARREN_";
    for (const char* c = f.name; *c; ++c) env += static_cast<char>(std::toupper(*c));
    if (const char* v = std::getenv(env.c_str())) own[f.name] = v;
  }
  // Take our own flags out; the rest goes to the CLI's parser unchanged.
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      return fail(Code::InvalidArgument, "unexpected argument '" + a + "' (warrend takes only flags)");
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "daemon") {
      return fail(Code::InvalidArgument, "--daemon is a flag of the warren CLI, not of warrend");
    }
    if (!isOwn(name)) {
      rest.push_back(argv[i]);
      if (!has_value && a != "--json" && a != "--help" && i + 1 < argc) rest.push_back(argv[++i]);
      continue;
    }
    if (!has_value && name == "delegated_cgroup") {
      value = "true";  // a switch; --delegated_cgroup=false turns it off
    } else if (!has_value) {
      if (i + 1 >= argc) return fail(Code::InvalidArgument, "flag --" + name + " needs a value");
      value = argv[++i];
    }
    own[name] = value;
  }
  DaemonFlags d;
  auto sub = cli::parseGlobal(static_cast<int>(rest.size()), rest.data(), d.global);
  if (!sub) return fail(sub.error());
  if (*sub < static_cast<int>(rest.size())) {
    return fail(Code::InvalidArgument, "unexpected argument '" + std::string(rest[*sub]) + "'");
  }
  for (const auto& [name, value] : own) {
    if (name == "api_socket") {
      if (value.empty() || value[0] != '/') {
        return fail(Code::InvalidArgument, "--api_socket must be an absolute path, got '" + value + "'");
      }
      d.api_socket = value;
    } else if (name == "delegated_cgroup") {
      if (value != "true" && value != "false") {
        return fail(Code::InvalidArgument, "invalid --delegated_cgroup '" + value + "': expected true or false");
      }
      d.delegated_cgroup = value == "true";
    } else if (name == "log_format") {
      if (value != "text" && value != "json") {
        return fail(Code::InvalidArgument, "invalid --log_format '" + value + "': expected text or json");
      }
      d.log_format = value;
    } else {
      WARREN_ASSIGN_OR_RETURN(auto n, positive(name, value));
      if (name == "max_body_bytes") d.max_body_bytes = static_cast<uint64_t>(n);
      else if (name == "max_connections") d.max_connections = static_cast<int>(n);
      else if (name == "header_timeout_ms") d.header_timeout = std::chrono::milliseconds(n);
      else if (name == "body_timeout_ms") d.body_timeout = std::chrono::milliseconds(n);
      else if (name == "worker_threads") d.worker_threads = static_cast<int>(n);
    }
  }
  if (d.api_socket.empty()) d.api_socket = d.global.options.runtime_dir + "/warrend.sock";
  return d;
}

}  // namespace warren::daemon
