// DEBUG containers forked by their parent's warren-init (exec.sock,
// launcher/README.md): already in every namespace and cgroup of the parent,
// recorded, killed and removed as any container; a parent whose init serves
// no exec.sock (no I/O relay) still gets its DEBUG containers the old way.
#include <limits.h>
#include <unistd.h>

#include "../core/fixture.hpp"

namespace warren::testing {
namespace {

std::string nsOf(int pid, const char* type) {
  char buf[PATH_MAX];
  std::string p = "/proc/" + std::to_string(pid) + "/ns/" + type;
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string statusField(int pid, const std::string& key) {
  auto t = fs::readFile("/proc/" + std::to_string(pid) + "/status");
  if (!t) return "";
  auto p = t->find("\n" + key + ":");
  if (p == std::string::npos) return "";
  auto e = t->find('\n', p + 1);
  std::string v = t->substr(p + key.size() + 2, e - p - key.size() - 2);
  while (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.erase(0, 1);
  return v;
}

class ROOT_DebugFork : public ContainerizerTest {
 protected:
  std::string sandboxStdout(const std::string& parent, const std::string& child) {
    auto t = fs::readFile(env_.work_dir + "/sandboxes/" + parent + "/containers/" + child + "/stdout");
    return t ? *t : "";
  }
  v1::ContainerConfig debugShell(const std::string& script) {
    auto c = shell(script);
    c.clear_rootfs();
    c.set_container_class(v1::DEBUG);
    return c;
  }
};

TEST_F(ROOT_DebugFork, TheParentsInitForksItInsideEveryNamespaceAndCgroup) {
  auto c = make({"pid", "cgroups"});
  auto p = c->launch(id("dfp"), shell("grep CapEff /proc/self/status; sleep 4321"));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(fs::exists(env_.runtime_dir + "/containers/dfp/exec.sock"));
  auto d = c->launch(id("dfp.s1"), debugShell("grep CapEff /proc/self/status; ls /proc/self/fd; exec sleep 600"));
  ASSERT_TRUE(d) << d.error().message();
  // Forked by the parent's init: its child, in all of the parent's
  // namespaces - the cgroup namespace too, which a launch from the host
  // (setns into mnt, pid, net, uts, ipc) never joined.
  EXPECT_EQ(statusField(d->pid(), "PPid"), std::to_string(p->pid()));
  for (const char* t : {"mnt", "pid", "net", "uts", "ipc", "cgroup"}) {
    EXPECT_EQ(nsOf(p->pid(), t), nsOf(d->pid(), t)) << t;
  }
  EXPECT_NE(nsOf(d->pid(), "cgroup"), nsOf(getpid(), "cgroup"));
  EXPECT_EQ(*fs::readFile("/proc/" + std::to_string(d->pid()) + "/cgroup"),
            *fs::readFile("/proc/" + std::to_string(p->pid()) + "/cgroup"));
  // The command is set up as any DEBUG command: the parent's capabilities,
  // fds 0-2 only (ls's own directory fd is 3).
  ASSERT_TRUE(eventually([&] { return sandboxStdout("dfp", "s1").find("\n3\n") != std::string::npos; }));
  auto parent_out = fs::readFile(env_.work_dir + "/sandboxes/dfp/stdout");
  ASSERT_TRUE(parent_out);
  EXPECT_EQ(sandboxStdout("dfp", "s1"), *parent_out + "0\n1\n2\n3\n");
  // Killed, waited and removed as any container.
  ASSERT_TRUE(c->kill(id("dfp.s1")));
  auto t = c->wait(id("dfp.s1"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::KILLED) << t->message();
  ASSERT_TRUE(c->destroy(id("dfp.s1")));
  // Its exit code is its own.
  ASSERT_TRUE(c->launch(id("dfp.s2"), debugShell("exit 7")));
  t = c->wait(id("dfp.s2"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::COMMAND_EXITED);
  EXPECT_EQ(t->exit_code(), 7);
  // A command that is not there fails as it does anywhere.
  auto bad = debugShell("");
  bad.mutable_command()->set_shell(false);
  bad.mutable_command()->set_value("/no/such/command");
  bad.mutable_command()->clear_arguments();
  ASSERT_TRUE(c->launch(id("dfp.s3"), bad));
  t = c->wait(id("dfp.s3"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::COMMAND_NOT_FOUND) << t->message();
  ASSERT_TRUE(c->destroy(id("dfp")));
  expectEmptyState();
}

TEST_F(ROOT_DebugFork, AParentWithoutTheRelayServesNoExecSocketAndDebugStillWorks) {
  auto c = make({"pid", "cgroups"});
  auto pcfg = shell("sleep 4321");
  pcfg.set_inherit_stdio(true);
  auto p = c->launch(id("dfq"), pcfg);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/dfq/exec.sock"));
  auto d = c->launch(id("dfq.s1"), debugShell("exec sleep 600"));
  ASSERT_TRUE(d) << d.error().message();
  // Entered from the host: the parent's namespaces, not its cgroup namespace.
  for (const char* t : {"mnt", "pid", "net", "uts", "ipc"}) {
    EXPECT_EQ(nsOf(p->pid(), t), nsOf(d->pid(), t)) << t;
  }
  EXPECT_NE(nsOf(p->pid(), "cgroup"), nsOf(d->pid(), "cgroup"));
  ASSERT_TRUE(c->destroy(id("dfq")));
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
