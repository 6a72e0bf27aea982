// Working-directory escape (CVE-2024-21626 class): a working directory of
// /proc/self/fd/N used to land in a host directory warren-init still had
// open, and `..` from there walked the host. Through the CLI's --workdir and
// through an image's WorkingDir; each attack must fail and leave the host
// directory it aimed at untouched.
#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "image_builder.hpp"
#include "fixture.hpp"
#include "security_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_SecurityWorkdir = SecurityTest;

// `..` enough times to reach the host's / from any directory, then `path`.
std::string upTo(const std::string& path) {
  std::string s;
  for (int i = 0; i < 24; ++i) s += "../";
  return s + path.substr(1);
}

std::string attackScript(const std::string& secret) {
  return "cat " + upTo(secret + "/canary") + "; echo pwned > " + upTo(secret + "/pwned") +
         "; ls " + upTo(secret) + "; pwd";
}

TEST_F(ROOT_SecurityWorkdir, ProcSelfFdWorkdirFromTheCliIsRefused) {
  std::string secret = hostSecret();
  auto before = snapshot(secret);
  for (int fd = 3; fd <= 9; ++fd) {
    std::string wd = "/proc/self/fd/" + std::to_string(fd);
    auto r = runCmd({env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
                     "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir,
                     "--isolation", "filesystem/linux,pid", "run", "--rootfs", rootfs_, "--workdir", wd,
                     "--", "/bin/sh", "-c", attackScript(secret)});
    EXPECT_NE(r.exit_code, 0) << wd << ": " << r.out << r.err;
    EXPECT_EQ(r.out.find("host-only-canary"), std::string::npos) << wd << ": " << r.out;
    EXPECT_NE(r.err.find("working dir '" + wd + "'"), std::string::npos) << wd << ": " << r.err;
  }
  EXPECT_EQ(snapshot(secret), before);
  EXPECT_FALSE(fs::exists(secret + "/pwned"));
}

TEST_F(ROOT_SecurityWorkdir, ProcSelfFdWorkingDirOfAnImageIsRefused) {
  using namespace images;
  std::string secret = hostSecret();
  auto before = snapshot(secret);
  std::vector<std::pair<std::string, Image>> tags;
  for (int fd : {3, 4, 5, 6}) {
    Image img;
    img.layers = {busyboxLayer()};
    img.entrypoint = {"/bin/sh", "-c"};
    img.cmd = {attackScript(secret)};
    img.env = {"PATH=/bin"};
    img.working_dir = "/proc/self/fd/" + std::to_string(fd);
    tags.emplace_back("fd" + std::to_string(fd), img);
  }
  writeOciLayout(env_.root + "/evil", tags);
  auto c = Containerizer::create(testOptions(env_, {"filesystem/linux", "pid"}));
  ASSERT_TRUE(c) << c.error().message();
  for (const auto& [tag, img] : tags) {
    v1::ContainerConfig cfg;
    cfg.set_image("oci:" + env_.root + "/evil:" + tag);
    auto st = (*c)->launch(id(tag), cfg);
    if (st) {  // it must not have run the command in a host directory
      auto t = (*c)->wait(id(tag), std::chrono::seconds(30));
      ASSERT_TRUE(t) << t.error().message();
      EXPECT_FALSE(t->has_exit_status() && t->exit_code() == 0) << tag;
    } else {
      EXPECT_NE(st.error().message().find("working dir '" + img.working_dir + "'"), std::string::npos)
          << st.error().message();
    }
    EXPECT_EQ(fileOf(tag, "stdout").find("host-only-canary"), std::string::npos) << tag;
    (void)(*c)->destroy(id(tag));
  }
  EXPECT_EQ(snapshot(secret), before);
  EXPECT_FALSE(fs::exists(secret + "/pwned"));
}

// The same path resolution serves ordinary working dirs: one through a
// symlink inside the rootfs still works, and stays inside it.
TEST_F(ROOT_SecurityWorkdir, WorkdirThroughASymlinkStaysInTheRoot) {
  ASSERT_TRUE(fs::mkdirs(rootfs_ + "/real/dir"));
  ASSERT_EQ(::symlink("/real", (rootfs_ + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../..", (rootfs_ + "/real/dir/up").c_str()), 0);
  auto c = make();
  ASSERT_TRUE(c);
  auto cfg = shell("pwd; ls");
  cfg.set_working_dir("/link/dir/up/real");
  auto r = run(*c, "wd", cfg);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "/real\ndir\n") << r.err;  // `..` above the root stays at the root
}

}  // namespace
}  // namespace warren::testing
