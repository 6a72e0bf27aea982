// The userns isolator's range arithmetic: operator input checked with one
// line naming it, first-fit disjoint slots, exhaustion naming the holders.
#include <gtest/gtest.h>

#include "range.hpp"

namespace warren::isolators::userns {
namespace {

TEST(UsernsRange, ParsesStartAndCount) {
  auto r = parseRange("100000:65536");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->start, 100000u);
  EXPECT_EQ(r->count, 65536u);
}

TEST(UsernsRange, RefusesBadRanges) {
  EXPECT_EQ(parseRange("100000").error().message(), "--userns_range '100000': expected START:COUNT (host ids, decimal)");
  EXPECT_EQ(parseRange("0:65536").error().message(),
            "--userns_range '0:65536': START must be above 0 (the host's root is never mapped)");
  EXPECT_EQ(parseRange("1:0").error().message(), "--userns_range '1:0': COUNT must be at least 1");
  EXPECT_EQ(parseRange("4294900000:100000").error().message(),
            "--userns_range '4294900000:100000': the range ends past 4294967294");
  EXPECT_FALSE(parseRange("-1:5"));
  EXPECT_FALSE(parseRange("1:5x"));
  EXPECT_FALSE(parseSize("0"));
  EXPECT_FALSE(parseSize("abc"));
  EXPECT_EQ(*parseSize("65536"), 65536u);
}

TEST(UsernsRange, AllocatesDisjointSlotsFirstFit) {
  Range range{1000000, 4 * 65536};
  Allocations held;
  auto a = allocate("a", range, 65536, held);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->start, 1000000u);
  held["a"] = *a;
  auto b = allocate("b", range, 65536, held);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->start, 1000000u + 65536);
  held["b"] = *b;
  held.erase("a");  // a gap is reused
  auto c = allocate("c", range, 65536, held);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->start, 1000000u);
  // A container that already holds one gets it again.
  auto again = allocate("b", range, 65536, held);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->start, b->start);
}

TEST(UsernsRange, SkipsRangesOfAnotherSize) {
  Range range{1000, 300};
  Allocations held{{"old", Range{1050, 100}}};  // from before a --userns_size change
  auto r = allocate("new", range, 100, held);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 1200u);  // slots stay size-aligned: 1000 and 1100 overlap it
}

TEST(UsernsRange, ExhaustionNamesRangeAndHolders) {
  Range range{1000, 200};
  Allocations held{{"a", Range{1000, 100}}, {"b", Range{1100, 100}}};
  auto r = allocate("c", range, 100, held);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "container 'c': no free range of 100 ids left in --userns_range 1000:200 (2 held: a, b)");
  EXPECT_FALSE(allocate("d", Range{1000, 50}, 100, {}));
}

TEST(UsernsRange, RecordsRoundTripAndRejectGarbage) {
  auto r = parseRecord(formatRecord(Range{268435456, 65536}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 268435456u);
  EXPECT_EQ(r->count, 65536u);
  EXPECT_FALSE(parseRecord(""));
  EXPECT_FALSE(parseRecord("12 0\n"));
  EXPECT_FALSE(parseRecord("12 x\n"));
  EXPECT_FALSE(parseRecord("12 5"));
}

}  // namespace
}  // namespace warren::isolators::userns
