// warren: the embedded CLI. No daemon: state lives on disk like runc's, so a
// container launched by one `warren` process can be waited on, killed or
// destroyed by another.
//
// Nothing is created, read from state or logged before the arguments are
// fully parsed: `--help` and `--version` on any command print and exit 0.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "flags.hpp"
#include "generate.hpp"
#include "logging.hpp"
#include "output.hpp"
#include "warren/sdk/abi.h"

namespace {

using namespace warren;
using namespace warren::cli;

std::string familyHelp(const std::string& family) {
  std::string s = "usage: warren [GLOBAL FLAGS] " + family + " SUBCOMMAND [ARGS]\n\nsubcommands:\n";
  for (const auto& c : commands()) {
    if (c.name.rfind(family + " ", 0) == 0) s += "  " + c.synopsis + "\n      " + c.summary + "\n";
  }
  return s + "\n`warren " + family + " SUBCOMMAND --help` describes one.\n";
}

bool isFamily(const std::string& w) { return w == "group" || w == "images"; }

int printHelp(const std::vector<std::string>& topic) {
  std::string t;
  for (const auto& w : topic) t += (t.empty() ? "" : " ") + w;
  if (t.empty()) {
    std::fputs(usageText().c_str(), stdout);
    return 0;
  }
  if (isFamily(t)) {
    std::fputs(familyHelp(t).c_str(), stdout);
    return 0;
  }
  const auto* c = findCommand(t);
  if (c == nullptr) return Output::get().fail(Error(Code::InvalidArgument, "no help on unknown command '" + t + "'"));
  std::fputs(commandHelp(*c).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto& out = Output::get();
  for (int i = 1; i < argc && std::string(argv[i]) != "--"; ++i) {
    if (std::string(argv[i]) == "--json") out.setJson(true);  // so that a parse error is JSON too
  }
  GlobalFlags g;
  int sub = argc;
  if (auto r = parseGlobal(argc, argv, g, sub); !r) return out.fail(r.error());
  if (g.json) out.setJson(true);
  if (g.version) {
    if (out.json()) {
      out.print({{"version", versionNumber()}, {"sdk_abi", {{"major", WARREN_ABI_MAJOR}, {"minor", WARREN_ABI_MINOR}}}});
    } else {
      std::fputs(versionText().c_str(), stdout);
    }
    return 0;
  }
  if (sub >= argc) {
    if (g.help) return printHelp({});
    std::fputs(usageText().c_str(), stderr);
    return kExitWarren;
  }
  std::string word = argv[sub];
  int next = sub + 1;
  if (word == "__generate") return generate(std::vector<std::string>(argv + next, argv + argc));
  if (isFamily(word)) {
    std::string w2 = next < argc ? argv[next] : "";
    if (g.help || w2 == "-h" || w2 == "--help") return printHelp({word});
    if (w2.empty() || w2[0] == '-') {
      std::fputs(familyHelp(word).c_str(), stderr);
      return kExitWarren;
    }
    word += " " + w2;
    ++next;
  }
  const auto* spec = findCommand(word);
  if (spec == nullptr) {
    return out.fail(Error(Code::InvalidArgument, "unknown command '" + word + "' (see warren --help)"));
  }
  po::variables_map vm;
  if (auto r = parseCommand(*spec, std::vector<std::string>(argv + next, argv + argc), vm); !r) {
    return out.fail(r.error());
  }
  if (g.help || vm["help"].as<bool>()) return printHelp({word});
  if (word == "help") {
    return printHelp(vm.count("topic") ? vm["topic"].as<std::vector<std::string>>() : std::vector<std::string>{});
  }
  if (vm["json"].as<bool>()) out.setJson(true);
  g.json = out.json();
  if (word == "run" || word == "events") {
    sigset_t fwd = runForwardedSignals();
    sigprocmask(SIG_BLOCK, &fwd, nullptr);  // inherited by every thread made from here on
  }
  auto log = setUpLogging(g.log);
  if (!log) return out.fail(log.error());
  int code = dispatch(*spec, vm, g, *log);
  releaseHeldLogs("");
  return code;
}
