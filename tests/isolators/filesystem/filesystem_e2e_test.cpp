// End to end through libwarren's Containerizer with a busybox rootfs: the
// layout filesystem/linux describes is what the container sees, none of its
// mounts shows on the host, and none is left after destroy - also when the
// containerizer was killed mid-launch and a new one recovered.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_FilesystemE2E = IsolatorE2E;

TEST_F(ROOT_FilesystemE2E, ContainerSeesMinimalDevReadonlySysAndMaskedProc) {
  // /proc/timer_list is masked by default and has content on the host.
  auto host_timer_list = fs::readFile("/proc/timer_list");
  ASSERT_TRUE(host_timer_list && !host_timer_list->empty()) << "this kernel has no /proc/timer_list";
  auto c = make();
  ASSERT_TRUE(c);
  auto r = run(*c, "layout", shell(
      "ls /dev | tr '\\n' ' '; echo;"
      "echo x > /dev/null && echo null-ok;"
      "head -c 4 /dev/urandom | wc -c;"
      "touch /sys/x; echo sys=$?;"
      "wc -c < /proc/timer_list;"
      "echo 1 > /proc/sys/vm/drop_caches; echo procsys=$?;"
      "grep -c ' /dev/pts ' /proc/self/mountinfo;"
      "touch /dev/shm/ok && echo shm-ok"));
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  std::istringstream out(r.out);
  std::string devs, line;
  std::getline(out, devs);
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm"}) {
    EXPECT_NE(devs.find(std::string(d) + " "), std::string::npos) << d << " missing from: " << devs;
  }
  // Only what we put there: no host disks or consoles.
  EXPECT_EQ(devs.find("console"), std::string::npos) << devs;
  EXPECT_EQ(devs.find("kmsg"), std::string::npos) << devs;
  std::string rest((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rest, "null-ok\n4\nsys=1\n0\nprocsys=1\n1\nshm-ok\n") << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

TEST_F(ROOT_FilesystemE2E, ReadonlyRootfsSetting) {
  auto c = make();
  ASSERT_TRUE(c);
  auto cfg = shell("touch /newfile; echo root=$?; touch /dev/shm/x; echo shm=$?");
  (*cfg.mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "true";
  auto r = run(*c, "rorootfs", cfg);
  EXPECT_EQ(r.out, "root=1\nshm=0\n") << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(rootfs_ + "/newfile"));

  auto bad = shell("true");
  (*bad.mutable_isolator_settings())["filesystem/linux.readonly_rootfs"] = "maybe";
  auto st = c->launch(id("badsetting"), bad);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(
                "isolator setting 'filesystem/linux.readonly_rootfs' must be true or false, not 'maybe'"),
            std::string::npos)
      << st.error().message();
}

TEST_F(ROOT_FilesystemE2E, MountsInsideNeverShowOnTheHostAndNoneRemainAfterDestroy) {
  auto c = make();
  ASSERT_TRUE(c);
  auto cfg = shell("cat /proc/self/mountinfo; echo END; sleep 300");
  v1::Volume scratch;
  scratch.set_source(v1::Volume::TMPFS);
  scratch.set_size_bytes(1 << 20);
  scratch.set_container_path("/scratch");
  *cfg.add_volumes() = scratch;
  ASSERT_TRUE(c->launch(id("hidden"), cfg));
  ASSERT_TRUE(eventually([&] { return fileOf("hidden", "stdout").find("END") != std::string::npos; }));
  std::string inside = fileOf("hidden", "stdout");
  for (const char* m : {" /dev ", " /dev/pts ", " /dev/shm ", " /sys ", " /proc ", " /scratch "}) {
    EXPECT_NE(inside.find(m), std::string::npos) << m << " not mounted inside:\n" << inside;
  }
  // The host sees none of them: nothing below the test's dirs (rootfs,
  // sandbox, runtime dir), and no tmpfs of 1 MiB anywhere at /scratch.
  EXPECT_TRUE(mountsUnder(env_.root).empty());
  EXPECT_TRUE(mountsUnder("/scratch").empty());
  ASSERT_TRUE(c->destroy(id("hidden")));
  EXPECT_TRUE(mountsUnder(env_.root).empty());
}

// Launch in a forked child that is SIGKILLed after `delay`: the
// containerizer dies wherever it was in the launch sequence.
void launchAndDie(IsolatorE2E* self, Options opts, const std::string& cid, v1::ContainerConfig cfg,
                  std::chrono::milliseconds delay) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto c = Containerizer::create(opts);
    if (c) (void)(*c)->launch(*parseId(cid), cfg);
    pause();
    _exit(0);
  }
  usleep(static_cast<useconds_t>(delay.count() * 1000));
  ::kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
}

TEST_F(ROOT_FilesystemE2E, KilledMidLaunchThenRecoverLeavesNoMounts) {
  HostMounts leaked;
  // A mount of ours that a crashed launch left on the host, below a sandbox
  // that belongs to no container.
  ASSERT_TRUE(leaked.tmpfs(env_.work_dir + "/sandboxes/ghost/leak"));
  int n = 0;
  for (int delay_ms : {0, 5, 20, 50, 100, 200, 400}) {
    auto cfg = shell("sleep 300");
    v1::Volume v;
    v.set_source(v1::Volume::TMPFS);
    v.set_size_bytes(1 << 20);
    v.set_container_path("/t");
    *cfg.add_volumes() = v;
    v1::Volume s;
    s.set_source(v1::Volume::SANDBOX_SELF);
    s.set_source_path("d");
    s.set_container_path("/d");
    *cfg.add_volumes() = s;
    launchAndDie(this, options(), "k" + std::to_string(n++), cfg, std::chrono::milliseconds(delay_ms));
  }
  auto c = make();
  ASSERT_TRUE(c);
  auto rec = c->recover();
  ASSERT_TRUE(rec) << rec.error().message();
  auto list = c->containers();
  ASSERT_TRUE(list);
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    auto d = c->destroy(it->id);
    EXPECT_TRUE(d) << formatId(it->id) << ": " << d.error().message();
  }
  EXPECT_TRUE(mountsUnder(env_.root).empty());
  for (const auto& m : mountsUnder(env_.root)) ADD_FAILURE() << "left: " << m;
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers").empty());
}

}  // namespace
}  // namespace warren::testing
