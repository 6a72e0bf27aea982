// Unit tests: size parsing, resource validation, parent checks.
#include <gtest/gtest.h>

#include <limits>

#include "limits.hpp"

namespace warren::isolators::cgroups {
namespace {

TEST(CgroupsSize, ParsesUnits) {
  EXPECT_EQ(parseSize("4096").value(), 4096u);
  EXPECT_EQ(parseSize("64M").value(), 64ull << 20);
  EXPECT_EQ(parseSize("64MiB").value(), 64ull << 20);
  EXPECT_EQ(parseSize("64mb").value(), 64ull << 20);
  EXPECT_EQ(parseSize("512k").value(), 512ull << 10);
  EXPECT_EQ(parseSize("1.5G").value(), 3ull << 29);
  EXPECT_EQ(parseSize(" 2T ").value(), 2ull << 40);
  EXPECT_EQ(parseSize("10B").value(), 10u);
}

TEST(CgroupsSize, RejectsBadSizes) {
  for (const char* bad : {"", "-1", "-5M", "0", "0M", "abc", "12Q", "1.2.3M", "M", "99999999999P"}) {
    auto r = parseSize(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << bad;
    EXPECT_NE(r.error().message().find("invalid size '" + std::string(bad) + "'"), std::string::npos)
        << r.error().message();
  }
}

TEST(CgroupsSize, Formats) {
  EXPECT_EQ(formatSize(64ull << 20), "64MiB");
  EXPECT_EQ(formatSize(3ull << 30), "3GiB");
  EXPECT_EQ(formatSize(1536), "1536");  // 1.5KiB: no exact unit
  EXPECT_EQ(formatSize(2048), "2KiB");
  EXPECT_EQ(formatSize(1000), "1000");
}

TEST(CgroupsLimits, ValidatesResources) {
  v1::ContainerConfig c;
  c.mutable_resources()->set_cpus(-1);
  auto r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "resources.cpus=-1 is invalid: must be a positive number");

  c.mutable_resources()->set_cpus(0.001);
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("resources.cpus=0.001 is below the minimum"), std::string::npos);

  c.mutable_resources()->set_cpus(std::numeric_limits<double>::infinity());
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is invalid: must be a positive number"), std::string::npos);

  c.mutable_resources()->set_cpus(2e6);
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is above the maximum of"), std::string::npos);

  c.mutable_resources()->set_cpus(0.5);
  c.mutable_resources()->set_mem_bytes(1000);
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "resources.mem_bytes=1000 is below the minimum of 4MiB");

  c.mutable_resources()->set_mem_bytes(64ull << 20);
  c.mutable_resources()->set_pids(1);
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("resources.pids=1 is below the minimum of 2"), std::string::npos);

  c.mutable_resources()->set_pids(10);
  r = limitsFromConfig(c);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_DOUBLE_EQ(r->cpus, 0.5);
  EXPECT_EQ(r->mem_bytes, 64ull << 20);
  EXPECT_EQ(r->pids, 10u);
}

TEST(CgroupsLimits, ParsesSettings) {
  v1::ContainerConfig c;
  c.mutable_resources()->set_mem_bytes(64ull << 20);
  (*c.mutable_isolator_settings())["cgroups.memory_swap"] = "32M";
  (*c.mutable_isolator_settings())["cgroups.cpuset_cpus"] = "0-1";
  (*c.mutable_isolator_settings())["cgroups.devices_allow"] = "c 10:200 rwm; b 7:* r";
  (*c.mutable_isolator_settings())["network.mode"] = "ignored";  // another isolator's
  auto r = limitsFromConfig(c);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->swap_bytes, 32ull << 20);
  EXPECT_EQ(r->cpuset_cpus, "0-1");
  ASSERT_EQ(r->extra_devices.size(), 2u);
  EXPECT_EQ(r->extra_devices[1], "b 7:* r");

  (*c.mutable_isolator_settings())["cgroups.memory_swap"] = "lots";
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "setting cgroups.memory_swap: invalid size 'lots': no number");
  c.mutable_isolator_settings()->erase("cgroups.memory_swap");

  (*c.mutable_isolator_settings())["cgroups.devices_allow"] = "x 1:1 rwm";
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("invalid device rule 'x 1:1 rwm'"), std::string::npos);
  c.mutable_isolator_settings()->erase("cgroups.devices_allow");

  (*c.mutable_isolator_settings())["cgroups.bogus"] = "1";
  r = limitsFromConfig(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown setting 'cgroups.bogus'"), std::string::npos);
}

