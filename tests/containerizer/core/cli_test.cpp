// The `warren` CLI end to end: separate processes sharing state on disk.
#include <signal.h>

#include "fixture.hpp"

namespace warren::testing {
namespace {

class ROOT_Cli : public ContainerizerTest {
 protected:
  std::vector<std::string> base() {
    return {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
            "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir,
            "--isolation", "pid"};
  }
  CmdResult warren(std::vector<std::string> args) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  }
};

TEST_F(ROOT_Cli, RunPrintsOutputAndExitsWithTheCommandsCode) {
  auto r = warren({"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "echo hi; exit 3"});
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  expectEmptyState();
}

TEST_F(ROOT_Cli, LaunchedByOneProcessWaitedByAnother) {
  auto l = warren({"launch", "--id", "detached", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                   "sleep 0.5; echo done; exit 9"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(l.out, "detached\n");
  auto ps = warren({"ps"});
  EXPECT_NE(ps.out.find("detached"), std::string::npos);
  auto w = warren({"wait", "detached"});
  EXPECT_EQ(w.exit_code, 9) << w.err;
  EXPECT_EQ(stdoutOf("detached"), "done\n");
  auto d = warren({"destroy", "detached"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  expectEmptyState();
}

TEST_F(ROOT_Cli, ExitedWhileNoWarrenRanStillReportsTheCode) {
  auto l = warren({"launch", "--id", "early", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "exit 42"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  // No warren process is running now; the container ends on its own.
  auto st = warren({"--json", "status", "early"});
  ASSERT_TRUE(eventually([&] {
    return warren({"status", "early"}).out.find("TERMINATED") != std::string::npos;
  }));
  auto w = warren({"wait", "early"});
  EXPECT_EQ(w.exit_code, 42) << w.err;
  EXPECT_EQ(warren({"destroy", "early"}).exit_code, 0);
}

TEST_F(ROOT_Cli, KillBySignalNameExitsWith128PlusN) {
  ASSERT_EQ(warren({"launch", "--id", "k", "--rootfs", rootfs_, "--", "/bin/sleep", "300"}).exit_code, 0);
  EXPECT_EQ(warren({"kill", "k", "TERM"}).exit_code, 0);
  auto w = warren({"wait", "k"});
  EXPECT_EQ(w.exit_code, 128 + SIGTERM);
  EXPECT_EQ(warren({"destroy", "k"}).exit_code, 0);
}

TEST_F(ROOT_Cli, BadInputIsOneClearLine) {
  auto r = warren({"run", "--id", "bad/id", "--rootfs", rootfs_, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "warren: invalid container ID 'bad/id': only [A-Za-z0-9_-] are allowed\n");
  auto w = warren({"wait", "nobody"});
  EXPECT_EQ(w.err, "warren: unknown container 'nobody'\n");
  auto cfg = runCmd({env_.warren_bin, "--config", env_.root + "/missing.conf", "ps"});
  EXPECT_EQ(cfg.exit_code, 125);
  EXPECT_NE(cfg.err.find("cannot read config file '" + env_.root + "/missing.conf'"), std::string::npos)
      << cfg.err;
  auto iso = runCmd({env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
                     "--plugin_dir", env_.plugin_dir, "--isolation", "pid,bogus", "ps"});
  EXPECT_NE(iso.err.find("unknown isolator 'bogus'"), std::string::npos) << iso.err;
  expectEmptyState();
}

TEST_F(ROOT_Cli, FlagsFromEnvironmentAndConfigFile) {
  ASSERT_TRUE(fs::writeFile(env_.root + "/warren.conf",
                            "work_dir = " + env_.work_dir + "\nruntime_dir = " + env_.runtime_dir +
                                "\nisolation = pid\nplugin_dir = " + env_.plugin_dir + "\n"));
  auto r = runCmd({env_.warren_bin, "--config", env_.root + "/warren.conf", "run", "--rootfs", rootfs_,
                   "--", "/bin/sh", "-c", "exit 6"},
                  std::chrono::seconds(60), {"WARREN_CGROUPS_ROOT=" + env_.cgroups_root});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
