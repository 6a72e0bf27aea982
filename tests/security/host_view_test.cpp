// What a container sees of the host through its init: no fd beyond 0-2
// (leaked-fd probes, top-level and nested), nothing of the host in
// /proc/1/cmdline or /proc/1/environ, and no way to write warren-init's
// binary through /proc/<pid>/exe (CVE-2019-5736 class: init runs from a
// sealed memfd).
#include <unistd.h>

#include <gtest/gtest.h>

#include "security_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_SecurityHostView = SecurityTest;

// The shell's own fds, listed by a child ls (`; true` keeps sh from
// exec'ing ls, whose directory fd would show up).
constexpr const char* kFdProbe = "ls /proc/$$/fd; true";

TEST_F(ROOT_SecurityHostView, ContainerAndNestedChildSeeOnlyStdioFds) {
  auto c = make();
  ASSERT_TRUE(c);
  auto top = run(*c, "fds", shell(kFdProbe));
  EXPECT_EQ(top.out, "0\n1\n2\n") << top.err;

  auto parent = shell("sleep 300");
  addVolume(parent, "sandbox:x:/x");
  ASSERT_TRUE(c->launch(id("p"), parent));
  auto kid_cfg = shell(kFdProbe, false);
  addVolume(kid_cfg, "parent:x:/data");
  addVolume(kid_cfg, "tmpfs:1m:/scratch");
  auto kid = run(*c, "p.kid", kid_cfg);
  EXPECT_EQ(kid.out, "0\n1\n2\n") << kid.err;
  auto own = run(*c, "p.own", shell(kFdProbe, true));  // nested with its own rootfs
  EXPECT_EQ(own.out, "0\n1\n2\n") << own.err;
  ASSERT_TRUE(c->destroy(id("p")));
}

TEST_F(ROOT_SecurityHostView, ProcOneRevealsNoHostPath) {
  auto c = make();
  ASSERT_TRUE(c);
  const std::string probe =
      "tr '\\0' ' ' < /proc/1/cmdline; echo; tr '\\0' ' ' < /proc/1/environ; echo; "
      "readlink /proc/1/exe; readlink /proc/1/cwd; echo end";
  auto top = run(*c, "view", shell(probe));
  EXPECT_EQ(top.out.substr(0, 13), "warren-init \n") << top.out;
  EXPECT_NE(top.out.find("end\n"), std::string::npos) << top.out << top.err;
  for (const auto& host : {env_.root, env_.runtime_dir, env_.work_dir, env_.init_path}) {
    EXPECT_EQ(top.out.find(host), std::string::npos) << host << " in: " << top.out;
  }
  ASSERT_TRUE(c->launch(id("pv"), shell("sleep 300")));
  auto kid = run(*c, "pv.kid", shell(probe, false));
  EXPECT_EQ(kid.out.substr(0, 13), "warren-init \n") << kid.out;
  EXPECT_EQ(kid.out.find(env_.root), std::string::npos) << kid.out;
  // From the host: init runs from an anonymous sealed copy, not the build's file.
  auto info = c->status(id("pv"));
  ASSERT_TRUE(info) << info.error().message();
  char buf[256] = {};
  std::string link = "/proc/" + std::to_string(info->pid()) + "/exe";
  ASSERT_GT(::readlink(link.c_str(), buf, sizeof buf - 1), 0);
  EXPECT_EQ(std::string(buf).rfind("/memfd:warren-init", 0), 0u) << buf;
  ASSERT_TRUE(c->destroy(id("pv")));
}

TEST_F(ROOT_SecurityHostView, WritesToInitsExeFailAndTheBinaryIsUntouched) {
  auto original = fs::readFile(env_.init_path);
  ASSERT_TRUE(original);
  auto c = make();
  ASSERT_TRUE(c);
  // Straight at pid 1, then the CVE-2019-5736 shape: a process of the parent
  // writes to /proc/<pid>/exe of every process it sees (a nested launch's
  // warren-init among them) while children are launched.
  const std::string direct =
      "echo pwn >> /proc/1/exe; echo direct=$?; exec 3<> /proc/1/exe; echo open=$?";
  auto top = run(*c, "exe", shell(direct));
  EXPECT_EQ(top.out.find("direct=0"), std::string::npos) << top.out;
  EXPECT_EQ(top.out.find("open=0"), std::string::npos) << top.out;

  auto parent = shell(
      "while [ ! -e /x/stop ]; do for e in /proc/[0-9]*/exe; do "
      "(echo pwn >> $e) 2>/dev/null && echo wrote $(readlink $e); done; done");
  addVolume(parent, "sandbox:x:/x");
  ASSERT_TRUE(c->launch(id("w"), parent));
  for (int i = 0; i < 20; ++i) {
    auto kid = run(*c, "w.k" + std::to_string(i), shell("true", false));
    EXPECT_EQ(kid.termination.exit_code(), 0);
  }
  ASSERT_TRUE(fs::writeFile(sandboxOf("w") + "/x/stop", ""));
  (void)c->wait(id("w"), std::chrono::seconds(30));
  std::string wrote = fileOf("w", "stdout");
  ASSERT_TRUE(c->destroy(id("w")));
  EXPECT_EQ(wrote.find("warren-init"), std::string::npos) << wrote;
  auto after = fs::readFile(env_.init_path);
  ASSERT_TRUE(after);
  EXPECT_TRUE(*after == *original) << "warren-init on the host was modified";
}

}  // namespace
}  // namespace warren::testing
