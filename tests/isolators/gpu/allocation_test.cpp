// The allocation decisions of gpu/nvidia, without root or a GPU.
#include <gtest/gtest.h>

#include "allocation.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

using isolators::gpu::Allocations;
using isolators::gpu::allocate;

v1::ContainerID cid(const std::string& s) { return *parseId(s); }
const std::vector<uint32_t> kHost = {0, 1, 2, 3};

TEST(GpuAllocation, TopLevelTakesLowestFreeGpus) {
  Allocations held = {{"a", {0, 2}}};
  auto r = allocate(cid("b"), 2, kHost, held);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, (std::vector<uint32_t>{1, 3}));
  // A nested container's GPUs do not count against top-level ones.
  held["a.x"] = {0};
  r = allocate(cid("b"), 2, kHost, held);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<uint32_t>{1, 3}));
}

TEST(GpuAllocation, ExhaustionNamesTheHolders) {
  Allocations held = {{"a", {0, 1, 2}}};
  auto r = allocate(cid("b"), 2, kHost, held);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "container 'b' asks for 2 GPUs but only 1 of the 4 GPUs of this host are free (held by a (0,1,2))");
}

TEST(GpuAllocation, OverCountIsRefused) {
  auto r = allocate(cid("a"), 5, kHost, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'a' asks for 5 GPUs but this host has 4 GPUs");
  r = allocate(cid("a.b"), 3, kHost, {{"a", {1, 2}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'a.b' asks for 3 GPUs but its parent 'a' has 2 GPUs");
}

TEST(GpuAllocation, NestedTakesASubsetOfItsParents) {
  Allocations held = {{"a", {1, 3}}, {"b", {0}}};
  auto r = allocate(cid("a.x"), 1, kHost, held);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<uint32_t>{1}));
  held["a.x"] = *r;
  held["a.x.deep"] = {1};  // a grandchild is not a sibling of a.y
  r = allocate(cid("a.y"), 1, kHost, held);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<uint32_t>{3}));
  held["a.y"] = *r;
  r = allocate(cid("a.z"), 1, kHost, held);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "container 'a.z' asks for 1 GPU but only 0 of the 2 GPUs of its parent 'a' are free "
            "(held by a.x (1), a.y (3))");
  // The grandchild takes from its own parent a.x.
  r = allocate(cid("a.x.g"), 1, kHost, held);
  ASSERT_FALSE(r);  // a.x's only GPU is held by its child a.x.deep
}

TEST(GpuAllocation, ParentWithoutGpusIsRefused) {
  auto r = allocate(cid("a.b"), 1, kHost, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'a.b' asks for 1 GPU but its parent 'a' has none");
}

TEST(GpuAllocation, RecordsRoundTrip) {
  TestEnv env;
  std::string dir = env.root + "/records";
  ASSERT_TRUE(fs::mkdirs(dir));
  ASSERT_TRUE(isolators::gpu::writeRecord(dir, "a", {0, 2}));
  ASSERT_TRUE(isolators::gpu::writeRecord(dir, "a.b", {2}));
  auto all = isolators::gpu::loadRecords(dir);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(*all, (Allocations{{"a", {0, 2}}, {"a.b", {2}}}));
  isolators::gpu::removeRecord(dir, "a.b");
  ASSERT_TRUE(fs::writeFile(dir + "/bad", "0,x\n"));
  all = isolators::gpu::loadRecords(dir);
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message().find("is corrupt"), std::string::npos) << all.error().message();
}

}  // namespace
}  // namespace warren::testing
