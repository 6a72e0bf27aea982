#include "args.hpp"

#include <cctype>
#include <cstring>

namespace warren::oci {
namespace {

struct FlagDef {
  const char* name;
  const char* alias;  // short form or other spelling, "" when none
  bool takes_value;
};

struct CommandDef {
  const char* name;
  const char* synopsis;
  std::vector<FlagDef> flags;
  int min_args, max_args;
};

const std::vector<CommandDef>& commandTable() {
  static const std::vector<CommandDef> t = {
      {"create", "create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID",
       {{"bundle", "b", true}, {"pid-file", "", true}, {"console-socket", "", true}, {"no-pivot", "", false},
        {"no-new-keyring", "", false}, {"preserve-fds", "", true}},
       1, 1},
      {"start", "start ID", {}, 1, 1},
      {"state", "state ID", {}, 1, 1},
      {"kill", "kill [--all] ID [SIGNAL]", {{"all", "a", false}}, 1, 2},
      {"delete", "delete [--force] ID", {{"force", "f", false}}, 1, 1},
      {"ps", "ps [--format table|json] ID", {{"format", "f", true}}, 1, 1},
      {"pause", "pause ID", {}, 1, 1},
      {"resume", "resume ID", {}, 1, 1},
      {"update", "update --resources FILE|- ID", {{"resources", "r", true}}, 1, 1},
      {"exec", "exec --process FILE [--detach] [--pid-file F] [--tty] [--console-socket S] ID",
       {{"process", "p", true}, {"detach", "d", false}, {"pid-file", "", true}, {"tty", "t", false},
        {"console-socket", "", true}, {"preserve-fds", "", true}},
       1, 1},
      {"features", "features", {}, 0, 0},
      {"spec", "spec [--bundle DIR]", {{"bundle", "b", true}}, 0, 0},
      {"list", "list [--format table|json]", {{"format", "f", true}, {"quiet", "q", false}}, 0, 0},
  };
  return t;
}

// "--name=value", "--name value", "-name value": the flag's name and, when
// given with '=', its value.
bool splitFlag(const std::string& a, std::string* name, std::string* value, bool* has_value) {
  if (a.size() < 2 || a[0] != '-') return false;
  std::string s = a.substr(a[1] == '-' ? 2 : 1);
  auto eq = s.find('=');
  *has_value = eq != std::string::npos;
  *name = s.substr(0, eq);
  if (*has_value) *value = s.substr(eq + 1);
  return !name->empty();
}

}  // namespace

std::string usage() {
  std::string s =
      "usage: warren-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND ...\n"
      "The OCI runtime command line (runc's) in front of warren.\n\ncommands:\n";
  for (const auto& c : commandTable()) s += std::string("  ") + c.synopsis + "\n";
  return s + "\nwarren-oci --version prints the version and the runtime-spec version.\n";
}

Result<void> parseArgs(int argc, char** argv, Global& g, Command& cmd) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a[0] != '-') break;
    std::string name, value;
    bool has_value = false;
    splitFlag(a, &name, &value, &has_value);
    auto need = [&](std::string* out) -> Result<void> {
      if (has_value) {
        *out = value;
        return {};
      }
      if (i + 1 >= argc) return fail(Code::InvalidArgument, "flag --" + name + " needs a value");
      *out = argv[++i];
      return {};
    };
    if (name == "root") WARREN_TRY(need(&g.root));
    else if (name == "log") WARREN_TRY(need(&g.log));
    else if (name == "log-format") WARREN_TRY(need(&g.log_format));
    else if (name == "systemd-cgroup") g.systemd_cgroup = !has_value || value == "true";
    else if (name == "debug") g.debug = !has_value || value == "true";
    else if (name == "version" || name == "v") g.version = true;
    else if (name == "help" || name == "h") g.help = true;
    else return fail(Code::InvalidArgument, "unknown global flag '" + a + "' (see warren-oci --help)");
  }
  if (g.log_format != "text" && g.log_format != "json") {
    return fail(Code::InvalidArgument, "--log-format must be text or json, not '" + g.log_format + "'");
  }
  if (g.root.empty() || g.root[0] != '/') {
    return fail(Code::InvalidArgument, "--root must be an absolute path, not '" + g.root + "'");
  }
  if (i >= argc) return {};
  cmd.name = argv[i++];
  const CommandDef* def = nullptr;
  for (const auto& c : commandTable()) {
    if (cmd.name == c.name) def = &c;
  }
  if (def == nullptr) return fail(Code::InvalidArgument, "unknown command '" + cmd.name + "' (see warren-oci --help)");
  bool only_args = false;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    std::string name, value;
    bool has_value = false;
    if (!only_args && a == "--") {
      only_args = true;
      continue;
    }
    if (only_args || a == "-" || !splitFlag(a, &name, &value, &has_value)) {
      cmd.args.push_back(a);
      continue;
    }
    if (name == "help" || name == "h") {
      g.help = true;
      continue;
    }
    // A signal number given as "-9" after the ID is a positional.
    if (!cmd.args.empty() && cmd.name == "kill" && std::isdigit(static_cast<unsigned char>(name[0]))) {
      cmd.args.push_back(a);
      continue;
    }
    const FlagDef* f = nullptr;
    for (const auto& d : def->flags) {
      if (name == d.name || (*d.alias && name == d.alias)) f = &d;
    }
    if (f == nullptr) {
      return fail(Code::InvalidArgument, "'" + cmd.name + "': unknown flag '" + a + "' (usage: warren-oci " +
                                             def->synopsis + ")");
    }
    if (!f->takes_value) {
      cmd.flags[f->name] = has_value ? value : "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) return fail(Code::InvalidArgument, "'" + cmd.name + "': flag --" + f->name + " needs a value");
      value = argv[++i];
    }
    cmd.flags[f->name] = value;
  }
  if (g.help) return {};
  int n = static_cast<int>(cmd.args.size());
  if (n < def->min_args || n > def->max_args) {
    return fail(Code::InvalidArgument, "usage: warren-oci " + std::string(def->synopsis));
  }
  return {};
}

}  // namespace warren::oci
