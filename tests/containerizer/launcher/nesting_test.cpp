// ROOT_ tests of nested containers at the launcher level: entering a
// parent's namespaces, pid namespaces nested under the parent's, sharing the
// parent's pid namespace, and the kernel's 32-level limit.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <memory>

#include <gtest/gtest.h>

#include "launcher/spec.hpp"
#include "launcher_fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using A = v1::Namespace;

// A running top-level parent: `sleep 100` with its own net ns and hostname.
void startParent(Box& p) {
  p.topLevel(/*rootfs=*/true, /*net=*/true);
  p.req.launch_info.set_hostname("parent-host");
  p.req.argv = {"sleep", "100"};
  auto l = launcher::spawn(p.req);
  ASSERT_TRUE(l) << l.error().message();
  p.launched = std::move(*l);
  auto r = launcher::release(p.launched);
  ASSERT_TRUE(r) << r.error().message();
}

// A DEFAULT-style child: joins uts/ipc/net, mount ns cloned from the parent's.
void childOf(Box& c, const Box& p, bool own_pid, bool share_pid) {
  pid_t pp = p.launched.pid;
  auto& li = c.req.launch_info;
  *li.add_namespaces() = makeNs(A::UTS, A::ENTER, nsPath(pp, "uts"));
  *li.add_namespaces() = makeNs(A::IPC, A::ENTER, nsPath(pp, "ipc"));
  *li.add_namespaces() = makeNs(A::NET, A::ENTER, nsPath(pp, "net"));
  *li.add_namespaces() = makeNs(A::MNT, A::ENTER, nsPath(pp, "mnt"));
  *li.add_namespaces() = makeNs(A::MNT, A::CREATE);
  if (own_pid || share_pid) *li.add_namespaces() = makeNs(A::PID, A::ENTER, nsPath(pp, "pid"));
  if (own_pid) *li.add_namespaces() = makeNs(A::PID, A::CREATE);
}

