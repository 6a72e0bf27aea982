// Issue #18: a nested container's IPC namespace is its parent's (default,
// "share_parent") or its own ("private", with its own /dev/shm), and
// shm_size_bytes sizes a /dev/shm of its own. The parent's SysV shared
// memory segment is made by the test inside the parent's IPC namespace
// (setns in a forked child); the children read /proc/sysvipc/shm, which
// lists the segments of the reader's IPC namespace.
#include <fcntl.h>
#include <sched.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace warren::testing {
namespace {

constexpr key_t kKey = 0x5eed;  // 24301 in /proc/sysvipc/shm

// A SysV segment with kKey in the IPC namespace of `pid`; it lives as long
// as that namespace. True on success.
bool makeSegmentIn(int pid) {
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/ipc";
  pid_t child = fork();
  if (child == 0) {  // async-signal-safe calls only
    int fd = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWIPC) != 0) _exit(2);
    _exit(shmget(kKey, 4096, IPC_CREAT | 0600) >= 0 ? 0 : 3);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

using ROOT_IpcE2E = IsolatorE2E;

TEST_F(ROOT_IpcE2E, NestedChildSharesItsParentsIpcOrHasItsOwnWithItsOwnShm) {
  auto c = make();
  ASSERT_TRUE(c);
  auto parent = shell("df -k /dev/shm; sleep 300");
  parent.set_shm_size_bytes(32 << 20);
  auto p = c->launch(id("p"), parent);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(makeSegmentIn(p->pid()));
  const std::string look = "cat /proc/sysvipc/shm; df -k /dev/shm; readlink /proc/self/ns/ipc";

  auto shared = run(*c, "p.shared", shell(look, false));
  EXPECT_EQ(shared.termination.reason(), v1::Termination::COMMAND_EXITED) << shared.termination.message();
  EXPECT_NE(shared.out.find(" 24301 "), std::string::npos) << "sees the parent's segment:\n" << shared.out;
  EXPECT_NE(shared.out.find(" 32768 "), std::string::npos) << "the parent's /dev/shm:\n" << shared.out;

  auto explicitly = shell(look, false);
  explicitly.set_ipc_mode("share_parent");
  auto shared2 = run(*c, "p.shared2", explicitly);
  EXPECT_NE(shared2.out.find(" 24301 "), std::string::npos) << shared2.out;

  auto own = shell(look, false);
  own.set_ipc_mode("private");
  own.set_shm_size_bytes(8 << 20);
  auto priv = run(*c, "p.private", own);
  EXPECT_EQ(priv.termination.reason(), v1::Termination::COMMAND_EXITED) << priv.termination.message();
  EXPECT_EQ(priv.out.find(" 24301 "), std::string::npos) << "a namespace of its own:\n" << priv.out;
  EXPECT_NE(priv.out.find(" 8192 "), std::string::npos) << "its own /dev/shm, 8 MiB:\n" << priv.out;
  auto lastLine = [](const std::string& s) {
    auto t = s.substr(0, s.find_last_not_of('\n') + 1);
    return t.substr(t.rfind('\n') + 1);
  };
  EXPECT_NE(lastLine(priv.out), lastLine(shared.out));
  EXPECT_EQ(lastLine(shared.out), lastLine(shared2.out));

  EXPECT_NE(fileOf("p", "stdout").find(" 32768 "), std::string::npos) << fileOf("p", "stdout");
  ASSERT_TRUE(c->destroy(id("p")));
}

TEST_F(ROOT_IpcE2E, BadIpcSettingsAreRefusedNamingThem) {
  auto c = make();
  ASSERT_TRUE(c);
  auto top = shell("true");
  top.set_ipc_mode("share_parent");
  auto r = c->launch(id("t"), top);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("container 't': ipc_mode 'share_parent' needs a parent container"),
            std::string::npos) << r.error().message();
  auto bogus = shell("true");
  bogus.set_ipc_mode("host");
  r = c->launch(id("b"), bogus);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown ipc_mode 'host' (expected private or share_parent)"),
            std::string::npos) << r.error().message();
  auto p = c->launch(id("p"), shell("sleep 300"));
  ASSERT_TRUE(p) << p.error().message();
  auto sized = shell("true", false);
  sized.set_shm_size_bytes(1 << 20);
  r = c->launch(id("p.sized"), sized);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("container 'p.sized': shm_size_bytes needs a /dev/shm of its own"),
            std::string::npos) << r.error().message();
  ASSERT_TRUE(c->destroy(id("p")));
  // Nothing of the refused ones remains.
  EXPECT_EQ(listDir(env_.work_dir + "/sandboxes"), std::vector<std::string>{});
}

}  // namespace
}  // namespace warren::testing
