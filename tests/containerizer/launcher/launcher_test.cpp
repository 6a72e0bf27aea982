// ROOT_ tests of one top-level container: real namespaces, a busybox rootfs.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "launcher/spec.hpp"
#include "launcher_fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using launcher::ExitStatus;

// spawn + release + wait; returns the recorded status.
std::optional<ExitStatus> runBox(Box& b, const std::vector<std::string>& argv) {
  b.req.argv = argv;
  auto l = launcher::spawn(b.req);
  EXPECT_TRUE(l) << l.error().message();
  if (!l) return std::nullopt;
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  EXPECT_TRUE(r) << r.error().message();
  if (!r) return std::nullopt;
  return waitDone(b);
}

TEST(ROOT_Launcher, PidOneInsideItsOwnPidNamespace) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto s = runBox(b, {"/bin/sh", "-c", "echo $$; cat /proc/1/cmdline"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, "exited");
  EXPECT_EQ(s->wait_status, 0);
  // The command is pid 1's child; pid 1 is warren-init, and its command
  // line names nothing of the host (no runtime dir).
  EXPECT_EQ(b.out(), std::string("2\nwarren-init") + '\0') << b.out();
}

TEST(ROOT_Launcher, ShellAsInitChildSeesOnlyItsNamespace) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto s = runBox(b, {"/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'"});
  ASSERT_TRUE(s);
  // warren-init, sh, ls (grep too, maybe): a handful, never the host's.
  EXPECT_LE(std::atoi(b.out().c_str()), 4) << b.out();
}

TEST(ROOT_Launcher, HostnameIsSet) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.set_hostname("box-one");
  auto s = runBox(b, {"hostname"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "box-one\n");
}

TEST(ROOT_Launcher, OnlyStdioFdsInside) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  // The shell's fds, listed by a child ls (`; true` keeps sh from exec'ing
  // ls itself, whose directory fd would show up as 3).
  auto s = runBox(b, {"/bin/sh", "-c", "ls /proc/$$/fd; true"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "0\n1\n2\n");
}

TEST(ROOT_Launcher, HostEnvironmentIsNotInherited) {
  WARREN_REQUIRE_ROOT();
  ::setenv("WARREN_TEST_SECRET", "leak", 1);
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  (*b.req.launch_info.mutable_env())["FOO"] = "bar";
  auto s = runBox(b, {"env"});
  ::unsetenv("WARREN_TEST_SECRET");
  ASSERT_TRUE(s);
  std::string out = b.out();
  EXPECT_EQ(out.find("WARREN_TEST_SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("FOO=bar\n"), std::string::npos) << out;
  EXPECT_NE(out.find("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("HOME=/root\n"), std::string::npos) << out;
}

TEST(ROOT_Launcher, ExitCodeIsRecorded) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto s = runBox(b, {"/bin/sh", "-c", "echo hi; exit 3"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "hi\n");
  EXPECT_TRUE(WIFEXITED(s->wait_status));
  EXPECT_EQ(WEXITSTATUS(s->wait_status), 3);
  EXPECT_EQ(s->reason, "exited");
}

TEST(ROOT_Launcher, SignalToInitIsForwarded) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.argv = {"sleep", "100"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  ASSERT_TRUE(launcher::release(b.launched));
  ASSERT_EQ(::kill(b.launched.pid, SIGTERM), 0);
  auto s = waitDone(b);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, "signaled");
  EXPECT_TRUE(WIFSIGNALED(s->wait_status));
  EXPECT_EQ(WTERMSIG(s->wait_status), SIGTERM);
}

TEST(ROOT_Launcher, CommandNotFoundExits127WithMessage) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto s = runBox(b, {"nosuch"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, "exec_failed");
  EXPECT_EQ(WEXITSTATUS(s->wait_status), 127);
  EXPECT_EQ(s->message, "exec 'nosuch': No such file or directory");
}

TEST(ROOT_Launcher, SetupErrorFailsReleaseAndLeavesNothing) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto* m = b.req.launch_info.add_mounts();
  m->set_source(env.root + "/does-not-exist");
  m->set_target("/x");
  m->set_type("bind");
  m->set_create_dir(true);
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  pid_t pid = b.launched.pid;
  auto r = launcher::release(b.launched);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("mount '/x' into container"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(alive(b.launched));
  EXPECT_NE(::kill(pid, 0), 0);  // reaped, gone
  auto text = fs::readFile(b.req.runtime_dir + "/exit_status");
  ASSERT_TRUE(text);
  auto s = launcher::parseExitStatus(*text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, "setup_failed");
  EXPECT_EQ(s->message, r.error().message());
}

TEST(ROOT_Launcher, RaisingAHardRlimitIsAClearError) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto* rl = b.req.launch_info.add_rlimits();
  rl->set_type("RLIMIT_NOFILE");
  rl->set_soft(1024);
  rl->set_hard(1ull << 40);
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("RLIMIT_NOFILE"), std::string::npos) << r.error().message();
}

TEST(ROOT_Launcher, LoweredRlimitApplies) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto* rl = b.req.launch_info.add_rlimits();
  rl->set_type("nofile");
  rl->set_soft(100);
  rl->set_hard(200);
  auto s = runBox(b, {"/bin/sh", "-c", "ulimit -n; ulimit -Hn"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "100\n200\n");
}

TEST(ROOT_Launcher, UserAndDefaultCapabilities) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.set_user("nobody");
  b.req.launch_info.set_working_dir("/tmp");
  auto s = runBox(b, {"/bin/sh", "-c", "id -u; id -g; pwd; grep -E 'CapBnd|CapEff|NoNewPrivs' /proc/self/status"});
  ASSERT_TRUE(s);
  uint64_t bnd = 0;
  for (int c : launcher::defaultCapabilities()) bnd |= 1ull << c;
  char want[64];
  snprintf(want, sizeof want, "CapBnd:\t%016llx\n", static_cast<unsigned long long>(bnd));
  std::string out = b.out();
  EXPECT_EQ(out.substr(0, 16), "65534\n65534\n/tmp") << out;
  EXPECT_NE(out.find(want), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
}

TEST(ROOT_Launcher, RootKeepsOnlyTheRequestedCapabilities) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.add_capabilities("CAP_NET_ADMIN");
  b.req.launch_info.add_capabilities("kill");
  auto s = runBox(b, {"/bin/sh", "-c", "grep -E 'CapEff|CapBnd' /proc/self/status"});
  ASSERT_TRUE(s);
  uint64_t want = (1ull << 12) | (1ull << 5);
  char line[64];
  snprintf(line, sizeof line, "CapEff:\t%016llx", static_cast<unsigned long long>(want));
  EXPECT_NE(b.out().find(line), std::string::npos) << b.out();
}

