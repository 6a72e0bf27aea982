// The isolator (not only the backend) through the real plugin host, on a
// cgroupfs-shaped directory given as --cgroups_hierarchy: what prepare,
// isolate, update, watch, status, cleanup and recover write and answer on
// cgroup v2. Needs no root.
#include "cgroups_test_util.hpp"

namespace warren::testing::cg {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::string read(const std::string& f) {
  auto r = fs::readFile(f);
  if (!r) return "<missing>";
  std::string s = *r;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class CgroupsIsolatorFakeV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = env_.root + "/cgroupfs";
    ASSERT_TRUE(fs::mkdirs(h_));
    ASSERT_TRUE(fs::writeFile(h_ + "/cgroup.controllers", controllers()));
    auto l = loadCgroups(env_, {{"cgroups_hierarchy", h_}, {"cgroups_enable_cfs", "true"}});
    ASSERT_TRUE(l) << l.error().message();
    loaded_ = std::move(*l);
    p_ = loaded_.plugin;
    base_ = h_ + env_.cgroups_root;
  }
  virtual std::string controllers() { return "cpuset cpu io memory pids\n"; }
  TestEnv env_;
  std::string h_, base_;
  Loaded loaded_;
  plugins::Plugin* p_ = nullptr;
};

TEST_F(CgroupsIsolatorFakeV2, NestedLimitsUpdateWatchStatusCleanup) {
  Spec pod{.id = "pod", .cpus = 1, .mem = 256 * kMiB, .pids = 50};
  Spec web{.id = "pod.web", .cpus = 0.5, .mem = 64 * kMiB};
  ASSERT_TRUE(prepare(p_, pod));
  ASSERT_TRUE(prepare(p_, web, &pod));
  EXPECT_EQ(read(base_ + "/pod/memory.max"), std::to_string(256 * kMiB));
  EXPECT_EQ(read(base_ + "/pod/cpu.max"), "100000 100000");
  EXPECT_EQ(read(base_ + "/pod/cpu.weight"), "100");
  EXPECT_EQ(read(base_ + "/pod/pids.max"), "50");
  EXPECT_EQ(read(base_ + "/pod/cgroup.subtree_control"), "+cpuset +cpu +memory +pids");
  EXPECT_EQ(read(base_ + "/pod/web/memory.max"), std::to_string(64 * kMiB));
  EXPECT_EQ(read(base_ + "/pod/web/cpu.max"), "50000 100000");
  EXPECT_TRUE(fs::exists(base_ + "/pod/web/init.leaf"));

  ASSERT_TRUE(isolate(p_, web, 4242));
  EXPECT_EQ(read(base_ + "/pod/web/init.leaf/cgroup.procs"), "4242");

  // Live update of the nested child, within the parent.
  ASSERT_TRUE(update(p_, web, 0, 128 * kMiB, 0));
  EXPECT_EQ(read(base_ + "/pod/web/memory.max"), std::to_string(128 * kMiB));
  auto over = update(p_, web, 2, 0, 0);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("resources.cpus 2 of 'pod.web' exceeds the limit 1 of its parent 'pod'"),
            std::string::npos)
      << over.error().message();
  ASSERT_TRUE(fs::writeFile(base_ + "/pod/web/memory.current", "100000000\n"));
  auto below = update(p_, web, 0, 80 * kMiB, 0);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().code(), Code::FailedPrecondition);
  EXPECT_NE(below.error().message().find("cannot lower resources.mem_bytes of 'pod.web' to 80MiB"),
            std::string::npos)
      << below.error().message();

  // No OOM yet: nothing to report. Then the kernel counts one in the leaf.
  auto w = watch(p_, "pod.web");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->limitations_size(), 0);
  ASSERT_TRUE(fs::writeFile(base_ + "/pod/web/init.leaf/memory.events", "oom 1\noom_kill 1\n"));
  ASSERT_TRUE(fs::writeFile(base_ + "/pod/web/memory.peak", std::to_string(128 * kMiB) + "\n"));
  w = watch(p_, "pod.web");
  ASSERT_TRUE(w);
  ASSERT_EQ(w->limitations_size(), 1);
  EXPECT_EQ(w->limitations(0).reason(), v1::Limitation::MEMORY);
  EXPECT_EQ(w->limitations(0).peak_bytes(), 128 * kMiB);
  EXPECT_EQ(w->limitations(0).resources().mem_bytes(), 128 * kMiB);

  auto st = p_->call<v1::ContainerStatus>(v1::STATUS, containerReq(web));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->cgroup(), base_ + "/pod/web");
  EXPECT_EQ(st->labels().at("cgroups.version"), "2");

  // cgroup.kill is what the kernel offers (5.14+); the fixture has it.
  ASSERT_TRUE(fs::writeFile(base_ + "/pod/web/init.leaf/cgroup.procs", ""));
  ASSERT_TRUE(fs::writeFile(base_ + "/pod/cgroup.kill", ""));
  ASSERT_TRUE(cleanup(p_, pod));
  EXPECT_FALSE(fs::exists(base_ + "/pod"));
  EXPECT_TRUE(cleanup(p_, pod));
}

