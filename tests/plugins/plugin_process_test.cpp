// Out-of-process plugins (warren-plugin-host): a plugin that segfaults,
// exits or hangs in any method, or crashes in its initializer, never takes
// the host down; the calls in flight fail with one line naming plugin and
// method; the plugin restarts on the next call. And concurrency: a blocked
// call for one container does not hold up a call for another.
#include <signal.h>

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "fixture_paths.hpp"
#include "host/plugin_host.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::plugins {
namespace {

using testing::prepareRequest;

std::string crashDir() { return WARREN_CRASH_PLUGIN_DIR; }
std::string crashFixture(const std::string& stem) { return crashDir() + "/" + stem + ".so"; }

std::unique_ptr<PluginHost> crashHost(const std::string& in, const std::string& how,
                                      std::chrono::milliseconds deadline = std::chrono::seconds(20),
                                      Isolation isolation = Isolation::Process) {
  HostOptions opts;
  opts.plugin_dirs = {crashDir()};
  opts.flags = {{"crash_in", in}, {"crash_how", how}};
  opts.call_deadline = deadline;
  opts.isolation = {{"*", isolation}};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  return host;
}

v1::ContainerRequest containerRequest(const std::string& id) {
  v1::ContainerRequest r;
  r.mutable_id()->add_path(id);
  return r;
}

// One call of `method` with an empty-ish request of the right type.
Result<std::string> callMethod(Plugin& p, v1::Method m) {
  switch (m) {
    case v1::RECOVER: return p.callRaw(m, v1::RecoverRequest{}.SerializeAsString());
    case v1::PREPARE: return p.callRaw(m, prepareRequest("c1").SerializeAsString());
    case v1::ISOLATE: {
      v1::IsolateRequest r;
      r.mutable_container()->mutable_id()->add_path("c1");
      return p.callRaw(m, r.SerializeAsString());
    }
    case v1::WATCH: return p.callRaw(m, v1::WatchRequest{}.SerializeAsString());
    case v1::UPDATE: return p.callRaw(m, v1::UpdateRequest{}.SerializeAsString());
    default: return p.callRaw(m, containerRequest("c1").SerializeAsString());
  }
}

const std::vector<std::pair<std::string, v1::Method>> kMethods = {
    {"recover", v1::RECOVER}, {"prepare", v1::PREPARE}, {"isolate", v1::ISOLATE},
    {"watch", v1::WATCH},     {"update", v1::UPDATE},   {"usage", v1::USAGE},
    {"status", v1::STATUS},   {"cleanup", v1::CLEANUP}};

TEST(PluginProcess, ThirdPartyPluginsRunOutOfProcessByDefault) {
  HostOptions opts;
  opts.plugin_dirs = {crashDir()};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  auto p = host->instance(Kind::Isolator, "crash");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ((*p)->isolation(), Isolation::Process);
  EXPECT_EQ(host->isolationOf((*p)->descriptor()), Isolation::Process);
  auto r = callMethod(**p, v1::USAGE);
  EXPECT_TRUE(r) << r.error().message();
}

TEST(PluginProcess, SegfaultInEachMethodFailsThatCallAndRestarts) {
  for (const auto& [name, method] : kMethods) {
    SCOPED_TRACE(name);
    auto host = crashHost(name, "segv");
    auto p = host->instance(Kind::Isolator, "crash");
    ASSERT_TRUE(p) << p.error().message();
    auto r = callMethod(**p, method);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "plugin 'crash' (" + crashFixture("crash") + "): " + name +
                                       ": plugin process died (killed by signal 11: Segmentation fault)");
    EXPECT_EQ(r.error().code(), Code::Unavailable);
    // Restarted on the next call: another method works.
    v1::Method other = method == v1::USAGE ? v1::STATUS : v1::USAGE;
    auto again = callMethod(**p, other);
    EXPECT_TRUE(again) << again.error().message();
  }
}

TEST(PluginProcess, SegfaultInCreate) {
  auto host = crashHost("create", "segv");
  auto p = host->instance(Kind::Isolator, "crash");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(), "plugin 'crash' (" + crashFixture("crash") +
                                     "): create: plugin process died (killed by signal 11: "
                                     "Segmentation fault)");
}

