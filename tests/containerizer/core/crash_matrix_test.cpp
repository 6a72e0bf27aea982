// The crash-point matrix (issue #13): the `warren` process is SIGKILLed at
// every named step of launch and destroy (WARREN_FAULT_KILL_AT, an internal
// fault-injection point), and of group launch and update. For each step,
// `recover` - and separately a plain
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

const char* const kGroupSteps[] = {"group-member-isolated", "group-prepared", "group-decided"};
const char* const kUpdateSteps[] = {"update-applied"};

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

template <size_t N>
std::vector<Point> pointsOf(const char* const (&steps)[N]) {
  std::vector<Point> out;
  for (const char* s : steps) {
    for (const char* r : {"recover", "destroy"}) out.push_back({s, r});
  }
  return out;
}
std::vector<Point> launchPoints() { return pointsOf(kLaunchSteps); }
std::vector<Point> destroyPoints() { return pointsOf(kDestroySteps); }

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
using ROOT_CrashMatrixGroup = CrashMatrix;
using ROOT_CrashMatrixUpdate = CrashMatrix;

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

// A task group of two under a running parent, the group launch killed at
// each step. Before the release decision the group is undone by whoever comes
// next and no member's command ran; after it, both members run: all or
// nothing either way.
TEST_P(ROOT_CrashMatrixGroup, AllOrNothingSurvivesTheKill) {
  const Point pt = GetParam();
  auto l = warren({"launch", "--id", "gp", "--rootfs", rootfs_, "--", "/bin/sleep", "300"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  std::string member = R"({"name":"%s","config":{"command":{"value":"/bin/sh",)"
                       R"("arguments":["-c","echo started; exec sleep 300"]}}})";
  auto m = [&](const char* n) {
    std::string x = member;
    return x.replace(x.find("%s"), 2, n);
  };
  ASSERT_TRUE(fs::writeFile(env_.root + "/g.json", R"({"name":"g","members":[)" + m("a") + "," + m("b") + "]}"));
  auto g = warren({"group", "launch", "--parent", "gp", env_.root + "/g.json"},
                  {std::string("WARREN_FAULT_KILL_AT=") + pt.step});
  ASSERT_EQ(g.exit_code, 128 + SIGKILL) << pt.step << ": " << g.err;
  bool decided = std::string(pt.step) == "group-decided";
  auto sandbox = [&](const char* n) { return env_.work_dir + "/sandboxes/gp/containers/" + n + "/stdout"; };
  auto out = [&](const char* n) {
    auto t = fs::readFile(sandbox(n));
    return t ? *t : std::string();
  };
  if (std::string(pt.resolver) == "recover") {
    auto r = warren({"recover"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* n : {"a", "b"}) {
      auto s = warren({"status", std::string("gp.") + n});
      if (decided) {
        EXPECT_NE(s.out.find("RUNNING"), std::string::npos) << n << ": " << s.out << s.err;
        EXPECT_TRUE(eventually([&] { return out(n) == "started\n"; })) << n;
      } else {
        EXPECT_NE(s.exit_code, 0) << n << " was undone: " << s.out;
        EXPECT_EQ(out(n), "") << n << "'s command ran before the decision";
      }
    }
    EXPECT_NE(warren({"status", "gp"}).out.find("RUNNING"), std::string::npos) << "the parent is untouched";
  }
  auto d = warren({"destroy", "gp"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  expectZeroResidue();
}

INSTANTIATE_TEST_SUITE_P(Steps, ROOT_CrashMatrixGroup, ::testing::ValuesIn(pointsOf(kGroupSteps)), pointName);

// An update killed after the isolators applied it: the container keeps
// running, a repeated update succeeds, and it is destroyed without residue.
TEST_P(ROOT_CrashMatrixUpdate, TheContainerKeepsRunningAndUpdatesAgain) {
  const Point pt = GetParam();
  auto l = warren({"launch", "--id", "m", "--mem", "96M", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                   "echo started; exec sleep 300"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  ASSERT_TRUE(eventually([&] { return stdoutOf("m") == "started\n"; }));
  auto u = warren({"update", "m", "--mem", "64M"}, {std::string("WARREN_FAULT_KILL_AT=") + pt.step});
  ASSERT_EQ(u.exit_code, 128 + SIGKILL) << u.err;
  if (std::string(pt.resolver) == "recover") {
    auto r = warren({"recover"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(warren({"status", "m"}).out.find("RUNNING"), std::string::npos);
    auto again = warren({"update", "m", "--mem", "64M"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
  }
  auto d = warren({"destroy", "m"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  expectZeroResidue();
}

INSTANTIATE_TEST_SUITE_P(Steps, ROOT_CrashMatrixUpdate, ::testing::ValuesIn(pointsOf(kUpdateSteps)), pointName);

}  // namespace
}  // namespace warren::testing