TEST(ROOT_Launcher, MountsMasksAndReadonlyPaths) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  std::string host = env.root + "/shared";
  ASSERT_TRUE(fs::mkdirs(host));
  ASSERT_TRUE(fs::writeFile(host + "/hello", "from host\n"));
  auto& li = b.req.launch_info;
  auto* m = li.add_mounts();
  m->set_source(host);
  m->set_target("/data/in");
  m->set_type("bind");
  m->add_options("rbind");
  m->add_options("ro");
  m->set_create_dir(true);
  m = li.add_mounts();
  m->set_source("tmpfs");
  m->set_target("/scratch");
  m->set_type("tmpfs");
  m->add_options("size=1m");
  m->add_options("nosuid");
  m->set_create_dir(true);
  li.add_masked_paths("/etc/group");
  li.add_readonly_paths("/root");
  auto s = runBox(b, {"/bin/sh", "-c",
                      "cat /data/in/hello; touch /data/in/x 2>/dev/null || echo ro-ok;"
                      "touch /scratch/y && echo tmpfs-ok; wc -c < /etc/group;"
                      "wc -c < /proc/timer_list; touch /root/z 2>/dev/null || echo root-ro;"
                      "echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "from host\nro-ok\ntmpfs-ok\n0\n0\nroot-ro\nsys-ro\n") << b.err();
  EXPECT_FALSE(fs::exists(host + "/x"));
}

TEST(ROOT_Launcher, PreExecStepsAndFiles) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  ASSERT_TRUE(fs::writeFile(env.root + "/hosts", "127.0.0.1 box\n"));
  (*b.req.launch_info.mutable_files())["/etc/hosts"] = env.root + "/hosts";
  auto* step = b.req.launch_info.add_pre_exec();
  step->set_value("echo prepared > /tmp/pre");
  step->set_shell(true);
  auto s = runBox(b, {"/bin/sh", "-c", "cat /tmp/pre /etc/hosts; echo x >> /etc/hosts || echo hosts-ro"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "prepared\n127.0.0.1 box\nhosts-ro\n") << b.err();
}

TEST(ROOT_Launcher, FailingPreExecFailsRelease) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  auto* step = b.req.launch_info.add_pre_exec();
  step->set_value("false");
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "pre-exec 'false' exited with status 1");
}

TEST(ROOT_Launcher, UnknownUserFailsRelease) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.set_user("bob");
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "user 'bob': no user 'bob' in the container's /etc/passwd");
}

TEST(ROOT_Launcher, CapabilityWarrenLacksIsAClearError) {
  WARREN_REQUIRE_ROOT();
  auto status = fs::readFile("/proc/self/status");
  ASSERT_TRUE(status);
  uint64_t prm = std::stoull(status->substr(status->find("CapPrm:") + 8, 16), nullptr, 16);
  if (prm >> 24 & 1) GTEST_SKIP() << "skipped: this machine grants CAP_SYS_RESOURCE";
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.add_capabilities("CAP_SYS_RESOURCE");
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  auto r = launcher::release(b.launched);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "keep CAP_SYS_RESOURCE: warren-init does not have it (the launching process lacks it)");
}

TEST(ROOT_Launcher, ReadonlyRootfs) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.launch_info.set_readonly_rootfs(true);
  auto s = runBox(b, {"/bin/sh", "-c", "touch /newfile 2>/dev/null || echo ro"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out(), "ro\n");
}

TEST(ROOT_Launcher, WithoutRootfsGetsFreshProc) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel(/*rootfs=*/false);
  auto s = runBox(b, {"/bin/sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"});
  ASSERT_TRUE(s);
  EXPECT_EQ(b.out().substr(0, 2), "2\n") << b.out();
  EXPECT_LE(std::atoi(b.out().c_str() + 2), 4) << b.out();
}

TEST(ROOT_Launcher, AbortKillsABlockedInit) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_TRUE(l) << l.error().message();
  b.launched = std::move(*l);
  pid_t pid = b.launched.pid;
  EXPECT_GT(b.launched.start_time, 0u);
  EXPECT_EQ(b.launched.start_time, launcher::processStartTime(pid));
  launcher::abort(b.launched);
  EXPECT_NE(::kill(pid, 0), 0);
  launcher::abort(b.launched);  // idempotent
}

TEST(ROOT_Launcher, BadInitPathIsAClearError) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box b(env, "c");
  b.topLevel();
  b.req.init_path = env.root + "/no-such-init";
  b.req.argv = {"true"};
  auto l = launcher::spawn(b.req);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message(), "spawn warren-init: exec warren-init: No such file or directory");
}

}  // namespace
}  // namespace warren::testing
