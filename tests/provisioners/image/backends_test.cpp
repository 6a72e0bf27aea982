// Rootfs backends (issue #13, case 12): overlay with many layers, `auto` as a
// backend value, and the fallback to copy.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "image_builder.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using namespace images;

std::string mountTypeAt(const std::string& path) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, mp, opts, f;
    ls >> id >> parent >> dev >> root >> mp >> opts;
    while (ls >> f && f != "-") {}
    ls >> f;
    if (mp == path) type = f;  // the last (top) mount wins
  }
  return type;
}

// Overlay failed from ~40 layers ("exceed the mount option size") with no
// fallback. Sixty layers, each adding a file and rewriting /top.
TEST(ROOT_ImageBackends, OverlayMountsSixtyLayers) {
  WARREN_REQUIRE_ROOT();
  if (!overlayAvailable()) GTEST_SKIP() << "skipped: overlayfs not usable here";
  ProvisionerEnv p;
  Image img;
  for (int i = 1; i <= 60; ++i) {
    img.layers.push_back({makeTar({file("layer-" + std::to_string(i), "x"), file("top", std::to_string(i))}),
                          Compression::Gzip});
  }
  img.cmd = {"/top"};
  writeOciLayout(p.env.root + "/many", {{"v1", img}});
  auto r = p.provision("many", "oci:" + p.env.root + "/many:v1", "overlay");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->backend(), "overlay");
  EXPECT_EQ(mountTypeAt(r->rootfs()), "overlay");
  EXPECT_TRUE(fs::exists(r->rootfs() + "/layer-1"));
  EXPECT_TRUE(fs::exists(r->rootfs() + "/layer-60"));
  auto top = fs::readFile(r->rootfs() + "/top");
  ASSERT_TRUE(top);
  EXPECT_EQ(*top, "60") << "the last layer is on top";
  // Writable, without touching the layers.
  EXPECT_TRUE(fs::writeFile(r->rootfs() + "/top", "mine"));
  ASSERT_TRUE(p.destroy("many"));
  EXPECT_EQ(mountTypeAt(r->rootfs()), "");
}

// The README documents `auto`; it was rejected at provision time.
TEST(ROOT_ImageBackends, AutoIsAValidBackend) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p(std::map<std::string, std::string>{{"image_provisioner_backend", "auto"}});
  Image img;
  img.layers = {{makeTar({file("hello", "auto\n")}), Compression::Gzip}};
  img.cmd = {"/hello"};
  writeOciLayout(p.env.root + "/img", {{"v1", img}});
  auto r = p.provision("a", "oci:" + p.env.root + "/img:v1", "auto");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->backend(), overlayAvailable() ? "overlay" : "copy");
  EXPECT_EQ(*fs::readFile(r->rootfs() + "/hello"), "auto\n");
  ASSERT_TRUE(p.destroy("a"));
}

}  // namespace
}  // namespace warren::testing
