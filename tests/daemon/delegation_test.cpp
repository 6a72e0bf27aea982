// warrend --delegated_cgroup: as the main process of a systemd unit with
// Delegate=yes on a cgroup v2 host, it moves itself into
// <unit>/supervisor and puts its containers under <unit>/containers, so the
// unit's cgroup holds no process and can pass controllers down. The v2 VM
// lane (tests/vm) runs the v2 test; on this v1 host the flag is refused.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "daemon_fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

bool unifiedWithMemory() {
  auto c = fs::readFile("/sys/fs/cgroup/cgroup.controllers");
  return c && c->find("memory") != std::string::npos;
}

std::string firstLine(const std::string& path) {
  auto t = fs::readFile(path);
  if (!t) return "<unreadable " + path + ">";
  return t->substr(0, t->find('\n'));
}

TEST(ROOT_WarrendDelegated, ContainersGoBelowTheUnitsCgroupAndWarrendIntoItsSupervisorLeaf) {
  WARREN_REQUIRE_ROOT();
  if (!unifiedWithMemory()) GTEST_SKIP() << "skipped: needs a cgroup v2 host with the memory controller (tests/vm)";
  TestEnv env;
  std::string unit_rel = "/" + tag() + ".service";
  std::string unit = "/sys/fs/cgroup" + unit_rel;
  ASSERT_EQ(::mkdir(unit.c_str(), 0755), 0) << unit;
  struct RemoveUnit {  // also after a failed assertion
    std::string unit;
    ~RemoveUnit() {
      for (const char* sub : {"/supervisor", "/containers", ""}) {
        std::string dir = unit + sub;
        EXPECT_TRUE(::rmdir(dir.c_str()) == 0 || errno == ENOENT) << "left: " << dir << ": " << std::strerror(errno);
      }
    }
  } remove_unit{unit};
  {
    Warrend d(env, {"filesystem/linux", "pid", "cgroups"}, {"--delegated_cgroup"});
    d.start_in_cgroup = unit;
    d.start();
    EXPECT_EQ(firstLine("/proc/" + std::to_string(d.pid()) + "/cgroup"), "0::" + unit_rel + "/supervisor");
    Json launch = launchCall("job", "sleep 300", TestEnv::busyboxRootfs());
    launch["launch_container"]["resources"] = Json::array(
        {{{"name", "mem"}, {"type", "SCALAR"}, {"scalar", {{"value", 64}}}}});
    auto r = d.call(launch);
    ASSERT_EQ(r.status, 200) << r.body << d.log();
    // The limit lands in the unit's subtree, which passed memory down though
    // warrend started in it.
    EXPECT_EQ(firstLine(unit + "/containers/job/memory.max"), std::to_string(64u << 20));
    EXPECT_NE(firstLine(unit + "/cgroup.subtree_control").find("memory"), std::string::npos);
    EXPECT_EQ(firstLine(unit + "/cgroup.procs"), "") << "the unit's own cgroup must hold no process";
    d.removeAll();
    d.stop();
    EXPECT_FALSE(fs::exists(unit + "/containers/job"));
  }
}

TEST(ROOT_WarrendDelegated, RefusedWithOneLineOffAUnifiedHostOrFromTheRootCgroup) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  bool v2 = unifiedWithMemory();
  auto own = fs::readFile("/proc/self/cgroup");
  bool in_root = own && own->find("0::/\n") != std::string::npos;
  if (v2 && !in_root) GTEST_SKIP() << "skipped: on a v2 host this test must run in the root cgroup";
  auto r = runCmd({std::string(WARREN_TEST_BIN_DIR) + "/warrend", "--delegated_cgroup", "--work_dir=" + env.work_dir,
                   "--runtime_dir=" + env.runtime_dir, "--plugin_dir=" + env.plugin_dir,
                   "--init_path=" + env.init_path, "--isolation=pid"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(v2 ? "warrend runs in the root cgroup, so nothing is delegated to it"
                          : "--delegated_cgroup needs a cgroup v2 (unified) host"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(env.runtime_dir + "/warrend.sock"));
  auto bad = runCmd({std::string(WARREN_TEST_BIN_DIR) + "/warrend", "--delegated_cgroup=maybe"});
  EXPECT_NE(bad.err.find("invalid --delegated_cgroup 'maybe': expected true or false"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace warren::testing
