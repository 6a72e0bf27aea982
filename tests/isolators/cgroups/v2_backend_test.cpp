// Unit tests: the cgroup v2 backend against a cgroupfs-shaped directory (an
// ordinary temp dir with the files the kernel would show). Asserts the file
// names and values written.
#include <gtest/gtest.h>
#include <unistd.h>

#include "backend.hpp"
#include "cgroupfs.hpp"
#include "controllers.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::cgroups {
namespace {

std::string read(const std::string& f) {
  auto r = readValue(f);
  return r ? *r : "<missing " + f + ">";
}

class CgroupsV2Fake : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = env_.root + "/cgroupfs";
    ASSERT_TRUE(fs::mkdirs(h_));
    ASSERT_TRUE(fs::writeFile(h_ + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"));
    ASSERT_TRUE(fs::writeFile(h_ + "/cgroup.subtree_control", ""));
  }
  std::unique_ptr<Backend> make(Options o = {}) {
    auto b = makeBackend(h_, o);
    EXPECT_TRUE(b) << b.error().message();
    return b ? std::move(*b) : nullptr;
  }
  testing::TestEnv env_;
  std::string h_;
};

TEST_F(CgroupsV2Fake, DetectsV2AndControllers) {
  auto b = make();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->version(), 2);
  EXPECT_TRUE(b->has(Controller::Memory));
  EXPECT_TRUE(b->has(Controller::Cpu));
  EXPECT_TRUE(b->has(Controller::Pids));
  EXPECT_FALSE(b->has(Controller::Devices));  // eBPF gap, documented
  ASSERT_TRUE(fs::writeFile(h_ + "/cgroup.controllers", "cpu pids\n"));
  b = make();
  EXPECT_FALSE(b->has(Controller::Memory));
}

TEST_F(CgroupsV2Fake, CreateWritesLimitsAndLeaf) {
  Options o;
  o.enable_cfs = true;
  auto b = make(o);
  Limits l{.cpus = 0.5, .mem_bytes = 64ull << 20, .pids = 10};
  ASSERT_TRUE(b->create("warren/pod", l));
  EXPECT_EQ(read(h_ + "/cgroup.subtree_control"), "+cpuset +cpu +memory +pids");
  EXPECT_EQ(read(h_ + "/warren/cgroup.subtree_control"), "+cpuset +cpu +memory +pids");
  EXPECT_EQ(read(h_ + "/warren/pod/cgroup.subtree_control"), "+cpuset +cpu +memory +pids");
  EXPECT_EQ(read(h_ + "/warren/pod/cpu.weight"), "50");
  EXPECT_EQ(read(h_ + "/warren/pod/cpu.max"), "50000 100000");
  EXPECT_EQ(read(h_ + "/warren/pod/memory.max"), "67108864");
  EXPECT_EQ(read(h_ + "/warren/pod/pids.max"), "10");
  EXPECT_TRUE(isDir(h_ + "/warren/pod/init.leaf"));
  EXPECT_FALSE(fs::exists(h_ + "/warren/pod/init.leaf/memory.max"));  // limits on the container only

  // Nested child beside the parent's leaf; no CFS cap without a cpus limit.
  ASSERT_TRUE(b->create("warren/pod/web", Limits{.mem_bytes = 32ull << 20}));
  EXPECT_EQ(read(h_ + "/warren/pod/web/memory.max"), "33554432");
  EXPECT_FALSE(fs::exists(h_ + "/warren/pod/web/cpu.max"));
  EXPECT_EQ(b->children("warren/pod"), std::vector<std::string>{"web"});

  auto again = b->create("warren/pod", l);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Code::AlreadyExists);
}

TEST_F(CgroupsV2Fake, NoCfsMeansWeightOnly) {
  auto b = make();
  ASSERT_TRUE(b->create("w/c", Limits{.cpus = 2}));
  EXPECT_EQ(read(h_ + "/w/c/cpu.weight"), "200");
  EXPECT_FALSE(fs::exists(h_ + "/w/c/cpu.max"));
  EXPECT_EQ(cpu::weight(0.01), 1u);
  EXPECT_EQ(cpu::weight(1000), 10000u);
  EXPECT_EQ(cpu::shares(0.2), 205u);
  EXPECT_EQ(cpu::quota(0.2, 100000), 20000);
  EXPECT_EQ(cpu::quota(0.001, 100000), 1000);
}

