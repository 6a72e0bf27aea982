// gpu/nvidia loaded through the real plugin host, NVML through its real
// dlopen path: the fake libnvidia-ml.so.1 built beside this test (no GPU
// here). Device nodes are made with mknod under the test's scratch dir
// (ROOT_), with the real nvidia major 195.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>

#include <gtest/gtest.h>

#include "host/plugin_host.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

constexpr const char* kFakeNvml = WARREN_FAKE_NVML_PATH;

class GpuPlugin {
 public:
  GpuPlugin(const TestEnv& env, const std::string& config) {
    plugins::HostOptions opts;
    opts.plugin_dirs = {env.plugin_dir};
    opts.work_dir = env.work_dir;
    opts.runtime_dir = env.runtime_dir;
    opts.configs["gpu/nvidia"] = config;
    host_ = plugins::PluginHost::create(
        opts, std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
    auto loaded = host_->loadFile(env.plugin_dir + "/isolator_gpu_nvidia.so");
    if (!loaded) {
      error = loaded.error().message();
      return;
    }
    auto inst = host_->instance(plugins::Kind::Isolator, "gpu/nvidia");
    if (inst) plugin = *inst;
    else error = inst.error().message();
  }
  Result<v1::LaunchInfo> prepare(const v1::ContainerContext& c) {
    v1::PrepareRequest req;
    *req.mutable_container() = c;
    auto r = plugin->call<v1::PrepareResponse>(v1::PREPARE, req);
    if (!r) {
      // The plugin's own line, after the host's "plugin '...' (path): prepare: ".
      const std::string& m = r.error().message();
      auto at = m.find("): prepare: ");
      EXPECT_NE(at, std::string::npos) << m;
      return fail(r.error().code(), at == std::string::npos ? m : m.substr(at + 12));
    }
    return r->launch_info();
  }
  Result<void> cleanup(const std::string& id) {
    v1::ContainerRequest req;
    *req.mutable_id() = *parseId(id);
    auto r = plugin->call<v1::Empty>(v1::CLEANUP, req);
    if (!r) return fail(r.error());
    return {};
  }
  Result<void> recover(const std::vector<std::string>& ids) {
    v1::RecoverRequest req;
    for (const auto& id : ids) *req.add_containers()->mutable_id() = *parseId(id);
    auto r = plugin->call<v1::Empty>(v1::RECOVER, req);
    if (!r) return fail(r.error());
    return {};
  }
  v1::ResourceStatistics usage(const std::string& id) {
    v1::ContainerRequest req;
    *req.mutable_id() = *parseId(id);
    auto r = plugin->call<v1::ResourceStatistics>(v1::USAGE, req);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : v1::ResourceStatistics{};
  }

  plugins::Plugin* plugin = nullptr;
  std::string error;

 private:
  std::unique_ptr<plugins::PluginHost> host_;
};

// The fake NVML's GPUs, for the plugins created while it is alive.
struct FakeGpus {
  explicit FakeGpus(const char* minors) { ::setenv("WARREN_FAKE_NVML_MINORS", minors, 1); }
  ~FakeGpus() {
    ::unsetenv("WARREN_FAKE_NVML_MINORS");
    ::unsetenv("WARREN_FAKE_NVML_INIT_ERROR");
  }
};

std::string nvmlConfig(const std::string& dev_dir, const std::string& extra = "") {
  return R"({"nvml_library": ")" + std::string(kFakeNvml) + R"(", "dev_dir": ")" + dev_dir + "\"" +
         extra + "}";
}

// <root>/dev with nvidia<minor> (c 195:<minor>) and nvidiactl (c 195:255).
std::string makeNodes(const TestEnv& env, std::vector<int> minors) {
  std::string dir = env.root + "/dev";
  EXPECT_TRUE(fs::mkdirs(dir));
  for (int m : minors) {
    std::string p = dir + "/nvidia" + std::to_string(m);
    EXPECT_EQ(::mknod(p.c_str(), S_IFCHR | 0666, makedev(195, m)), 0) << p << ": " << strerror(errno);
  }
  std::string ctl = dir + "/nvidiactl";
  EXPECT_EQ(::mknod(ctl.c_str(), S_IFCHR | 0666, makedev(195, 255)), 0);
  return dir;
}

v1::ContainerContext container(const std::string& id, uint32_t gpus) {
  v1::ContainerContext c;
  *c.mutable_id() = *parseId(id);
  c.mutable_config()->mutable_resources()->set_gpus(gpus);
  c.set_depth(c.id().path_size());
  if (hasParent(c.id())) {
    *c.mutable_parent()->mutable_id() = parentOf(c.id());
    c.mutable_parent()->set_pid(1);
  }
  return c;
}

