// checkDescriptor(): the descriptor rules, on descriptors made in memory.
#include <gtest/gtest.h>

#include "host/loader.hpp"

namespace warren::plugins {
namespace {

int32_t fakeCreate(const warren_host*, const uint8_t*, size_t, void**, warren_sink*) { return 0; }
void fakeDestroy(void*) {}
int32_t fakeCall(void*, uint32_t, const uint8_t*, size_t, warren_sink*) { return 0; }

warren_plugin_descriptor valid() {
  return {sizeof(warren_plugin_descriptor), WARREN_ABI_MAJOR, WARREN_ABI_MINOR, WARREN_KIND_ISOLATOR,
          "org.warren.isolator.x", "x", "1.0", &fakeCreate, &fakeDestroy, &fakeCall};
}

std::string check(const warren_plugin_descriptor& d) {
  auto r = checkDescriptor("/p/x.so", &d);
  return r ? "ok" : r.error().message();
}

TEST(DescriptorCheck, ValidOnesPass) {
  auto d = valid();
  EXPECT_EQ(check(d), "ok");
  d.kind = WARREN_KIND_PROVISIONER;
  d.short_name = "cgroups/mem";
  d.version = nullptr;  // optional
  EXPECT_EQ(check(d), "ok");
  d.struct_size += 16;  // a newer plugin's longer descriptor (minor not newer)
  EXPECT_EQ(check(d), "ok");
}

TEST(DescriptorCheck, SizeChecks) {
  auto d = valid();
  d.struct_size = 4;
  EXPECT_EQ(check(d), "plugin '/p/x.so': descriptor is 4 bytes, too small to hold an ABI version");
  d.struct_size = 24;
  EXPECT_EQ(check(d), "plugin '/p/x.so': descriptor is 24 bytes, smaller than the " +
                          std::to_string(kDescriptorBytesRead12) + " of ABI 1.2");
  // An ABI 1.0 plugin's descriptor ends at `call`: still fine.
  d = valid();
  d.abi_minor = 0;
  d.struct_size = kDescriptorBytesRead;
  EXPECT_EQ(check(d), "ok");
  d.struct_size = 24;
  EXPECT_EQ(check(d), "plugin '/p/x.so': descriptor is 24 bytes, smaller than the " +
                          std::to_string(kDescriptorBytesRead) + " of ABI 1.0");
  // A 1.1 plugin must carry `describe`'s slot.
  d = valid();
  d.abi_minor = 1;
  d.struct_size = kDescriptorBytesRead;
  EXPECT_EQ(check(d), "plugin '/p/x.so': descriptor is " + std::to_string(kDescriptorBytesRead) +
                          " bytes, smaller than the " + std::to_string(kDescriptorBytesRead11) +
                          " of ABI 1.1");
}

int32_t describeFails(warren_sink* out) {
  const char msg[] = "no info\ntoday";
  out->write(out->ctx, reinterpret_cast<const uint8_t*>(msg), sizeof(msg) - 1);
  return WARREN_INTERNAL;
}
int32_t describeGarbage(warren_sink* out) {
  const uint8_t junk[] = {0xff, 0xff, 0xff};
  out->write(out->ctx, junk, sizeof(junk));
  return WARREN_OK;
}

TEST(DescriptorCheck, DescribeErrors) {
  auto d = valid();
  d.describe = &describeFails;
  EXPECT_EQ(check(d), "plugin '/p/x.so': describe failed: no info today");
  d.describe = &describeGarbage;
  EXPECT_EQ(check(d), "plugin '/p/x.so': describe returned a malformed PluginInfo");
}

TEST(DescriptorCheck, FieldChecks) {
  auto d = valid();
  d.kind = 7;
  EXPECT_EQ(check(d), "plugin '/p/x.so': unknown plugin kind 7");
  d = valid();
  d.name = nullptr;
  EXPECT_EQ(check(d),
            "plugin '/p/x.so': invalid plugin name (want reverse-DNS, e.g. com.vendor.isolator.foo)");
  d.name = "nodots";
  EXPECT_EQ(check(d),
            "plugin '/p/x.so': invalid plugin name (want reverse-DNS, e.g. com.vendor.isolator.foo)");
  d = valid();
  d.short_name = "a,b";
  EXPECT_EQ(check(d), "plugin '/p/x.so': plugin 'org.warren.isolator.x' has an invalid short name "
                      "(want e.g. foo or foo/bar)");
  d = valid();
  d.call = nullptr;
  EXPECT_EQ(check(d),
            "plugin '/p/x.so': plugin 'org.warren.isolator.x' descriptor lacks create, destroy or call");
}

TEST(DescriptorCheck, Names) {
  EXPECT_TRUE(validPluginName("com.example.isolator.greeting"));
  EXPECT_TRUE(validPluginName("org.warren.test.create-fails"));
  EXPECT_FALSE(validPluginName("a..b"));
  EXPECT_FALSE(validPluginName(".a"));
  EXPECT_FALSE(validPluginName("a b.c"));
  EXPECT_TRUE(validShortName("cgroups/mem"));
  EXPECT_TRUE(validShortName("example/greeting"));
  EXPECT_FALSE(validShortName(""));
  EXPECT_FALSE(validShortName("/abs"));
  EXPECT_FALSE(validShortName("a//b"));
  EXPECT_FALSE(validShortName("a b"));
  EXPECT_FALSE(validShortName(std::string(65, 'a')));
}

}  // namespace
}  // namespace warren::plugins
