// End to end through libwarren's Containerizer: real warren-init, real
// nested containers, the cgroups isolator loaded like any other plugin.
#include <signal.h>

#include <fstream>
#include <sstream>

#include "fixture.hpp"

namespace warren::testing {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::string slurp(const std::string& f) {
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class ROOT_CgroupsE2E : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
      GTEST_SKIP() << "skipped: needs the cgroup v1 memory controller";
    }
  }
  void TearDown() override {
    if (c_) (void)c_->destroy(id("pod"));  // after a failed assertion
  }
  Containerizer* start() {
    c_ = make({"filesystem/linux", "pid", "cgroups"});
    return c_.get();
  }
  std::unique_ptr<Containerizer> c_;
  v1::ContainerConfig child(const std::string& script, uint64_t mem) {
    auto c = shell(script);
    c.clear_rootfs();
    c.mutable_resources()->set_mem_bytes(mem);
    return c;
  }
  std::string memDir(const std::string& rel) {
    return "/sys/fs/cgroup/memory" + env_.cgroups_root + "/" + rel;
  }
  void expectNoCgroups() {
    for (const char* c : {"cpu", "cpuacct", "memory", "pids", "devices", "freezer", "cpuset"}) {
      std::string root = "/sys/fs/cgroup/" + std::string(c) + env_.cgroups_root;
      if (!fs::exists(root)) continue;
      auto r = runCmd({"/usr/bin/find", root, "-mindepth", "1", "-type", "d"});
      EXPECT_EQ(r.out, "") << "left in " << c;
    }
  }
};

TEST_F(ROOT_CgroupsE2E, NestedOomIsMemoryLimitWhileSiblingKeepsRunning) {
  auto* c = start();
  ASSERT_TRUE(c);
  auto pod = shell("sleep 300");
  pod.mutable_resources()->set_mem_bytes(256 * kMiB);
  auto launched = c->launch(id("pod"), pod);
  ASSERT_TRUE(launched) << launched.error().message();
  ASSERT_TRUE(c->launch(id("pod.b"), child("sleep 300", 32 * kMiB)));
  auto a = c->launch(id("pod.a"), child("dd if=/dev/zero of=/dev/null bs=64M count=1", 32 * kMiB));
  ASSERT_TRUE(a) << a.error().message();
  auto t = c->wait(id("pod.a"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::MEMORY_LIMIT)
      << t->DebugString() << slurp(env_.work_dir + "/sandboxes/pod/containers/a/stderr");
  ASSERT_GE(t->limitations_size(), 1);
  EXPECT_EQ(t->limitations(0).reason(), v1::Limitation::MEMORY);
  EXPECT_EQ(t->limitations(0).isolator(), "cgroups");
  EXPECT_GE(t->limitations(0).peak_bytes(), 28 * kMiB);
  auto sib = c->status(id("pod.b"));
  ASSERT_TRUE(sib);
  EXPECT_EQ(sib->state(), v1::RUNNING);
  EXPECT_EQ(kill(sib->pid(), 0), 0);
  EXPECT_EQ(sib->cgroup(), memDir("pod/b"));
  ASSERT_TRUE(c->destroy(id("pod")));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsE2E, OomWhileNoWarrenRanIsReportedAfterRecover) {
  auto* c = start();
  ASSERT_TRUE(c);
  auto pod = shell("sleep 300");
  pod.mutable_resources()->set_mem_bytes(64 * kMiB);
  auto launched = c->launch(id("pod"), pod);
  ASSERT_TRUE(launched) << launched.error().message();
  auto a = c->launch(id("pod.a"), child("sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1", 16 * kMiB));
  ASSERT_TRUE(a) << a.error().message();
  int pid = a->pid();
  c_.reset();  // warren goes away; the OOM happens while nothing watches
  ASSERT_TRUE(eventually([&] { return kill(pid, 0) != 0 || slurp("/proc/" + std::to_string(pid) + "/stat")
                                                                   .find(") Z") != std::string::npos; },
                         std::chrono::seconds(20)));
  c = start();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->recover());
  auto t = c->wait(id("pod.a"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::MEMORY_LIMIT) << t->DebugString();
  ASSERT_GE(t->limitations_size(), 1);
  EXPECT_EQ(t->limitations(0).resources().mem_bytes(), 16 * kMiB);
  ASSERT_TRUE(c->destroy(id("pod")));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsE2E, LiveUpdateAndUsageOfNestedChild) {
  auto* c = start();
  ASSERT_TRUE(c);
  auto pod = shell("sleep 300");
  pod.mutable_resources()->set_mem_bytes(256 * kMiB);
  pod.mutable_resources()->set_pids(64);
  auto launched = c->launch(id("pod"), pod);
  ASSERT_TRUE(launched) << launched.error().message();
  ASSERT_TRUE(c->launch(id("pod.web"), child("sleep 300", 32 * kMiB)));
  v1::Resources more;
  more.set_mem_bytes(96 * kMiB);
  ASSERT_TRUE(c->update(id("pod.web"), more));
  EXPECT_EQ(slurp(memDir("pod/web/memory.limit_in_bytes")), std::to_string(96 * kMiB));
  more.set_mem_bytes(512 * kMiB);
  auto over = c->update(id("pod.web"), more);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("exceeds the limit 256MiB of its parent 'pod'"), std::string::npos)
      << over.error().message();
  auto u = c->usage(id("pod.web"));
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->mem_limit_bytes(), 96 * kMiB);
  EXPECT_GT(u->mem_usage_bytes(), 0u);
  EXPECT_GE(u->pids_current(), 2u);  // warren-init and sleep
  // A child asking more than its parent is refused before anything is made.
  auto big = c->launch(id("pod.big"), child("true", 1024 * kMiB));
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("resources.mem_bytes 1GiB of 'pod.big' exceeds"), std::string::npos)
      << big.error().message();
  EXPECT_FALSE(fs::exists(memDir("pod/big")));
  ASSERT_TRUE(c->destroy(id("pod")));
  expectNoCgroups();
}

}  // namespace
}  // namespace warren::testing
