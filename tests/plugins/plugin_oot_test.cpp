// The vendor path end to end: install the SDK from this build tree, build
// plugins/examples on its own against it (find_package(warren) +
// warren_add_plugin), then load the result through the real PluginHost.
#include <gtest/gtest.h>

#include "host/plugin_host.hpp"
#include "test_env.hpp"

namespace warren::plugins {
namespace {

using warren::testing::runCmd;

void mustRun(const std::vector<std::string>& argv) {
  auto r = runCmd(argv, std::chrono::seconds(120));
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  ASSERT_EQ(r.exit_code, 0) << cmd << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
}

TEST(OutOfTree, ExamplePluginBuildsAgainstInstalledSdk) {
  warren::testing::TestEnv env;
  const std::string prefix = env.root + "/prefix";
  const std::string build = env.root + "/build";
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--install", WARREN_TEST_BUILD_DIR, "--prefix", prefix,
                                   "--component", "sdk"}));
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "-S", std::string(WARREN_TEST_SOURCE_DIR) + "/plugins/examples",
                                   "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix,
                                   "-DCMAKE_BUILD_TYPE=Release"}));
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--build", build, "-j2"}));

  HostOptions opts;
  opts.plugin_dirs = {build};
  opts.configs = {{"example/greeting", R"({"env_name": "OOT_GREETING", "greeting": "built outside"})"}};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  ASSERT_TRUE(host->errors().empty()) << host->errors()[0].message();
  auto plugins = host->isolators({"example/greeting"});
  ASSERT_TRUE(plugins) << plugins.error().message();
  EXPECT_EQ((*plugins)[0]->descriptor().path, build + "/isolator_example_greeting.so");
  v1::PrepareRequest req;
  req.mutable_container()->mutable_id()->add_path("c1");
  auto r = (*plugins)[0]->call<v1::PrepareResponse>(v1::PREPARE, req);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->launch_info().env().at("OOT_GREETING"), "built outside");

  // The operator's view: `warren plugins` lists the vendor plugin.
  auto listed = runCmd({env.warren_bin, "--work_dir", env.work_dir, "--runtime_dir", env.runtime_dir,
                        "--plugin_dir", build, "--isolation", "example/greeting", "plugins"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("example/greeting"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("com.example.isolator.example.greeting"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(build + "/isolator_example_greeting.so"), std::string::npos) << listed.out;
}

}  // namespace
}  // namespace warren::plugins
