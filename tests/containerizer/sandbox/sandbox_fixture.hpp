// A Containerizer with filesystem/linux, pid and volumes over a per-test
// scratch dir, a private busybox rootfs per test, and a fingerprint of a
// directory tree (find + sha256sum) to show a launch changed nothing.
#pragma once

#include <sys/stat.h>

#include "fixture.hpp"

namespace warren::testing {

class SandboxTest : public ContainerizerTest {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    rootfs_ = env_.makeRootfs();
  }

  std::unique_ptr<Containerizer> makeFs(std::map<std::string, std::string> flags = {}) {
    Options o = options({"filesystem/linux", "pid", "volumes"});
    o.plugin_flags = std::move(flags);
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
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

  // Every entry (path, type, mode, owner, size, link target) and every
  // regular file's sha256, sorted.
  static std::string fingerprint(const std::string& dir) {
    auto list = runCmd({"/bin/sh", "-c",
                        "cd '" + dir + "' && find . -printf '%p %y %m %U:%G %s %l\\n' | LC_ALL=C sort && "
                        "find . -type f -exec sha256sum {} + | LC_ALL=C sort"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return list.out;
  }

  static uid_t ownerOf(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
  }

  // Launch, wait, collect stdout/stderr, destroy.
  struct Run {
    v1::Termination termination;
    std::string out, err;
  };
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

  v1::ContainerConfig nested(const std::string& script) {
    auto cfg = shell(script);
    cfg.clear_rootfs();
    return cfg;
  }

  static void addVolume(v1::ContainerConfig& cfg, v1::Volume::Source src, const std::string& source,
                        const std::string& target) {
    auto* v = cfg.add_volumes();
    v->set_source(src);
    v->set_source_path(source);
    v->set_container_path(target);
  }
};

}  // namespace warren::testing