std::string nsId(pid_t pid, const char* type) {
  char buf[128] = {0};
  ssize_t n = ::readlink(nsPath(pid, type).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

TEST(ROOT_LauncherNesting, ChildEntersParentsUtsNetIpc) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  startParent(p);
  Box c(env, "child");
  childOf(c, p, /*own_pid=*/true, false);
  c.req.launch_info.set_rootfs("");  // shares the parent's root (cloned mount ns)
  c.req.argv = {"/bin/sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  EXPECT_EQ(nsId(c.launched.pid, "net"), nsId(p.launched.pid, "net"));
  EXPECT_NE(nsId(c.launched.pid, "mnt"), nsId(p.launched.pid, "mnt"));
  ASSERT_TRUE(launcher::release(c.launched));
  auto s = waitDone(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(c.out(), "parent-host\n" + nsId(p.launched.pid, "net") + "\n" +
                         nsId(p.launched.pid, "ipc") + "\n")
      << c.err();
}

TEST(ROOT_LauncherNesting, ChildWithOwnRootfsSeesParentVolumeAndOwnPidOne) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  // The parent gets a volume; the child binds the same host dir from its
  // own rootfs (host paths resolve although it enters the parent's mnt ns).
  std::string vol = env.root + "/vol";
  ASSERT_TRUE(fs::mkdirs(vol));
  auto* m = p.req.launch_info.add_mounts();
  m->set_source(vol);
  m->set_target("/vol");
  m->set_type("bind");
  m->set_create_dir(true);
  startParent(p);
  Box c(env, "child");
  c.topLevel(/*rootfs=*/true);  // for its rootfs; the namespaces are replaced
  c.req.launch_info.clear_namespaces();
  childOf(c, p, /*own_pid=*/true, false);
  m = c.req.launch_info.add_mounts();
  m->set_source(vol);
  m->set_target("/vol");
  m->set_type("bind");
  m->set_create_dir(true);
  ASSERT_TRUE(fs::writeFile(vol + "/note", "written by parent\n"));
  c.req.argv = {"/bin/sh", "-c", "cat /vol/note; echo $$; cat /proc/1/cmdline | tr '\\0' ' '"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  ASSERT_TRUE(launcher::release(c.launched));
  auto s = waitDone(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(c.out().substr(0, 20), "written by parent\n2\n") << c.out() << c.err();
  EXPECT_EQ(c.out().substr(20), "warren-init ") << c.out();  // nothing of the host
}

TEST(ROOT_LauncherNesting, NestedPidNamespaceIsAChildOfTheParents) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  startParent(p);
  Box c(env, "child");
  childOf(c, p, /*own_pid=*/true, false);
  c.req.argv = {"sleep", "100"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  EXPECT_EQ(nsLevels(p.launched.pid), 2);
  EXPECT_EQ(nsLevels(c.launched.pid), 3);
  // Its init is pid 1 of the nested namespace.
  auto st = fs::readFile("/proc/" + std::to_string(c.launched.pid) + "/status");
  ASSERT_TRUE(st);
  EXPECT_NE(st->find("\t1\n", st->find("NSpid:")), std::string::npos);
  ASSERT_TRUE(launcher::release(c.launched));
  // Killing the parent's init takes the nested container with it.
  launcher::abort(p.launched);
  pollfd pf{c.launched.pidfd.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&pf, 1, 5000), 1);
}

TEST(ROOT_LauncherNesting, SharedPidNamespaceSeesParentsProcesses) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  startParent(p);
  Box c(env, "child");
  childOf(c, p, false, /*share_pid=*/true);
  c.req.argv = {"/bin/sh", "-c", "echo $$; ps -o comm | grep -c sleep"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  EXPECT_EQ(nsLevels(c.launched.pid), nsLevels(p.launched.pid));
  EXPECT_EQ(nsId(c.launched.pid, "pid"), nsId(p.launched.pid, "pid"));
  ASSERT_TRUE(launcher::release(c.launched));
  auto s = waitDone(c);
  ASSERT_TRUE(s);
  EXPECT_NE(c.out().substr(0, 2), "2\n") << c.out();
  EXPECT_NE(c.out().find("\n1\n"), std::string::npos) << c.out() << c.err();
}

TEST(ROOT_LauncherNesting, DebugContainerJoinsEveryNamespace) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  (*p.req.launch_info.mutable_env())["X"] = "1";
  startParent(p);
  Box c(env, "debug");
  pid_t pp = p.launched.pid;
  for (auto [t, name] : {std::pair{A::UTS, "uts"}, {A::IPC, "ipc"}, {A::NET, "net"},
                         {A::PID, "pid"}, {A::MNT, "mnt"}}) {
    *c.req.launch_info.add_namespaces() = makeNs(t, A::ENTER, nsPath(pp, name));
  }
  // Every capability we have but SYS_PTRACE: the parent's init must still
  // be out of reach (ptrace access needs a superset of its capabilities;
  // warren-init is also non-dumpable as a second line).
  auto status = fs::readFile("/proc/self/status");
  ASSERT_TRUE(status);
  uint64_t prm = std::stoull(status->substr(status->find("CapPrm:") + 8, 16), nullptr, 16);
  for (int cap = 0; launcher::capabilityName(cap); ++cap) {
    if (cap != 19 && (prm >> cap & 1)) c.req.launch_info.add_capabilities(launcher::capabilityName(cap));
  }
  c.req.argv = {"/bin/sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; readlink /proc/1/fd/0 || echo fd-denied"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  EXPECT_EQ(nsId(c.launched.pid, "mnt"), nsId(pp, "mnt"));
  EXPECT_EQ(nsId(c.launched.pid, "pid"), nsId(pp, "pid"));
  {
    auto r = launcher::release(c.launched);
    ASSERT_TRUE(r) << "[" << r.error().message() << "] "
                   << fs::readFile(c.req.runtime_dir + "/exit_status").value_or("no status");
  }
  auto s = waitDone(c);
  ASSERT_TRUE(s);
  std::string out = c.out();
  EXPECT_EQ(out.substr(0, 12), "parent-host\n") << out;
  // The parent's pid 1 is its warren-init (its command line names nothing
  // of the host); its fds stay out of reach.
  EXPECT_NE(out.find("parent-host\nwarren-init fd-denied\n"), std::string::npos) << out;
  EXPECT_EQ(out.find(p.req.runtime_dir), std::string::npos) << out;
  EXPECT_NE(out.find("fd-denied"), std::string::npos) << out;
}

TEST(ROOT_LauncherNesting, EnteringAMissingNamespaceIsAClearError) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box c(env, "c");
  *c.req.launch_info.add_namespaces() = makeNs(A::NET, A::ENTER, "/proc/999999999/ns/net");
  c.req.argv = {"true"};
  auto l = launcher::spawn(c.req);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message(),
            "spawn warren-init: open net namespace '/proc/999999999/ns/net': No such file or directory");
}

TEST(ROOT_LauncherNesting, EnteringAPathOfAnotherTypeIsAClearError) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  for (const char* path : {"/proc/self/ns/uts", "/etc/hostname"}) {
    Box c(env, std::string("c") + (path[1] == 'p' ? "1" : "2"));
    *c.req.launch_info.add_namespaces() = makeNs(A::NET, A::ENTER, path);
    c.req.argv = {"true"};
    auto l = launcher::spawn(c.req);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().message(), std::string("spawn warren-init: '") + path + "' is not a net namespace");
  }
}

// An OCI pod member: a top-level container (own mnt/uts/ipc/pid) that joins
// only another network namespace. The clone child itself goes on to be
// warren-init (pid 1 of the pid namespace clone3 made): it is the caller's
// child, released and reaped as such (the launcher once waited to reap it
// before the release: create hung forever).
TEST(ROOT_LauncherNesting, TopLevelJoiningOnlyANetworkNamespaceIsTheCallersChild) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Box p(env, "parent");
  startParent(p);
  Box c(env, "member");
  c.topLevel(/*rootfs=*/true, /*net=*/false);
  *c.req.launch_info.add_namespaces() = makeNs(A::NET, A::ENTER, nsPath(p.launched.pid, "net"));
  c.req.argv = {"/bin/sh", "-c", "echo $$; exit 4"};
  auto l = launcher::spawn(c.req);
  ASSERT_TRUE(l) << l.error().message();
  c.launched = std::move(*l);
  EXPECT_EQ(nsId(c.launched.pid, "net"), nsId(p.launched.pid, "net"));
  EXPECT_NE(nsId(c.launched.pid, "pid"), nsId(p.launched.pid, "pid"));
  auto r = launcher::release(c.launched);
  ASSERT_TRUE(r) << r.error().message();
  siginfo_t si{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(c.launched.pid), &si, WEXITED), 0) << "not our child";
  EXPECT_EQ(si.si_status, 4);
  EXPECT_EQ(c.out(), "2\n");  // the command is pid 2 of its own pid namespace
}

