// The crash-point matrix (issue #13): the `warren` process is SIGKILLed at
// every named step of launch and destroy (WARREN_FAULT_KILL_AT, an internal
// fault-injection point). For each step, `recover` - and separately a plain
// `destroy` - leaves zero residue, and a container that had started is
// either running or has its real exit status. Deterministic: the kill
// happens at the step itself, and every wait below is a positive barrier.
#include <signal.h>

#include "fixture.hpp"
#include "residue.hpp"

namespace warren::testing {
namespace {

const char* const kLaunchSteps[] = {
    "launch-begun",        "launch-preparing", "launch-isolating",           "launch-spawned",
    "launch-pid-checkpointed", "launch-isolated", "launch-running-checkpointed", "launch-released",
};
const char* const kDestroySteps[] = {
    "destroy-begin", "destroy-checkpointed", "destroy-children-killed", "destroy-killed", "destroy-finished",
};

bool initAlive(const std::string& runtime_dir) {
  for (const auto& p : listDir("/proc")) {
    if (p.find_first_not_of("0123456789") != std::string::npos) continue;
    if (initRuntimeDir(p).find(runtime_dir) != std::string::npos) return true;
  }
  return false;
}

struct Point {
  const char* step;
  const char* resolver;  // "recover" or "destroy"
};

std::vector<Point> launchPoints() {
  std::vector<Point> out;
  for (const char* s : kLaunchSteps) {
    for (const char* r : {"recover", "destroy"}) out.push_back({s, r});
  }
  return out;
}

std::vector<Point> destroyPoints() {
  std::vector<Point> out;
  for (const char* s : kDestroySteps) {
    for (const char* r : {"recover", "destroy"}) out.push_back({s, r});
  }
  return out;
}

std::string pointName(const ::testing::TestParamInfo<Point>& p) {
  std::string n = std::string(p.param.step) + "_then_" + p.param.resolver;
  for (auto& c : n) if (c == '-') c = '_';
  return n;
}

class CrashMatrix : public ContainerizerTest, public ::testing::WithParamInterface<Point> {
 protected:
  CmdResult warren(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir",
                                     env_.runtime_dir, "--cgroups_root", env_.cgroups_root,
                                     "--plugin_dir", env_.plugin_dir, "--isolation", "pid,cgroups",
                                     "--kill_grace", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(60), env);
  }

  void launchKilledAt(const char* step) {
    auto l = warren({"launch", "--id", "m", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                     "echo started; exec sleep 300"},
                    {std::string("WARREN_FAULT_KILL_AT=") + step});
    ASSERT_EQ(l.exit_code, 128 + SIGKILL) << step << ": " << l.err;
  }

  void expectZeroResidue() {
    auto d = warren({"ps"});
    EXPECT_EQ(d.exit_code, 0) << d.err;
    expectEmptyState();
    EXPECT_TRUE(eventually([&] { return !initAlive(env_.runtime_dir); })) << "a warren-init remains";
    auto left = findResidue(tag());
    EXPECT_TRUE(left.empty()) << left.front();
  }
};

using ROOT_CrashMatrixLaunch = CrashMatrix;
using ROOT_CrashMatrixDestroy = CrashMatrix;

TEST_P(ROOT_CrashMatrixLaunch, RecoverOrDestroyLeavesNothingAndStartedMeansRunning) {
  const Point pt = GetParam();
  launchKilledAt(pt.step);
  bool released = std::string(pt.step) == "launch-released";
  if (std::string(pt.resolver) == "recover") {
    auto r = warren({"recover"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto s = warren({"status", "m"});
    if (released) {
      // It had started: it is running, and its command really runs.
      EXPECT_NE(s.out.find("RUNNING"), std::string::npos) << s.out << s.err;
      EXPECT_TRUE(eventually([&] { return stdoutOf("m") == "started\n"; }));
    } else if (std::string(pt.step) == "launch-running-checkpointed") {
      // Its command never ran: it ends as a failed launch, not RUNNING forever.
      auto w = warren({"--json", "wait", "m"});
      EXPECT_NE(w.out.find("LAUNCH_FAILED"), std::string::npos) << w.out << w.err;
      EXPECT_EQ(stdoutOf("m"), "");
    } else {
      EXPECT_NE(s.exit_code, 0) << "an interrupted launch is undone: " << s.out;
    }
  }
  // A plain destroy finishes whatever is left (and is all it takes without recover).
  auto d = warren({"destroy", "m"});
  bool gone = std::string(pt.resolver) == "recover" && !released &&
              std::string(pt.step) != "launch-running-checkpointed";
  if (gone) {
    EXPECT_NE(d.err.find("unknown container 'm'"), std::string::npos) << d.err;
  } else {
    EXPECT_EQ(d.exit_code, 0) << d.err;
  }
  expectZeroResidue();
}

INSTANTIATE_TEST_SUITE_P(Steps, ROOT_CrashMatrixLaunch, ::testing::ValuesIn(launchPoints()), pointName);

TEST_P(ROOT_CrashMatrixDestroy, RecoverOrDestroyFinishesTheDestroy) {
  const Point pt = GetParam();
  auto l = warren({"launch", "--id", "m", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "echo started; exec sleep 300"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  ASSERT_TRUE(eventually([&] { return stdoutOf("m") == "started\n"; }));
  auto d = warren({"destroy", "m"}, {std::string("WARREN_FAULT_KILL_AT=") + pt.step});
  ASSERT_EQ(d.exit_code, 128 + SIGKILL) << d.err;
  if (std::string(pt.resolver) == "recover") {
    // recover completes an interrupted destroy: nothing left to destroy.
    auto r = warren({"recover"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto s = warren({"status", "m"});
    bool begun = std::string(pt.step) != "destroy-begin";
    if (begun) {
      EXPECT_NE(s.err.find("unknown container 'm'"), std::string::npos) << s.out << s.err;
    } else {
      EXPECT_NE(s.out.find("RUNNING"), std::string::npos) << "not destroyed yet: still running";
    }
  }
  auto again = warren({"destroy", "m"});
  EXPECT_TRUE(again.exit_code == 0 || again.err.find("unknown container 'm'") != std::string::npos)
      << again.err;
  expectZeroResidue();
}

INSTANTIATE_TEST_SUITE_P(Steps, ROOT_CrashMatrixDestroy, ::testing::ValuesIn(destroyPoints()), pointName);

}  // namespace
}  // namespace warren::testing
