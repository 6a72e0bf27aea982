// gpu/nvidia end to end through libwarren's Containerizer, with the real
// cgroups isolator (v1 here) enforcing the devices the GPU plugin grants.
//
// ROOT_NvidiaGpuFake: no GPU needed. The fake NVML reports minors 0 and 1;
// the scratch nodes are nvidia0 = c 1:11 (/dev/kmsg's numbers: a real driver,
// so an allowed write-only open succeeds without any capability) and
// nvidia1 = c 195:1 (the nvidia major; no driver here, so an allowed open
// fails with ENXIO — past the device cgroup — and a denied one with EPERM).
//
// ROOT_NvidiaGpu: the real driver, when /dev/nvidia0 and libnvidia-ml.so.1
// exist; skipped with the reason printed otherwise.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdlib>

#include "driver_test_util.hpp"
#include "fixture.hpp"

namespace warren::testing {
namespace {

// Prints "<path> opened", "<path> EPERM", "<path> ENXIO" or the error.
constexpr const char* kProbe =
    "probe() { if e=$( (exec 3>\"$1\") 2>&1 ); then echo \"$1 opened\"; else case \"$e\" in "
    "*'not permitted'*) echo \"$1 EPERM\";; *'No such device or address'*) echo \"$1 ENXIO\";; "
    "*) echo \"$1 error: $e\";; esac; fi; }; ";

class ROOT_NvidiaGpuFake : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists("/sys/fs/cgroup/devices/devices.allow")) {
      GTEST_SKIP() << "skipped: needs the cgroup v1 devices controller (the v2 device program is "
                      "covered by the cgroups VM lane)";
    }
    int k = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (k < 0) GTEST_SKIP() << "skipped: /dev/kmsg cannot be opened here at all";
    ::close(k);
    ::setenv("WARREN_FAKE_NVML_MINORS", "0,1", 1);
    dev_ = env_.root + "/dev";
    ASSERT_TRUE(fs::mkdirs(dev_));
    ASSERT_EQ(::mknod((dev_ + "/nvidia0").c_str(), S_IFCHR | 0666, makedev(1, 11)), 0);
    ASSERT_EQ(::mknod((dev_ + "/nvidia1").c_str(), S_IFCHR | 0666, makedev(195, 1)), 0);
  }
  void TearDown() override {
    if (c_) {
      for (const char* top : {"pod", "a", "b", "nogpu"}) (void)c_->destroy(id(top));
    }
    ::unsetenv("WARREN_FAKE_NVML_MINORS");
  }
  // `extra`: more fields of gpu/nvidia's config, e.g. `, "ld_cache": "..."`.
  Containerizer* start(const std::string& extra = "") {
    // cgroups listed first on purpose: gpu/nvidia's PluginInfo.before puts
    // it ahead, so cgroups sees the devices it grants.
    auto o = options({"filesystem/linux", "pid", "cgroups", "gpu/nvidia"});
    o.plugin_configs["gpu/nvidia"] =
        R"({"nvml_library": ")" + std::string(WARREN_FAKE_NVML_PATH) + R"(", "dev_dir": ")" + dev_ + "\"" + extra + "}";
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    c_ = c ? std::move(*c) : nullptr;
    return c_.get();
  }
  // A container in the host's root (sees dev_ directly), or nested.
  v1::ContainerConfig bare(const std::string& script, uint32_t gpus) {
    auto c = shell(std::string(kProbe) + script);
    c.clear_rootfs();
    c.mutable_resources()->set_gpus(gpus);
    return c;
  }
  // A container's stdout, nested ones inside their parent's sandbox.
  std::string out(const std::string& cid) {
    std::string path = env_.work_dir + "/sandboxes/";
    auto parsed = id(cid);
    for (int i = 0; i < parsed.path_size(); ++i) {
      path += (i ? "/containers/" : "") + parsed.path(i);
    }
    auto t = fs::readFile(path + "/stdout");
    return t ? *t : "";
  }
  // Launches a container that prints `lines` lines and then keeps running
  // (so it keeps its GPUs); returns what it printed.
  std::string runKeep(const std::string& cid, const std::string& script, uint32_t gpus, int lines) {
    auto l = c_->launch(id(cid), bare(script + "; sleep 300", gpus));
    EXPECT_TRUE(l) << l.error().message();
    if (!l) return "";
    eventually([&] {
      std::string text = out(cid);
      return std::count(text.begin(), text.end(), '\n') >= lines;
    });
    return out(cid);
  }
  std::string probeBoth() { return "probe " + dev_ + "/nvidia0; probe " + dev_ + "/nvidia1; "; }
  std::string run(const std::string& cid, const v1::ContainerConfig& cfg) {
    auto l = c_->launch(id(cid), cfg);
    EXPECT_TRUE(l) << l.error().message();
    if (!l) return "";
    auto t = c_->wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t) << t.error().message();
    return out(cid);
  }
  std::string dev_;
  std::unique_ptr<Containerizer> c_;
};

