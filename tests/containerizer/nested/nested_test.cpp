// Nested containers: shared network/UTS/IPC, own mount and pid namespaces,
// up to 32 levels, destroyed with (and before) their parent.
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <dirent.h>

#include "../core/fixture.hpp"

namespace warren::testing {


namespace {

std::string nsOf(int pid, const char* type) {
  char buf[PATH_MAX];
  std::string p = "/proc/" + std::to_string(pid) + "/ns/" + type;
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

class ROOT_Nested : public ContainerizerTest {
 protected:
  std::string sandboxStdout(const std::string& cid) {
    auto p = parseId(cid);
    std::string path = env_.work_dir + "/sandboxes/" + p->path(0);
    for (int i = 1; i < p->path_size(); ++i) path += "/containers/" + p->path(i);
    auto t = fs::readFile(path + "/stdout");
    return t ? *t : "";
  }
  v1::ContainerConfig childShell(const std::string& script) {
    auto c = shell(script);
    c.clear_rootfs();  // keeps seeing the parent's root
    return c;
  }
};

TEST_F(ROOT_Nested, ChildSharesNetUtsIpcButHasOwnMountAndPidNamespaces) {
  auto c = make();
  auto parent = c->launch(id("pod"), shell("sleep 300"));
  ASSERT_TRUE(parent) << parent.error().message();
  auto child = c->launch(id("pod.web"), childShell("hostname; sleep 300"));
  ASSERT_TRUE(child) << child.error().message();
  int pp = parent->pid(), cp = child->pid();
  for (const char* t : {"net", "uts", "ipc"}) {
    EXPECT_EQ(nsOf(pp, t), nsOf(cp, t)) << t;
  }
  for (const char* t : {"mnt", "pid"}) {
    EXPECT_NE(nsOf(pp, t), nsOf(cp, t)) << t;
  }
  ASSERT_TRUE(eventually([&] { return sandboxStdout("pod.web") == "pod\n"; }));
  ASSERT_TRUE(c->destroy(id("pod")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, ChildPid1IsItsOwnUnlessSharePid) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("pp"), shell("sleep 1234")));
  auto own = c->launch(id("pp.own"), childShell("ps -o comm,args; sleep 300"));
  ASSERT_TRUE(own) << own.error().message();
  auto shared_cfg = childShell("ps -o comm,args; sleep 300");
  shared_cfg.set_share_pid_namespace(true);
  auto shared = c->launch(id("pp.shared"), shared_cfg);
  ASSERT_TRUE(shared) << shared.error().message();
  ASSERT_TRUE(eventually([&] { return !sandboxStdout("pp.shared").empty() && !sandboxStdout("pp.own").empty(); }));
  EXPECT_EQ(sandboxStdout("pp.own").find("sleep 1234"), std::string::npos) << sandboxStdout("pp.own");
  EXPECT_NE(sandboxStdout("pp.shared").find("sleep 1234"), std::string::npos) << sandboxStdout("pp.shared");
  // The child's pid namespace is nested in the parent's: the parent sees it.
  EXPECT_EQ(nsOf(shared->pid(), "pid"), nsOf(c->status(id("pp"))->pid(), "pid"));
  ASSERT_TRUE(c->destroy(id("pp")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, ChildSeesWhatTheParentWrites) {
  auto rootfs = env_.makeRootfs();
  auto c = make();
  auto pcfg = shell("mkdir -p /tmp/vol && echo from-parent > /tmp/vol/file && sleep 300");
  pcfg.set_rootfs(rootfs);
  ASSERT_TRUE(c->launch(id("writer"), pcfg));
  // (in its upper layer: the rootfs dir itself is never written)
  ASSERT_TRUE(eventually([&] {
    return fs::exists(env_.work_dir + "/sandboxes/writer/.warren/rootfs/upper/tmp/vol/file");
  }));
  auto t = c->launch(id("writer.reader"), childShell("cat /tmp/vol/file"));
  ASSERT_TRUE(t) << t.error().message();
  auto term = c->wait(id("writer.reader"), std::chrono::seconds(20));
  ASSERT_TRUE(term);
  EXPECT_EQ(term->exit_code(), 0);
  EXPECT_EQ(sandboxStdout("writer.reader"), "from-parent\n");
  ASSERT_TRUE(c->destroy(id("writer")));
}

TEST_F(ROOT_Nested, ChildWithItsOwnRootfs) {
  auto other = env_.makeRootfs("other");
  ASSERT_TRUE(fs::writeFile(other + "/marker", "other-image\n"));
  auto c = make();
  ASSERT_TRUE(c->launch(id("host1"), shell("sleep 300")));
  auto cfg = shell("cat /marker; hostname");
  cfg.set_rootfs(other);
  ASSERT_TRUE(c->launch(id("host1.own"), cfg));
  auto t = c->wait(id("host1.own"), std::chrono::seconds(20));
  ASSERT_TRUE(t);
  EXPECT_EQ(sandboxStdout("host1.own"), "other-image\nhost1\n");
  ASSERT_TRUE(c->destroy(id("host1")));
}

TEST_F(ROOT_Nested, ThirtyTwoLevelsRunAndTheThirtyThirdIsRefused) {
  // Long names (a 32-level ID of ~1.3 KB) through the filesystem isolator too.
  auto c = make({"filesystem/linux", "pid"});
  const std::string pad(36, 'x');
  std::string cid = "l1" + pad;
  ASSERT_TRUE(c->launch(id(cid), shell("sleep 300")));
  for (int level = 2; level <= 31; ++level) {
    cid += ".l" + std::to_string(level) + pad;
    auto r = c->launch(id(cid), childShell("sleep 300"));
    ASSERT_TRUE(r) << "level " << level << ": " << r.error().message();
  }
  std::string bottom = cid + ".l32" + pad;
  auto r = c->launch(id(bottom), childShell("true"));
  ASSERT_TRUE(r) << r.error().message();
  auto t = c->wait(id(bottom), std::chrono::seconds(20));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit_code(), 0);
  EXPECT_EQ(t->reason(), v1::Termination::COMMAND_EXITED);
  // The 33rd level: refused before anything is made.
  v1::ContainerID too_deep = *parseId(bottom);
  too_deep.add_path("l33");
  auto refused = c->launch(too_deep, childShell("true"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("nesting depth 33 exceeds the limit of 32"), std::string::npos)
      << refused.error().message();
  auto d = c->destroy(id("l1" + pad));
  ASSERT_TRUE(d) << d.error().message();
  expectEmptyState();
}

TEST_F(ROOT_Nested, DestroyingTheRootOfAThreeLevelTreeLeavesNothing) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("t"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("t.a"), childShell("sleep 300")));
  ASSERT_TRUE(c->launch(id("t.a.b"), childShell("sleep 300")));
  ASSERT_TRUE(c->launch(id("t.c"), childShell("sleep 300")));
  std::vector<int> pids;
  auto list = c->containers();
  ASSERT_TRUE(list);
  for (auto& ci : *list) pids.push_back(ci.pid);
  ASSERT_EQ(pids.size(), 4u);
  auto d = c->destroy(id("t"));
  ASSERT_TRUE(d) << d.error().message();
  for (int p : pids) EXPECT_NE(::kill(p, 0), 0) << p;
  expectEmptyState();
}

TEST_F(ROOT_Nested, WhenTheParentsCommandExitsChildrenEndWithParentDestroyed) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("shortlived"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("shortlived.kid"), childShell("sleep 300")));
  ASSERT_TRUE(c->launch(id("shortlived.kid.grandkid"), childShell("sleep 300")));
  ASSERT_TRUE(c->kill(id("shortlived"), SIGTERM));
  auto t = c->wait(id("shortlived"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->signal(), SIGTERM);
  for (const char* k : {"shortlived.kid", "shortlived.kid.grandkid"}) {
    auto kt = c->wait(id(k), std::chrono::seconds(5));
    ASSERT_TRUE(kt) << k;
    EXPECT_EQ(kt->reason(), v1::Termination::PARENT_DESTROYED) << k;
  }
  ASSERT_TRUE(c->destroy(id("shortlived")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, WaitKillStatusDestroyWorkAtAnyLevel) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("lv"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("lv.one"), childShell("sleep 300")));
  ASSERT_TRUE(c->launch(id("lv.one.two"), childShell("sleep 300")));
  auto st = c->status(id("lv.one.two"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state(), v1::RUNNING);
  ASSERT_TRUE(c->kill(id("lv.one.two"), SIGKILL));
  auto t = c->wait(id("lv.one.two"), std::chrono::seconds(20));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  ASSERT_TRUE(c->destroy(id("lv.one.two")));
  EXPECT_EQ(c->status(id("lv.one"))->state(), v1::RUNNING);
  ASSERT_TRUE(c->destroy(id("lv.one")));
  EXPECT_EQ(c->status(id("lv"))->state(), v1::RUNNING);
  ASSERT_TRUE(c->destroy(id("lv")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, BadParentsAndClassesAreRefusedBeforeAnythingIsMade) {
  auto c = make();
  auto r = c->launch(id("nobody.child"), childShell("true"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "cannot launch 'nobody.child': parent container 'nobody' is unknown");
  ASSERT_TRUE(c->launch(id("done"), shell("exit 0")));
  ASSERT_TRUE(c->wait(id("done"), std::chrono::seconds(20)));
  r = c->launch(id("done.child"), childShell("true"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "cannot launch 'done.child': parent container 'done' is not running");
  ASSERT_TRUE(c->destroy(id("done")));

  ASSERT_TRUE(c->launch(id("par"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("par.kid"), childShell("sleep 300")));
  r = c->launch(id("par.kid"), childShell("true"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'par.kid' already exists");
  auto dbg = childShell("true");
  dbg.set_container_class(v1::DEBUG);
  dbg.mutable_resources()->set_mem_bytes(1 << 20);
  r = c->launch(id("par.dbg"), dbg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "DEBUG container 'par.dbg' cannot have resources of its own");
  dbg.clear_resources();
  dbg.set_rootfs(rootfs_);
  r = c->launch(id("par.dbg"), dbg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "DEBUG container 'par.dbg' cannot have its own image or rootfs");
  ASSERT_TRUE(c->destroy(id("par")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, DebugContainerJoinsEverythingAndInheritsEnv) {
  auto c = make();
  auto pcfg = shell("sleep 4321");
  (*pcfg.mutable_env())["FROM_PARENT"] = "inherited";
  pcfg.set_working_dir("/bin");
  auto p = c->launch(id("dbgp"), pcfg);
  ASSERT_TRUE(p);
  // The session stays until killed, so its namespaces can be read.
  auto dcfg = childShell("echo $FROM_PARENT; pwd; ps -o args | grep -c 'sleep 4321'; exec sleep 600");
  dcfg.set_container_class(v1::DEBUG);
  auto d = c->launch(id("dbgp.session"), dcfg);
  ASSERT_TRUE(d) << d.error().message();
  for (const char* t : {"mnt", "pid", "net", "uts", "ipc"}) {
    EXPECT_EQ(nsOf(p->pid(), t), nsOf(d->pid(), t)) << t;
  }
  ASSERT_TRUE(eventually([&] { return sandboxStdout("dbgp.session").find("/bin\n") != std::string::npos; }));
  ASSERT_TRUE(c->kill(id("dbgp.session")));
  auto t = c->wait(id("dbgp.session"), std::chrono::seconds(20));
  ASSERT_TRUE(t);
  auto out = sandboxStdout("dbgp.session");
  EXPECT_EQ(out.substr(0, out.find('\n')), "inherited") << out;
  EXPECT_NE(out.find("/bin\n"), std::string::npos) << out;
  ASSERT_TRUE(c->destroy(id("dbgp")));
  expectEmptyState();
}

TEST_F(ROOT_Nested, AnIsolatorWithoutNestingSupportIsSkippedForNestedContainers) {
  auto o = options({"pid", "test/standalone-only"});
  o.plugin_dirs.push_back(NESTED_FIXTURE_PLUGIN_DIR);
  auto made = Containerizer::create(o);
  ASSERT_TRUE(made) << made.error().message();
  auto& c = *made;
  ASSERT_TRUE(c->launch(id("top"), shell("echo top=$STANDALONE_ONLY; sleep 300")));
  ASSERT_TRUE(c->launch(id("top.kid"), childShell("echo kid=$STANDALONE_ONLY")));
  ASSERT_TRUE(c->wait(id("top.kid"), std::chrono::seconds(20)));
  EXPECT_EQ(sandboxStdout("top.kid"), "kid=\n");
  EXPECT_EQ(sandboxStdout("top"), "top=applied\n");
  auto kid = c->containers();
  ASSERT_TRUE(kid);
  for (const auto& ci : *kid) {
    bool listed = false;
    for (const auto& n : ci.checkpoint.isolators()) listed = listed || n == "test/standalone-only";
    EXPECT_EQ(listed, ci.id.path_size() == 1) << formatId(ci.id);
  }
  ASSERT_TRUE(c->destroy(id("top")));
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
