// host/install_layout: warren-init, the plugin dir and warren-plugin-host
// found relative to the binary holding the code, in scratch trees shaped like
// a build dir, an install prefix (from each place a binary lives), and an
// install staged inside a build dir.
#include "host/install_layout.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "test_env.hpp"

namespace warren::plugins {
namespace {

namespace sfs = std::filesystem;

void touch(const std::string& p) {
  sfs::create_directories(sfs::path(p).parent_path());
  std::ofstream(p) << "x";
}

const std::string kLib = WARREN_REL_LIBDIR, kLibexec = WARREN_REL_LIBEXECDIR;

// A prefix holding what an install of warren has.
std::string makePrefix(const std::string& p) {
  touch(p + "/" + kLibexec + "/warren/warren-init");
  sfs::create_directories(p + "/" + kLib + "/warren/plugins");
  return p;
}

TEST(InstallLayout, BuildTreeFromBinOrLibOrDeeperTestBinaries) {
  warren::testing::TestEnv env;
  const std::string b = env.root + "/build";
  touch(b + "/CMakeCache.txt");
  for (const std::string& from : std::initializer_list<std::string>{b + "/bin/warren", b + "/lib/libwarren.so.0", b + "/tests/plugins/some_test"}) {
    SCOPED_TRACE(from);
    touch(from);
    auto l = installLayoutOf(from);
    EXPECT_TRUE(l.build_tree);
    EXPECT_EQ(l.prefix, b);
    EXPECT_EQ(l.init_path, b + "/bin/warren-init");
    EXPECT_EQ(l.plugin_dir, b + "/plugins");
    EXPECT_EQ(l.plugin_host_path, b + "/bin/warren-plugin-host");
  }
}

TEST(InstallLayout, PrefixFromEveryPlaceABinaryIsInstalled) {
  warren::testing::TestEnv env;
  const std::string p = makePrefix(env.root + "/opt/w");
  for (const std::string& from : std::initializer_list<std::string>{p + "/bin/warren", p + "/sbin/warrend", p + "/" + kLib + "/libwarren.so.0",
                                 p + "/" + kLibexec + "/warren/warren-plugin-host"}) {
    SCOPED_TRACE(from);
    touch(from);
    auto l = installLayoutOf(from);
    EXPECT_FALSE(l.build_tree);
    EXPECT_EQ(l.prefix, p);
    EXPECT_EQ(l.init_path, p + "/" + kLibexec + "/warren/warren-init");
    EXPECT_EQ(l.plugin_dir, p + "/" + kLib + "/warren/plugins");
    EXPECT_EQ(l.plugin_host_path, p + "/" + kLibexec + "/warren/warren-plugin-host");
  }
}

TEST(InstallLayout, InstallStagedInsideABuildDirIsTheInstall) {
  warren::testing::TestEnv env;
  const std::string b = env.root + "/build";
  touch(b + "/CMakeCache.txt");
  const std::string p = makePrefix(b + "/stage");
  touch(p + "/bin/warren");
  auto l = installLayoutOf(p + "/bin/warren");
  EXPECT_FALSE(l.build_tree);
  EXPECT_EQ(l.prefix, p);
}

TEST(InstallLayout, NothingAroundFallsBackToTheConfiguredPrefix) {
  warren::testing::TestEnv env;
  const std::string lonely = env.root + "/nowhere/bin/warren";
  touch(lonely);
  auto l = installLayoutOf(lonely);
  EXPECT_FALSE(l.build_tree);
  EXPECT_EQ(l.init_path.rfind(env.root, 0), std::string::npos) << l.init_path;
}

TEST(InstallLayout, ThisProcessIsInTheBuildTree) {
  const auto& l = installLayout();
  EXPECT_TRUE(l.build_tree);
  EXPECT_EQ(l.prefix, sfs::weakly_canonical(WARREN_TEST_BUILD_DIR).string());
  EXPECT_TRUE(sfs::exists(l.init_path)) << l.init_path;
}

}  // namespace
}  // namespace warren::plugins
