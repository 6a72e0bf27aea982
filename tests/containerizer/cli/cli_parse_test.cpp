// The CLI's parser without containers: help on every command (prints, exits
// 0, touches nothing on disk), --version, no prefix matching, unknown
// arguments and bad values refused with 125, IDs never taken from flags,
// list flags, errors as JSON, log formats, generated man page and completions.
#include <sys/stat.h>

#include <filesystem>

#include "cli_helpers.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

class CliParse : public ::testing::Test {
 protected:
  // State dirs that do not exist: no command in these tests may create them.
  std::string work() { return env_.root + "/untouched/work"; }
  std::string run() { return env_.root + "/untouched/run"; }
  std::vector<std::string> base() {
    return {env_.warren_bin, "--work_dir", work(), "--runtime_dir", run(), "--plugin_dir", env_.plugin_dir,
            "--isolation", "pid", "--cgroups_root", env_.cgroups_root, "--claims_dir", ""};
  }
  CmdResult warren(std::vector<std::string> args, std::vector<std::string> env = {}) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(60), env);
  }
  void expectUntouched() { EXPECT_EQ(treeOf(env_.root + "/untouched"), std::vector<std::string>{}); }
  TestEnv env_;
};

const std::vector<std::vector<std::string>> kCommands = {
    {"run"}, {"launch"}, {"wait"}, {"kill"}, {"destroy"}, {"status"}, {"usage"}, {"inspect"},
    {"update"}, {"ps"}, {"plugins"}, {"recover"}, {"group", "launch"}, {"group", "wait"},
    {"group", "kill"}, {"group", "destroy"}, {"images", "ls"}, {"images", "pull"}, {"images", "prune"},
    {"help"}, {"group"}, {"images"}};

TEST_F(CliParse, HelpOnEveryCommandPrintsAndTouchesNothing) {
  for (const auto& cmd : kCommands) {
    for (const char* h : {"--help", "-h"}) {
      auto args = cmd;
      args.push_back(h);
      auto r = warren(args);
      std::string what = args[0] + (args.size() > 2 ? " " + args[1] : "") + " " + h;
      EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
      EXPECT_EQ(r.out.rfind("usage: warren", 0), 0u) << what << ": " << r.out;
      EXPECT_EQ(r.err, "") << what;
    }
  }
  // Help wins over everything else on the line, even arguments that would
  // otherwise be refused, and `recover --help` recovers nothing.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"help"}, {"help", "run"}, {"help", "group", "launch"},
           {"recover", "--help"}, {"destroy", "pod", "--help"}, {"--help", "wait"}}) {
    auto r = warren(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_NE(r.out.find("usage: warren"), std::string::npos) << r.out;
  }
  EXPECT_NE(warren({"run", "--help"}).out.find("--volume"), std::string::npos);
  EXPECT_NE(warren({"--help"}).out.find("125"), std::string::npos) << "exit codes in the help";
  expectUntouched();
}