TEST_F(ROOT_NvidiaGpuFake, AllowedGpuOpensDeniedGpuIsEperm) {
  ASSERT_TRUE(start());
  std::string n0 = dev_ + "/nvidia0", n1 = dev_ + "/nvidia1";
  const std::string script = probeBoth() + "echo $NVIDIA_VISIBLE_DEVICES";
  EXPECT_EQ(runKeep("a", script, 1, 3), n0 + " opened\n" + n1 + " EPERM\nGPU-fake-0\n");
  EXPECT_EQ(runKeep("b", script, 1, 3), n0 + " EPERM\n" + n1 + " ENXIO\nGPU-fake-1\n");
  ASSERT_TRUE(c_->destroy(id("a")));
  ASSERT_TRUE(c_->destroy(id("b")));
  EXPECT_EQ(run("nogpu", bare(probeBoth() + "echo \"[$NVIDIA_VISIBLE_DEVICES]\"", 0)),
            n0 + " EPERM\n" + n1 + " EPERM\n[]\n");
  ASSERT_TRUE(c_->destroy(id("nogpu")));
}

TEST_F(ROOT_NvidiaGpuFake, GpusAreReleasedWhenTheContainerEnds) {
  ASSERT_TRUE(start());
  EXPECT_EQ(run("a", bare("echo $NVIDIA_VISIBLE_DEVICES", 2)), "GPU-fake-0,GPU-fake-1\n");
  // "a" terminated (not yet destroyed): its isolators cleaned up, GPUs free.
  EXPECT_EQ(run("b", bare("echo $NVIDIA_VISIBLE_DEVICES", 2)), "GPU-fake-0,GPU-fake-1\n");
  ASSERT_TRUE(c_->destroy(id("a")));
  ASSERT_TRUE(c_->destroy(id("b")));
}

TEST_F(ROOT_NvidiaGpuFake, NodesAppearInTheContainersOwnDev) {
  ASSERT_TRUE(start());
  auto cfg = shell(std::string(kProbe) + "ls /dev | grep nvidia; probe /dev/nvidia0; echo $NVIDIA_VISIBLE_DEVICES");
  cfg.mutable_resources()->set_gpus(1);
  EXPECT_EQ(run("a", cfg), "nvidia0\n/dev/nvidia0 opened\nGPU-fake-0\n");
  ASSERT_TRUE(c_->destroy(id("a")));
}