TEST_F(CgroupsIsolatorFakeV2, RecoverRemovesUnknownCgroups) {
  ASSERT_TRUE(prepare(p_, Spec{.id = "keep"}));
  ASSERT_TRUE(prepare(p_, Spec{.id = "gone"}));
  v1::RecoverRequest req;
  *req.add_containers()->mutable_id() = parseId("keep").value();
  ASSERT_TRUE(p_->call<v1::Empty>(v1::RECOVER, req));
  EXPECT_TRUE(fs::exists(base_ + "/keep/init.leaf"));
  EXPECT_FALSE(fs::exists(base_ + "/gone"));
  ASSERT_TRUE(cleanup(p_, Spec{.id = "keep"}));
}

TEST_F(CgroupsIsolatorFakeV2, BadInputIsRefusedWithNothingMade) {
  auto r = prepare(p_, Spec{.id = "neg", .cpus = -0.5});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("container 'neg': resources.cpus=-0.5 is invalid"), std::string::npos)
      << r.error().message();
  r = prepare(p_, Spec{.id = "set", .settings = {{"cgroups.nope", "1"}}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown setting 'cgroups.nope'"), std::string::npos);
  r = prepare(p_, Spec{.id = "top", .debug = true});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("has no parent"), std::string::npos);
  EXPECT_FALSE(fs::exists(base_ + "/neg"));
  EXPECT_FALSE(fs::exists(base_ + "/set"));
  auto u = update(p_, Spec{.id = "unknown"}, 1, 0, 0);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code(), Code::NotFound);
}

class CgroupsIsolatorFakeV2NoMemory : public CgroupsIsolatorFakeV2 {
  std::string controllers() override { return "cpu pids\n"; }
};

TEST_F(CgroupsIsolatorFakeV2NoMemory, MissingControllerIsNamed) {
  auto r = prepare(p_, Spec{.id = "m", .mem = 64 * kMiB});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
  EXPECT_NE(r.error().message().find("the memory cgroup controller is not available on this machine "
                                     "(cgroup v2 at " + h_ + "), needed for resources.mem_bytes"),
            std::string::npos)
      << r.error().message();
  EXPECT_FALSE(fs::exists(base_ + "/m"));
  ASSERT_TRUE(prepare(p_, Spec{.id = "ok", .pids = 5}));
  EXPECT_EQ(read(h_ + "/cgroup.subtree_control"), "+cpu +pids");
  ASSERT_TRUE(cleanup(p_, Spec{.id = "ok"}));
}

TEST(CgroupsIsolatorConfig, BadFlagsAndRootAreRefused) {
  TestEnv env;
  std::string h = env.root + "/cgroupfs";
  ASSERT_TRUE(fs::mkdirs(h));
  ASSERT_TRUE(fs::writeFile(h + "/cgroup.controllers", "cpu memory pids\n"));
  auto l = loadCgroups(env, {{"cgroups_hierarchy", h}}, "", "relative/root");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("cgroups_root 'relative/root' must be an absolute path"),
            std::string::npos)
      << l.error().message();
  l = loadCgroups(env, {{"cgroups_hierarchy", h}, {"cgroups_enable_cfs", "maybe"}});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("flag cgroups_enable_cfs='maybe' is not true or false"),
            std::string::npos);
  l = loadCgroups(env, {{"cgroups_hierarchy", env.root + "/nope"}});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("no cgroup hierarchy at"), std::string::npos);
  l = loadCgroups(env, {{"cgroups_hierarchy", h}}, R"({"bogus": 1})");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("invalid config"), std::string::npos) << l.error().message();
}

}  // namespace
}  // namespace warren::testing::cg