TEST(ROOT_LauncherNesting, ChainOf32PidNamespacesAndThe33rdFails) {
  WARREN_REQUIRE_ROOT();
  ASSERT_EQ(nsLevels(::getpid()), 1) << "the test must run in the initial pid namespace";
  TestEnv env;
  std::vector<std::unique_ptr<Box>> chain;
  for (int level = 1; level <= 33; ++level) {
    auto b = std::make_unique<Box>(env, "l" + std::to_string(level));
    auto& li = b->req.launch_info;
    if (level > 1) {
      *li.add_namespaces() = makeNs(A::PID, A::ENTER, nsPath(chain.back()->launched.pid, "pid"));
    }
    *li.add_namespaces() = makeNs(A::PID, A::CREATE);
    b->req.argv = {"/bin/sh", "-c", "echo $$"};
    auto l = launcher::spawn(b->req);
    if (level == 33) {
      ASSERT_FALSE(l);
      EXPECT_NE(l.error().message().find("create pid namespace nested in"), std::string::npos)
          << l.error().message();
      EXPECT_NE(l.error().message().find("No space left on device"), std::string::npos)
          << l.error().message();
      break;
    }
    ASSERT_TRUE(l) << "level " << level << ": " << l.error().message();
    b->launched = std::move(*l);
    ASSERT_EQ(nsLevels(b->launched.pid), level + 1) << "level " << level;
    chain.push_back(std::move(b));
  }
  // The deepest one runs its command at level 32. Its pid is 3: the 33rd
  // attempt's middle process took pid 2 in this namespace before the kernel
  // refused a 33rd level.
  Box& deepest = *chain.back();
  ASSERT_TRUE(launcher::release(deepest.launched));
  auto s = waitDone(deepest);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->wait_status, 0);
  EXPECT_EQ(deepest.out(), "3\n");
  // Killing the top init ends every level below it.
  launcher::abort(chain.front()->launched);
  for (auto& b : chain) {
    if (!b->launched.pidfd) continue;
    pollfd pf{b->launched.pidfd.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&pf, 1, 5000), 1);
  }
}

}  // namespace
}  // namespace warren::testing

namespace warren::testing {
namespace {

TEST(ROOT_LauncherNesting, ChainOf32RunningContainersRunsTrueAtTheBottom) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  std::vector<std::unique_ptr<Box>> chain;
  for (int level = 1; level <= 32; ++level) {
    auto b = std::make_unique<Box>(env, "l" + std::to_string(level));
    if (level == 1) {
      b->topLevel(/*rootfs=*/true);
    } else {
      pid_t pp = chain.back()->launched.pid;
      auto& li = b->req.launch_info;
      *li.add_namespaces() = makeNs(A::UTS, A::ENTER, nsPath(pp, "uts"));
      *li.add_namespaces() = makeNs(A::IPC, A::ENTER, nsPath(pp, "ipc"));
      *li.add_namespaces() = makeNs(A::MNT, A::ENTER, nsPath(pp, "mnt"));
      *li.add_namespaces() = makeNs(A::MNT, A::CREATE);
      *li.add_namespaces() = makeNs(A::PID, A::ENTER, nsPath(pp, "pid"));
      *li.add_namespaces() = makeNs(A::PID, A::CREATE);
    }
    b->req.argv = level < 32 ? std::vector<std::string>{"sleep", "100"}
                             : std::vector<std::string>{"/bin/sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"};
    auto l = launcher::spawn(b->req);
    ASSERT_TRUE(l) << "level " << level << ": " << l.error().message();
    b->launched = std::move(*l);
    auto r = launcher::release(b->launched);
    ASSERT_TRUE(r) << "level " << level << ": " << r.error().message();
    ASSERT_EQ(nsLevels(b->launched.pid), level + 1);
    chain.push_back(std::move(b));
  }
  Box& bottom = *chain.back();
  auto s = waitDone(bottom);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->wait_status, 0);
  // Its own pid 1 (init) and pid 2 (sh), and ls: nothing of the 31 above.
  EXPECT_EQ(bottom.out().substr(0, 2), "2\n") << bottom.out() << bottom.err();
  EXPECT_LE(std::atoi(bottom.out().c_str() + 2), 4) << bottom.out();
  launcher::abort(chain.front()->launched);
  for (auto& b : chain) {
    if (!b->launched.pidfd) continue;
    pollfd pf{b->launched.pidfd.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&pf, 1, 5000), 1);
  }
}

}  // namespace
}  // namespace warren::testing
