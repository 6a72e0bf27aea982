// End-to-end fixture for the filesystem/linux and volumes tests: a real
// Containerizer (libwarren) with filesystem/linux, pid and volumes loaded
// from the build tree, a private busybox rootfs per test.
#pragma once

#include <dirent.h>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "host_mounts.hpp"
#include "test_env.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {

class IsolatorE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "skipped: needs root";
    rootfs_ = env_.makeRootfs();
  }
  void TearDown() override {
    if (!isRoot()) return;
    // Whatever a failed test left: destroy it through a fresh containerizer.
    auto c = make();
    if (!c) return;
    (void)c->recover();
    auto list = c->containers();
    if (!list) return;
    for (auto it = list->rbegin(); it != list->rend(); ++it) (void)c->destroy(it->id);
  }

  Options options(std::map<std::string, std::string> flags = {}) {
    Options o = testOptions(env_, {"filesystem/linux", "pid", "volumes"});
    o.plugin_flags = std::move(flags);
    return o;
  }

  std::unique_ptr<Containerizer> make(std::map<std::string, std::string> flags = {}) {
    auto c = Containerizer::create(options(std::move(flags)));
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }

  static v1::ContainerID id(const std::string& s) { return *parseId(s); }

  // /bin/sh -c script, in the test's rootfs (top-level) or, with
  // own_rootfs=false, in the parent's (nested).
  v1::ContainerConfig shell(const std::string& script, bool own_rootfs = true) {
    v1::ContainerConfig c;
    if (own_rootfs) c.set_rootfs(rootfs_);
    c.mutable_command()->set_value("/bin/sh");
    c.mutable_command()->add_arguments("-c");
    c.mutable_command()->add_arguments(script);
    return c;
  }

  std::string sandboxOf(const std::string& cid) const {
    std::string p = env_.work_dir + "/sandboxes";
    auto parsed = *parseId(cid);
    for (int i = 0; i < parsed.path_size(); ++i) p += (i ? "/containers/" : "/") + parsed.path(i);
    return p;
  }
  std::string fileOf(const std::string& cid, const std::string& name) const {
    auto t = fs::readFile(sandboxOf(cid) + "/" + name);
    return t ? *t : "";
  }

  struct Run {
    v1::Termination termination;
    std::string out, err;
  };
  // Launch, wait, collect stdout/stderr, destroy.
  Run run(Containerizer& c, const std::string& cid, const v1::ContainerConfig& cfg) {
    Run r;
    auto st = c.launch(id(cid), cfg);
    EXPECT_TRUE(st.has_value()) << cid << ": " << (st ? "" : st.error().message());
    if (!st) return r;
    auto t = c.wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message());
    if (t) r.termination = *t;
    r.out = fileOf(cid, "stdout");
    r.err = fileOf(cid, "stderr");
    auto d = c.destroy(id(cid));
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message());
    return r;
  }

  static std::vector<std::string> listDir(const std::string& p) {
    std::vector<std::string> out;
    DIR* d = opendir(p.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != ".." && n != "lock" && n != "plugins") out.push_back(n);
    }
    closedir(d);
    return out;
  }

  TestEnv env_;
  std::string rootfs_;
};

}  // namespace warren::testing
