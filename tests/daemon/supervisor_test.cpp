// The supervisor with nobody waiting: terminations recorded when they happen,
// PARENT_DESTROYED for descendants, kill_group failover, one record for all.
#include <signal.h>

#include <thread>

#include "daemon_test_base.hpp"

namespace warren::testing {
namespace {

class ROOT_DaemonSupervisor : public DaemonTest {};

std::string reasonOf(const Json& e) {
  return e.is_object() && e.contains("termination") ? e["termination"].value("reason", "") : "";
}

TEST_F(ROOT_DaemonSupervisor, KilledParentGivesEveryDescendantParentDestroyedWithNoWaiter) {
  ASSERT_EQ(d_->call(launchCall("p", "sleep 600", rootfs_)).status, 200);
  ASSERT_EQ(launchNested("p.c", "sleep 600").status, 200);
  ASSERT_EQ(launchNested("p.c.g", "sleep 600").status, 200);
  ASSERT_EQ(d_->call(killCall("p")).status, 200);
  // Nobody waits: the records appear on their own.
  ASSERT_TRUE(eventually([&] { return !reasonOf(entry("p.c.g")).empty() && !reasonOf(entry("p")).empty(); },
                         std::chrono::seconds(20)))
      << entry("p").dump() << entry("p.c").dump() << entry("p.c.g").dump();
  EXPECT_EQ(reasonOf(entry("p")), "KILLED");
  EXPECT_EQ(reasonOf(entry("p.c")), "PARENT_DESTROYED");
  EXPECT_EQ(reasonOf(entry("p.c.g")), "PARENT_DESTROYED");
  // Any order of waiters gets the same records: the child first, then the parent.
  EXPECT_EQ(termination(d_->call(waitCall("p.c")))["termination"]["reason"], "PARENT_DESTROYED");
  EXPECT_EQ(termination(d_->call(waitCall("p")))["termination"]["reason"], "KILLED");
  // Records stay until removed.
  EXPECT_EQ(entry("p.c")["state"], "TERMINATED");
  EXPECT_EQ(d_->call(removeCall("p")).status, 200);
  EXPECT_TRUE(entry("p.c").is_null());
}

TEST_F(ROOT_DaemonSupervisor, ParentWhoseCommandExitsTakesItsChildrenWithNoWaiter) {
  auto call = launchCall("q", "while [ ! -e /stop ]; do sleep 0.05; done; exit 0", env_.makeRootfs("q"));
  call["launch_container"]["warren"]["config"]["rootfs_writable"] = true;  // signalled through it
  ASSERT_EQ(d_->call(call).status, 200);
  ASSERT_EQ(launchNested("q.c", "sleep 600").status, 200);
  ASSERT_TRUE(fs::writeFile(env_.root + "/q/stop", "1"));
  ASSERT_TRUE(eventually([&] { return !reasonOf(entry("q.c")).empty() && !reasonOf(entry("q")).empty(); },
                         std::chrono::seconds(20)));
  EXPECT_EQ(reasonOf(entry("q")), "COMMAND_EXITED");
  EXPECT_EQ(reasonOf(entry("q.c")), "PARENT_DESTROYED");
}

TEST_F(ROOT_DaemonSupervisor, KillGroupFailsOverWithinGraceWithNoWaiter) {
  ASSERT_EQ(d_->call(launchCall("pod", "sleep 600", rootfs_)).status, 200);
  Json group = Json::parse(R"({"type": "LAUNCH_GROUP", "launch_group": {
      "parent": {"value": "pod"},
      "task_group": {"name": "g", "policy": "KILL_GROUP", "grace_period_ms": 1000, "members": [
        {"name": "f1", "config": {"command": {"value": "sleep 1; exit 1", "shell": true}}},
        {"name": "s2", "config": {"command": {"value": "trap '' TERM; sleep 600", "shell": true}}}]}}})");
  auto r = d_->call(group);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["launch_group"]["members"].size(), 2u);
  // Nobody waits. f1 fails after 1 s; s2 ignores SIGTERM, so it is SIGKILLed
  // after the 1 s grace.
  ASSERT_TRUE(eventually([&] { return !reasonOf(entry("pod.s2")).empty(); }, std::chrono::seconds(20)));
  EXPECT_EQ(reasonOf(entry("pod.f1")), "COMMAND_EXITED");
  auto s2 = entry("pod.s2");
  EXPECT_EQ(reasonOf(s2), "GROUP_MEMBER_FAILED");
  EXPECT_NE(std::string(s2["termination"]["message"]).find("member 'f1'"), std::string::npos) << s2.dump();
  // WAIT_GROUP reports both.
  r = d_->call({{"type", "WAIT_GROUP"}, {"wait_group", {{"parent", cid("pod")}, {"name", "g"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["wait_group"]["members"].size(), 2u);
}

TEST_F(ROOT_DaemonSupervisor, FiveWaitersOnFiveConnectionsGetTheSameRecordAndKilledStaysKilled) {
  ASSERT_EQ(d_->call(launchCall("w", "sleep 600", rootfs_)).status, 200);
  // The child traps TERM and exits 0: killed through the API, it stays KILLED.
  ASSERT_EQ(launchNested("w.c", "trap 'exit 0' TERM; while true; do sleep 0.05; done").status, 200);
  std::vector<std::string> bodies(5);
  std::vector<int> codes(5);
  std::vector<std::thread> ts;
  for (int i = 0; i < 5; ++i) {
    ts.emplace_back([&, i] {
      auto r = d_->call(waitCall("w.c"));
      codes[i] = r.status;
      bodies[i] = r.body;
    });
  }
  ::usleep(500000);  // every wait is pending
  ASSERT_EQ(d_->call(killCall("w.c", SIGTERM)).status, 200);
  for (auto& t : ts) t.join();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(codes[i], 200) << bodies[i];
    EXPECT_EQ(bodies[i], bodies[0]);
  }
  auto w = Json::parse(bodies[0], nullptr, false);
  EXPECT_EQ(w["wait_nested_container"]["termination"]["reason"], "KILLED") << bodies[0];
  EXPECT_EQ(w["wait_nested_container"]["exit_status"], 0) << bodies[0];
  EXPECT_EQ(w["wait_nested_container"]["state"], "TASK_KILLED");
}

// Kernel objects go as soon as a container ends; its record stays.
class ROOT_DaemonSupervisorCgroups : public DaemonTest {
 protected:
  std::vector<std::string> isolation() const override {
    return {"filesystem/linux", "pid", "volumes", "cgroups"};
  }
};

TEST_F(ROOT_DaemonSupervisorCgroups, CgroupsAreReleasedWhenTheContainerEndsNotWhenRemoved) {
  std::string cg = "/sys/fs/cgroup/pids" + env_.cgroups_root;
  if (!fs::exists("/sys/fs/cgroup/pids")) GTEST_SKIP() << "skipped: no pids cgroup hierarchy";
  Json launch = launchCall("k", "sleep 600", rootfs_);
  launch["launch_container"]["warren"]["config"]["resources"] = {{"pids", 64}};
  auto r = d_->call(launch);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(launchNested("k.c", "sleep 600").status, 200);
  ASSERT_TRUE(fs::exists(cg + "/k/c")) << cg;
  // UPDATE_CONTAINER changes the live limit; GET_CONTAINERS reports usage.
  r = d_->call(Json::parse(R"({"type":"UPDATE_CONTAINER","update_container":
      {"container_id":{"value":"k"},"limits":{"pids":128}}})"));
  EXPECT_EQ(r.status, 200) << r.body;
  auto max = fs::readFile(cg + "/k/pids.max");
  ASSERT_TRUE(max);
  EXPECT_EQ(*max, "128\n");
  auto e = entry("k");
  ASSERT_TRUE(e.contains("resource_statistics")) << e.dump();
  EXPECT_GT(e["resource_statistics"].value("timestamp", 0.0), 0.0) << e.dump();
  ASSERT_EQ(d_->call(killCall("k.c")).status, 200);
  // Nobody waits: the child's cgroup goes when it ends.
  EXPECT_TRUE(eventually([&] { return !fs::exists(cg + "/k/c"); }, std::chrono::seconds(20)));
  EXPECT_TRUE(eventually([&] { return reasonOf(entry("k.c")) == "KILLED"; }, std::chrono::seconds(20)));
  EXPECT_TRUE(fs::exists(cg + "/k"));
}

}  // namespace
}  // namespace warren::testing
