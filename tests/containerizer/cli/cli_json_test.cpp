// The CLI with real containers: exit codes (Podman's), the JSON schema of
// every command against golden files, run --json keeping the container's
// output apart, ps filters and inspect.
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "cli_helpers.hpp"
#include "fixture.hpp"

namespace warren::testing {
namespace {

class ROOT_CliJson : public ContainerizerTest {
 protected:
  std::vector<std::string> base() {
    return {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
            "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir, "--isolation", "pid"};
  }
  CmdResult warren(std::vector<std::string> args) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  }
  nlohmann::json json(std::vector<std::string> args, int want_exit = 0) {
    args.insert(args.begin(), "--json");
    auto r = warren(args);
    EXPECT_EQ(r.exit_code, want_exit) << args[1] << ": " << r.err;
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << args[1] << " printed no JSON: " << r.out;
    return doc;
  }
};

TEST_F(ROOT_CliJson, ExitCodesAsPodmans) {
  EXPECT_EQ(warren({"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "exit 3"}).exit_code, 3);
  auto nf = warren({"run", "--rootfs", rootfs_, "--", "/no/such/command"});
  EXPECT_EQ(nf.exit_code, 127) << nf.err;
  EXPECT_EQ(std::count(nf.err.begin(), nf.err.end(), '\n'), 1) << nf.err;
  EXPECT_NE(nf.err.find("/no/such/command"), std::string::npos) << nf.err;
  auto nx = warren({"run", "--rootfs", rootfs_, "--", "/etc"});  // a directory: EACCES
  EXPECT_EQ(nx.exit_code, 126) << nx.err;
  auto sig = warren({"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "kill -9 $$"});
  EXPECT_EQ(sig.exit_code, 128 + SIGKILL) << sig.err;
  // warren's own failures: 125, never a code a command could also return
  // by accident in the 1-3 range.
  EXPECT_EQ(warren({"wait", "nobody"}).exit_code, 125);
  auto lf = warren({"run", "--rootfs", env_.root + "/no-rootfs", "--", "/bin/true"});
  EXPECT_EQ(lf.exit_code, 125);
  EXPECT_EQ(std::count(lf.err.begin(), lf.err.end(), '\n'), 1) << "a failure is printed once: " << lf.err;
  EXPECT_EQ(warren({"run", "--bogus"}).exit_code, 125);
  expectEmptyState();
}

TEST_F(ROOT_CliJson, RunJsonKeepsTheContainersOutputApart) {
  auto r = warren({"--json", "run", "--id", "r1", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                   "echo to-stdout; echo to-stderr >&2; exit 4"});
  EXPECT_EQ(r.exit_code, 4);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "stdout is one JSON document: " << r.out;
  EXPECT_EQ(doc["id"], "r1");
  EXPECT_EQ(doc["exit_code"], 4);
  EXPECT_TRUE(matchesGolden("run", doc));
  EXPECT_NE(r.err.find("to-stdout\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("to-stderr\n"), std::string::npos) << r.err;
  expectEmptyState();
}

// Issue #18's config fields as flags: --rootfs_writable writes into the
// rootfs dir itself, --max_completion_time ends the command with
// MAX_COMPLETION_TIME, --disk is resources.disk_bytes (refused here: no
// disk isolator in --isolation).
TEST_F(ROOT_CliJson, RootfsWritableMaxCompletionTimeAndDiskFlags) {
  std::string rw = env_.makeRootfs("rw");
  auto r = warren({"--json", "run", "--id", "late", "--rootfs", rw, "--rootfs_writable", "--max_completion_time",
                   "500ms", "--", "/bin/sh", "-c", "touch /written; sleep 30"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["termination"]["reason"], "MAX_COMPLETION_TIME") << r.out;
  EXPECT_EQ(::access((rw + "/written").c_str(), F_OK), 0) << "--rootfs_writable wrote into the rootfs dir";
  auto d = warren({"run", "--rootfs", rootfs_, "--disk", "10M", "--", "/bin/true"});
  EXPECT_EQ(d.exit_code, 125);
  EXPECT_NE(d.err.find("resources.disk_bytes is set but no isolator in --isolation takes it"), std::string::npos)
      << d.err;
  expectEmptyState();
}

TEST_F(ROOT_CliJson, EveryCommandsSchemaMatchesItsGoldenFile) {
  auto launched = json({"launch", "--id", "pod", "--rootfs", rootfs_, "--env", "A=1", "--", "/bin/sleep", "300"});
  EXPECT_EQ(launched["id"], "pod");
  EXPECT_TRUE(launched["pid"].is_number());
  EXPECT_TRUE(matchesGolden("launch", launched));
  json({"launch", "--parent", "pod", "--id", "web", "--", "/bin/sleep", "300"});
  auto ps = json({"ps"});
  ASSERT_EQ(ps.size(), 2u) << ps.dump();
  EXPECT_EQ(ps[1]["id"], "pod.web");
  EXPECT_EQ(ps[1]["parent"], "pod");
  EXPECT_EQ(ps[1]["depth"], 2);
  EXPECT_TRUE(matchesGolden("ps", ps));
  auto status = json({"status", "pod.web"});
  EXPECT_EQ(status["id"], "pod.web") << "one ID form: the dotted string";
  EXPECT_TRUE(matchesGolden("status", status));
  auto usage = json({"usage", "pod"});
  EXPECT_TRUE(usage["mem_usage_bytes"].is_number()) << "uint64 as a number: " << usage.dump();
  EXPECT_TRUE(matchesGolden("usage", usage));
  auto inspect = json({"inspect", "pod"});
  EXPECT_EQ(inspect["config"]["command"]["value"], "/bin/sleep");
  EXPECT_EQ(inspect["config"]["env"]["A"], "1");
  EXPECT_TRUE(inspect["limits"]["mem_bytes"].is_number());
  EXPECT_TRUE(inspect["mounts"].is_array());
  EXPECT_TRUE(inspect["network"].is_object());
  EXPECT_TRUE(matchesGolden("inspect", inspect));
  auto plugins = json({"plugins"});
  EXPECT_TRUE(matchesGolden("plugins", plugins));
  auto killed = json({"kill", "pod.web", "TERM"});
  EXPECT_EQ(killed["signal"], SIGTERM);
  EXPECT_TRUE(matchesGolden("kill", killed));
  auto waited = json({"wait", "pod.web"}, 128 + SIGTERM);
  EXPECT_EQ(waited["exit_code"], 128 + SIGTERM);
  EXPECT_EQ(waited["termination"]["signal"], SIGTERM);
  EXPECT_TRUE(matchesGolden("wait", waited));
  auto recovered = json({"recover"});
  EXPECT_TRUE(matchesGolden("recover", recovered));
  auto destroyed = json({"destroy", "pod"});
  EXPECT_EQ(destroyed["id"], "pod");
  EXPECT_TRUE(matchesGolden("destroy", destroyed));
  auto empty = json({"ps"});
  EXPECT_EQ(empty, nlohmann::json::array());
  expectEmptyState();
}

TEST_F(ROOT_CliJson, GroupCommandsSchemas) {
  ASSERT_EQ(warren({"launch", "--id", "gp", "--rootfs", rootfs_, "--", "/bin/sleep", "300"}).exit_code, 0);
  ASSERT_TRUE(fs::writeFile(env_.root + "/g.json",
                            R"({"name":"g","members":[{"name":"a","config":{"command":{"value":"/bin/sh",)"
                            R"("arguments":["-c","exit 0"]}}}]})"));
  auto launched = json({"group", "launch", "--parent", "gp", env_.root + "/g.json"});
  EXPECT_EQ(launched["members"][0]["id"], "gp.a");
  EXPECT_TRUE(matchesGolden("group_launch", launched));
  auto waited = json({"group", "wait", "gp", "g"});
  EXPECT_EQ(waited["members"][0]["exit_code"], 0);
  EXPECT_TRUE(matchesGolden("group_wait", waited));
  EXPECT_EQ(warren({"destroy", "gp"}).exit_code, 0);
  expectEmptyState();
}

TEST_F(ROOT_CliJson, PsFiltersAndInspect) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--id", "p", "--rootfs", rootfs_, "--", "/bin/sleep", "300"},
           {"--parent", "p", "--id", "a", "--", "/bin/sleep", "300"},
           {"--parent", "p.a", "--id", "b", "--", "/bin/sh", "-c", "exit 0"},
           {"--id", "q", "--rootfs", rootfs_, "--", "/bin/sleep", "300"}}) {
    args.insert(args.begin(), "launch");
    ASSERT_EQ(warren(args).exit_code, 0);
  }
  auto ids = [&](std::vector<std::string> filter) {
    filter.insert(filter.begin(), "ps");
    std::vector<std::string> out;
    for (const auto& c : json(filter)) out.push_back(c["id"]);
    return out;
  };
  EXPECT_EQ(ids({"--parent", "p"}), (std::vector<std::string>{"p.a", "p.a.b"}));
  EXPECT_EQ(ids({"--no-nested"}), (std::vector<std::string>{"p", "q"}));
  ASSERT_TRUE(eventually([&] { return ids({"--state", "TERMINATED"}) == std::vector<std::string>{"p.a.b"}; }));
  EXPECT_EQ(ids({"--state", "running", "--no_nested", "--parent", "p"}), std::vector<std::string>{});
  EXPECT_EQ(ids({"--state", "RUNNING,TERMINATED", "--parent", "p.a"}), std::vector<std::string>{"p.a.b"});
  auto text = warren({"ps", "--parent", "p"});
  EXPECT_EQ(text.out.find("q "), std::string::npos) << text.out;
  EXPECT_EQ(warren({"wait", "p.a.b"}).exit_code, 0);  // collects the termination
  auto in = json({"inspect", "p.a.b"});
  EXPECT_EQ(in["parent"], "p.a");
  EXPECT_EQ(in["state"], "TERMINATED");
  EXPECT_EQ(in["termination"]["exit_code"], 0);
  auto missing = warren({"inspect", "p.zz"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_EQ(missing.err, "warren: unknown container 'p.zz'\n");
  EXPECT_EQ(warren({"destroy", "p"}).exit_code, 0);
  EXPECT_EQ(warren({"destroy", "q"}).exit_code, 0);
  expectEmptyState();
}

// --volume strings go to the volumes plugin, which parses them in prepare;
// the CLI does not know the grammar.
TEST_F(ROOT_CliJson, VolumeSpecsAreTheVolumesPluginsToParse) {
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir",
                                     env_.runtime_dir, "--cgroups_root", env_.cgroups_root, "--plugin_dir",
                                     env_.plugin_dir, "--isolation", "filesystem/linux,pid,volumes"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  };
  auto ok = with({"run", "--rootfs", rootfs_, "--volume", "tmpfs:1m:/scratch", "--volume", "sandbox:data:/data",
                  "--", "/bin/sh", "-c", "grep -c ' /scratch tmpfs ' /proc/mounts; test -d /data && echo data"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "1\ndata\n");
  auto bad = with({"run", "--rootfs", rootfs_, "--volume", "bogus", "--", "/bin/true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("invalid volume 'bogus'"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  // Without the volumes plugin, a volume is refused, not ignored.
  auto none = warren({"run", "--rootfs", rootfs_, "--volume", "tmpfs:1m:/scratch", "--", "/bin/true"});
  EXPECT_EQ(none.exit_code, 125);
  EXPECT_NE(none.err.find("isolator 'volumes' is not enabled"), std::string::npos) << none.err;
  expectEmptyState();
}

// A vendor's plugin declares flags in its static describe(); the CLI
// registers them with no knowledge of the plugin: by flag (and alias),
// WARREN_<NAME> and the config file, typed, listed in --help.
TEST_F(ROOT_CliJson, PluginDeclaredFlagsByFlagEnvAndConfigFile) {
  std::string fixture = std::string(WARREN_FIXTURE_PLUGIN_DIR) + "/described.so";
  if (!fs::exists(fixture)) GTEST_SKIP() << "skipped: " << fixture << " not built (tests/plugins)";
  std::string vendor = env_.root + "/vendor";
  std::filesystem::create_directories(vendor);
  std::filesystem::copy_file(fixture, vendor + "/described.so");
  std::vector<std::string> common = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir",
                                     env_.runtime_dir, "--cgroups_root", env_.cgroups_root, "--plugin_dir",
                                     env_.plugin_dir + "," + vendor, "--isolation", "pid,described"};
  auto flags = [&](std::vector<std::string> pre, std::vector<std::string> env = {}) {
    auto argv = common;
    argv.insert(argv.end(), pre.begin(), pre.end());
    argv.insert(argv.end(), {"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                             "echo $FLAG_described_color $FLAG_described_size"});
    return runCmd(argv, std::chrono::seconds(60), env);
  };
  auto help = runCmd({env_.warren_bin, "--plugin_dir", env_.plugin_dir + "," + vendor, "--help"});
  EXPECT_NE(help.out.find("--described_color arg"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--color arg"), std::string::npos) << "the declared alias: " << help.out;
  EXPECT_NE(help.out.find("the widget's color"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Plugin described:"), std::string::npos) << help.out;
  EXPECT_EQ(flags({}).out, "blue 1M\n") << "declared defaults";
  EXPECT_EQ(flags({"--described_color", "red"}).out, "red 1M\n");
  EXPECT_EQ(flags({"--color=teal"}).out, "teal 1M\n");
  EXPECT_EQ(flags({}, {"WARREN_DESCRIBED_COLOR=green"}).out, "green 1M\n");
  EXPECT_EQ(flags({"--described_color", "red"}, {"WARREN_DESCRIBED_COLOR=green"}).out, "red 1M\n")
      << "the command line wins";
  ASSERT_TRUE(fs::writeFile(env_.root + "/w.conf", "described_size = 2M\ncolor = yellow\n"));
  EXPECT_EQ(flags({"--config", env_.root + "/w.conf"}).out, "yellow 2M\n");
  auto bad = flags({"--described_size", "huge"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(bad.err, "warren: invalid --described_size 'huge': expected a positive size like 512M, 2G or 65536\n");
  // Without the plugin, its flags do not exist.
  auto gone = runCmd({env_.warren_bin, "--plugin_dir", env_.plugin_dir, "--described_color", "red", "ps"});
  EXPECT_EQ(gone.exit_code, 125);
  EXPECT_NE(gone.err.find("unknown global flag '--described_color'"), std::string::npos) << gone.err;
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
