// disk/xfs's pure part: the project-id range, allocation, records.
#include <gtest/gtest.h>

#include "projects.hpp"

namespace warren::isolators::disk_xfs {
namespace {

TEST(DiskXfsProjects, RangeParsesAndRefusesWithTheFieldNamed) {
  auto r = parseProjectRange("");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 5000u);
  EXPECT_EQ(r->last, 9999u);
  r = parseProjectRange("7-7");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 7u);
  for (const char* bad : {"0-10", "10-5", "5", "a-b", "5-4294967295", "-5", "5-", "1-99999999999"}) {
    auto e = parseProjectRange(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message().find("disk/xfs project_ids '" + std::string(bad) + "'"), std::string::npos)
        << e.error().message();
  }
}

TEST(DiskXfsProjects, LowestFreeIdAndTheSameIdForItsHolder) {
  ProjectRange range{10, 12};
  Held held;
  auto a = allocateProject("a", range, held);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 10u);
  held[10] = {"a", "/s/a", 1};
  held[12] = {"c", "/s/c", 1};
  EXPECT_EQ(*allocateProject("b", range, held), 11u);
  EXPECT_EQ(*allocateProject("c", range, held), 12u);  // what it holds already
  held[11] = {"b", "/s/b", 1};
  auto none = allocateProject("d", range, held);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "every XFS project id of 10-12 is in use (3 containers)");
  held.erase(10);
  held[9] = {"x", "/s/x", 1};  // outside the range: not in the way
  EXPECT_EQ(*allocateProject("d", range, held), 10u);
}

TEST(DiskXfsProjects, RecordsRoundTripAndMalformedOnesAreRefused) {
  Holding h{"pod.web", "/work/sandboxes/pod/containers/web dir", 10485760};
  auto back = parseHolding(formatHolding(h));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->container, h.container);
  EXPECT_EQ(back->sandbox, h.sandbox);
  EXPECT_EQ(back->limit, h.limit);
  for (const char* bad : {"", "pod\n/s\n", "pod 12\nrelative\n", "pod x\n/s\n", "pod 1\n/s", " 1\n/s\n"}) {
    EXPECT_FALSE(parseHolding(bad)) << bad;
  }
  EXPECT_EQ(projectOfRecordName("5000"), 5000u);
  EXPECT_EQ(projectOfRecordName(".lock"), 0u);
  EXPECT_EQ(projectOfRecordName("5000.quarantined"), 0u);
}

}  // namespace
}  // namespace warren::isolators::disk_xfs
