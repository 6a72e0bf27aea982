// End to end through libwarren's Containerizer with a busybox rootfs:
// PARENT volumes shared by siblings, read-only host paths, tmpfs limits, and
// bad volumes refused before anything is made.
#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "volume_spec.hpp"

namespace warren::testing {
namespace {

using ROOT_VolumesE2E = IsolatorE2E;

void addVolume(v1::ContainerConfig& cfg, const std::string& spec) {
  auto v = volumes::parseVolumeSpec(spec);
  ASSERT_TRUE(v) << v.error().message();
  *cfg.add_volumes() = *v;
}

TEST_F(ROOT_VolumesE2E, SiblingsShareAParentVolume) {
  auto c = make();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("p"), shell("sleep 300")));

  auto writer = shell("echo hello-sibling > /shared/f", /*own_rootfs=*/false);
  addVolume(writer, "parent:shared:/shared");
  auto w = run(*c, "p.a", writer);
  EXPECT_EQ(w.termination.exit_code(), 0) << w.err;

  auto reader = shell("cat /shared/f", false);
  addVolume(reader, "parent:shared:/shared");
  auto r = run(*c, "p.b", reader);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "hello-sibling\n");

  // Both children are destroyed; the data stays with the parent...
  EXPECT_EQ(fileOf("p", "shared/f"), "hello-sibling\n");
  // ...and goes with it.
  ASSERT_TRUE(c->destroy(id("p")));
  EXPECT_FALSE(fs::exists(sandboxOf("p")));
  EXPECT_TRUE(mountsUnder(env_.root).empty());
}

TEST_F(ROOT_VolumesE2E, ChildSeesItsParentsVolumes) {
  auto c = make();
  ASSERT_TRUE(c);
  auto parent = shell("echo from-parent > /vol/f; sleep 300");
  addVolume(parent, "sandbox:vol:/vol");
  ASSERT_TRUE(c->launch(id("q"), parent));
  ASSERT_TRUE(eventually([&] { return fileOf("q", "vol/f") == "from-parent\n"; }));
  auto r = run(*c, "q.kid", shell("cat /vol/f", false));
  EXPECT_EQ(r.out, "from-parent\n") << r.err;
  ASSERT_TRUE(c->destroy(id("q")));
}

TEST_F(ROOT_VolumesE2E, ReadOnlyHostPathRejectsWritesWithEROFS) {
  std::string host = env_.root + "/hostdata";
  ASSERT_TRUE(fs::mkdirs(host));
  ASSERT_TRUE(fs::writeFile(host + "/in", "from-host\n"));
  auto c = make({{"host_path_allowlist", host}});
  ASSERT_TRUE(c);
  auto cfg = shell(
      "cat /ro/in; touch /ro/new; echo ro=$?; echo y > /rw/out; echo rw=$?; cat /rw/in");
  addVolume(cfg, "host:" + host + ":/ro:ro");
  addVolume(cfg, "host:" + host + ":/rw");
  auto r = run(*c, "hostvol", cfg);
  EXPECT_EQ(r.out, "from-host\nro=1\nrw=0\nfrom-host\n") << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(host + "/new"));
  EXPECT_EQ(*fs::readFile(host + "/out"), "y\n");
}

TEST_F(ROOT_VolumesE2E, TmpfsVolumeHasItsSize) {
  auto c = make();
  ASSERT_TRUE(c);
  auto cfg = shell("df -k /scratch | tail -n 1; dd if=/dev/zero of=/scratch/f bs=1024 count=2048; echo dd=$?");
  addVolume(cfg, "tmpfs:1m:/scratch");
  auto r = run(*c, "tmpfsvol", cfg);
  EXPECT_NE(r.out.find(" 1024 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dd=1"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

TEST_F(ROOT_VolumesE2E, DisallowedHostPathIsRefusedBeforeAnythingIsMade) {
  auto before = mountsUnder(env_.root);
  auto c = make({{"host_path_allowlist", env_.root + "/allowed"}});
  ASSERT_TRUE(c);
  auto cfg = shell("true");
  addVolume(cfg, "sandbox:made:/made");
  addVolume(cfg, "host:/etc:/etc2");
  auto st = c->launch(id("refused"), cfg);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("volume 2 (host:/etc:/etc2): host path '/etc' is not under an allowed prefix"),
            std::string::npos)
      << st.error().message();
  EXPECT_EQ(st.error().message().find('\n'), std::string::npos);
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers").empty());
  EXPECT_TRUE(listDir(env_.work_dir + "/sandboxes").empty());
  EXPECT_FALSE(fs::exists(rootfs_ + "/made"));
  EXPECT_FALSE(fs::exists(rootfs_ + "/etc2"));
  EXPECT_EQ(mountsUnder(env_.root), before);

  // PARENT on a top-level container: same, named.
  auto top = shell("true");
  addVolume(top, "parent:x:/x");
  st = c->launch(id("refused2"), top);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("a parent sandbox volume needs a nested container"), std::string::npos)
      << st.error().message();
  EXPECT_TRUE(listDir(env_.work_dir + "/sandboxes").empty());
}

}  // namespace
}  // namespace warren::testing
