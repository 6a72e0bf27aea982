// Task groups: all-or-nothing delivery, failure policies, crash safety.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include "../core/fixture.hpp"

namespace warren::testing {


namespace {

class ROOT_Group : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    pod_rootfs_ = env_.makeRootfs("pod");
    ASSERT_TRUE(fs::mkdirs(pod_rootfs_ + "/markers"));
    c_ = make();
    ASSERT_TRUE(c_->launch(id("pod"), podConfig()));
  }
  void TearDown() override {
    if (c_ && c_->status(id("pod"))) (void)c_->destroy(id("pod"));
  }
  v1::ContainerConfig podConfig() {
    auto cfg = shell("sleep 300");
    cfg.set_rootfs(pod_rootfs_);
    return cfg;
  }
  // Each member's command drops a marker file before doing `then`.
  v1::TaskGroup group(const std::string& name, int n, const std::string& then = "sleep 300") {
    v1::TaskGroup g;
    g.set_name(name);
    g.set_grace_period_ms(500);
    for (int i = 1; i <= n; ++i) {
      auto* m = g.add_members();
      m->set_name("m" + std::to_string(i));
      auto cfg = shell("touch /markers/m" + std::to_string(i) + "; " + then);
      cfg.clear_rootfs();
      *m->mutable_config() = cfg;
    }
    return g;
  }
  // The pod's rootfs dir is its read-only lower layer: what members write
  // into the pod's root lands in its upper layer (issue #18).
  std::vector<std::string> markers() {
    return listDir(env_.work_dir + "/sandboxes/pod/.warren/rootfs/upper/markers");
  }
  // warren-init processes of members under `parent` (by the runtime dir
  // each holds open). Once there are none, no member can still run
  // its command: the positive barrier before asserting that none did.
  std::vector<int> memberInits(const std::string& parent = "pod") {
    std::string dir = env_.runtime_dir + "/containers/" + parent + "/containers/";
    std::vector<int> out;
    for (const auto& p : listDir("/proc")) {
      if (p.find_first_not_of("0123456789") != std::string::npos) continue;
      if (initRuntimeDir(p).find(dir) != std::string::npos) {
        out.push_back(std::stoi(p));
      }
    }
    return out;
  }
  bool noMemberInits(const std::string& parent = "pod") {
    return eventually([&] { return memberInits(parent).empty(); });
  }
  size_t memberCount() {
    size_t n = 0;
    auto list = c_->containers();
    for (auto& ci : *list) n += ci.id.path_size() == 2;
    return n;
  }

  std::string pod_rootfs_;
  std::unique_ptr<Containerizer> c_;
};

TEST_F(ROOT_Group, SixteenMembersWithOneInvalidStartsNone) {
  auto g = group("bad16", 16);
  g.mutable_members(8)->mutable_config()->set_rootfs(env_.root + "/missing-rootfs");  // member 9
  auto r = c_->launchGroup(id("pod"), g);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("task group 'bad16': member 'm9': rootfs"), std::string::npos)
      << r.error().message();
  ASSERT_TRUE(noMemberInits());
  EXPECT_TRUE(markers().empty());
  EXPECT_EQ(memberCount(), 0u);
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers/pod/containers").empty());
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers/pod/groups").empty());
  EXPECT_TRUE(listDir(env_.work_dir + "/sandboxes/pod/containers").empty());
}

TEST_F(ROOT_Group, SixteenValidMembersAllRun) {
  auto r = c_->launchGroup(id("pod"), group("ok16", 16));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 16u);
  ASSERT_TRUE(eventually([&] { return markers().size() == 16; }));
  for (const auto& s : *r) EXPECT_EQ(s.state(), v1::RUNNING);
  auto d = c_->destroyGroup(id("pod"), "ok16");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->size(), 16u);
  for (const auto& mt : *d) EXPECT_EQ(mt.termination.reason(), v1::Termination::KILLED);
  EXPECT_EQ(memberCount(), 0u);
}

