// filesystem/linux loaded through the real plugin host: prepare, its
// per-container record, and (ROOT_) the sweep of host mounts at cleanup and
// recover, on real tmpfs mounts.
#include <cstdio>
#include <gtest/gtest.h>

#include <algorithm>

#include "isolator_plugin.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

// The isolator names a record by an FNV-1a hash of the container ID (IDs of
// deep containers are longer than a file name may be).
std::string recordFile(const TestEnv& env, const std::string& id) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : id) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return env.runtime_dir + "/plugins/filesystem_linux/containers/" + buf;
}


constexpr const char* kFile = "isolator_filesystem_linux.so";
constexpr const char* kName = "filesystem/linux";

// A container laid out like the core does: sandbox under work_dir/sandboxes,
// runtime dir (and a provisioned rootfs) under runtime_dir/containers.
struct Container {
  v1::ContainerContext ctx;
  v1::ContainerState state;
};

Container container(const TestEnv& env, const std::string& name, bool provisioned_rootfs) {
  Container c;
  c.ctx.mutable_id()->add_path(name);
  c.ctx.set_depth(1);
  c.ctx.set_sandbox(env.work_dir + "/sandboxes/" + name);
  c.ctx.set_runtime_dir(env.runtime_dir + "/containers/" + name);
  EXPECT_TRUE(fs::mkdirs(c.ctx.sandbox()));
  EXPECT_TRUE(fs::mkdirs(c.ctx.runtime_dir()));
  if (provisioned_rootfs) {
    c.ctx.set_rootfs(c.ctx.runtime_dir() + "/rootfs");
    EXPECT_TRUE(fs::mkdirs(c.ctx.rootfs()));
  }
  *c.state.mutable_id() = c.ctx.id();
  c.state.set_sandbox(c.ctx.sandbox());
  c.state.set_rootfs(c.ctx.rootfs());
  c.state.mutable_launch_info()->set_rootfs(c.ctx.rootfs());
  return c;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(FilesystemPlugin, PrepareThroughTheHostWritesAndCleanupRemovesItsRecord) {
  TestEnv env;
  IsolatorPlugin p(env, kFile, kName);
  ASSERT_TRUE(p.plugin) << p.error;
  EXPECT_EQ(p.plugin->descriptor().name, "org.warren.isolator.filesystem.linux");
  EXPECT_TRUE(p.plugin->info().supports_nesting());
  auto c = container(env, "c1", /*provisioned_rootfs=*/true);
  auto li = p.prepare(c.ctx);
  ASSERT_TRUE(li) << li.error().message();
  EXPECT_EQ(li->rootfs(), c.ctx.rootfs());
  EXPECT_GT(li->mounts_size(), 5);
  std::string record = recordFile(env, "c1");
  EXPECT_TRUE(fs::exists(record));
  ASSERT_TRUE(p.cleanup(c.ctx.id()));
  EXPECT_FALSE(fs::exists(record));
  // Idempotent, and fine for containers it never saw.
  EXPECT_TRUE(p.cleanup(c.ctx.id()));
  v1::ContainerID never;
  never.add_path("never-seen");
  EXPECT_TRUE(p.cleanup(never));
}

TEST(FilesystemPlugin, BadInputIsRefusedWithOneLine) {
  TestEnv env;
  IsolatorPlugin bad(env, kFile, kName, {}, R"({"sys_mode": "proc"})");
  EXPECT_EQ(bad.plugin, nullptr);
  EXPECT_NE(bad.error.find("invalid config: sys_mode 'proc' (use sysfs, bind or none)"), std::string::npos)
      << bad.error;

  IsolatorPlugin p(env, kFile, kName);
  ASSERT_TRUE(p.plugin) << p.error;
  auto c = container(env, "c2", false);
  c.ctx.set_rootfs(env.root + "/missing-rootfs");
  auto li = p.prepare(c.ctx);
  ASSERT_FALSE(li);
  EXPECT_EQ(li.error().code(), Code::FailedPrecondition);
  EXPECT_NE(li.error().message().find("rootfs '" + env.root + "/missing-rootfs' is not a directory"),
            std::string::npos)
      << li.error().message();
  EXPECT_FALSE(fs::exists(recordFile(env, "c2")));
}

TEST(ROOT_FilesystemPlugin, RecoverRemovesOrphanMountsAndKeepsKnownOnes) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  HostMounts mounts;
  auto known = container(env, "known", true);
  auto orphan = container(env, "orphan", true);
  // Ours below a dir of no container at all (a crashed launch's leftovers).
  std::string stray = env.work_dir + "/sandboxes/stray/m";
  // Another plugin's mount, in its own directory: not ours.
  std::string other = env.work_dir + "/plugins/other/layer";
  {
    IsolatorPlugin p(env, kFile, kName);
    ASSERT_TRUE(p.plugin) << p.error;
    ASSERT_TRUE(p.prepare(known.ctx));
    ASSERT_TRUE(p.prepare(orphan.ctx));
  }  // the "containerizer" dies here
  const std::vector<std::string> keep = {
      known.ctx.sandbox() + "/m", known.ctx.rootfs(), known.ctx.rootfs() + "/dev",
      known.ctx.runtime_dir() + "/ns", other};
  const std::vector<std::string> gone = {
      orphan.ctx.sandbox() + "/m", orphan.ctx.sandbox() + "/m/deeper", orphan.ctx.rootfs(),
      orphan.ctx.runtime_dir() + "/ns", stray};
  for (const auto& m : keep) ASSERT_TRUE(mounts.tmpfs(m)) << m;
  for (const auto& m : gone) ASSERT_TRUE(mounts.tmpfs(m)) << m;
  ASSERT_TRUE(mounts.tmpfs(orphan.ctx.sandbox() + "/m"));  // stacked twice

  IsolatorPlugin p(env, kFile, kName);
  ASSERT_TRUE(p.plugin) << p.error;
  auto r = p.recover({known.state});
  ASSERT_TRUE(r) << r.error().message();

  auto left = mountsUnder(env.root);
  for (const auto& m : keep) EXPECT_TRUE(contains(left, m)) << "known mount removed: " << m;
  for (const auto& m : gone) EXPECT_FALSE(contains(left, m)) << "orphan mount kept: " << m;
  EXPECT_FALSE(fs::exists(recordFile(env, "orphan")));
  EXPECT_TRUE(fs::exists(recordFile(env, "known")));

  // Cleanup of the known container removes what lies below its dirs, but
  // not the mount *at* its rootfs (the provisioner's) nor its runtime dir's
  // (the core's).
  ASSERT_TRUE(p.cleanup(known.ctx.id(), known.state));
  left = mountsUnder(env.root);
  EXPECT_FALSE(contains(left, known.ctx.sandbox() + "/m"));
  EXPECT_FALSE(contains(left, known.ctx.rootfs() + "/dev"));
  EXPECT_TRUE(contains(left, known.ctx.rootfs()));
  EXPECT_TRUE(contains(left, other));
}