// The driver's user space found through a real loader cache (made by
// ldconfig of stand-in libraries for the fake NVML's driver version) and a
// bin dir, mounted read-only at /usr/local/nvidia of a container with its own
// rootfs; another driver version's library is left out.
TEST_F(ROOT_NvidiaGpuFake, DriverLibrariesAndToolsAreMountedReadOnly) {
  std::string why;
  std::string cache = makeFakeDriverCache(env_.root + "/ld", &why);
  ASSERT_FALSE(cache.empty()) << why;
  std::string bin = env_.root + "/nvbin";
  ASSERT_TRUE(fs::mkdirs(bin));
  ASSERT_TRUE(fs::writeFile(bin + "/nvidia-smi", "#!/bin/sh\necho \"GPU 0: $NVIDIA_VISIBLE_DEVICES\"\n"));
  ASSERT_EQ(::chmod((bin + "/nvidia-smi").c_str(), 0755), 0);
  ASSERT_TRUE(start(R"(, "ld_cache": ")" + cache + R"(", "bin_dirs": [")" + bin + "\"]"));
  auto cfg = shell("ls /usr/local/nvidia/lib64; /usr/local/nvidia/bin/nvidia-smi; "
                   "touch /usr/local/nvidia/lib64/x 2>/dev/null || echo read-only");
  cfg.mutable_resources()->set_gpus(1);
  EXPECT_EQ(run("a", cfg), "libcuda.so\nlibcuda.so.1\nlibcuda.so.999.99.99-fake\nGPU 0: GPU-fake-0\nread-only\n");
  ASSERT_TRUE(c_->destroy(id("a")));
  // A container without GPUs gets no driver (at most an empty mount point).
  EXPECT_EQ(run("nogpu", shell("ls -A /usr/local/nvidia 2>/dev/null | wc -l")), "0\n");
  ASSERT_TRUE(c_->destroy(id("nogpu")));
}

TEST_F(ROOT_NvidiaGpuFake, NestedChildrenGetSubsetsAndDebugSeesTheParents) {
  ASSERT_TRUE(start());
  std::string n0 = dev_ + "/nvidia0", n1 = dev_ + "/nvidia1";
  ASSERT_TRUE(c_->launch(id("pod"), bare("sleep 300", 2)));
  const std::string script = probeBoth() + "echo $NVIDIA_VISIBLE_DEVICES";
  EXPECT_EQ(runKeep("pod.x", script, 1, 3), n0 + " opened\n" + n1 + " EPERM\nGPU-fake-0\n");
  EXPECT_EQ(runKeep("pod.y", script, 1, 3), n0 + " EPERM\n" + n1 + " ENXIO\nGPU-fake-1\n");
  // Both of the parent's GPUs are held by its running children.
  auto z = c_->launch(id("pod.z"), bare("true", 1));
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().message().find("container 'pod.z' asks for 1 GPU but only 0 of the 2 GPUs of its "
                                     "parent 'pod' are free (held by pod.x (0), pod.y (1))"),
            std::string::npos)
      << z.error().message();
  auto over = c_->launch(id("pod.w"), bare("true", 3));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("container 'pod.w' asks for 3 GPUs but its parent 'pod' has 2 GPUs"),
            std::string::npos)
      << over.error().message();
  // DEBUG: the parent's cgroup and environment, so the parent's GPUs.
  auto dbg = bare(probeBoth() + "echo $NVIDIA_VISIBLE_DEVICES", 0);
  dbg.set_container_class(v1::DEBUG);
  EXPECT_EQ(run("pod.dbg", dbg), n0 + " opened\n" + n1 + " ENXIO\nGPU-fake-0,GPU-fake-1\n");
  // A parent without GPUs has none to give.
  ASSERT_TRUE(c_->launch(id("nogpu"), bare("sleep 300", 0)));
  auto none = c_->launch(id("nogpu.c"), bare("true", 1));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("container 'nogpu.c' asks for 1 GPU but its parent 'nogpu' has none"),
            std::string::npos)
      << none.error().message();
  ASSERT_TRUE(c_->destroy(id("nogpu")));
  ASSERT_TRUE(c_->destroy(id("pod")));
}

