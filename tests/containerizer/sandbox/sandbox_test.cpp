// Issue #18, the Mesos user's view: a launch never changes the host (a
// --rootfs dir is a read-only lower layer; no mount point on the host's /),
// the sandbox is inside the container, named in WARREN_SANDBOX and
// MESOS_SANDBOX, the default working dir, and belongs to the container's
// user; nested containers inherit their parent's user.
#include <gtest/gtest.h>

#include "sandbox_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_Sandbox = SandboxTest;

TEST_F(ROOT_Sandbox, RootfsDirIsByteIdenticalAfterContainersWroteEverywhere) {
  std::string before = fingerprint(rootfs_);
  ASSERT_FALSE(before.empty());
  auto c = makeFs();
  ASSERT_TRUE(c);
  // The parent writes, deletes and replaces files all over its root, and has
  // volumes whose mount points are not in the rootfs.
  auto parent = shell(
      "set -e; touch /x /etc/y /bin/z; mkdir -p /newdir/sub; echo changed > /etc/passwd; "
      "rm /bin/cat; chmod 700 /tmp; ln -s /x /link; echo w > /data/f; sleep 300");
  addVolume(parent, v1::Volume::SANDBOX_SELF, "data", "/data");
  ASSERT_TRUE(c->launch(id("p"), parent)) << fileOf("p", "stderr");
  ASSERT_TRUE(eventually([&] { return fileOf("p", "data/f") == "w\n"; })) << fileOf("p", "stderr");
  // The parent's writes are in its upper layer, not in the rootfs dir.
  EXPECT_TRUE(fs::exists(sandboxOf("p") + "/.warren/rootfs/upper/x"));
  EXPECT_FALSE(fs::exists(rootfs_ + "/x"));
  // A nested child without a rootfs writes into its parent's root, and one
  // with its own volume makes a mount point there.
  auto kid = nested("touch /f /kid && echo kid-sees=$(cat /etc/passwd) && ls /x");
  auto r = run(*c, "p.kid", kid);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "kid-sees=changed\n/x\n");
  auto vkid = nested("echo v > /shared/g");
  addVolume(vkid, v1::Volume::SANDBOX_PARENT, "shared", "/shared");
  r = run(*c, "p.vkid", vkid);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_TRUE(fs::exists(sandboxOf("p") + "/.warren/rootfs/upper/f"));
  // A second top-level container on the same rootfs sees none of it.
  r = run(*c, "other", shell("ls /x /f 2>&1; cat /etc/passwd | head -n 1"));
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("root:x:0:0"), std::string::npos) << r.out;
  ASSERT_TRUE(c->destroy(id("p")));
  EXPECT_EQ(fingerprint(rootfs_), before);
  expectEmptyState();
}

// The upper layer dies with the sandbox, so the overlay is volatile: its
// last unmount (as the container's init exits) does not wait for a sync of
// the work dir's file system (bench/README.md, the warrend profile).
TEST_F(ROOT_Sandbox, TheRootfsOverlayIsVolatile) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  auto r = run(*c, "vol", shell("grep ' / / ' /proc/self/mountinfo"));
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_NE(r.out.find(" overlay "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("volatile"), std::string::npos) << r.out;
  expectEmptyState();
}

TEST_F(ROOT_Sandbox, RootfsWritableOptsOutOfTheUpperLayer) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  auto cfg = shell("touch /written-through");
  cfg.set_rootfs_writable(true);
  auto r = run(*c, "rw", cfg);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_TRUE(fs::exists(rootfs_ + "/written-through"));
}

TEST_F(ROOT_Sandbox, NoMountPointIsMadeOnTheHostsRoot) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  std::string target = "/" + tag() + "-volume";
  ASSERT_FALSE(fs::exists(target));
  auto cfg = shell("true");
  cfg.clear_rootfs();
  addVolume(cfg, v1::Volume::SANDBOX_SELF, "d", target);
  auto l = c->launch(id("hostroot"), cfg);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("creates none on the host's '/'"), std::string::npos)
      << l.error().message();
  EXPECT_FALSE(fs::exists(target));
  expectEmptyState();
}