TEST_F(CliParse, VersionNamesTheSdkAbi) {
  auto r = runCmd({env_.warren_bin, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("warren 0.", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(plugin SDK ABI 1."), std::string::npos) << r.out;
  auto j = runCmd({env_.warren_bin, "--json", "--version"});
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_TRUE(doc["sdk_abi"]["major"].is_number()) << j.out;
  EXPECT_TRUE(matchesGolden("version", doc));
}

TEST_F(CliParse, NoPrefixMatching) {
  auto g = runCmd({env_.warren_bin, "--wor", work(), "ps"});
  EXPECT_EQ(g.exit_code, 125);
  EXPECT_EQ(g.err, "warren: unknown global flag '--wor' (global flags go before the command; see warren --help)\n");
  auto s = warren({"run", "--roo", "/", "--", "/bin/true"});
  EXPECT_EQ(s.exit_code, 125);
  EXPECT_EQ(s.err, "warren: warren run: unrecognised option '--roo' (put the command after --)\n");
  auto p = warren({"ps", "--no-nest"});
  EXPECT_EQ(p.exit_code, 125) << p.err;
  expectUntouched();
}

TEST_F(CliParse, UnknownArgumentsAndBadValuesAreRefused) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  std::vector<Case> cases = {
      {{"ps", "--nested"}, "warren: warren ps: unrecognised option '--nested'\n"},
      {{"ps", "p3"}, "warren: warren ps: too many positional options have been specified on the command line\n"},
      {{"wait", "a", "b"}, "warren: warren wait: too many positional options have been specified on the command line\n"},
      {{"--log_level", "loud", "ps"}, "warren: invalid --log_level 'loud': expected trace, debug, info, warn, error, critical or off\n"},
      {{"--log_format", "xml", "ps"}, "warren: invalid --log_format 'xml': expected text or json\n"},
      {{"--plugin_call_timeout_ms", "soon", "ps"}, "warren: the argument ('soon') for option '--plugin_call_timeout_ms' is invalid\n"},
      {{"--cgroups_enable_cfs", "maybe", "ps"}, "warren: invalid --cgroups_enable_cfs 'maybe': expected true or false\n"},
      {{"frobnicate"}, "warren: unknown command 'frobnicate' (see warren --help)\n"},
      {{"group", "explode", "x"}, "warren: unknown command 'group explode' (see warren --help)\n"},
      {{"run", "--mem", "lots", "--", "/bin/true"}, "warren: invalid --mem 'lots': expected a positive size like 512M, 2G or 65536\n"},
      {{"run", "--disk", "lots", "--", "/bin/true"}, "warren: invalid --disk 'lots': expected a positive size like 512M, 2G or 65536\n"},
      {{"run", "--max_completion_time", "5", "--", "/bin/true"}, "warren: invalid --max_completion_time '5': expected a positive duration like 1500ms, 90s, 5m or 2h\n"},
      {{"launch", "--max_completion_time", "-1s", "--", "/bin/true"}, "warren: invalid --max_completion_time '-1s': expected a positive duration like 1500ms, 90s, 5m or 2h\n"},
      {{"run", "--cpus", "-1", "--", "/bin/true"}, "warren: invalid --cpus '-1': expected a positive number like 0.5\n"},
      {{"run", "--env", "NOEQUALS", "--", "/bin/true"}, "warren: invalid --env 'NOEQUALS': expected KEY=VALUE\n"},
      {{"kill", "c1", "SIGNOPE"}, "warren: invalid signal 'SIGNOPE'\n"},
      {{"ps", "--state", "RUNNING,SLEEPY"}, ""},  // needs the store: checked below
  };
  for (const auto& c : cases) {
    auto r = warren(c.args);
    EXPECT_EQ(r.exit_code, 125) << c.args[0] << " " << c.args.back() << ": " << r.err;
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, c.err);
      EXPECT_EQ(r.out, "");
    }
  }
  auto st = warren({"ps", "--state", "RUNNING,SLEEPY"});
  EXPECT_NE(st.err.find("invalid --state 'SLEEPY'"), std::string::npos) << st.err;
}

TEST_F(CliParse, IdsAreNeverTakenFromFlagsOrEmpty) {
  auto r = warren({"wait", "-x"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "warren: warren wait: unrecognised option '-x'\n");
  auto e = warren({"run", "--id", "", "--", "/bin/true"});
  EXPECT_EQ(e.exit_code, 125);
  EXPECT_EQ(e.err, "warren: invalid container ID: empty\n");
  auto f = warren({"run", "--id", "-x", "--", "/bin/true"});
  EXPECT_EQ(f.exit_code, 125);
  EXPECT_EQ(f.err, "warren: invalid --id '-x': a container name given on the command line may not begin with '-'\n");
  auto w = warren({"wait", ""});
  EXPECT_EQ(w.exit_code, 125);
  EXPECT_EQ(w.err, "warren: invalid container ID: empty\n");
  auto n = warren({"wait"});
  EXPECT_EQ(n.exit_code, 125);
  EXPECT_EQ(n.err, "warren: warren wait needs a container ID (see warren wait --help)\n");
  expectUntouched();
}

TEST_F(CliParse, ListFlagsTakeRepeatsCommasAndColons) {
  std::string a = env_.root + "/none-a", b = env_.root + "/none-b", c = env_.root + "/none-c";
  // From the environment: ':' and ',' separate.
  auto r = runCmd({env_.warren_bin, "--work_dir", work(), "--runtime_dir", run(), "--isolation", "pid",
                   "--json", "plugins"},
                  std::chrono::seconds(60), {"WARREN_PLUGIN_DIR=" + env_.plugin_dir + ":" + a + "," + b});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::string errs = j["errors"].dump();
  EXPECT_NE(errs.find("plugin dir '" + a + "'"), std::string::npos) << errs;
  EXPECT_NE(errs.find("plugin dir '" + b + "'"), std::string::npos) << errs;
  // Repeated flags and commas on the command line.
  auto s = runCmd({env_.warren_bin, "--work_dir", work(), "--runtime_dir", run(), "--isolation", "pid",
                   "--plugin_dir", env_.plugin_dir + "," + a, "--plugin_dir", c, "--json", "plugins"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  errs = nlohmann::json::parse(s.out)["errors"].dump();
  EXPECT_NE(errs.find("plugin dir '" + a + "'"), std::string::npos) << errs;
  EXPECT_NE(errs.find("plugin dir '" + c + "'"), std::string::npos) << errs;
  // --flag=value and --flag value are the same.
  auto t = runCmd({env_.warren_bin, "--work_dir=" + work(), "--runtime_dir=" + run(), "--isolation=pid",
                   "--plugin_dir=" + env_.plugin_dir, "plugins", "--json"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("\"short_name\": \"pid\""), std::string::npos) << t.out;
}

TEST_F(CliParse, ErrorsArePrintedOnceAsTextOrOneJsonObject) {
  auto t = warren({"wait", "nobody"});
  EXPECT_EQ(t.exit_code, 125);
  EXPECT_EQ(t.err, "warren: unknown container 'nobody'\n");
  auto j = warren({"--json", "wait", "nobody"});
  EXPECT_EQ(j.exit_code, 125);
  EXPECT_EQ(j.out, "");
  ASSERT_EQ(std::count(j.err.begin(), j.err.end(), '\n'), 1) << j.err;
  auto doc = nlohmann::json::parse(j.err);
  EXPECT_EQ(doc["error"]["code"], "not found");
  EXPECT_EQ(doc["error"]["message"], "unknown container 'nobody'");
  EXPECT_TRUE(matchesGolden("error", doc));
  // A parse error after the subcommand's --json is JSON too.
  auto p = warren({"ps", "--json", "--bogus"});
  EXPECT_EQ(p.exit_code, 125);
  EXPECT_EQ(nlohmann::json::parse(p.err)["error"]["code"], "invalid argument") << p.err;
}

TEST_F(CliParse, ConfigFileAndEnvironment) {
  ASSERT_TRUE(fs::writeFile(env_.root + "/bad.conf", "work_dir = /x\nfrobnicate = 1\n"));
  auto r = runCmd({env_.warren_bin, "--config", env_.root + "/bad.conf", "ps"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "warren: config file '" + env_.root + "/bad.conf': unrecognised option 'frobnicate'\n");
  auto e = runCmd({env_.warren_bin, "ps"}, std::chrono::seconds(60), {"WARREN_LOG_LEVEL=loud"});
  EXPECT_EQ(e.exit_code, 125);
  EXPECT_NE(e.err.find("invalid --log_level 'loud'"), std::string::npos);
  ASSERT_TRUE(fs::writeFile(env_.root + "/good.conf", "work_dir = " + work() + "\nruntime_dir = " + run() +
                                                          "\nisolation = pid\nlog_format = json\n"));
  auto g = runCmd({env_.warren_bin, "--config", env_.root + "/good.conf", "--json", "plugins"},
                  std::chrono::seconds(60), {"WARREN_PLUGIN_DIR=" + env_.plugin_dir});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_TRUE(fs::exists(work())) << "the config file's work_dir is used";
}

TEST_F(CliParse, LogFormatsFileAndJournal) {
  std::string missing = env_.root + "/no-such-plugins";
  std::vector<std::string> cmd = {"--work_dir", work(), "--runtime_dir", run(), "--isolation", "pid",
                                  "--plugin_dir", env_.plugin_dir, "--plugin_dir", missing};
  auto w = [&](std::vector<std::string> pre) {
    std::vector<std::string> argv = {env_.warren_bin};
    argv.insert(argv.end(), pre.begin(), pre.end());
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    argv.push_back("plugins");
    return argv;
  };
  auto text = runCmd(w({}));
  EXPECT_NE(text.err.find(" warning warren: plugin dir '" + missing + "'"), std::string::npos) << text.err;
  auto json = runCmd(w({"--log_format", "json"}));
  ASSERT_FALSE(json.err.empty());
  auto line = nlohmann::json::parse(json.err.substr(0, json.err.find('\n')));
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["logger"], "warren");
  EXPECT_EQ(json.err.find(missing, json.err.find(missing) + 1), std::string::npos)
      << "the library logs this at two levels; printed once: " << json.err;
  EXPECT_NE(line["message"].get<std::string>().find(missing), std::string::npos);
  EXPECT_TRUE(matchesGolden("log_line", line));
  std::string logfile = env_.root + "/warren.log";
  auto file = runCmd(w({"--log_file", logfile}));
  EXPECT_EQ(file.err, "");
  auto logged = fs::readFile(logfile);
  ASSERT_TRUE(logged.has_value());
  EXPECT_NE(logged->find("plugin dir '" + missing + "'"), std::string::npos);
  // Under systemd, JOURNAL_STREAM names stderr: lines carry <N> priorities.
  std::string sh;
  for (const auto& a : w({})) sh += "'" + a + "' ";
  auto journal = runCmd({"/bin/sh", "-c",
                         "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec " + sh});
  EXPECT_EQ(journal.err.rfind("<4>warren: plugin dir '" + missing + "'", 0), 0u) << journal.err;
}

TEST_F(CliParse, ManPageAndCompletionsComeFromTheParser) {
  auto man = runCmd({env_.warren_bin, "__generate", "man"});
  ASSERT_EQ(man.exit_code, 0);
  for (const char* s : {".TH WARREN 1", ".SH EXIT STATUS", "125", "126", "127", "\\-\\-log_format",
                        "group launch \\-\\-parent ID FILE", "\\-\\-no_nested", "WARREN_"}) {
    EXPECT_NE(man.out.find(s), std::string::npos) << s;
  }
  auto bash = runCmd({env_.warren_bin, "__generate", "bash"});
  ASSERT_EQ(bash.exit_code, 0);
  ASSERT_TRUE(fs::writeFile(env_.root + "/warren.bash", bash.out));
  auto complete = [&](const std::string& words, int cword) {
    return runCmd({"/bin/bash", "-c",
                   "source " + env_.root + "/warren.bash; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                       std::to_string(cword) + "; _warren; echo \"${COMPREPLY[*]}\""});
  };
  EXPECT_NE(complete("warren ps --", 2).out.find("--no-nested"), std::string::npos);
  EXPECT_NE(complete("warren --work_dir /x gr", 3).out.find("group"), std::string::npos);
  EXPECT_NE(complete("warren group la", 2).out.find("launch"), std::string::npos);
  EXPECT_NE(complete("warren --log_level ", 2).out.find("debug"), std::string::npos);
  auto zsh = runCmd({env_.warren_bin, "__generate", "zsh"});
  ASSERT_EQ(zsh.exit_code, 0);
  EXPECT_EQ(zsh.out.rfind("#compdef warren", 0), 0u);
  if (!fs::exists("/usr/bin/zsh") && !fs::exists("/bin/zsh")) {
    std::printf("[  SKIPPED ] zsh syntax check: zsh is not installed\n");
    return;
  }
  ASSERT_TRUE(fs::writeFile(env_.root + "/_warren", zsh.out));
  auto check = runCmd({"zsh", "-n", env_.root + "/_warren"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
}

}  // namespace
}  // namespace warren::testing
