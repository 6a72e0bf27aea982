// devices/cdi end to end through libwarren's Containerizer, with the real
// cgroups isolator (v1 here) allowing exactly the CDI devices asked for.
// The spec describes fake GPU nodes made with mknod in the test's scratch
// dir: gpu 0 = c 1:11 (/dev/kmsg's numbers: an allowed write-only open
// succeeds without any capability), gpu 1 = c 195:1 (the nvidia major, no
// driver: allowed -> ENXIO, denied -> EPERM).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fixture.hpp"

namespace warren::testing {
namespace {

constexpr const char* kProbe =
    "probe() { if e=$( (exec 3>\"$1\") 2>&1 ); then echo \"$1 opened\"; else case \"$e\" in "
    "*'not permitted'*) echo \"$1 EPERM\";; *'No such device or address'*) echo \"$1 ENXIO\";; "
    "*) echo \"$1 error: $e\";; esac; fi; }; ";

class ROOT_CdiDevices : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists("/sys/fs/cgroup/devices/devices.allow")) {
      GTEST_SKIP() << "skipped: needs the cgroup v1 devices controller";
    }
    int k = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (k < 0) GTEST_SKIP() << "skipped: /dev/kmsg cannot be opened here at all";
    ::close(k);
    dev_ = env_.root + "/dev";
    cdi_ = env_.root + "/cdi";
    ASSERT_TRUE(fs::mkdirs(dev_));
    ASSERT_TRUE(fs::mkdirs(cdi_));
    ASSERT_TRUE(fs::mkdirs(env_.root + "/driver"));
    ASSERT_TRUE(fs::writeFile(env_.root + "/driver/libfake.so", "fake"));
    ASSERT_EQ(::mknod((dev_ + "/gpu0").c_str(), S_IFCHR | 0666, makedev(1, 11)), 0);
    ASSERT_EQ(::mknod((dev_ + "/gpu1").c_str(), S_IFCHR | 0666, makedev(195, 1)), 0);
    // JSON: nodes appear at /dev/fakegpuN in containers with their own rootfs.
    ASSERT_TRUE(fs::writeFile(cdi_ + "/fake.json", R"({
      "cdiVersion": "0.6.0", "kind": "warren.test/gpu",
      "containerEdits": {
        "env": ["FAKE_DRIVER=1"],
        "mounts": [{"hostPath": ")" + env_.root + R"(/driver", "containerPath": "/opt/fake-driver",
                    "options": ["ro", "nosuid", "bind"]}]},
      "devices": [
        {"name": "0", "containerEdits": {"env": ["FAKE_GPU=0"],
          "deviceNodes": [{"path": "/dev/fakegpu0", "hostPath": ")" + dev_ + R"(/gpu0"}]}},
        {"name": "1", "containerEdits": {"env": ["FAKE_GPU=1"],
          "deviceNodes": [{"path": "/dev/fakegpu1", "hostPath": ")" + dev_ + R"(/gpu1"}]}}]})"));
    // YAML: the same nodes at their host paths, for containers without a rootfs.
    ASSERT_TRUE(fs::writeFile(cdi_ + "/host.yaml", "cdiVersion: \"0.6.0\"\nkind: warren.test/host\n"
                              "devices:\n"
                              "  - name: gpu0\n    containerEdits:\n      deviceNodes:\n"
                              "        - path: " + dev_ + "/gpu0\n"
                              "  - name: gpu1\n    containerEdits:\n      deviceNodes:\n"
                              "        - path: " + dev_ + "/gpu1\n          permissions: rw\n"));
  }
  void TearDown() override {
    if (c_) {
      for (const char* top : {"a", "b", "c"}) (void)c_->destroy(id(top));
    }
  }
  Containerizer* start() {
    auto o = options({"filesystem/linux", "pid", "cgroups", "devices/cdi"});
    o.plugin_configs["devices/cdi"] = R"({"spec_dirs": [")" + cdi_ + R"("]})";
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    c_ = c ? std::move(*c) : nullptr;
    return c_.get();
  }
  v1::ContainerConfig config(const std::string& script, const std::string& devices, bool rootfs) {
    auto c = shell(std::string(kProbe) + script);
    if (!rootfs) c.clear_rootfs();
    if (!devices.empty()) (*c.mutable_isolator_settings())["devices/cdi.devices"] = devices;
    return c;
  }
  std::string run(const std::string& cid, const v1::ContainerConfig& cfg) {
    auto l = c_->launch(id(cid), cfg);
    EXPECT_TRUE(l) << l.error().message();
    if (!l) return "";
    auto t = c_->wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t) << t.error().message();
    return stdoutOf(cid);
  }
  std::string dev_, cdi_;
  std::unique_ptr<Containerizer> c_;
};

TEST_F(ROOT_CdiDevices, JsonSpecAppliedToAContainerWithItsOwnRootfs) {
  ASSERT_TRUE(start());
  EXPECT_EQ(run("a", config("ls /dev | grep fakegpu; probe /dev/fakegpu0; echo $FAKE_DRIVER $FAKE_GPU; "
                            "cat /opt/fake-driver/libfake.so; echo; touch /opt/fake-driver/x 2>/dev/null "
                            "|| echo read-only",
                            "warren.test/gpu=0", true)),
            "fakegpu0\n/dev/fakegpu0 opened\n1 0\nfake\nread-only\n");
}

TEST_F(ROOT_CdiDevices, YamlSpecAllowsOnlyTheRequestedNode) {
  ASSERT_TRUE(start());
  std::string g0 = dev_ + "/gpu0", g1 = dev_ + "/gpu1";
  const std::string both = "probe " + g0 + "; probe " + g1;
  EXPECT_EQ(run("a", config(both, "warren.test/host=gpu0", false)), g0 + " opened\n" + g1 + " EPERM\n");
  EXPECT_EQ(run("b", config(both, "warren.test/host=gpu1", false)), g0 + " EPERM\n" + g1 + " ENXIO\n");
  EXPECT_EQ(run("c", config(both, "", false)), g0 + " EPERM\n" + g1 + " EPERM\n");
}

TEST_F(ROOT_CdiDevices, UnknownDevicesAndMalformedSpecsAreRefused) {
  ASSERT_TRUE(start());
  auto r = c_->launch(id("a"), config("true", "warren.test/gpu=7", true));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("CDI device 'warren.test/gpu=7' is not defined by any spec in the "
                                     "CDI spec dirs"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  auto bad = config("true", "warren.test/gpu=0", true);
  (*bad.mutable_isolator_settings())["devices/cdi.device"] = "x";
  r = c_->launch(id("a"), bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown isolator setting 'devices/cdi.device' (known: devices/cdi.devices)"),
            std::string::npos)
      << r.error().message();
  ASSERT_TRUE(fs::writeFile(cdi_ + "/broken.json", R"({"cdiVersion": "0.6.0", "kind": "x.y/z"})"));
  r = c_->launch(id("a"), config("true", "warren.test/gpu=0", true));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("CDI spec '" + cdi_ + "/broken.json': devices: must be a non-empty list"),
            std::string::npos)
      << r.error().message();
  expectEmptyState();  // nothing half-made stays
}

}  // namespace
}  // namespace warren::testing