TEST(ROOT_FilesystemPlugin, CleanupNeverTouchesMountsOutsideWorkAndRuntimeDirs) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  HostMounts mounts;
  auto c = container(env, "user", false);
  // The operator's own rootfs dir, outside warren's dirs, with a mount in it.
  std::string user_rootfs = env.root + "/user-rootfs";
  ASSERT_TRUE(fs::mkdirs(user_rootfs));
  c.ctx.mutable_config()->set_rootfs(user_rootfs);
  c.ctx.set_rootfs(user_rootfs);
  ASSERT_TRUE(mounts.tmpfs(user_rootfs + "/opt"));
  ASSERT_TRUE(mounts.tmpfs(c.ctx.sandbox()));  // at the sandbox: not below it
  ASSERT_TRUE(mounts.tmpfs(c.ctx.sandbox() + "/below"));
  IsolatorPlugin p(env, kFile, kName);
  ASSERT_TRUE(p.plugin) << p.error;
  ASSERT_TRUE(p.prepare(c.ctx));
  ASSERT_TRUE(p.cleanup(c.ctx.id()));
  auto left = mountsUnder(env.root);
  EXPECT_TRUE(contains(left, user_rootfs + "/opt"));
  EXPECT_TRUE(contains(left, c.ctx.sandbox()));
  EXPECT_FALSE(contains(left, c.ctx.sandbox() + "/below"));
}

}  // namespace
}  // namespace warren::testing
