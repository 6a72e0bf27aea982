#include "generate.hpp"

#include <cstdio>
#include <set>
#include <sstream>

#include "flags.hpp"
#include "output.hpp"
#include "plugin_flags.hpp"

namespace warren::cli {

namespace {

std::string roff(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\') o += "\\\\";
    else if (c == '-') o += "\\-";
    else o += c;
  }
  if (!o.empty() && (o[0] == '.' || o[0] == '\'')) o = "\\&" + o;
  return o;
}

void manOptions(std::ostringstream& s, const po::options_description& d) {
  for (const auto& o : d.options()) {
    s << ".TP\n\\fB" << roff(o->format_name()) << "\\fR";
    std::string p = o->format_parameter();
    if (!p.empty()) s << " \\fI" << roff(p) << "\\fR";
    s << "\n" << roff(o->description()) << "\n";
  }
}

std::string man() {
  std::ostringstream s;
  s << ".TH WARREN 1 \"\" \"warren " << versionNumber() << "\" \"User Commands\"\n"
    << ".SH NAME\nwarren \\- run containers, nested containers and task groups\n"
    << ".SH SYNOPSIS\n\\fBwarren\\fR [\\fIGLOBAL FLAGS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
    << ".SH DESCRIPTION\nwarren is a plugin-based Linux containerizer. It needs no daemon: state lives "
       "under \\fB\\-\\-work_dir\\fR and \\fB\\-\\-runtime_dir\\fR, so a container launched by one "
       "warren process can be waited on, killed or destroyed by another. When warrend answers on its socket "
       "(\\fB\\-\\-daemon\\fR=auto, the default), changes go through it instead; \\fBwarren events\\fR needs it. "
       "Every isolator and image "
       "provisioner is a plugin. Every command accepts \\fB\\-h\\fR/\\fB\\-\\-help\\fR (prints help, "
       "runs nothing) and \\fB\\-\\-json\\fR.\n"
    << ".SH GLOBAL FLAGS\nGlobal flags come before the command. Each is also settable as "
       "\\fBWARREN_\\fR\\fINAME\\fR in the environment (e.g. \\fBWARREN_WORK_DIR\\fR) and as "
       "\\fIname\\fR = \\fIvalue\\fR in the \\fB\\-\\-config\\fR file; the command line wins over the "
       "environment, which wins over the file. Abbreviated flags are refused. List flags take "
       "repeated flags and comma-separated values.\n";
  manOptions(s, coreDescription());
  s << ".SH PLUGIN FLAGS\nFlags declared by the plugins found in the plugin directories when this page was "
       "made (each plugin's static describe()); each is also settable as \\fBWARREN_\\fR\\fINAME\\fR and in "
       "the config file, and is handed to every plugin under its declared name. "
       "\\fBwarren \\-\\-help\\fR lists those of the plugins installed.\n";
  manOptions(s, pluginFlagDescription());
  s << ".SH COMMANDS\n";
  for (const auto& c : commands()) {
    s << ".SS \"" << roff(c.synopsis) << "\"\n" << roff(c.summary) << "\n";
    auto d = c.options();
    if (!d.options().empty()) manOptions(s, d);
  }
  s << ".SH JSON OUTPUT\nWith \\fB\\-\\-json\\fR, stdout holds one JSON document; a container ID is "
       "always the dotted string (\"pod.web\"), numbers are numbers, enums are names, and every field "
       "is present. A failure is one object on stderr: "
       "{\"error\":{\"code\":\"not found\",\"message\":\"unknown container 'x'\"}}. "
       "\\fBrun \\-\\-json\\fR sends the command's stdout to warren's stderr.\n"
    << ".SH EXIT STATUS\n.TP\n\\fB0\\fR\nsuccess (for run and wait: the command exited 0)\n"
       ".TP\n\\fB125\\fR\nwarren itself failed: bad flags or arguments, unknown container, a plugin "
       "or kernel error, a container warren could not set up\n"
       ".TP\n\\fB126\\fR\nthe command was found but could not be executed\n"
       ".TP\n\\fB127\\fR\nthe command was not found\n"
       ".TP\n\\fIN\\fR\nrun and wait: the command's own exit code, or 128+\\fIN\\fR when it was killed "
       "by signal \\fIN\\fR\n"
    << ".SH ENVIRONMENT\n.TP\n\\fBWARREN_\\fR\\fINAME\\fR\nany global flag, e.g. "
       "WARREN_PLUGIN_DIR=/a:/b\n.TP\n\\fBJOURNAL_STREAM\\fR\nset by systemd: when it names stderr, "
       "log lines carry journald <N> priority prefixes\n"
    << ".SH FILES\n.TP\n/var/lib/warren\ndefault \\-\\-work_dir\n.TP\n/run/warren\ndefault "
       "\\-\\-runtime_dir\n"
    << ".SH SEE ALSO\nThe README and docs/architecture.md of the warren sources.\n";
  return s.str();
}

std::vector<std::string> longNames(const po::options_description& d) {
  std::vector<std::string> v;
  for (const auto& o : d.options()) {
    v.push_back("--" + o->long_name());
  }
  return v;
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

bool takesValue(const po::option_description& o) { return o.semantic()->max_tokens() > 0; }

std::string bash() {
  std::ostringstream s;
  std::vector<std::string> top;
  std::set<std::string> seen;
  for (const auto& c : commands()) {
    std::string w = c.name.substr(0, c.name.find(' '));
    if (seen.insert(w).second) top.push_back(w);
  }
  std::vector<std::string> gvalued;
  const auto global = globalDescription();
  for (const auto& o : global.options()) {
    if (takesValue(*o)) gvalued.push_back("--" + o->long_name());
  }
  s << "# bash completion for warren (generated by `warren __generate bash`)\n"
    << "_warren() {\n"
    << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    << "  local i=1 cmd=\"\" globals=()\n"
    << "  local gvalued=\" " << join(gvalued) << " \"\n"
    << "  while (( i < COMP_CWORD )); do\n"
    << "    local w=${COMP_WORDS[i]}\n"
    << "    if [[ -z $cmd && $w == -* ]]; then\n"
    << "      globals+=(\"$w\")\n"
    << "      if [[ $gvalued == *\" $w \"* ]]; then (( i++ )); globals+=(\"${COMP_WORDS[i]}\"); fi\n"
    << "    elif [[ -z $cmd ]]; then cmd=$w\n"
    << "    elif [[ ($cmd == group || $cmd == images) && $w != -* ]]; then cmd=\"$cmd $w\"\n"
    << "    fi\n"
    << "    (( i++ ))\n"
    << "  done\n"
    << "  case $prev in\n"
    << "    --config|--log_file|--rootfs|--init_path|--work_dir|--runtime_dir|--plugin_dir|--workdir)\n"
    << "      COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n"
    << "    --log_level) COMPREPLY=($(compgen -W 'trace debug info warn error critical off' -- \"$cur\")); return;;\n"
    << "    --log_format) COMPREPLY=($(compgen -W 'text json' -- \"$cur\")); return;;\n"
    << "  esac\n"
    << "  case $cmd in\n"
    << "    \"\")\n"
    << "      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '" << join(longNames(globalDescription()))
    << "' -- \"$cur\"))\n"
    << "      else COMPREPLY=($(compgen -W '" << join(top) << "' -- \"$cur\")); fi;;\n";
  for (const auto& c : commands()) {
    auto opts = longNames(c.options());
    opts.push_back("--help");
    opts.push_back("--json");
    bool ids = !c.positional.empty() && (c.positional[0] == "id" || c.positional[0] == "parent");
    s << "    \"" << c.name << "\")\n"
      << "      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '" << join(opts) << "' -- \"$cur\"))\n";
    if (ids) {
      s << "      else COMPREPLY=($(compgen -W \"$(warren \"${globals[@]}\" ps --json 2>/dev/null | "
           "sed -n 's/^ *\"id\": \"\\(.*\\)\",$/\\1/p')\" -- \"$cur\")); fi;;\n";
    } else if (c.positional == std::vector<std::string>{"file"} || c.positional == std::vector<std::string>{"command..."}) {
      s << "      else COMPREPLY=($(compgen -f -- \"$cur\")); fi;;\n";
    } else {
      s << "      fi;;\n";
    }
  }
  s << "    group) COMPREPLY=($(compgen -W 'launch wait kill destroy' -- \"$cur\"));;\n"
    << "    images) COMPREPLY=($(compgen -W 'ls pull prune' -- \"$cur\"));;\n"
    << "  esac\n}\ncomplete -F _warren warren\n";
  return s.str();
}

std::string zshSpec(const po::option_description& o) {
  std::string desc = o.description();
  for (auto& ch : desc) {
    if (ch == '[' || ch == ']' || ch == '\'' || ch == ':') ch = ' ';
  }
  std::string spec = "'--" + o.long_name() + "[" + desc + "]";
  if (takesValue(o)) {
    std::string n = o.long_name();
    bool file = n == "config" || n == "log_file" || n == "rootfs" || n.find("dir") != std::string::npos ||
                n == "init_path";
    spec += ":" + n + ":" + (file ? "_files" : " ");
  }
  return spec + "'";
}

std::string zsh() {
  std::ostringstream s;
  s << "#compdef warren\n# zsh completion for warren (generated by `warren __generate zsh`)\n"
    << "_warren() {\n  local curcontext=$curcontext state line ret=1\n  typeset -A opt_args\n"
    << "  _arguments -C \\\n";
  const auto global = globalDescription();
  for (const auto& o : global.options()) s << "    " << zshSpec(*o) << " \\\n";
  s << "    '1:command:->command' '*::argument:->args' && ret=0\n"
    << "  case $state in\n    command)\n      local -a cmds\n      cmds=(\n";
  std::set<std::string> seen;
  for (const auto& c : commands()) {
    std::string w = c.name.substr(0, c.name.find(' '));
    if (!seen.insert(w).second) continue;
    std::string sum = c.name.find(' ') == std::string::npos ? c.summary.substr(0, c.summary.find('.')) : w + " subcommands";
    for (auto& ch : sum) {
      if (ch == '\'' || ch == ':') ch = ' ';
    }
    s << "        '" << w << ":" << sum << "'\n";
  }
  s << "      )\n      _describe -t commands 'warren command' cmds && ret=0;;\n    args)\n"
    << "      local cmd=$words[1]\n"
    << "      if [[ $cmd == group || $cmd == images ]]; then\n"
    << "        if (( CURRENT == 2 )); then\n"
    << "          [[ $cmd == group ]] && _values subcommand launch wait kill destroy && ret=0\n"
    << "          [[ $cmd == images ]] && _values subcommand ls pull prune && ret=0\n"
    << "          return ret\n        fi\n        cmd=\"$cmd $words[2]\"; shift words; (( CURRENT-- ))\n"
    << "      fi\n      case $cmd in\n";
  for (const auto& c : commands()) {
    s << "        '" << c.name << "') _arguments '(-h --help)'{-h,--help}'[print help]' '--json[JSON output]'";
    const auto opts = c.options();
    for (const auto& o : opts.options()) s << " " << zshSpec(*o);
    if (c.positional == std::vector<std::string>{"command..."}) s << " '*:command:_command_names'";
    else if (!c.positional.empty()) s << " '*:argument:_files'";
    s << " && ret=0;;\n";
  }
  s << "      esac;;\n  esac\n  return ret\n}\n_warren \"$@\"\n";
  return s.str();
}

}  // namespace

int generate(const std::vector<std::string>& what) {
  std::string w = what.empty() ? "" : what[0];
  if (w == "man") std::fputs(man().c_str(), stdout);
  else if (w == "bash") std::fputs(bash().c_str(), stdout);
  else if (w == "zsh") std::fputs(zsh().c_str(), stdout);
  else return Output::get().fail(Error(Code::InvalidArgument, "__generate takes man, bash or zsh"));
  return 0;
}

}  // namespace warren::cli