TEST_F(ROOT_Sandbox, SandboxIsInsideTheDefaultWorkingDirAndInTheEnvironment) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  auto r = run(*c, "s", shell("echo $WARREN_SANDBOX $MESOS_SANDBOX $(pwd); echo in > f; cat /mnt/mesos/sandbox/f"));
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "/mnt/mesos/sandbox /mnt/mesos/sandbox /mnt/mesos/sandbox\nin\n");
  // Without a rootfs the container's root is the host's: the sandbox is the
  // host path (nothing mounted, nothing made on /).
  auto host = shell("echo $WARREN_SANDBOX; pwd");
  host.clear_rootfs();
  r = run(*c, "h", host);
  EXPECT_EQ(r.out, sandboxOf("h") + "\n" + sandboxOf("h") + "\n") << r.err;
  // A working dir from the config wins, and is made when missing (in the
  // upper layer, not in the rootfs dir).
  auto wd = shell("pwd");
  wd.set_working_dir("/made/for/me");
  r = run(*c, "w", wd);
  EXPECT_EQ(r.out, "/made/for/me\n") << r.err;
  EXPECT_FALSE(fs::exists(rootfs_ + "/made"));
}

TEST_F(ROOT_Sandbox, SandboxAndLogsBelongToTheContainersUser) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  auto cfg = shell("id -u; stat -c '%u %a' $WARREN_SANDBOX; echo mine > $WARREN_SANDBOX/mine; sleep 300");
  cfg.set_user("1000:1000");
  ASSERT_TRUE(c->launch(id("u"), cfg));
  ASSERT_TRUE(eventually([&] { return fs::exists(sandboxOf("u") + "/mine"); })) << fileOf("u", "stderr");
  EXPECT_EQ(fileOf("u", "stdout").substr(0, 5), "1000\n");
  EXPECT_EQ(ownerOf(sandboxOf("u")), 1000u);
  EXPECT_EQ(ownerOf(sandboxOf("u") + "/stdout"), 1000u);
  EXPECT_EQ(ownerOf(sandboxOf("u") + "/stderr"), 1000u);
  EXPECT_EQ(ownerOf(sandboxOf("u") + "/mine"), 1000u);
  // A nested child inherits the user; it may ask for another.
  auto r = run(*c, "u.kid", nested("id -u; touch $WARREN_SANDBOX/k && echo wrote"));
  EXPECT_EQ(r.out, "1000\nwrote\n") << r.err;
  auto asroot = nested("id -u");
  asroot.set_user("0");
  r = run(*c, "u.root", asroot);
  EXPECT_EQ(r.out, "0\n") << r.err;
  ASSERT_TRUE(c->destroy(id("u")));
}

TEST_F(ROOT_Sandbox, NonRootNestedChildWritesItsRootParentsParentVolume) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("rp"), shell("sleep 300")));
  auto kid = nested("id -u; echo from-kid > /shared/f && echo ok");
  kid.set_user("1000:1000");
  addVolume(kid, v1::Volume::SANDBOX_PARENT, "shared", "/shared");
  auto r = run(*c, "rp.kid", kid);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "1000\nok\n") << r.err;
  EXPECT_EQ(fileOf("rp", "shared/f"), "from-kid\n");
  EXPECT_EQ(ownerOf(sandboxOf("rp") + "/shared/f"), 1000u);
  // ...and so does a non-root sibling's own sandbox: volume.
  auto own = nested("echo x > /data/x && echo ok2");
  own.set_user("1000:1000");
  addVolume(own, v1::Volume::SANDBOX_SELF, "data", "/data");
  r = run(*c, "rp.own", own);
  EXPECT_EQ(r.out, "ok2\n") << r.err;
  ASSERT_TRUE(c->destroy(id("rp")));
}

TEST_F(ROOT_Sandbox, DebugContainerHonoursExplicitEnvAndWorkingDir) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  auto parent = shell("sleep 300");
  (*parent.mutable_env())["WHO"] = "parent";
  parent.set_working_dir("/tmp");
  ASSERT_TRUE(c->launch(id("dp"), parent));
  auto dbg = nested("echo $WHO $(pwd) $WARREN_SANDBOX");
  dbg.set_container_class(v1::DEBUG);
  auto r = run(*c, "dp.inherit", dbg);
  EXPECT_EQ(r.out, "parent /tmp /mnt/mesos/sandbox\n") << r.err;
  (*dbg.mutable_env())["WHO"] = "debugger";
  dbg.set_working_dir("/etc");
  r = run(*c, "dp.own", dbg);
  EXPECT_EQ(r.out, "debugger /etc /mnt/mesos/sandbox\n") << r.err;
  ASSERT_TRUE(c->destroy(id("dp")));
}

}  // namespace
}  // namespace warren::testing
