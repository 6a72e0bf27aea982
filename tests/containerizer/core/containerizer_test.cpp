// One container's whole lifecycle through libwarren, on real namespaces.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>

#include <future>

#include "fixture.hpp"
#include <sys/stat.h>

namespace warren::testing {


namespace {

using ROOT_Containerizer = ContainerizerTest;

TEST_F(ROOT_Containerizer, ExitCodeAndStdout) {
  auto c = make();
  auto [t, out] = runToEnd(*c, "exit3", shell("echo hi; exit 3"));
  EXPECT_TRUE(t.has_exit_status());
  EXPECT_EQ(t.exit_code(), 3);
  EXPECT_EQ(t.reason(), v1::Termination::COMMAND_EXITED);
  EXPECT_EQ(out, "hi\n");
  expectEmptyState();
}

// A second Containerizer (another `warren` process) runs its inits from the
// sealed copy a running init already runs from, so their text pages are
// shared (checked byte for byte against the binary, so another build is
// never adopted).
TEST_F(ROOT_Containerizer, LaterProcessesShareTheRunningInitsSealedCopy) {
  auto inode = [](int pid) {
    struct stat st {};
    return ::stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) == 0 ? st.st_ino : 0;
  };
  auto a = make();
  auto first = a->launch(id("sh1"), shell("sleep 300"));
  ASSERT_TRUE(first) << first.error().message();
  auto b = make();  // as a second CLI process would
  auto second = b->launch(id("sh2"), shell("sleep 300"));
  ASSERT_TRUE(second) << second.error().message();
  ASSERT_NE(inode(first->pid()), 0u);
  EXPECT_EQ(inode(first->pid()), inode(second->pid()));
  ASSERT_TRUE(a->destroy(id("sh1")));
  ASSERT_TRUE(b->destroy(id("sh2")));
  expectEmptyState();
}

TEST_F(ROOT_Containerizer, CommandIsPid1InItsOwnPidNamespace) {
  auto c = make();
  auto [t, out] = runToEnd(*c, "pid1", shell("echo $$; ps -o pid,comm | wc -l"));
  EXPECT_EQ(t.exit_code(), 0);
  // The shell is pid 1's child? No: warren-init is pid 1 and the command 2.
  // What matters: the container sees only its own processes (init, sh, ps, wc + header).
  auto nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  int pid = std::stoi(out.substr(0, nl));
  EXPECT_LE(pid, 3) << out;
  int lines = std::stoi(out.substr(nl + 1));
  EXPECT_LE(lines, 6) << out;
}

TEST_F(ROOT_Containerizer, HostnameIsTheIdByDefault) {
  auto c = make();
  auto [t, out] = runToEnd(*c, "myhost", shell("hostname"));
  EXPECT_EQ(out, "myhost\n");
  auto cfg = shell("hostname");
  cfg.set_hostname("custom-name");
  auto [t2, out2] = runToEnd(*c, "other", cfg);
  EXPECT_EQ(out2, "custom-name\n");
}

TEST_F(ROOT_Containerizer, NoHostEnvironmentAndNoLeakedFds) {
  setenv("WARREN_TEST_SECRET", "leak", 1);
  int leaked = open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ASSERT_GE(leaked, 0);
  auto c = make();
  auto cfg = shell("env; echo FDS; ls /proc/self/fd");
  (*cfg.mutable_env())["GIVEN"] = "yes";
  auto [t, out] = runToEnd(*c, "envfd", cfg);
  close(leaked);
  unsetenv("WARREN_TEST_SECRET");
  EXPECT_EQ(out.find("WARREN_TEST_SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("GIVEN=yes"), std::string::npos) << out;
  auto fds = out.substr(out.find("FDS\n") + 4);
  // ls itself holds one fd (3) for the directory it reads.
  EXPECT_EQ(fds, "0\n1\n2\n3\n") << out;
}

TEST_F(ROOT_Containerizer, KillWithSignalIsReported) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("sleeper"), shell("sleep 300")));
  ASSERT_TRUE(c->kill(id("sleeper"), SIGTERM));
  auto t = c->wait(id("sleeper"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->signal(), SIGTERM);
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  ASSERT_TRUE(c->destroy(id("sleeper")));

  ASSERT_TRUE(c->launch(id("sleeper2"), shell("sleep 300")));
  ASSERT_TRUE(c->kill(id("sleeper2"), SIGKILL));
  t = c->wait(id("sleeper2"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->signal(), SIGKILL);
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  ASSERT_TRUE(c->destroy(id("sleeper2")));
  expectEmptyState();
}

TEST_F(ROOT_Containerizer, SignalTheCommandSendsItself) {
  auto c = make();
  auto [t, out] = runToEnd(*c, "selfkill", shell("kill -USR1 $$; sleep 5"));
  EXPECT_EQ(t.signal(), SIGUSR1);
  EXPECT_EQ(t.reason(), v1::Termination::COMMAND_SIGNALED);
}

TEST_F(ROOT_Containerizer, CommandNotFoundExits127WithMessage) {
  auto c = make();
  v1::ContainerConfig cfg;
  cfg.set_rootfs(rootfs_);
  cfg.mutable_command()->set_value("/bin/nosuchcmd");
  auto [t, out] = runToEnd(*c, "nocmd", cfg);
  EXPECT_EQ(t.exit_code(), 127);
  EXPECT_EQ(t.reason(), v1::Termination::COMMAND_NOT_FOUND);
  EXPECT_NE(t.message().find("nosuchcmd"), std::string::npos) << t.message();
}

TEST_F(ROOT_Containerizer, DestroyRunningContainerLeavesNothing) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("victim"), shell("sleep 300")));
  auto st = c->status(id("victim"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state(), v1::RUNNING);
  int pid = st->pid();
  ASSERT_GT(pid, 0);
  auto t = c->destroy(id("victim"));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  EXPECT_NE(::kill(pid, 0), 0);
  expectEmptyState();
  EXPECT_FALSE(c->status(id("victim")));
}

TEST_F(ROOT_Containerizer, WaitFdAndAsyncWait) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("polled"), shell("sleep 0.2; exit 4")));
  auto fd = c->waitFd(id("polled"));
  ASSERT_TRUE(fd);
  pollfd p{fd->get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 20000), 1);
  std::promise<int> got;
  c->waitAsync(id("polled"), [&](Result<v1::Termination> t) { got.set_value(t ? t->exit_code() : -1); });
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(fut.get(), 4);
  ASSERT_TRUE(c->destroy(id("polled")));
}

TEST_F(ROOT_Containerizer, ContainersListsEveryContainer) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("a1"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("a2"), shell("exit 0")));
  ASSERT_TRUE(c->wait(id("a2"), std::chrono::seconds(20)));
  auto list = c->containers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(formatId((*list)[0].id), "a1");
  EXPECT_EQ((*list)[0].state, v1::RUNNING);
  EXPECT_EQ((*list)[1].state, v1::TERMINATED);
  ASSERT_TRUE(c->destroy(id("a1")));
  ASSERT_TRUE(c->destroy(id("a2")));
}

}  // namespace
}  // namespace warren::testing