TEST(NvidiaGpuPlugin, RefusesToLoadWithoutNvmlOrDevices) {
  TestEnv env;
  GpuPlugin p(env, R"({"nvml_library": "/nonexistent/libnvidia-ml.so.1"})");
  ASSERT_EQ(p.plugin, nullptr);
  EXPECT_NE(p.error.find("gpu/nvidia: no GPUs to manage: cannot load NVML "
                         "'/nonexistent/libnvidia-ml.so.1': /nonexistent/libnvidia-ml.so.1: cannot open "
                         "shared object file: No such file or directory, and the config lists no static "
                         "'devices'"),
            std::string::npos)
      << p.error;
  EXPECT_EQ(p.error.find('\n'), std::string::npos);
}

TEST(NvidiaGpuPlugin, NvmlInitFailureIsOneClearLine) {
  TestEnv env;
  FakeGpus gpus("0");
  ::setenv("WARREN_FAKE_NVML_INIT_ERROR", "9", 1);
  GpuPlugin p(env, nvmlConfig(env.root));
  ASSERT_EQ(p.plugin, nullptr);
  EXPECT_NE(p.error.find(std::string("NVML '") + kFakeNvml + "': nvmlInit_v2: Driver Not Loaded"),
            std::string::npos)
      << p.error;
}

TEST(NvidiaGpuPlugin, GpuWithoutItsDeviceNodeIsRefused) {
  TestEnv env;
  FakeGpus gpus("0,1");
  ASSERT_TRUE(fs::mkdirs(env.root + "/emptydev"));
  GpuPlugin p(env, nvmlConfig(env.root + "/emptydev"));
  ASSERT_EQ(p.plugin, nullptr);
  EXPECT_NE(p.error.find("gpu/nvidia: GPU 0: device node '" + env.root +
                         "/emptydev/nvidia0': No such file or directory"),
            std::string::npos)
      << p.error;
}

TEST(NvidiaGpuPlugin, BadConfigIsRefused) {
  TestEnv env;
  GpuPlugin p(env, R"({"devices": [{"minor": 0}], "gpus_per_container": 2})");
  ASSERT_EQ(p.plugin, nullptr);
  EXPECT_NE(p.error.find("gpu/nvidia: invalid config"), std::string::npos) << p.error;
}

TEST(NvidiaGpuPlugin, ROOT_AllocatesWholeGpusFromNvml) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  FakeGpus gpus("0,1,2,3");
  std::string dev = makeNodes(env, {0, 1, 2, 3});
  GpuPlugin p(env, nvmlConfig(dev));
  ASSERT_NE(p.plugin, nullptr) << p.error;
  EXPECT_EQ(p.plugin->info().before(0), "cgroups");

  auto a = p.prepare(container("a", 2));
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-0,GPU-fake-1");
  ASSERT_EQ(a->devices_size(), 3);
  EXPECT_EQ(a->devices(0).path(), "/dev/nvidia0");
  EXPECT_EQ(a->devices(0).type(), "c");
  EXPECT_EQ(a->devices(0).major(), 195);
  EXPECT_EQ(a->devices(1).minor(), 1);
  EXPECT_EQ(a->devices(2).path(), "/dev/nvidiactl");
  EXPECT_EQ(a->devices(2).minor(), 255);
  EXPECT_EQ(a->mounts_size(), 0);  // no rootfs of its own: the host's /dev

  // With a rootfs of its own, the nodes are bound into its fresh /dev.
  auto c = container("b", 1);
  c.set_rootfs(env.root);
  auto b = p.prepare(c);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-2");
  ASSERT_EQ(b->mounts_size(), 2);
  EXPECT_EQ(b->mounts(0).source(), dev + "/nvidia2");
  EXPECT_EQ(b->mounts(0).target(), "/dev/nvidia2");
  EXPECT_TRUE(b->mounts(0).create_file());

  // Exhaustion: one GPU left.
  auto c3 = p.prepare(container("c", 2));
  ASSERT_FALSE(c3);
  EXPECT_EQ(c3.error().message(),
            "container 'c' asks for 2 GPUs but only 1 of the 4 GPUs of this host are free "
            "(held by a (0,1), b (2))");

  // Usage from NVML: utilisation 10+minor %, (minor+1) GiB of 16 GiB used.
  auto u = p.usage("a");
  ASSERT_EQ(u.gpus_size(), 2);
  EXPECT_EQ(u.gpus(1).minor(), 1u);
  EXPECT_EQ(u.gpus(1).uuid(), "GPU-fake-1");
  EXPECT_DOUBLE_EQ(u.gpus(1).utilization_percent(), 11);
  EXPECT_EQ(u.gpus(1).memory_used_bytes(), 2ull << 30);
  EXPECT_EQ(u.gpus(1).memory_total_bytes(), 16ull << 30);

  // Released on cleanup (idempotent).
  ASSERT_TRUE(p.cleanup("a"));
  ASSERT_TRUE(p.cleanup("a"));
  auto c4 = p.prepare(container("c", 2));
  ASSERT_TRUE(c4) << c4.error().message();
  EXPECT_EQ(c4->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-0,GPU-fake-1");
  ASSERT_TRUE(p.cleanup("b"));
  ASSERT_TRUE(p.cleanup("c"));
}

