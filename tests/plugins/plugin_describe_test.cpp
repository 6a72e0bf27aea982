// ABI 1.1: a plugin's static PluginInfo (flags, thread_safe, config fields)
// read without an instance, flag defaults in the context, events to the
// embedder's sink, and ABI 1.0 plugins that still load.
#include <mutex>

#include <gtest/gtest.h>

#include "fixture_paths.hpp"
#include "host/plugin_host.hpp"
#include "test_env.hpp"

namespace warren::plugins {
namespace {

using testing::fixture;
using testing::fixtureDir;
using testing::prepareRequest;

std::unique_ptr<PluginHost> scanned(HostOptions opts = {}) {
  opts.plugin_dirs = {fixtureDir()};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  return host;
}

TEST(PluginDescribe, StaticInfoWithoutAnInstance) {
  auto host = scanned();
  // create() of this one always fails: describe must not need an instance.
  auto d = host->describe("described-create-fails");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->short_name, "described-create-fails");
  EXPECT_EQ(d->kind, Kind::Isolator);
  EXPECT_TRUE(d->info.thread_safe());
  ASSERT_EQ(d->info.config_fields_size(), 1);
  EXPECT_EQ(d->info.config_fields(0), "widget");
  ASSERT_EQ(d->info.flags_size(), 2);
  EXPECT_EQ(d->info.flags(0).name(), "described-create-fails_color");
  EXPECT_EQ(d->info.flags(0).type(), "string");
  EXPECT_EQ(d->info.flags(0).default_value(), "blue");
  EXPECT_EQ(d->info.flags(0).help(), "the widget's color");
  ASSERT_EQ(d->info.flags(0).aliases_size(), 1);
  EXPECT_EQ(d->info.flags(0).aliases(0), "color");
  EXPECT_EQ(d->info.flags(1).type(), "bytes");
  auto made = host->instance(Kind::Isolator, "described-create-fails");
  ASSERT_FALSE(made) << "the fixture's create() must fail";
}

TEST(PluginDescribe, DescribeAllListsEveryDiscoveredPlugin) {
  auto host = scanned();
  auto all = host->describeAll();
  ASSERT_EQ(all.size(), host->available(Kind::Isolator).size());
  std::vector<std::string> described;
  for (const auto& d : all) {
    if (d.info.flags_size() > 0) described.push_back(d.short_name);
  }
  EXPECT_EQ(described, (std::vector<std::string>{"described", "described-create-fails"}));
  auto unknown = host->describe("nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message().rfind("unknown plugin 'nope' (available: abi-10, ", 0), 0u)
      << unknown.error().message();
}

TEST(PluginDescribe, Abi10PluginLoadsWithEmptyInfo) {
  auto host = scanned();
  auto d = host->describe("abi-10");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->info.flags_size(), 0);
  EXPECT_FALSE(d->info.thread_safe());
  auto p = host->instance(Kind::Isolator, "abi-10");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ((*p)->descriptor().abi_minor, 0);
  auto r = (*p)->call<v1::Empty>(v1::CLEANUP, v1::ContainerRequest{});
  EXPECT_TRUE(r) << r.error().message();
}

TEST(PluginDescribe, FlagDefaultsAndValuesReachThePlugin) {
  HostOptions opts;
  opts.flags = {{"described_size", "4M"}, {"other", "x"}};
  auto host = scanned(opts);
  auto p = host->instance(Kind::Isolator, "described");
  ASSERT_TRUE(p) << p.error().message();
  auto r = (*p)->call<v1::PrepareResponse>(v1::PREPARE, prepareRequest("c1"));
  ASSERT_TRUE(r) << r.error().message();
  const auto& env = r->launch_info().env();
  EXPECT_EQ(env.at("FLAG_described_color"), "blue");  // declared default
  EXPECT_EQ(env.at("FLAG_described_size"), "4M");     // operator's value
  EXPECT_EQ(env.at("FLAG_other"), "x");               // undeclared: handed over as before
}

TEST(PluginDescribe, EventsReachTheSink) {
  std::mutex mu;
  std::vector<std::pair<std::string, v1::PluginEvent>> seen;
  HostOptions opts;
  opts.event_sink = [&](const std::string& plugin, const v1::PluginEvent& ev) {
    std::lock_guard lock(mu);
    seen.emplace_back(plugin, ev);
  };
  auto host = scanned(opts);
  auto p = host->instance(Kind::Isolator, "described");
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE((*p)->call<v1::PrepareResponse>(v1::PREPARE, prepareRequest("c7")));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, "described");
  EXPECT_EQ(seen[0].second.container_id(), "c7");
  EXPECT_EQ(seen[0].second.kind(), "progress");
  EXPECT_EQ(seen[0].second.item(), "widget");
  EXPECT_EQ(seen[0].second.done(), 1u);
  EXPECT_EQ(seen[0].second.total(), 2u);
  EXPECT_EQ(seen[0].second.message(), "half a widget");
}

TEST(PluginDescribe, StaticInfoSurvivesTheDescriptorCache) {
  warren::testing::TestEnv env;
  HostOptions opts;
  opts.descriptor_cache = env.runtime_dir + "/plugins.cache";
  {
    auto first = scanned(opts);
    ASSERT_TRUE(first->describe("described"));
  }
  auto second = scanned(opts);  // lists from the cache, no dlopen
  auto d = second->describe("described");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(d->info.thread_safe());
  ASSERT_EQ(d->info.flags_size(), 2);
  EXPECT_EQ(d->info.flags(0).default_value(), "blue");
  auto old = second->describe("abi-10");
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->info.flags_size(), 0);
}

}  // namespace
}  // namespace warren::plugins
