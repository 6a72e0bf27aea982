// A Containerizer over a per-test scratch dir, with busybox as rootfs.
#pragma once

#include <dirent.h>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "test_env.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {

class ContainerizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "skipped: needs root";
    rootfs_ = TestEnv::busyboxRootfs();
  }

  Options options(std::vector<std::string> isolation = {"pid"}) {
    return testOptions(env_, std::move(isolation));
  }

  std::unique_ptr<Containerizer> make(std::vector<std::string> isolation = {"pid"}) {
    auto c = Containerizer::create(options(std::move(isolation)));
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }

  static v1::ContainerID id(const std::string& s) { return *parseId(s); }

  v1::ContainerConfig shell(const std::string& script) {
    v1::ContainerConfig c;
    c.set_rootfs(rootfs_);
    c.mutable_command()->set_value("/bin/sh");
    c.mutable_command()->add_arguments("-c");
    c.mutable_command()->add_arguments(script);
    return c;
  }

  std::string stdoutOf(const std::string& cid) {
    auto t = fs::readFile(env_.work_dir + "/sandboxes/" + cid + "/stdout");
    return t ? *t : "";
  }

  // Runs script to completion and returns (termination, stdout).
  std::pair<v1::Termination, std::string> runToEnd(Containerizer& c, const std::string& cid,
                                                   const v1::ContainerConfig& cfg) {
    auto st = c.launch(id(cid), cfg);
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message());
    if (!st) return {};
    auto t = c.wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message());
    std::string out = stdoutOf(cid);
    auto d = c.destroy(id(cid));
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message());
    return {t ? *t : v1::Termination{}, out};
  }

  // Nothing of the containerizer's remains in its dirs.
  void expectEmptyState() {
    EXPECT_TRUE(listDir(env_.runtime_dir + "/containers").empty());
    EXPECT_TRUE(listDir(env_.work_dir + "/sandboxes").empty());
  }

  // Entries of a directory, without the lock file.
  static std::vector<std::string> listDir(const std::string& p) {
    std::vector<std::string> out;
    DIR* d = opendir(p.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != ".." && n != "lock") out.push_back(n);
    }
    closedir(d);
    return out;
  }

  TestEnv env_;
  std::string rootfs_;
};

}  // namespace warren::testing
