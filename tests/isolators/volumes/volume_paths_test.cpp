// Unit tests (no root): container/sandbox path rules, the host path
// allowlist (component-aware, '..' and symlink escapes), sandbox dirs.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sandbox_dirs.hpp"
#include "test_env.hpp"
#include "volume_paths.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::volumes {
namespace {

TEST(VolumePaths, ContainerPaths) {
  EXPECT_TRUE(checkContainerPath("/data"));
  EXPECT_TRUE(checkContainerPath("/a/b/c"));
  EXPECT_TRUE(checkContainerPath("/a..b/..c"));  // dots inside names are fine
  for (const char* bad : {"", "data", "/", "/a/", "//a", "/a//b", "/./a", "/a/.", "/..", "/a/../b"}) {
    auto r = checkContainerPath(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    }
  }
  EXPECT_EQ(checkContainerPath("/a/../../etc").error().message(),
            "container path '/a/../../etc' must not contain '..'");
  EXPECT_EQ(checkContainerPath("/a//b").error().message(),
            "container path '/a//b' is not normalized (no '//', '.', or trailing '/')");
}

TEST(VolumePaths, SandboxPaths) {
  EXPECT_TRUE(checkSandboxPath("data"));
  EXPECT_TRUE(checkSandboxPath("a/b"));
  EXPECT_TRUE(checkSandboxPath("containersx"));
  EXPECT_EQ(checkSandboxPath("containers/c1").error().message(),
            "sandbox path 'containers/c1' is reserved for nested containers' sandboxes");
  for (const char* bad : {"", "/data", "..", "../x", "a/../../x", "a/", "./a", "a//b", "containers"}) {
    EXPECT_FALSE(checkSandboxPath(bad)) << bad;
  }
}

TEST(VolumePaths, IsUnderIsComponentAware) {
  EXPECT_TRUE(isUnder("/srv/data", "/srv/data"));
  EXPECT_TRUE(isUnder("/srv/data/x", "/srv/data"));
  EXPECT_FALSE(isUnder("/srv/database", "/srv/data"));
  EXPECT_FALSE(isUnder("/srv", "/srv/data"));
  EXPECT_TRUE(isUnder("/anything", "/"));
}

TEST(VolumePaths, ParseAllowlist) {
  auto a = parseAllowlist(" /srv ,/data/x/,, ");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"/srv", "/data/x"}));
  EXPECT_TRUE(parseAllowlist("")->empty());
  auto bad = parseAllowlist("/srv,relative");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "host_path_allowlist entry 'relative' is not absolute");
}

class AllowlistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    allowed = env.root + "/allowed";
    other = env.root + "/allowed-not";  // shares a string prefix, not a component
    ASSERT_TRUE(fs::mkdirs(allowed + "/sub"));
    ASSERT_TRUE(fs::mkdirs(other));
    ASSERT_EQ(::symlink(other.c_str(), (allowed + "/escape").c_str()), 0);
    ASSERT_EQ(::symlink("sub", (allowed + "/inner").c_str()), 0);
  }
  testing::TestEnv env;
  std::string allowed, other;
};

TEST_F(AllowlistTest, AllowsPathsUnderAPrefix) {
  auto r = resolveHostPath(allowed + "/sub", {allowed});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, allowed + "/sub");
  // A symlink that stays inside is resolved and allowed.
  auto in = resolveHostPath(allowed + "/inner", {allowed + "/"});
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(*in, allowed + "/sub");
}

TEST_F(AllowlistTest, RefusesSiblingWithSamePrefixString) {
  auto r = resolveHostPath(other, {allowed});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_EQ(r.error().message(), "host path '" + other +
                                     "' is not under an allowed prefix (host_path_allowlist: " +
                                     allowed + ")");
}

