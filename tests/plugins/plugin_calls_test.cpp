// Calling plugins: context handed to create(), errors from create and calls,
// exceptions, deadlines, log routing, dependency order, destruction.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "fixture_paths.hpp"
#include "host/plugin_host.hpp"
#include "test_env.hpp"

namespace warren::plugins {
namespace {

using testing::fixture;
using testing::fixtureDir;
using testing::prepareRequest;

std::unique_ptr<PluginHost> scannedHost(HostOptions opts = {},
                                        std::shared_ptr<spdlog::logger> log = nullptr) {
  opts.plugin_dirs = {fixtureDir()};
  auto host = PluginHost::create(opts, std::move(log));
  host->scan();
  return host;
}

Result<v1::PrepareResponse> prepare(PluginHost& host, const std::string& name) {
  WARREN_ASSIGN_OR_RETURN(Plugin * p, host.instance(Kind::Isolator, name));
  return p->call<v1::PrepareResponse>(v1::PREPARE, prepareRequest("c1"));
}

TEST(PluginCall, ContextReachesThePlugin) {
  warren::testing::TestEnv env;
  HostOptions opts;
  opts.work_dir = env.work_dir;
  opts.runtime_dir = env.runtime_dir;
  opts.cgroups_root = env.cgroups_root;
  opts.flags = {{"network_bridge", "br-test"}};
  opts.configs = {{"dep/a", R"({"x": 1})"}};
  auto host = scannedHost(opts);
  auto r = prepare(*host, "dep/a");
  ASSERT_TRUE(r) << r.error().message();
  const auto& e = r->launch_info().env();
  EXPECT_EQ(e.at("WORK_DIR"), env.work_dir);
  EXPECT_EQ(e.at("RUNTIME_DIR"), env.runtime_dir);
  EXPECT_EQ(e.at("CGROUPS_ROOT"), env.cgroups_root);
  EXPECT_EQ(e.at("CONFIG_JSON"), R"({"x": 1})");
  EXPECT_EQ(e.at("FLAG_network_bridge"), "br-test");
  EXPECT_EQ(e.at("PLUGIN_WORK_DIR"), env.work_dir + "/plugins/dep_a");
  EXPECT_EQ(e.at("PLUGIN_RUNTIME_DIR"), env.runtime_dir + "/plugins/dep_a");
  EXPECT_TRUE(std::filesystem::is_directory(env.work_dir + "/plugins/dep_a"));
  EXPECT_TRUE(std::filesystem::is_directory(env.runtime_dir + "/plugins/dep_a"));
  // One instance per plugin, made on first use.
  auto a1 = host->instance(Kind::Isolator, "dep/a");
  auto a2 = host->instance(Kind::Isolator, "dep/a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(*a1, *a2);
}

TEST(PluginCall, CreateFails) {
  auto host = scannedHost();
  auto r = host->instance(Kind::Isolator, "create-fails");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "plugin 'create-fails' (" + fixture("create_fails") +
                                     "): create failed: config needs a 'widget' field");
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
}

TEST(PluginCall, PluginErrorResult) {
  auto host = scannedHost();
  auto r = prepare(*host, "prepare-fails");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "plugin 'prepare-fails' (" + fixture("prepare_fails") +
                                     "): prepare: no widget for container 'c1'");
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
}

TEST(PluginCall, RawPluginThatThrowsDoesNotCrashTheHost) {
  auto host = scannedHost();
  std::string want = "plugin 'throws' (" + fixture("throws") + "): prepare threw an exception";
  for (int i = 0; i < 2; ++i) {
    auto r = prepare(*host, "throws");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), want);
  }
  EXPECT_TRUE(prepare(*host, "good")) << "other plugins keep working";
}

TEST(PluginCall, DeadlineWedgesOnlyTheSlowPlugin) {
  HostOptions opts;
  opts.call_deadline = std::chrono::milliseconds(100);
  auto host = scannedHost(opts);
  ASSERT_TRUE(host->instance(Kind::Isolator, "slow"));  // create and INFO are fast
  auto start = std::chrono::steady_clock::now();
  auto r = prepare(*host, "slow");  // sleeps 600ms
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  std::string prefix = "plugin 'slow' (" + fixture("slow") + "): ";
  EXPECT_EQ(r.error().message(), prefix + "prepare exceeded its deadline of 100ms");
  EXPECT_LT(took, std::chrono::milliseconds(500));

  auto again = prepare(*host, "slow");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(),
            prefix + "prepare not called: the plugin is wedged since prepare exceeded its "
                     "deadline of 100ms");
  // The executor was replaced: other plugins still answer.
  auto good = prepare(*host, "good");
  EXPECT_TRUE(good) << good.error().message();
  host.reset();  // does not call the wedged plugin's destroy(), does not hang
  // Let the abandoned call finish before the process moves on.
  std::this_thread::sleep_until(start + std::chrono::milliseconds(700));
}

