// Unit tests (no root): what filesystem/linux asks warren-init to do.
#include <sys/stat.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "linux_layout.hpp"
#include "test_env.hpp"

namespace warren::isolators::filesystem {
namespace {

const v1::Mount* findMount(const v1::LaunchInfo& li, const std::string& target) {
  for (const auto& m : li.mounts()) {
    if (m.target() == target) return &m;
  }
  return nullptr;
}

bool hasOption(const v1::Mount& m, const std::string& o) {
  return std::find(m.options().begin(), m.options().end(), o) != m.options().end();
}

int indexOf(const v1::LaunchInfo& li, const std::string& target) {
  for (int i = 0; i < li.mounts_size(); ++i) {
    if (li.mounts(i).target() == target) return i;
  }
  return -1;
}

class LayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rootfs = env.root + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs.c_str(), 0755), 0);
    c.mutable_id()->add_path("c1");
    c.set_rootfs(rootfs);
    c.set_sandbox(env.root + "/sandbox");
  }
  testing::TestEnv env;
  std::string rootfs;
  v1::ContainerContext c;
  LayoutOptions o;
};

TEST_F(LayoutTest, TopLevelWithRootfsGetsMinimalDevSysAndMasks) {
  auto li = buildLaunchInfo(c, o);
  ASSERT_TRUE(li) << li.error().message();
  EXPECT_EQ(li->rootfs(), rootfs);
  EXPECT_FALSE(li->readonly_rootfs());

  const auto* dev = findMount(*li, "/dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->type(), "tmpfs");
  EXPECT_TRUE(hasOption(*dev, "nosuid"));
  EXPECT_TRUE(hasOption(*dev, "mode=755"));
  EXPECT_FALSE(hasOption(*dev, "nodev"));  // device nodes must work in /dev
  EXPECT_EQ(indexOf(*li, "/dev"), 0);      // before anything under it

  for (const auto& node : deviceNodes()) {
    const auto* m = findMount(*li, node);
    ASSERT_NE(m, nullptr) << node;
    EXPECT_EQ(m->source(), node);
    EXPECT_TRUE(m->create_file());
    EXPECT_GT(indexOf(*li, node), indexOf(*li, "/dev"));
  }
  const auto* pts = findMount(*li, "/dev/pts");
  ASSERT_NE(pts, nullptr);
  EXPECT_EQ(pts->type(), "devpts");
  for (const char* opt : {"newinstance", "ptmxmode=0666", "mode=0620"}) {
    EXPECT_TRUE(hasOption(*pts, opt)) << opt;
  }
  ASSERT_NE(findMount(*li, "/dev/shm"), nullptr);
  EXPECT_TRUE(hasOption(*findMount(*li, "/dev/shm"), "size=67108864"));

  const auto* sys = findMount(*li, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(sys->type(), "sysfs");
  EXPECT_TRUE(hasOption(*sys, "ro"));
  EXPECT_EQ(findMount(*li, "/proc"), nullptr);  // warren-init mounts it

  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                        "/proc/sched_debug", "/proc/scsi", "/proc/acpi", "/sys/firmware"}) {
    EXPECT_NE(std::find(li->masked_paths().begin(), li->masked_paths().end(), p),
              li->masked_paths().end())
        << p;
  }
  for (const char* p : {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"}) {
    EXPECT_NE(std::find(li->readonly_paths().begin(), li->readonly_paths().end(), p),
              li->readonly_paths().end())
        << p;
  }
}

TEST_F(LayoutTest, ReadonlyRootfsFromConfigAndSetting) {
  o.readonly_rootfs = true;
  EXPECT_TRUE(buildLaunchInfo(c, o)->readonly_rootfs());
  (*c.mutable_config()->mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "false";
  EXPECT_FALSE(buildLaunchInfo(c, o)->readonly_rootfs());
  o.readonly_rootfs = false;
  (*c.mutable_config()->mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "true";
  EXPECT_TRUE(buildLaunchInfo(c, o)->readonly_rootfs());
}

TEST_F(LayoutTest, BadSettingsAreNamed) {
  (*c.mutable_config()->mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "yes";
  auto li = buildLaunchInfo(c, o);
  ASSERT_FALSE(li);
  EXPECT_EQ(li.error().message(),
            "isolator setting 'filesystem/linux.readonly_rootfs' must be true or false, not 'yes'");
  c.mutable_config()->mutable_isolator_settings()->clear();
  (*c.mutable_config()->mutable_isolator_settings())["filesystem/linux.read_only"] = "true";
  (*c.mutable_config()->mutable_isolator_settings())["volumes.other"] = "x";  // not ours: ignored
  li = buildLaunchInfo(c, o);
  ASSERT_FALSE(li);
  EXPECT_EQ(li.error().code(), Code::InvalidArgument);
  EXPECT_EQ(li.error().message(),
            "unknown isolator setting 'filesystem/linux.read_only' (known: filesystem/linux.readonly_rootfs)");
}

TEST_F(LayoutTest, MissingRootfsIsAPreconditionError) {
  c.set_rootfs(env.root + "/nope");
  auto li = buildLaunchInfo(c, o);
  ASSERT_FALSE(li);
  EXPECT_EQ(li.error().code(), Code::FailedPrecondition);
  EXPECT_EQ(li.error().message(), "rootfs '" + env.root + "/nope' is not a directory");
}

TEST_F(LayoutTest, NoRootfsMeansHostViewWithMasksOnly) {
  c.clear_rootfs();
  auto li = buildLaunchInfo(c, o);
  ASSERT_TRUE(li);
  EXPECT_TRUE(li->rootfs().empty());
  EXPECT_EQ(li->mounts_size(), 0);
  EXPECT_FALSE(li->masked_paths().empty());
  (*c.mutable_config()->mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "true";
  auto bad = buildLaunchInfo(c, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "filesystem/linux.readonly_rootfs needs a container with its own rootfs");
  // The config default is not an error for such containers.
  c.mutable_config()->mutable_isolator_settings()->clear();
  o.readonly_rootfs = true;
  EXPECT_FALSE(buildLaunchInfo(c, o)->readonly_rootfs());
}

TEST_F(LayoutTest, NestedWithoutOwnRootfsSharesTheParentsView) {
  c.mutable_id()->add_path("child");
  c.mutable_parent()->set_rootfs(rootfs);  // the core hands down the parent's
  auto li = buildLaunchInfo(c, o);
  ASSERT_TRUE(li);
  EXPECT_TRUE(li->rootfs().empty());
  EXPECT_EQ(li->mounts_size(), 0);
  EXPECT_FALSE(hasOwnRootfs(c));
}

TEST_F(LayoutTest, NestedWithOwnRootfsGetsItsOwnLayout) {
  c.mutable_id()->add_path("child");
  c.mutable_parent()->set_rootfs(env.root + "/parent-rootfs");
  c.mutable_config()->set_rootfs(rootfs);
  EXPECT_TRUE(hasOwnRootfs(c));
  auto li = buildLaunchInfo(c, o);
  ASSERT_TRUE(li);
  EXPECT_EQ(li->rootfs(), rootfs);
  EXPECT_NE(findMount(*li, "/dev"), nullptr);
  EXPECT_NE(findMount(*li, "/sys"), nullptr);
}

TEST_F(LayoutTest, DebugContainerDescribesNothing) {
  c.mutable_id()->add_path("dbg");
  c.mutable_config()->set_container_class(v1::DEBUG);
  auto li = buildLaunchInfo(c, o);
  ASSERT_TRUE(li);
  EXPECT_EQ(li->ByteSizeLong(), 0u);
}

TEST_F(LayoutTest, SysModesAndMqueue) {
  o.sys = SysMode::None;
  o.mqueue = false;
  auto li = buildLaunchInfo(c, o);
  EXPECT_EQ(findMount(*li, "/sys"), nullptr);
  EXPECT_EQ(findMount(*li, "/dev/mqueue"), nullptr);
  o.sys = SysMode::Bind;
  o.mqueue = true;
  li = buildLaunchInfo(c, o);
  ASSERT_NE(findMount(*li, "/sys"), nullptr);
  EXPECT_EQ(findMount(*li, "/sys")->source(), "/sys");
  EXPECT_TRUE(hasOption(*findMount(*li, "/sys"), "ro"));
  ASSERT_NE(findMount(*li, "/dev/mqueue"), nullptr);
}

}  // namespace
}  // namespace warren::isolators::filesystem