TEST_F(AllowlistTest, RefusesDotDotEscape) {
  // Refused on its text ("." and ".." folded) before anything is looked up.
  auto r = resolveHostPath(allowed + "/sub/../../allowed-not", {allowed});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "host path '" + allowed + "/sub/../../allowed-not' is not under an allowed "
                                     "prefix (host_path_allowlist: " + allowed + ")");
}

TEST_F(AllowlistTest, RefusesSymlinkEscape) {
  auto r = resolveHostPath(allowed + "/escape", {allowed});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "host path '" + allowed + "/escape' (resolves to '" + other +
                                     "') is not under an allowed prefix (host_path_allowlist: " +
                                     allowed + ")");
}

TEST_F(AllowlistTest, PrefixThatIsASymlinkIsResolvedToo) {
  std::string link = env.root + "/link-to-allowed";
  ASSERT_EQ(::symlink(allowed.c_str(), link.c_str()), 0);
  EXPECT_TRUE(resolveHostPath(allowed + "/sub", {link}));
}

TEST_F(AllowlistTest, EmptyAllowlistRefusesEverything) {
  auto r = resolveHostPath(allowed, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("host_path_allowlist: empty"), std::string::npos);
}

TEST_F(AllowlistTest, ExistenceIsLookedAtOnlyInsideTheAllowlist) {
  auto r = resolveHostPath(other + "/nope", {allowed});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "host path '" + other + "/nope' is not under an allowed prefix "
                                     "(host_path_allowlist: " + allowed + ")");
  bool missing = false;
  std::string prefix;
  auto m = resolveHostPath(allowed + "/./a/b", {allowed}, &prefix, &missing);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(missing);
  EXPECT_EQ(*m, allowed + "/a/b");
  EXPECT_EQ(prefix, allowed);
}

TEST_F(AllowlistTest, MissingPathIsNamed) {
  auto r = resolveHostPath(allowed + "/nope", {allowed});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_EQ(r.error().message(), "host path '" + allowed + "/nope' does not exist");
}

TEST_F(AllowlistTest, SandboxDirsRefuseSymlinks) {
  std::vector<std::string> created;
  ASSERT_TRUE(mkdirBeneath(allowed, "new/deep", &created));
  EXPECT_EQ(created, (std::vector<std::string>{allowed + "/new", allowed + "/new/deep"}));
  struct stat st {};
  EXPECT_EQ(::stat((allowed + "/new/deep").c_str(), &st), 0);

  created.clear();
  auto r = mkdirBeneath(allowed, "escape/x", &created);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "'" + allowed + "/escape' is a symlink or not a directory; refusing to follow it");
  EXPECT_TRUE(created.empty());
  EXPECT_FALSE(fs::exists(other + "/x"));
  EXPECT_FALSE(checkBeneath(allowed, "escape"));
  EXPECT_TRUE(checkBeneath(allowed, "not/yet/there"));
}

TEST(VolumeShape, TmpfsAndParentRules) {
  v1::Volume t;
  t.set_source(v1::Volume::TMPFS);
  t.set_container_path("/t");
  EXPECT_EQ(checkVolumeShape(t, false, 0).error().message(), "a tmpfs volume needs a size");
  t.set_size_bytes(1 << 20);
  EXPECT_TRUE(checkVolumeShape(t, false, 0));
  EXPECT_EQ(checkVolumeShape(t, false, 4096).error().message(),
            "tmpfs size 1048576 exceeds the limit of 4096 bytes");

  v1::Volume p;
  p.set_source(v1::Volume::SANDBOX_PARENT);
  p.set_source_path("shared");
  p.set_container_path("/shared");
  EXPECT_TRUE(checkVolumeShape(p, true, 0));
  EXPECT_EQ(checkVolumeShape(p, false, 0).error().message(),
            "a parent sandbox volume needs a nested container (this one has no parent)");

  v1::Volume none;
  none.set_container_path("/x");
  EXPECT_EQ(checkVolumeShape(none, false, 0).error().message(), "volume has no source type");
}

}  // namespace
}  // namespace warren::volumes