TEST_F(CgroupsV2Fake, AttachUpdateStats) {
  Options o;
  o.enable_cfs = true;
  auto b = make(o);
  ASSERT_TRUE(b->create("w/c", Limits{.mem_bytes = 64ull << 20}));
  ASSERT_TRUE(b->attach("w/c", 4242));
  EXPECT_EQ(read(h_ + "/w/c/init.leaf/cgroup.procs"), "4242");

  ASSERT_TRUE(b->update("w/c", Limits{.cpus = 0.25, .mem_bytes = 128ull << 20, .pids = 3}));
  EXPECT_EQ(read(h_ + "/w/c/memory.max"), "134217728");
  EXPECT_EQ(read(h_ + "/w/c/cpu.max"), "25000 100000");
  EXPECT_EQ(read(h_ + "/w/c/cpu.weight"), "25");
  EXPECT_EQ(read(h_ + "/w/c/pids.max"), "3");

  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/cpu.stat",
                            "usage_usec 3500000\nuser_usec 2500000\nsystem_usec 1000000\n"
                            "nr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/memory.current", "1048576\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/memory.peak", "2097152\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/memory.events",
                            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/init.leaf/memory.events", "oom 1\noom_kill 1\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/pids.current", "2\n"));
  auto s = b->stats("w/c");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_DOUBLE_EQ(s->user_secs, 2.5);
  EXPECT_DOUBLE_EQ(s->system_secs, 1.0);
  EXPECT_EQ(s->nr_throttled, 4u);
  EXPECT_DOUBLE_EQ(s->throttled_secs, 0.25);
  EXPECT_EQ(s->mem_usage, 1048576u);
  EXPECT_EQ(s->mem_peak, 2097152u);
  EXPECT_EQ(s->mem_limit, 128ull << 20);
  EXPECT_EQ(s->oom_kills, 1u);
  EXPECT_EQ(s->pids_current, 2u);
  EXPECT_EQ(s->pids_limit, 3u);
  EXPECT_EQ(b->ownOomKills("w/c"), 1u);
  EXPECT_FALSE(s->cpu_pressure) << "no cpu.pressure file: no PSI, not zeros";

  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/cpu.pressure",
                            "some avg10=12.50 avg60=3.25 avg300=0.75 total=987654\n"
                            "full avg10=1.00 avg60=0.50 avg300=0.00 total=4321\n"));
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/io.pressure", "garbage\n"));
  s = b->stats("w/c");
  ASSERT_TRUE(s && s->cpu_pressure);
  EXPECT_DOUBLE_EQ(s->cpu_pressure->some[0], 12.5);
  EXPECT_DOUBLE_EQ(s->cpu_pressure->some[1], 3.25);
  EXPECT_DOUBLE_EQ(s->cpu_pressure->some[2], 0.75);
  EXPECT_EQ(s->cpu_pressure->some_total_usecs, 987654u);
  EXPECT_DOUBLE_EQ(s->cpu_pressure->full[0], 1.0);
  EXPECT_EQ(s->cpu_pressure->full_total_usecs, 4321u);
  EXPECT_FALSE(s->memory_pressure);
  EXPECT_FALSE(s->io_pressure) << "an unparsable file is no PSI";

  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/memory.max", "max\n"));
  EXPECT_EQ(b->stats("w/c")->mem_limit, kUnlimited);
}

TEST_F(CgroupsV2Fake, KillWritesCgroupKillThenDestroyRemovesSubtree) {
  auto b = make();
  ASSERT_TRUE(b->create("w/c", Limits{}));
  ASSERT_TRUE(b->create("w/c/child", Limits{}));
  // The kernel shows cgroup.kill on 5.14+; the fixture has no processes left.
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/cgroup.kill", ""));
  ASSERT_TRUE(b->kill("w/c"));
  EXPECT_EQ(read(h_ + "/w/c/cgroup.kill"), "1");
  ASSERT_TRUE(b->destroy("w/c"));
  EXPECT_FALSE(fs::exists(h_ + "/w/c"));
  EXPECT_TRUE(isDir(h_ + "/w"));  // ancestors stay
  EXPECT_TRUE(b->destroy("w/c"));  // idempotent
  EXPECT_FALSE(b->exists("w/c"));
}

TEST_F(CgroupsV2Fake, KillWithoutCgroupKillFreezesAndThaws) {
  Options o;
  o.kill_timeout = std::chrono::milliseconds(300);
  auto b = make(o);
  ASSERT_TRUE(b->create("w/c", Limits{}));
  // A pid that cannot be killed from here (pid 1 is skipped) keeps the
  // cgroup populated: kill() must fail after its bound and leave it thawed.
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/init.leaf/cgroup.procs", "1\n"));
  auto r = b->kill("w/c");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("still in"), std::string::npos) << r.error().message();
  EXPECT_EQ(read(h_ + "/w/c/cgroup.freeze"), "0");
  ASSERT_TRUE(fs::writeFile(h_ + "/w/c/init.leaf/cgroup.procs", ""));
  ASSERT_TRUE(b->destroy("w/c"));
}

TEST_F(CgroupsV2Fake, SwapNeedsAccounting) {
  auto b = make();
  auto r = b->create("w/c", Limits{.mem_bytes = 64ull << 20, .swap_bytes = 1ull << 20});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
  EXPECT_NE(r.error().message().find("memory.swap.max"), std::string::npos);
  EXPECT_FALSE(fs::exists(h_ + "/w/c"));  // nothing half-made
}

TEST(CgroupsBackend, RejectsMissingHierarchy) {
  auto r = makeBackend("/nonexistent-warren-hierarchy", Options{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "no cgroup hierarchy at '/nonexistent-warren-hierarchy'");
  r = makeBackend("relative/path", Options{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
}

}  // namespace
}  // namespace warren::isolators::cgroups
