// End to end through libwarren's Containerizer with a busybox rootfs:
// PARENT volumes shared by siblings, read-only host paths, tmpfs limits, and
// bad volumes refused before anything is made.
#include <sys/mount.h>
#include <sys/stat.h>

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

// Issue #18: host files as well as dirs, create, propagation, existence
// looked at only after the allowlist, and parents' volumes for a nested
// child with a root of its own.
TEST_F(ROOT_VolumesE2E, HostFileVolumeIsReadAndWritten) {
  std::string host = env_.root + "/srv";
  ASSERT_TRUE(fs::mkdirs(host));
  ASSERT_TRUE(fs::writeFile(host + "/file", "from-host\n"));
  auto c = make({{"host_path_allowlist", host}});
  ASSERT_TRUE(c);
  auto cfg = shell("cat /tmp/file; echo from-container >> /tmp/file; test -f /tmp/file && echo is-file");
  addVolume(cfg, "host:" + host + "/file:/tmp/file");
  auto r = run(*c, "file", cfg);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "from-host\nis-file\n");
  EXPECT_EQ(*fs::readFile(host + "/file"), "from-host\nfrom-container\n");
  EXPECT_FALSE(fs::exists(rootfs_ + "/tmp/file"));  // the mount point was made in the upper layer
}

TEST_F(ROOT_VolumesE2E, CreateMakesAMissingAllowedDirOnly) {
  std::string host = env_.root + "/srv";
  ASSERT_TRUE(fs::mkdirs(host));
  auto c = make({{"host_path_allowlist", host}});
  ASSERT_TRUE(c);
  auto cfg = shell("echo made > /m/f");
  addVolume(cfg, "host:" + host + "/new/deeper:/m:create");
  auto r = run(*c, "create", cfg);
  EXPECT_EQ(r.termination.exit_code(), 0) << r.err;
  EXPECT_EQ(*fs::readFile(host + "/new/deeper/f"), "made\n");
  struct stat st {};
  ASSERT_EQ(::stat((host + "/new/deeper").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // Without create a missing dir is an error; outside the allowlist the
  // refusal says nothing about whether the path exists.
  auto missing = shell("true");
  addVolume(missing, "host:" + host + "/absent:/m");
  auto l = c->launch(id("absent"), missing);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("does not exist"), std::string::npos) << l.error().message();
  for (const std::string& outside : {std::string("/etc/no-such-" + tag()), std::string("/etc")}) {
    auto o = shell("true");
    addVolume(o, "host:" + outside + ":/m:create");
    l = c->launch(id("outside"), o);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message().find("host path '" + outside + "' is not under an allowed prefix"),
              std::string::npos)
        << l.error().message();
    EXPECT_EQ(l.error().message().find("exist"), std::string::npos) << l.error().message();
  }
  auto dotdot = shell("true");
  addVolume(dotdot, "host:" + host + "/../escape-" + tag() + ":/m:create");
  l = c->launch(id("dotdot"), dotdot);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("not under an allowed prefix"), std::string::npos) << l.error().message();
  EXPECT_FALSE(fs::exists(env_.root + "/escape-" + tag()));
}

TEST_F(ROOT_VolumesE2E, RslaveVolumeSeesHostMountsMadeLater) {
  std::string host = env_.root + "/prop";
  HostMounts mounts;
  ASSERT_TRUE(mounts.tmpfs(host));
  ASSERT_EQ(::mount(nullptr, host.c_str(), nullptr, MS_SHARED, nullptr), 0);
  ASSERT_TRUE(fs::mkdirs(host + "/later"));
  auto c = make({{"host_path_allowlist", host}});
  ASSERT_TRUE(c);
  auto slave = shell("while ! test -e /p/later/mark; do sleep 0.1; done; echo saw-it");
  addVolume(slave, "host:" + host + ":/p:rslave");
  auto priv = shell("sleep 1; for i in 1 2 3 4 5 6 7 8 9 10; do test -e /p/later/mark && break; sleep 0.2; done; "
                    "test -e /p/later/mark && echo saw-it || echo private");
  addVolume(priv, "host:" + host + ":/p");
  ASSERT_TRUE(c->launch(id("slave"), slave));
  ASSERT_TRUE(c->launch(id("priv"), priv));
  ASSERT_TRUE(mounts.tmpfs(host + "/later"));
  ASSERT_TRUE(fs::writeFile(host + "/later/mark", "x"));
  auto t = c->wait(id("slave"), std::chrono::seconds(30));
  ASSERT_TRUE(t);
  EXPECT_EQ(fileOf("slave", "stdout"), "saw-it\n");
  t = c->wait(id("priv"), std::chrono::seconds(30));
  ASSERT_TRUE(t);
  EXPECT_EQ(fileOf("priv", "stdout"), "private\n");
  ASSERT_TRUE(c->destroy(id("slave")));
  ASSERT_TRUE(c->destroy(id("priv")));
}

TEST_F(ROOT_VolumesE2E, NestedChildWithItsOwnRootfsGetsItsParentsVolumes) {
  std::string host = env_.root + "/srv";
  ASSERT_TRUE(fs::mkdirs(host));
  ASSERT_TRUE(fs::writeFile(host + "/h", "host-vol\n"));
  auto c = make({{"host_path_allowlist", host}});
  ASSERT_TRUE(c);
  auto parent = shell("echo from-parent > /vol/f; sleep 300");
  addVolume(parent, "sandbox:vol:/vol");
  addVolume(parent, "host:" + host + ":/h:ro");
  ASSERT_TRUE(c->launch(id("ip"), parent));
  ASSERT_TRUE(eventually([&] { return fileOf("ip", "vol/f") == "from-parent\n"; }));
  std::string kid_root = env_.makeRootfs("kidroot");
  auto kid = shell("cat /vol/f /h/h; touch /h/x 2>/dev/null || echo ro-kept");
  kid.set_rootfs(kid_root);
  auto r = run(*c, "ip.kid", kid);
  EXPECT_EQ(r.out, "from-parent\nhost-vol\nro-kept\n") << r.err;
  // ...and passes them on to its own children with their own root.
  auto mid = shell("sleep 300");
  mid.set_rootfs(kid_root);
  ASSERT_TRUE(c->launch(id("ip.mid"), mid));
  auto grand = shell("cat /vol/f");
  grand.set_rootfs(kid_root);
  r = run(*c, "ip.mid.g", grand);
  EXPECT_EQ(r.out, "from-parent\n") << r.err;
  ASSERT_TRUE(c->destroy(id("ip")));
}

}  // namespace
}  // namespace warren::testing