TEST(PluginProcess, ExitInAMethod) {
  auto host = crashHost("isolate", "exit");
  auto p = host->instance(Kind::Isolator, "crash");
  ASSERT_TRUE(p) << p.error().message();
  auto r = callMethod(**p, v1::ISOLATE);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "plugin 'crash' (" + crashFixture("crash") +
                                     "): isolate: plugin process died (exited with status 3)");
  EXPECT_TRUE(callMethod(**p, v1::CLEANUP));
}

TEST(PluginProcess, HangIsKilledAtTheDeadlineAndRestarts) {
  auto host = crashHost("prepare", "hang", std::chrono::milliseconds(300));
  auto p = host->instance(Kind::Isolator, "crash");
  ASSERT_TRUE(p) << p.error().message();
  auto r = callMethod(**p, v1::PREPARE);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "plugin 'crash' (" + crashFixture("crash") +
                                     "): prepare exceeded its deadline of 300ms (plugin process "
                                     "killed)");
  // Unlike an in-process plugin, it is not wedged: the next call restarts it.
  auto again = callMethod(**p, v1::CLEANUP);
  EXPECT_TRUE(again) << again.error().message();
}

TEST(PluginProcess, CrashInInitializerIsALoadErrorNotACrash) {
  HostOptions opts;
  opts.plugin_dirs = {crashDir()};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();  // reads every descriptor in a child: this process survives
  std::vector<std::string> errors;
  for (const auto& e : host->errors()) errors.push_back(e.message());
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0], "plugin '" + crashFixture("crash_init") +
                           "': crashed while loading (killed by signal 11: Segmentation fault)");
  auto p = host->instance(Kind::Isolator, "crash");
  EXPECT_TRUE(p) << p.error().message();
}

// A blocked prepare of one container does not hold up usage of another: the
// fixture's prepare("wait") returns USAGE_SEEN=1 only if usage() ran while it
// was blocked (it gives up after 10 s).
void expectUsageOverlapsPrepare(Isolation isolation, const std::string& plugin) {
  HostOptions opts;
  opts.plugin_dirs = {crashDir()};
  opts.isolation = {{"*", isolation}};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  auto p = host->instance(Kind::Isolator, plugin);
  ASSERT_TRUE(p) << p.error().message();
  Plugin* plug = *p;
  auto prepared = std::async(std::launch::async, [plug] {
    return plug->call<v1::PrepareResponse>(v1::PREPARE, prepareRequest("wait"));
  });
  auto usage = plug->call<v1::ResourceStatistics>(v1::USAGE, containerRequest("other"));
  ASSERT_TRUE(usage) << usage.error().message();
  auto r = prepared.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->launch_info().env().at("USAGE_SEEN"), "1");
}

TEST(PluginConcurrency, ThreadSafePluginOutOfProcess) {
  expectUsageOverlapsPrepare(Isolation::Process, "crash-ts");
}

TEST(PluginConcurrency, ThreadSafePluginInProcess) {
  expectUsageOverlapsPrepare(Isolation::InProcess, "crash-ts");
}

TEST(PluginConcurrency, OtherPluginsAreNotHeldUpInProcess) {
  // Not thread-safe: its own calls queue, but another plugin's do not wait.
  warren::testing::TestEnv env;
  const std::string barrier = env.root + "/release";
  HostOptions opts;
  opts.plugin_dirs = {crashDir()};
  opts.isolation = {{"*", Isolation::InProcess}};
  opts.flags = {{"barrier_file", barrier}};
  auto host = PluginHost::create(opts, nullptr);
  host->scan();
  auto slow = host->instance(Kind::Isolator, "crash");
  auto other = host->instance(Kind::Isolator, "crash-ts");
  ASSERT_TRUE(slow && other);
  Plugin* s = *slow;
  auto prepared = std::async(std::launch::async, [s] {
    return s->call<v1::PrepareResponse>(v1::PREPARE, prepareRequest("wait"));
  });
  // crash-ts's usage does not release crash's barrier (different instance):
  // crash's prepare stays blocked until the test creates the barrier file,
  // and usage of crash-ts must finish before that.
  auto usage = (*other)->call<v1::ResourceStatistics>(v1::USAGE, containerRequest("other"));
  ASSERT_TRUE(usage) << usage.error().message();
  EXPECT_EQ(prepared.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "usage of another plugin waited for the blocked prepare";
  ASSERT_TRUE(warren::fs::writeFile(barrier, "go"));
  auto r = prepared.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->launch_info().env().at("USAGE_SEEN"), "0");
}

}  // namespace
}  // namespace warren::plugins
