// Mount targets, masked paths, /dev/pts and /dev/console, and /proc: every
// one is a path inside a root the container (or its image) controls. A
// symlink or a /proc/self/fd/N magic link there used to send warren-init's
// mkdir, file creation or mount to the host (its runtime dir is fd 4 of
// init). Each attack must fail and the host directory must stay as it was.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "launcher_fixture.hpp"
#include "security_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_SecurityMountTargets = SecurityTest;

// The runtime dir's entries, without the exit_status warren-init writes.
std::set<std::string> runtimeEntries(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string n = e.path().filename();
    if (n.rfind("exit_status", 0) != 0) out.insert(e.path());
  }
  return out;
}

// spawn + release; the one-line error when either failed.
std::string launchBox(Box& b, const std::vector<std::string>& argv) {
  b.req.argv = argv;
  auto l = launcher::spawn(b.req);
  if (!l) return l.error().message();
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  if (!r) return r.error().message();
  (void)waitDone(b);
  return "";
}

v1::Mount mountOf(const std::string& source, const std::string& target, const std::string& type,
                  std::vector<std::string> options, bool create_dir = true) {
  v1::Mount m;
  m.set_source(source);
  m.set_target(target);
  m.set_type(type);
  for (auto& o : options) m.add_options(o);
  m.set_create_dir(create_dir);
  return m;
}

TEST(ROOT_SecurityLauncherTargets, MountTargetThroughAMagicLinkIsRefused) {
  WARREN_REQUIRE_ROOT();
  for (int fd = 3; fd <= 6; ++fd) {
    TestEnv env;
    Box b(env, "c");
    b.topLevel();
    std::string root = b.req.launch_info.rootfs();
    ASSERT_EQ(::symlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), (root + "/x").c_str()), 0);
    *b.req.launch_info.add_mounts() = mountOf("tmpfs", "/x/sub", "tmpfs", {"size=64k"});
    auto before = runtimeEntries(b.req.runtime_dir);
    std::string err = launchBox(b, {"true"});
    EXPECT_NE(err.find("mount '/x/sub' into container"), std::string::npos) << fd << ": " << err;
    EXPECT_EQ(runtimeEntries(b.req.runtime_dir), before) << fd;
  }
}

TEST(ROOT_SecurityLauncherTargets, DevThroughAMagicLinkMakesNothingOnTheHost) {
  WARREN_REQUIRE_ROOT();
  // /dev -> init's runtime dir fd: /dev/pts, the ptmx and fd links would be
  // made in the host's runtime dir.
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  std::string root = b.req.launch_info.rootfs();
  std::filesystem::remove_all(root + "/dev");
  ASSERT_EQ(::symlink("/proc/self/fd/4", (root + "/dev").c_str()), 0);
  *b.req.launch_info.add_mounts() =
      mountOf("devpts", "/dev/pts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666"});
  auto before = runtimeEntries(b.req.runtime_dir);
  std::string err = launchBox(b, {"true"});
  EXPECT_NE(err.find("mount '/dev/pts' into container"), std::string::npos) << err;
  EXPECT_EQ(runtimeEntries(b.req.runtime_dir), before);
  EXPECT_FALSE(fs::exists(b.req.runtime_dir + "/pts"));
  EXPECT_FALSE(fs::exists(b.req.runtime_dir + "/ptmx"));
}

TEST(ROOT_SecurityLauncherTargets, DevConsoleSymlinkCreatesNothingOnTheHost) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  std::string root = b.req.launch_info.rootfs();
  ASSERT_TRUE(fs::mkdirs(root + "/dev"));
  ::unlink((root + "/dev/console").c_str());
  ASSERT_EQ(::symlink("/proc/self/fd/4/console-pwned", (root + "/dev/console").c_str()), 0);
  std::string tty = env.root + "/tty";
  ASSERT_TRUE(fs::writeFile(tty, ""));
  (*b.req.launch_info.mutable_files())["/dev/console"] = tty;
  auto before = runtimeEntries(b.req.runtime_dir);
  std::string err = launchBox(b, {"true"});
  EXPECT_NE(err.find("mount '/dev/console' into container"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(b.req.runtime_dir + "/console-pwned"));
  EXPECT_EQ(runtimeEntries(b.req.runtime_dir), before);
}