TEST_F(ROOT_NvidiaGpuFake, AllocationRecoveredAfterRestartAndReleasedOnDestroy) {
  ASSERT_TRUE(start());
  ASSERT_TRUE(c_->launch(id("a"), bare("sleep 300", 2)));
  auto b = c_->launch(id("b"), bare("true", 1));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("only 0 of the 2 GPUs of this host are free (held by a (0,1))"),
            std::string::npos)
      << b.error().message();
  c_.reset();  // warren restarts
  ASSERT_TRUE(start());
  ASSERT_TRUE(c_->recover());
  auto u = c_->usage(id("a"));
  ASSERT_TRUE(u) << u.error().message();
  ASSERT_EQ(u->gpus_size(), 2);
  EXPECT_EQ(u->gpus(0).uuid(), "GPU-fake-0");
  EXPECT_DOUBLE_EQ(u->gpus(1).utilization_percent(), 11);
  EXPECT_EQ(u->gpus(1).memory_used_bytes(), 2ull << 30);
  ASSERT_FALSE(c_->launch(id("b"), bare("true", 1)));
  ASSERT_TRUE(c_->destroy(id("a")));
  EXPECT_EQ(run("b", bare("echo $NVIDIA_VISIBLE_DEVICES", 2)), "GPU-fake-0,GPU-fake-1\n");
  ASSERT_TRUE(c_->destroy(id("b")));
}

// resources.gpus is whole GPUs: the CLI refuses a fraction with one line.
TEST(NvidiaGpuCli, FractionalAndZeroGpusAreRefused) {
  TestEnv env;
  for (const char* bad : {"0.5", "0", "-1"}) {
    auto r = runCmd({env.warren_bin, "--work_dir", env.work_dir, "--runtime_dir", env.runtime_dir,
                     "--plugin_dir", env.plugin_dir, "run", "--gpus", bad, "--", "true"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("invalid --gpus '" + std::string(bad) + "': expected a positive integer"),
              std::string::npos)
        << r.err;
  }
}

// ---------------------------------------------------------------- real GPU

class ROOT_NvidiaGpu : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists("/dev/nvidia0")) GTEST_SKIP() << "skipped: no NVIDIA GPU here (/dev/nvidia0 is absent)";
    void* h = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) GTEST_SKIP() << "skipped: no NVIDIA driver here (libnvidia-ml.so.1 cannot be loaded)";
    if (!fs::exists("/sys/fs/cgroup/devices/devices.allow")) {
      GTEST_SKIP() << "skipped: needs the cgroup v1 devices controller";
    }
    std::printf("running against the real NVIDIA driver\n");
  }
  void TearDown() override {
    if (c_) (void)c_->destroy(id("pod"));
  }
  std::unique_ptr<Containerizer> c_;
};

TEST_F(ROOT_NvidiaGpu, OneGpuVisibleOthersDeniedNestedSeesTheSame) {
  auto o = options({"filesystem/linux", "pid", "gpu/nvidia", "cgroups"});
  auto c = Containerizer::create(o);
  ASSERT_TRUE(c) << c.error().message();
  c_ = std::move(*c);
  auto bare = [&](const std::string& script, uint32_t gpus) {
    auto cfg = shell(std::string(kProbe) + script);
    cfg.clear_rootfs();
    cfg.mutable_resources()->set_gpus(gpus);
    return cfg;
  };
  ASSERT_TRUE(c_->launch(id("pod"), bare("sleep 300", 1)));
  ASSERT_TRUE(c_->launch(id("pod.x"), bare("nvidia-smi -L | grep -c '^GPU '; echo $NVIDIA_VISIBLE_DEVICES", 1)));
  ASSERT_TRUE(c_->wait(id("pod.x"), std::chrono::seconds(60)));
  std::string out = stdoutOf("pod.x");
  std::printf("nested child: %s", out.c_str());
  EXPECT_EQ(out.substr(0, 2), "1\n");
  auto all = c_->containers();
  ASSERT_TRUE(all);
  for (const auto& info : *all) {
    if (formatId(info.id) != "pod") continue;
    EXPECT_EQ(out.substr(2), info.checkpoint.launch_info().env().at("NVIDIA_VISIBLE_DEVICES") + "\n");
  }
  ASSERT_TRUE(c_->launch(id("pod.none"), bare("probe /dev/nvidia0", 0)));
  ASSERT_TRUE(c_->wait(id("pod.none"), std::chrono::seconds(60)));
  EXPECT_EQ(stdoutOf("pod.none"), "/dev/nvidia0 EPERM\n");
  ASSERT_TRUE(c_->destroy(id("pod")));
}

}  // namespace
}  // namespace warren::testing