TEST(CgroupsLimits, ChildWithinParent) {
  Limits parent{.cpus = 1, .mem_bytes = 256ull << 20, .pids = 50};
  EXPECT_TRUE(checkWithin(Limits{.cpus = 0.5, .mem_bytes = 128ull << 20}, "pod.web", parent, "pod"));
  EXPECT_TRUE(checkWithin(Limits{}, "pod.web", parent, "pod"));
  auto r = checkWithin(Limits{.mem_bytes = 512ull << 20}, "pod.web", parent, "pod");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_EQ(r.error().message(),
            "resources.mem_bytes 512MiB of 'pod.web' exceeds the limit 256MiB of its parent 'pod'");
  r = checkWithin(Limits{.cpus = 2}, "pod.web", parent, "pod");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "resources.cpus 2 of 'pod.web' exceeds the limit 1 of its parent 'pod'");
  r = checkWithin(Limits{.pids = 51}, "a.b.c", parent, "a", "ancestor");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "resources.pids 51 of 'a.b.c' exceeds the limit 50 of its ancestor 'a'");
  // A parent without a limit bounds nothing.
  EXPECT_TRUE(checkWithin(Limits{.mem_bytes = 1ull << 40}, "pod.web", Limits{}, "pod"));
}

TEST(CgroupsLimits, RecordRoundTrip) {
  Limits l{.cpus = 0.2, .mem_bytes = 12345678, .pids = 7};
  Limits back = parseLimits(serializeLimits(l));
  EXPECT_DOUBLE_EQ(back.cpus, 0.2);
  EXPECT_EQ(back.mem_bytes, 12345678u);
  EXPECT_EQ(back.pids, 7u);
}

TEST(CgroupsDevices, RuleSyntax) {
  EXPECT_TRUE(validateDeviceRule("c 1:3 rwm"));
  EXPECT_TRUE(validateDeviceRule("b *:* m"));
  EXPECT_TRUE(validateDeviceRule("a"));
  EXPECT_FALSE(validateDeviceRule("c 1 rwm"));
  EXPECT_FALSE(validateDeviceRule("c 1:3 rwx"));
  EXPECT_FALSE(validateDeviceRule("c a:3 r"));
  EXPECT_FALSE(validateDeviceRule("c 1:3 r extra"));
}

TEST(CgroupsLimits, ParsesIoOomAndShareSettings) {
  v1::ContainerConfig c;
  auto& s = *c.mutable_isolator_settings();
  s["cgroups.io_weight"] = "300";
  s["cgroups.io_max"] = "8:0 rbps=1M wiops=100; 254:16 wbps=512k riops=7";
  s["cgroups.oom_score_adj"] = "-250";
  s["cgroups.share_parent"] = "false";
  auto l = limitsFromConfig(c);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->io_weight, 300u);
  ASSERT_EQ(l->io_max.size(), 2u);
  EXPECT_EQ(l->io_max[0].device, "8:0");
  EXPECT_EQ(l->io_max[0].rbps, 1ull << 20);
  EXPECT_EQ(l->io_max[0].wiops, 100u);
  EXPECT_EQ(l->io_max[1].wbps, 512ull << 10);
  EXPECT_EQ(l->io_max[1].riops, 7u);
  EXPECT_TRUE(l->has_oom_score_adj);
  EXPECT_EQ(l->oom_score_adj, -250);
  EXPECT_FALSE(l->share_parent);
  EXPECT_TRUE(l->any());
}

TEST(CgroupsLimits, RefusesBadIoOomAndShareSettings) {
  const std::pair<const char*, const char*> bad[] = {
      {"cgroups.io_weight", "0"},           {"cgroups.io_weight", "10001"},
      {"cgroups.io_weight", "x"},           {"cgroups.io_max", "sda rbps=1M"},
      {"cgroups.io_max", "8:0 foo=1"},      {"cgroups.io_max", "8:0"},
      {"cgroups.io_max", "8:0 rbps=0"},     {"cgroups.io_max", "8:0 riops=-3"},
      {"cgroups.io_max", " ; "},            {"cgroups.oom_score_adj", "2000"},
      {"cgroups.oom_score_adj", "1e3"},     {"cgroups.share_parent", "yes"}};
  const char* why[] = {"outside 1..10000", "outside 1..10000", "is not an integer", "is not MAJOR:MINOR",
                       "unknown cap 'foo'", "has no cap", "must be greater than zero", "is outside 1..",
                       "is empty", "outside -1000..1000", "is not an integer", "is not true or false"};
  for (size_t i = 0; i < std::size(bad); ++i) {
    v1::ContainerConfig c;
    (*c.mutable_isolator_settings())[bad[i].first] = bad[i].second;
    auto l = limitsFromConfig(c);
    ASSERT_FALSE(l) << bad[i].first << "=" << bad[i].second;
    EXPECT_NE(l.error().message().find(bad[i].first), std::string::npos) << l.error().message();
    EXPECT_NE(l.error().message().find(why[i]), std::string::npos) << l.error().message();
  }
}

}  // namespace
}  // namespace warren::isolators::cgroups