TEST_F(ROOT_Group, KillGroupPolicyTakesTheOthersDown) {
  auto g = group("kg", 4);
  auto cfg = shell("touch /markers/m2; sleep 0.3; exit 1");
  cfg.clear_rootfs();
  *g.mutable_members(1)->mutable_config() = cfg;
  ASSERT_TRUE(c_->launchGroup(id("pod"), g));
  auto ts = c_->waitGroup(id("pod"), "kg", std::chrono::seconds(30));
  ASSERT_TRUE(ts) << ts.error().message();
  ASSERT_EQ(ts->size(), 4u);
  for (const auto& mt : *ts) {
    if (formatId(mt.id) == "pod.m2") {
      EXPECT_EQ(mt.termination.reason(), v1::Termination::COMMAND_EXITED);
      EXPECT_EQ(mt.termination.exit_code(), 1);
    } else {
      EXPECT_EQ(mt.termination.reason(), v1::Termination::GROUP_MEMBER_FAILED) << formatId(mt.id);
      EXPECT_NE(mt.termination.message().find("member 'm2'"), std::string::npos);
      EXPECT_EQ(mt.termination.signal(), SIGTERM);  // ended within the grace period
    }
  }
  ASSERT_TRUE(c_->destroyGroup(id("pod"), "kg"));
}

TEST_F(ROOT_Group, IndependentPolicyKeepsTheOthersRunning) {
  auto g = group("ind", 3);
  g.set_policy(v1::TaskGroup::INDEPENDENT);
  auto cfg = shell("exit 1");
  cfg.clear_rootfs();
  *g.mutable_members(0)->mutable_config() = cfg;
  ASSERT_TRUE(c_->launchGroup(id("pod"), g));
  auto t = c_->wait(id("pod.m1"), std::chrono::seconds(20));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit_code(), 1);
  // wait() finished m1 itself, and the policy is applied as part of that:
  // had it been kill_group, m2 and m3 would be gone by now.
  EXPECT_EQ(c_->status(id("pod.m2"))->state(), v1::RUNNING);
  EXPECT_EQ(c_->status(id("pod.m3"))->state(), v1::RUNNING);
  ASSERT_TRUE(c_->killGroup(id("pod"), "ind", SIGKILL));
  auto ts = c_->waitGroup(id("pod"), "ind", std::chrono::seconds(20));
  ASSERT_TRUE(ts);
  ASSERT_TRUE(c_->destroyGroup(id("pod"), "ind"));
}

TEST_F(ROOT_Group, BadSpecsNameTheMemberAndStartNothing) {
  v1::TaskGroup empty;
  empty.set_name("empty");
  auto r = c_->launchGroup(id("pod"), empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "task group 'empty': no members");

  auto dup = group("dup", 2);
  dup.mutable_members(1)->set_name("m1");
  r = c_->launchGroup(id("pod"), dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "task group 'dup': duplicate member name 'm1'");

  auto other = group("other", 2);
  other.mutable_members(1)->set_name("elsewhere.m2");
  r = c_->launchGroup(id("pod"), other);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "task group 'other': member 'elsewhere.m2' names a different parent than 'pod'");

  auto setting = group("setting", 2);
  (*setting.mutable_members(1)->mutable_config()->mutable_isolator_settings())["nosuch.key"] = "1";
  r = c_->launchGroup(id("pod"), setting);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("member 'm2': container 'pod.m2': unknown isolator setting 'nosuch.key'"),
            std::string::npos)
      << r.error().message();
  ASSERT_TRUE(noMemberInits());
  EXPECT_TRUE(markers().empty());
  EXPECT_EQ(memberCount(), 0u);
}

TEST_F(ROOT_Group, AMemberAskingForMoreThanItsParentHasStartsNothing) {
  auto c = make({"pid", "cgroups"});
  auto cfg = podConfig();
  cfg.mutable_resources()->set_mem_bytes(64 << 20);
  ASSERT_TRUE(c->launch(id("limited"), cfg));
  auto g = group("greedy", 3);
  g.mutable_members(2)->mutable_config()->mutable_resources()->set_mem_bytes(128 << 20);
  auto r = c->launchGroup(id("limited"), g);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("task group 'greedy': member 'm3'"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("exceeds the limit"), std::string::npos) << r.error().message();
  ASSERT_TRUE(noMemberInits("limited"));
  EXPECT_TRUE(markers().empty());
  auto list = c->containers();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 2u);  // pod (from SetUp) and limited: no member
  ASSERT_TRUE(c->destroy(id("limited")));
}