// CVE-2025-31133: the rootfs's /dev/null is a symlink to a file of the
// container; masking must still use the real null device (warren-init takes
// it from the host and checks it is char 1:3), never that file.
TEST(ROOT_SecurityLauncherTargets, DevNullSymlinkIsNotUsedToMask) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  std::string root = b.req.launch_info.rootfs();
  ASSERT_TRUE(fs::mkdirs(root + "/dev"));
  ::unlink((root + "/dev/null").c_str());
  ASSERT_TRUE(fs::writeFile(root + "/target", "untouched\n"));
  ASSERT_EQ(::symlink("/target", (root + "/dev/null").c_str()), 0);
  ASSERT_TRUE(fs::mkdirs(root + "/etc"));
  ASSERT_TRUE(fs::writeFile(root + "/etc/masked", "secret\n"));
  b.req.launch_info.add_masked_paths("/etc/masked");
  std::string err = launchBox(b, {"/bin/sh", "-c",
                                  "stat -c '%t:%T %F' /etc/masked; "
                                  "echo pwned > /etc/masked; cat /etc/masked; cat /target"});
  EXPECT_EQ(err, "");
  EXPECT_EQ(b.out(), "1:3 character special file\nuntouched\n") << b.err();  // the mask reads as empty
  EXPECT_EQ(*fs::readFile(root + "/target"), "untouched\n");
  EXPECT_EQ(*fs::readFile(root + "/etc/masked"), "secret\n");
}

// CVE-2025-52881 class: /proc must be the procfs warren-init mounted, at a
// real directory; a /proc that is a symlink, or a non-procfs file system
// over a /proc path to be masked or made read-only, is refused instead of
// redirecting the operation.
TEST(ROOT_SecurityLauncherTargets, ProcThatIsASymlinkIsRefused) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  std::string root = b.req.launch_info.rootfs();
  std::filesystem::remove_all(root + "/proc");
  ASSERT_TRUE(fs::mkdirs(root + "/fakeproc/sys"));
  ASSERT_EQ(::symlink("/fakeproc", (root + "/proc").c_str()), 0);
  std::string err = launchBox(b, {"true"});
  EXPECT_EQ(err, "mount '/proc' into container: '/proc' is a symlink (refused)");
  EXPECT_TRUE(std::filesystem::is_empty(root + "/fakeproc/sys"));
}

TEST(ROOT_SecurityLauncherTargets, ProcPathShadowedByAnotherFilesystemIsRefused) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  // A tmpfs over /proc/sys: "read-only /proc/sys" would land on it.
  *b.req.launch_info.add_mounts() = mountOf("tmpfs", "/proc/sys", "tmpfs", {"size=64k"}, false);
  std::string err = launchBox(b, {"true"});
  EXPECT_EQ(err, "readonly '/proc/sys': not on the container's procfs (refused)");
}

// The race: the parent swaps a real directory with a magic link while its
// children mount a tmpfs below it; no child may create its target in the
// host's runtime dir.
TEST_F(ROOT_SecurityMountTargets, TargetSwappedForAMagicLinkInARace) {
  auto c = make();
  ASSERT_TRUE(c);
  auto parent = shell("mkdir -p /x/t && ln -s /proc/self/fd/4 /x/evil && exec exchange /x t evil");
  addVolume(parent, "sandbox:x:/x");
  ASSERT_TRUE(c->launch(id("mt"), parent));
  ASSERT_TRUE(eventually([&] { return fs::exists(sandboxOf("mt") + "/x/t"); }));
  int ran = 0, refused = 0;
  for (int i = 0; i < 60; ++i) {
    std::string cid = "mt.k" + std::to_string(i);
    auto cfg = shell("true", false);
    addVolume(cfg, "tmpfs:64k:/x/t/sub");
    auto st = c->launch(id(cid), cfg);
    if (!st) {
      // Refused, and for the right reason: the magic link was not followed.
      // (Before the fix a failed launch here was the kernel refusing to
      // mount on the host's runtime dir - after mkdir had made `sub` in it,
      // and the rollback removed the evidence with the dir.)
      EXPECT_NE(st.error().message().find("Too many levels of symbolic links"), std::string::npos)
          << st.error().message();
      ++refused;
      continue;
    }
    ++ran;
    std::string rundir = env_.runtime_dir + "/containers/mt/containers/k" + std::to_string(i);
    EXPECT_FALSE(fs::exists(rundir + "/sub")) << "target made in the host runtime dir";
    (void)c->wait(id(cid), std::chrono::seconds(30));
    (void)c->destroy(id(cid));
  }
  ASSERT_TRUE(fs::writeFile(sandboxOf("mt") + "/x/stop", ""));
  (void)c->wait(id("mt"), std::chrono::seconds(30));
  std::cout << "mount target race: " << ran << " ran, " << refused << " refused; attacker: "
            << fileOf("mt", "stdout");
  EXPECT_NE(fileOf("mt", "stdout").find("exchanges"), std::string::npos);
  ASSERT_TRUE(c->destroy(id("mt")));
}

}  // namespace
}  // namespace warren::testing
