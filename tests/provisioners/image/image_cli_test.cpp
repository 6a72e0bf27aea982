// The operator's commands end to end: warren images pull|ls|prune, and
// warren run --image, each a separate `warren` process.
#include "fixture.hpp"
#include "image_builder.hpp"
#include "test_env.hpp"

namespace warren::testing {
namespace {

using namespace warren::testing::images;

TEST(ROOT_ImageCli, PullListRunPrune) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Image img;
  img.layers = {busyboxLayer(), {makeTar({file("which", "cli image\n")}), Compression::Gzip}};
  img.env = {"PATH=/bin"};
  img.cmd = {"/bin/sh", "-c", "cat /which"};
  writeOciLayout(env.root + "/layout", {{"v1", img}});
  std::string ref = "oci:" + env.root + "/layout:v1";
  std::vector<std::string> base = {env.warren_bin, "--work_dir", env.work_dir, "--runtime_dir",
                                   env.runtime_dir, "--cgroups_root", env.cgroups_root,
                                   "--plugin_dir", env.plugin_dir, "--isolation", "pid"};
  auto warren = [&](std::vector<std::string> args) {
    auto argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(120));
  };
  auto pull = warren({"images", "pull", ref});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("sha256:"), std::string::npos) << pull.out;
  // Progress goes to stderr: plain lines per layer off a terminal.
  EXPECT_NE(pull.err.find("layer 1/2 sha256:"), std::string::npos) << pull.err;
  EXPECT_EQ(pull.err.find("cached"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find(" done "), std::string::npos) << pull.err;
  auto again = warren({"images", "pull", ref});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("layer 1/2 sha256:"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("  cached\n"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find(ref + ": cached (nothing fetched)\n"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("done"), std::string::npos) << again.err;
  auto ls = warren({"images", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find(env.root + "/layout"), std::string::npos) << ls.out;
  auto run = warren({"run", "--image", ref});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "cli image\n");
  auto prune = warren({"images", "prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_NE(prune.out.find("removed"), std::string::npos) << prune.out;
  auto after = warren({"--json", "images", "ls"});
  EXPECT_EQ(after.out.find(env.root + "/layout"), std::string::npos) << after.out;
  auto bad = warren({"images", "pull", "ftp://nowhere/x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("unknown image scheme 'ftp'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace warren::testing