// kill -9 of the process launching a group between phase 1 and the release:
// recovery must end with no member ever having run.
TEST_F(ROOT_Group, KilledBetweenPrepareAndReleaseNoMemberEverRuns) {
  std::string pause_file = env_.root + "/paused";
  pid_t child = fork();
  if (child == 0) {
    setenv("WARREN_FAULT_PAUSE_BEFORE_GROUP_RELEASE", pause_file.c_str(), 1);
    auto c = Containerizer::create(options());
    if (c) (void)(*c)->launchGroup(id("pod"), group("crash", 8));
    _exit(0);
  }
  ASSERT_TRUE(eventually([&] { return fs::exists(pause_file); }, std::chrono::seconds(60)));
  EXPECT_EQ(memberCount(), 8u);  // all prepared and blocked
  ::kill(child, SIGKILL);
  int st = 0;
  waitpid(child, &st, 0);
  // Case 5: the members' inits, their launcher gone before the decision,
  // exit by themselves - none polls for a release that cannot come.
  EXPECT_TRUE(noMemberInits());
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  EXPECT_TRUE(markers().empty());
  EXPECT_EQ(memberCount(), 0u);
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers/pod/groups").empty());
}

// Killed after the decision to release was checkpointed: recovery finishes
// the release, so every member runs.
TEST_F(ROOT_Group, KilledAfterTheDecisionRecoveryReleasesEveryMember) {
  std::string pause_file = env_.root + "/paused";
  pid_t child = fork();
  if (child == 0) {
    setenv("WARREN_FAULT_PAUSE_AFTER_GROUP_DECISION", pause_file.c_str(), 1);
    auto c = Containerizer::create(options());
    if (c) (void)(*c)->launchGroup(id("pod"), group("decided", 8));
    _exit(0);
  }
  ASSERT_TRUE(eventually([&] { return fs::exists(pause_file); }, std::chrono::seconds(60)));
  // Decided, but nothing released yet: every member's init is there, blocked,
  // and has not forked its command.
  auto inits = memberInits();
  EXPECT_EQ(inits.size(), 8u);
  for (int p : inits) {
    auto kids = fs::readFile("/proc/" + std::to_string(p) + "/task/" + std::to_string(p) + "/children");
    EXPECT_TRUE(kids && kids->empty()) << "init " << p << " started its command before release";
  }
  EXPECT_TRUE(markers().empty());
  ::kill(child, SIGKILL);
  int st = 0;
  waitpid(child, &st, 0);
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  ASSERT_TRUE(eventually([&] { return markers().size() == 8; }));
  for (int i = 1; i <= 8; ++i) {
    EXPECT_EQ(c2->status(id("pod.m" + std::to_string(i)))->state(), v1::RUNNING);
  }
  auto d = c2->destroyGroup(id("pod"), "decided");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->size(), 8u);
}

// Case 11 (second half): `group destroy` reported a member that had exited 7
// as KILLED.
TEST_F(ROOT_Group, DestroyKeepsTheExitStatusOfAMemberThatAlreadyExited) {
  auto g = group("mixed", 2);
  auto cfg = shell("touch /markers/m1; exit 7");
  cfg.clear_rootfs();
  *g.mutable_members(0)->mutable_config() = cfg;
  ASSERT_TRUE(c_->launchGroup(id("pod"), g));
  ASSERT_TRUE(eventually([&] { return c_->status(id("pod.m1"))->state() == v1::TERMINATED; }));
  auto d = c_->destroyGroup(id("pod"), "mixed");
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_EQ(d->size(), 2u);
  for (const auto& mt : *d) {
    if (formatId(mt.id) == "pod.m1") {
      EXPECT_EQ(mt.termination.reason(), v1::Termination::COMMAND_EXITED);
      EXPECT_EQ(mt.termination.exit_code(), 7);
    } else {
      EXPECT_EQ(mt.termination.reason(), v1::Termination::KILLED) << mt.termination.message();
    }
  }
  EXPECT_EQ(memberCount(), 0u);
}

// Case 11: a member whose setup failed at release (after the decision) let
// a sibling's command run before the sibling was killed. Now every member's
// fallible setup is done before any command starts.
TEST_F(ROOT_Group, AMemberFailingItsSetupStartsNoSiblingCommand) {
  auto g = group("setupfail", 3);
  g.mutable_members(2)->mutable_config()->set_user("no-such-user");  // fails inside warren-init
  auto r = c_->launchGroup(id("pod"), g);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("member 'm3'"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("no-such-user"), std::string::npos) << r.error().message();
  ASSERT_TRUE(noMemberInits());
  EXPECT_TRUE(markers().empty()) << "a sibling's command ran: " << markers().front();
  EXPECT_EQ(memberCount(), 0u);
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers/pod/groups").empty());
}

}  // namespace
}  // namespace warren::testing
