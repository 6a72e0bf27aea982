// Unit tests (no root): libmount parsing and the orphan sweep plan.
#include <gtest/gtest.h>

#include "mount_table.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::filesystem {
namespace {

MountEntry entry(int id, const std::string& target, const std::string& fstype = "tmpfs") {
  MountEntry e;
  e.id = id;
  e.target = target;
  e.fstype = fstype;
  return e;
}

std::vector<std::string> targets(const std::vector<MountEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.target);
  return out;
}

TEST(MountTable, ParsesMountinfoWithLibmount) {
  testing::TestEnv env;
  std::string file = env.root + "/mountinfo";
  ASSERT_TRUE(fs::writeFile(file,
                            "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
                            "40 22 0:35 / /w/a\\040b rw - tmpfs tmpfs rw\n"
                            "41 40 0:36 /x /w/a\\040b/c rw - overlay overlay rw,lowerdir=/l\n"));
  auto t = readMountInfo(file);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[1].id, 40);
  EXPECT_EQ((*t)[1].parent_id, 22);
  EXPECT_EQ((*t)[1].target, "/w/a b");  // unescaped
  EXPECT_EQ((*t)[2].fstype, "overlay");
  EXPECT_EQ((*t)[2].target, "/w/a b/c");
}

TEST(MountTable, MissingFileIsAnError) {
  auto t = readMountInfo("/nonexistent/mountinfo");
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("libmount: parse '/nonexistent/mountinfo'"), std::string::npos)
      << t.error().message();
}

TEST(MountTable, ReadsThisProcessTable) {
  auto t = readMountInfo();
  ASSERT_TRUE(t) << t.error().message();
  bool root = false;
  for (const auto& e : *t) root = root || e.target == "/";
  EXPECT_TRUE(root);
}

TEST(SweepPlan, OnlyStrictlyBelowRootsAndNotSkipped) {
  std::vector<MountEntry> table = {
      entry(1, "/"),           entry(2, "/work"),              entry(3, "/work/a"),
      entry(4, "/workshop/x"), entry(5, "/work/plugins/p/l"), entry(6, "/run/w/ns/net", "nsfs"),
      entry(7, "/elsewhere"),
  };
  SweepScope s;
  s.roots = {"/work", "/run/w"};
  s.skip = {"/work/plugins"};
  EXPECT_EQ(targets(planSweep(table, s)), (std::vector<std::string>{"/run/w/ns/net", "/work/a"}));
}

TEST(SweepPlan, DeepestOwnerDecides) {
  std::vector<MountEntry> table = {
      entry(10, "/work/c/parent/x"),              // known parent
      entry(11, "/work/c/parent/kids/child/y"),   // orphan child inside the known parent
      entry(12, "/work/c/gone/z"),                // orphan top-level
      entry(13, "/work/unclaimed"),               // no owner at all
  };
  SweepScope s;
  s.roots = {"/work"};
  s.owned = {{"/work/c/parent", true}, {"/work/c/parent/kids/child", false}, {"/work/c/gone", false}};
  EXPECT_EQ(targets(planSweep(table, s)),
            (std::vector<std::string>{"/work/c/parent/kids/child/y", "/work/c/gone/z", "/work/unclaimed"}));
}

TEST(SweepPlan, KnownIdComponentKeepsUnclaimedMounts) {
  std::vector<MountEntry> table = {entry(1, "/run/containers/pod7/ns/mnt", "nsfs"),
                                   entry(2, "/run/containers/old/ns/mnt", "nsfs")};
  SweepScope s;
  s.roots = {"/run"};
  s.keep_components = {"pod7", "run"};  // "run" is the root itself: must not count
  EXPECT_EQ(targets(planSweep(table, s)), (std::vector<std::string>{"/run/containers/old/ns/mnt"}));
}

TEST(SweepPlan, DeepestFirstAndStacksTopFirst) {
  std::vector<MountEntry> table = {
      entry(20, "/work/a"), entry(21, "/work/a/b/c"), entry(22, "/work/a/b"),
      entry(23, "/work/a"),  // stacked on 20
  };
  SweepScope s;
  s.roots = {"/work"};
  auto plan = planSweep(table, s);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].id, 21);
  EXPECT_EQ(plan[1].id, 22);
  EXPECT_EQ(plan[2].id, 23);
  EXPECT_EQ(plan[3].id, 20);
}

TEST(SweepPlan, ComponentAwarePrefixes) {
  std::vector<MountEntry> table = {entry(1, "/work/c/a1/m"), entry(2, "/work/c/a/m")};
  SweepScope s;
  s.roots = {"/work"};
  s.owned = {{"/work/c/a", true}};
  EXPECT_EQ(targets(planSweep(table, s)), (std::vector<std::string>{"/work/c/a1/m"}));
}

}  // namespace
}  // namespace warren::isolators::filesystem
