// Bad input: a clear one-line error naming what was wrong, nothing made.
#include "fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_BadInput = ContainerizerTest;

TEST(ContainerID, InvalidIdsAreRejectedWithTheReason) {
  for (const char* bad : {"a/b", "..", "", "a..b", "with space", "semi;colon", ".lead", "trail."}) {
    auto r = parseId(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("invalid container ID"), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  }
  auto longName = parseId(std::string(65, 'a'));
  ASSERT_FALSE(longName);
  EXPECT_NE(longName.error().message().find("longer than 64"), std::string::npos);
  EXPECT_TRUE(parseId(std::string(64, 'a')));
  EXPECT_TRUE(parseId("pod7.web.debug_1-x"));
  std::string deep = "l0";
  for (int i = 1; i < 33; ++i) deep += ".l" + std::to_string(i);
  auto tooDeep = parseId(deep);
  ASSERT_FALSE(tooDeep);
  EXPECT_NE(tooDeep.error().message().find("exceeds the limit of 32"), std::string::npos);
}

TEST_F(ROOT_BadInput, DuplicateIdIsRefused) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("dup"), shell("sleep 300")));
  auto again = c->launch(id("dup"), shell("true"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Code::AlreadyExists);
  EXPECT_NE(again.error().message().find("container 'dup' already exists"), std::string::npos);
  // The original is untouched.
  auto st = c->status(id("dup"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state(), v1::RUNNING);
  ASSERT_TRUE(c->destroy(id("dup")));
}

TEST_F(ROOT_BadInput, UnknownContainerForWaitKillDestroy) {
  auto c = make();
  auto w = c->wait(id("ghost"), std::chrono::seconds(1));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message(), "unknown container 'ghost'");
  auto k = c->kill(id("ghost"), 9);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message(), "unknown container 'ghost'");
  auto d = c->destroy(id("ghost"));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(), "unknown container 'ghost'");
}

TEST_F(ROOT_BadInput, MissingRootfsLeavesNothing) {
  auto c = make();
  auto cfg = shell("true");
  cfg.set_rootfs(env_.root + "/does-not-exist");
  auto r = c->launch(id("norootfs"), cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("does-not-exist' does not exist"), std::string::npos)
      << r.error().message();
  expectEmptyState();
}

TEST_F(ROOT_BadInput, UnknownIsolatorListsTheAvailableOnes) {
  auto c = Containerizer::create(options({"pid", "nosuch"}));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("unknown isolator 'nosuch' (available: "), std::string::npos)
      << c.error().message();
  EXPECT_NE(c.error().message().find("pid"), std::string::npos);
}

TEST_F(ROOT_BadInput, RelativeCgroupsRootIsRefused) {
  auto o = options();
  o.cgroups_root = "relative/root";
  auto c = Containerizer::create(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "--cgroups_root must be an absolute path, got 'relative/root'");
}

TEST_F(ROOT_BadInput, NoCommand) {
  auto c = make();
  v1::ContainerConfig cfg;
  cfg.set_rootfs(rootfs_);
  auto r = c->launch(id("nocommand"), cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'nocommand': no command given");
  expectEmptyState();
}

TEST_F(ROOT_BadInput, SharePidOnTopLevelIsRefused) {
  auto c = make();
  auto cfg = shell("true");
  cfg.set_share_pid_namespace(true);
  auto r = c->launch(id("toplevel"), cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("share_pid_namespace applies only to nested containers"),
            std::string::npos);
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