TEST(PluginCall, CreatePastItsDeadlineIsNotRetried) {
  HostOptions opts;
  opts.call_deadline = std::chrono::milliseconds(100);
  auto host = scannedHost(opts);
  auto start = std::chrono::steady_clock::now();
  std::string prefix = "plugin 'slow-create' (" + fixture("slow_create") + "): ";
  auto r = host->instance(Kind::Isolator, "slow-create");  // sleeps 400ms
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), prefix + "create exceeded its deadline of 100ms");
  auto again = host->instance(Kind::Isolator, "slow-create");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(),
            prefix + "create not called: the plugin is wedged since create exceeded its "
                     "deadline of 100ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(350));
  EXPECT_TRUE(prepare(*host, "good"));
  std::this_thread::sleep_until(start + std::chrono::milliseconds(500));
}

TEST(PluginCall, PluginLogsGoToHostSinks) {
  std::ostringstream out;
  auto host = scannedHost({}, testing::captureLogger(out));
  ASSERT_TRUE(prepare(*host, "dep/b"));
  EXPECT_NE(out.str().find("warren.plugin.dep/b|info|prepare for container c1\n"),
            std::string::npos)
      << out.str();
}

TEST(PluginCall, HostDestroysInstances) {
  std::ostringstream out;
  auto host = scannedHost({}, testing::captureLogger(out));
  ASSERT_TRUE(host->instance(Kind::Isolator, "dep/c"));
  EXPECT_EQ(out.str().find("destroyed"), std::string::npos);
  host.reset();
  EXPECT_NE(out.str().find("warren.plugin.dep/c|info|destroyed\n"), std::string::npos) << out.str();
}

TEST(PluginOrder, DependenciesComeFirstOtherwiseGivenOrder) {
  auto host = scannedHost();
  auto r = host->isolators({"dep/c", "good", "dep/b", "dep/a"});
  ASSERT_TRUE(r) << r.error().message();
  std::vector<std::string> names;
  for (auto* p : *r) names.push_back(p->shortName());
  EXPECT_EQ(names, (std::vector<std::string>{"good", "dep/a", "dep/b", "dep/c"}));
  EXPECT_EQ((*r)[3]->info().dependencies_size(), 2);
}

TEST(PluginOrder, MissingDependency) {
  auto host = scannedHost();
  auto r = host->isolators({"good", "dep/b"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "isolator 'dep/b' depends on 'dep/a', which is not in --isolation");
}

TEST(PluginOrder, Cycle) {
  auto host = scannedHost();
  auto r = host->isolators({"good", "cycle/x", "cycle/y"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "isolators form a dependency cycle: cycle/x -> cycle/y -> cycle/x");
}

TEST(ExamplePlugin, InTreeBuildAddsItsEnvVar) {
  HostOptions opts;
  opts.plugin_dirs = {WARREN_TEST_PLUGIN_DIR};
  opts.configs = {{"example/greeting", R"({"env_name": "HELLO", "greeting": "in tree"})"}};
  auto host = PluginHost::create(opts, nullptr);
  auto d = host->loadFile(std::string(WARREN_TEST_PLUGIN_DIR) + "/isolator_example_greeting.so");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ((*d)->name, "com.example.isolator.example.greeting");
  auto r = prepare(*host, "example/greeting");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->launch_info().env().at("HELLO"), "in tree");
}

TEST(ExamplePlugin, BadConfigIsACreateError) {
  HostOptions opts;
  opts.configs = {{"example/greeting", R"({"colour": "blue"})"}};
  auto host = PluginHost::create(opts, nullptr);
  std::string path = std::string(WARREN_TEST_PLUGIN_DIR) + "/isolator_example_greeting.so";
  ASSERT_TRUE(host->loadFile(path));
  auto r = host->instance(Kind::Isolator, "example/greeting");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().rfind("plugin 'example/greeting' (" + path +
                                          "): create failed: invalid config: ",
                                      0),
            0u)
      << r.error().message();
}

}  // namespace
}  // namespace warren::plugins
