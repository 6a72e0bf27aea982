// The gpu/nvidia driver volume without a GPU: the loader-cache reader on
// this machine's real /etc/ld.so.cache and on a cache the real ldconfig
// makes of stand-in driver libraries; which libraries belong to the running
// driver; the staged volume's layout.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "driver_test_util.hpp"
#include "driver_volume.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using namespace isolators::gpu;

bool hasName(const std::vector<CacheEntry>& v, const std::string& name) {
  return std::any_of(v.begin(), v.end(), [&](const CacheEntry& e) { return e.name == name; });
}

TEST(GpuDriverVolume, ReadsThisMachinesLoaderCache) {
  auto bytes = fs::readFile("/etc/ld.so.cache");
  if (!bytes) GTEST_SKIP() << "skipped: this machine has no /etc/ld.so.cache";
  auto entries = parseLoaderCache(*bytes, "loader cache '/etc/ld.so.cache'");
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_TRUE(hasName(*entries, "libc.so.6"));
  for (const auto& e : *entries) {
    if (e.name == "libc.so.6") {
      EXPECT_TRUE(fs::exists(e.path)) << e.path;
    }
  }
}

TEST(GpuDriverVolume, MalformedCachesAreOneLineErrors) {
  auto bytes = fs::readFile("/etc/ld.so.cache");
  if (!bytes) GTEST_SKIP() << "skipped: this machine has no /etc/ld.so.cache";
  auto bad = [](std::string_view b) {
    auto r = parseLoaderCache(b, "loader cache 'x'");
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };
  EXPECT_NE(bad("ld.so-1.7.0\0\0\0\0").find("loader cache 'x': not a glibc loader cache"), std::string::npos);
  std::string wrong_version = *bytes;
  wrong_version[19] = '9';
  EXPECT_NE(bad(wrong_version).find("loader cache version '1.9'"), std::string::npos);
  EXPECT_NE(bad(std::string_view(*bytes).substr(0, 60)).find("(truncated?)"), std::string::npos);
  // Every string offset pointing past the end.
  std::string past = *bytes;
  past.resize(48 + 24);
  uint32_t n = 1;
  std::memcpy(past.data() + 20, &n, 4);
  uint32_t far = 1u << 30;
  std::memcpy(past.data() + 48 + 4, &far, 4);
  std::memcpy(past.data() + 48, "\x03\x03\x00\x00", 4);
#if defined(__x86_64__)
  EXPECT_NE(bad(past).find("a string offset is past the end"), std::string::npos);
#endif
}

TEST(GpuDriverVolume, OnlyTheRunningDriversLibrariesAreTaken) {
  TestEnv env;
  std::string why;
  std::string cache = makeFakeDriverCache(env.root + "/ld", &why);
  ASSERT_FALSE(cache.empty()) << why;
  auto bytes = fs::readFile(cache);
  ASSERT_TRUE(bytes);
  auto entries = parseLoaderCache(*bytes, cache);
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_TRUE(hasName(*entries, "libcuda.so.1"));
  ASSERT_TRUE(hasName(*entries, "libnvidia-cfg.so.1"));
  auto libs = driverLibraries(*entries, "999.99.99-fake");
  ASSERT_EQ(libs.size(), 1u);  // libnvidia-cfg is another version's
  EXPECT_EQ(libs[0].real_path, std::string(WARREN_FAKE_DRIVER_DIR) + "/libcuda.so.999.99.99-fake");
  // Its soname, and the development link the cache lists too.
  EXPECT_EQ(libs[0].names, (std::vector<std::string>{"libcuda.so", "libcuda.so.1"}));
  EXPECT_TRUE(driverLibraries(*entries, "1.2.3").empty());
}

TEST(GpuDriverVolume, StagedVolumeHasLibrariesNamesAndTools) {
  TestEnv env;
  std::string bin = env.root + "/bin";
  ASSERT_TRUE(fs::mkdirs(bin));
  ASSERT_TRUE(fs::writeFile(bin + "/nvidia-smi", "#!/bin/sh\necho fake\n"));
  ASSERT_EQ(::chmod((bin + "/nvidia-smi").c_str(), 0755), 0);
  auto bins = driverBinaries({env.root + "/nowhere", bin});
  ASSERT_EQ(bins, std::vector<std::string>{bin + "/nvidia-smi"});
  DriverLibrary lib{std::string(WARREN_FAKE_DRIVER_DIR) + "/libcuda.so.999.99.99-fake", {"libcuda.so.1"}};
  auto dir = stageDriverVolume(env.root + "/driver", "999.99.99-fake", {lib}, bins);
  ASSERT_TRUE(dir) << dir.error().message();
  EXPECT_EQ(*dir, env.root + "/driver/999.99.99-fake");
  EXPECT_TRUE(fs::exists(*dir + "/lib64/libcuda.so.999.99.99-fake"));
  char target[256] = {};
  ASSERT_GT(::readlink((*dir + "/lib64/libcuda.so.1").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "libcuda.so.999.99.99-fake");
  struct stat st {};
  ASSERT_EQ(::stat((*dir + "/bin/nvidia-smi").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0111u);
  // A second call finds the volume made; no temporary left behind.
  auto again = stageDriverVolume(env.root + "/driver", "999.99.99-fake", {}, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *dir);
  EXPECT_TRUE(fs::exists(*dir + "/lib64/libcuda.so.999.99.99-fake"));
  auto listed = fs::readFile(*dir + "/bin/nvidia-smi");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, "#!/bin/sh\necho fake\n");
  // A version that would name another directory is refused.
  for (const char* v : {"../x", "", "1/2", ".hidden"}) {
    auto r = stageDriverVolume(env.root + "/driver", v, {}, {});
    ASSERT_FALSE(r) << v;
    EXPECT_NE(r.error().message().find("cannot name a directory"), std::string::npos);
  }
}

}  // namespace
}  // namespace warren::testing