TEST(NvidiaGpuPlugin, ROOT_NestedChildrenTakeSubsetsOfTheParents) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  FakeGpus gpus("0,1,2");
  std::string dev = makeNodes(env, {0, 1, 2});
  GpuPlugin p(env, nvmlConfig(dev));
  ASSERT_NE(p.plugin, nullptr) << p.error;
  ASSERT_TRUE(p.prepare(container("other", 1)));  // GPU 0
  auto parent = p.prepare(container("pod", 2));
  ASSERT_TRUE(parent) << parent.error().message();
  EXPECT_EQ(parent->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-1,GPU-fake-2");
  auto x = p.prepare(container("pod.x", 1));
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(x->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-1");
  ASSERT_EQ(x->devices_size(), 2);  // its GPU and nvidiactl
  auto y = p.prepare(container("pod.y", 1));
  ASSERT_TRUE(y);
  EXPECT_EQ(y->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-2");
  auto z = p.prepare(container("pod.z", 1));
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().message(),
            "container 'pod.z' asks for 1 GPU but only 0 of the 2 GPUs of its parent 'pod' are free "
            "(held by pod.x (1), pod.y (2))");
  auto over = p.prepare(container("pod.w", 3));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message(), "container 'pod.w' asks for 3 GPUs but its parent 'pod' has 2 GPUs");
  auto none = p.prepare(container("pod.x.g", 0));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->devices_size(), 0);
  EXPECT_EQ(none->env().count("NVIDIA_VISIBLE_DEVICES"), 0u);
  auto orphan = p.prepare(container("lone.c", 1));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().message(), "container 'lone.c' asks for 1 GPU but its parent 'lone' has none");
  // DEBUG: nothing of its own (its parent's cgroup, mounts and env).
  auto dbg = container("pod.dbg", 0);
  dbg.mutable_config()->set_container_class(v1::DEBUG);
  auto d = p.prepare(dbg);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->devices_size(), 0);
  for (const char* id : {"pod.x", "pod.y", "pod", "other"}) ASSERT_TRUE(p.cleanup(id));
}

TEST(NvidiaGpuPlugin, ROOT_AllocationSurvivesARestartAndRecoverDropsUnknown) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  FakeGpus gpus("0,1");
  std::string dev = makeNodes(env, {0, 1});
  {
    GpuPlugin p(env, nvmlConfig(dev));
    ASSERT_NE(p.plugin, nullptr) << p.error;
    ASSERT_TRUE(p.prepare(container("keep", 1)));
    ASSERT_TRUE(p.prepare(container("gone", 1)));
  }
  GpuPlugin p(env, nvmlConfig(dev));  // a new process would see the same records
  ASSERT_NE(p.plugin, nullptr) << p.error;
  ASSERT_TRUE(p.recover({"keep"}));
  auto u = p.usage("keep");
  ASSERT_EQ(u.gpus_size(), 1);
  EXPECT_EQ(u.gpus(0).minor(), 0u);
  EXPECT_EQ(p.usage("gone").gpus_size(), 0);
  auto two = p.prepare(container("new", 2));
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message().find("held by keep (0)"), std::string::npos) << two.error().message();
  auto one = p.prepare(container("new", 1));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->env().at("NVIDIA_VISIBLE_DEVICES"), "GPU-fake-1");
  ASSERT_TRUE(p.cleanup("keep"));
  ASSERT_TRUE(p.cleanup("new"));
}

TEST(NvidiaGpuPlugin, ROOT_StaticDeviceListWithoutNvml) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  std::string dev = makeNodes(env, {0, 1});
  GpuPlugin p(env, R"({"nvml_library": "/nonexistent.so", "dev_dir": ")" + dev +
                       R"(", "devices": [{"minor": 1, "uuid": "GPU-static-1"}, {"minor": 0}]})");
  ASSERT_NE(p.plugin, nullptr) << p.error;
  auto a = p.prepare(container("a", 2));
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->env().at("NVIDIA_VISIBLE_DEVICES"), "0,GPU-static-1");
  auto u = p.usage("a");
  ASSERT_EQ(u.gpus_size(), 2);
  EXPECT_EQ(u.gpus(0).memory_total_bytes(), 0u);  // no NVML: no statistics
  ASSERT_TRUE(p.cleanup("a"));
}

}  // namespace
}  // namespace warren::testing
