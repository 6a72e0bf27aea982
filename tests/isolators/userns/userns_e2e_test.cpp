// The userns isolator end to end (libwarren, real user namespaces, idmapped
// mounts): a container in its own user namespace is root inside and an
// unprivileged host uid outside, its idmapped rootfs and volumes show their
// files as root's, it cannot do what only the host's root can, two
// containers get disjoint ranges, exhaustion is one clear line leaving
// nothing, nested containers share the parent's namespace, and a restart
// keeps every allocation.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "warren/sdk/record.hpp"

namespace warren::testing {
namespace {

constexpr uint32_t kStart = 3000000;
constexpr uint32_t kSize = 65536;

class ROOT_UsernsE2E : public IsolatorE2E {
 protected:
  std::unique_ptr<Containerizer> makeUserns(const std::string& range = std::to_string(kStart) + ":" +
                                                                       std::to_string(4 * kSize)) {
    Options o = testOptions(env_, {"filesystem/linux", "pid", "volumes", "userns"});
    o.plugin_flags = {{"userns_range", range}, {"userns_size", std::to_string(kSize)}};
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }

  v1::ContainerConfig usernsShell(const std::string& script, bool own_rootfs = true) {
    auto c = shell(script, own_rootfs);
    c.set_user_namespace(true);
    return c;
  }

  static void addVolume(v1::ContainerConfig& cfg, v1::Volume::Source src, const std::string& source,
                        const std::string& target) {
    auto* v = cfg.add_volumes();
    v->set_source(src);
    v->set_source_path(source);
    v->set_container_path(target);
  }

  // "0 3000000 65536" (the kernel pads with spaces).
  static std::string squeeze(const std::string& text) {
    std::istringstream in(text);
    std::string out, w;
    while (in >> w) out += (out.empty() ? "" : " ") + w;
    return out;
  }
  static std::string mapOf(pid_t pid, const char* file = "uid_map") {
    auto t = fs::readFile("/proc/" + std::to_string(pid) + "/" + file);
    return t ? squeeze(*t) : "";
  }
  static std::string nsOf(pid_t pid) {
    char buf[64] = {};
    std::string link = "/proc/" + std::to_string(pid) + "/ns/user";
    return ::readlink(link.c_str(), buf, sizeof buf - 1) > 0 ? buf : "";
  }
  pid_t pidOf(Containerizer& c, const std::string& cid) {
    auto s = c.status(id(cid));
    EXPECT_TRUE(s) << (s ? "" : s.error().message());
    return s ? s->pid() : -1;
  }
  static uid_t ownerOf(const std::string& path) {
    struct stat sb {};
    return ::lstat(path.c_str(), &sb) == 0 ? sb.st_uid : static_cast<uid_t>(-2);
  }
  std::string recordOf(const std::string& cid) const {
    return env_.runtime_dir + "/plugins/userns/ranges/" + cid;
  }
};

TEST_F(ROOT_UsernsE2E, RootInsideMappedOutsideWithIdmappedRootfsAndVolume) {
  auto c = makeUserns();
  ASSERT_TRUE(c);
  auto cfg = usernsShell(
      "echo map $(cat /proc/self/uid_map); echo gmap $(cat /proc/self/gid_map); echo uid=$(id -u):$(id -g); "
      "echo rootfs=$(stat -c %u:%g /bin/busybox /etc/passwd); echo vol=$(stat -c %u:%g /data); "
      "echo hi > /made-in-rootfs && echo hi > /data/made-in-volume && echo wrote");
  addVolume(cfg, v1::Volume::SANDBOX_SELF, "data", "/data");
  ASSERT_TRUE(c->launch(id("u1"), cfg));
  auto t = c->wait(id("u1"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  Run r{*t, fileOf("u1", "stdout"), fileOf("u1", "stderr")};
  EXPECT_EQ(r.termination.exit_code(), 0) << r.out << r.err;
  EXPECT_NE(r.out.find("map 0 3000000 65536\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("gmap 0 3000000 65536\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uid=0:0\n"), std::string::npos) << r.out;
  // The rootfs and the volume are host-root-owned on disk: through the
  // idmapped mounts they are the container root's.
  EXPECT_NE(r.out.find("rootfs=0:0 0:0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vol=0:0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote\n"), std::string::npos) << r.out << r.err;
  // What the container's root wrote through the idmap is stored as id 0
  // (the idmapped mount maps container 0 <-> disk 0), not as its host uid.
  // ...except in the rootfs's upper layer (issue #18): it is not idmapped
  // (the kernel makes the overlay's work dirs as the host's root), so it
  // holds the container root's host uid; the rootfs dir itself is untouched.
  EXPECT_EQ(ownerOf(sandboxOf("u1") + "/.warren/rootfs/upper/made-in-rootfs"), 3000000u);
  EXPECT_FALSE(fs::exists(rootfs_ + "/made-in-rootfs"));
  EXPECT_EQ(ownerOf(sandboxOf("u1") + "/data/made-in-volume"), 0u);
  ASSERT_TRUE(c->destroy(id("u1")));
  // The record is gone with the container.
  EXPECT_FALSE(fs::exists(recordOf("u1")));
}

TEST_F(ROOT_UsernsE2E, ProcessesRunAsTheMappedHostUid) {
  auto c = makeUserns();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("u2"), usernsShell("sleep 300")));
  pid_t init = pidOf(*c, "u2");
  ASSERT_GT(init, 0);
  auto status = fs::readFile("/proc/" + std::to_string(init) + "/status");
  ASSERT_TRUE(status);
  EXPECT_NE(status->find("Uid:\t3000000\t3000000\t3000000\t3000000\n"), std::string::npos) << *status;
  EXPECT_NE(status->find("Gid:\t3000000\t3000000\t3000000\t3000000\n"), std::string::npos) << *status;
  EXPECT_EQ(mapOf(init), "0 3000000 65536");
  EXPECT_NE(nsOf(init), nsOf(::getpid()));
  // Its other namespaces belong to its user namespace (created after it was
  // joined), and the runtime dir was handed to its root for exit_status.
  EXPECT_TRUE(fs::exists(recordOf("u2")));
  ASSERT_TRUE(c->destroy(id("u2")));
  EXPECT_FALSE(fs::exists(recordOf("u2")));
}

// The same container with and without a user namespace: host-root powers
// it holds without one (a device node; reading a file of an unmapped owner
// with CAP_DAC_OVERRIDE) are gone inside one, even with the capabilities.
TEST_F(ROOT_UsernsE2E, HostRootPowersAreGone) {
  std::string secret = rootfs_ + "/secret";
  ASSERT_TRUE(fs::writeFile(secret, "host-secret\n"));
  ASSERT_EQ(::chown(secret.c_str(), 70000, 70000), 0);  // beyond the 65536 ids the idmap covers
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  auto c = makeUserns();
  ASSERT_TRUE(c);
  const std::string probe =
      "mknod /null2 c 1 3 2>/dev/null; echo mknod=$?; cat /secret 2>/dev/null; echo read=$?; "
      "echo owner=$(stat -c %u /secret)";
  auto cfg = shell(probe);
  cfg.add_capabilities("CAP_MKNOD");
  cfg.add_capabilities("CAP_DAC_OVERRIDE");
  cfg.add_capabilities("CAP_SYS_ADMIN");
  auto plain = run(*c, "plain", cfg);  // the reference: the probe can succeed
  EXPECT_NE(plain.out.find("mknod=0\n"), std::string::npos) << plain.out << plain.err;
  EXPECT_NE(plain.out.find("host-secret\nread=0\n"), std::string::npos) << plain.out;
  ::unlink((rootfs_ + "/null2").c_str());

  cfg.set_user_namespace(true);
  auto userns = run(*c, "userns", cfg);
  EXPECT_EQ(userns.out.find("mknod=0\n"), std::string::npos) << userns.out;
  EXPECT_EQ(userns.out.find("host-secret"), std::string::npos) << userns.out;
  EXPECT_NE(userns.out.find("read=1\n"), std::string::npos) << userns.out;
  EXPECT_NE(userns.out.find("owner=65534\n"), std::string::npos) << userns.out;  // unmapped: nobody
  EXPECT_FALSE(fs::exists(rootfs_ + "/null2"));
}

// cgroups, a network namespace of its own, seccomp and the default
// capabilities hold inside a user namespace as outside one.
TEST_F(ROOT_UsernsE2E, OtherIsolationStillApplies) {
  Options o = testOptions(env_, {"filesystem/linux", "pid", "volumes", "cgroups", "network", "seccomp", "userns"});
  o.plugin_flags = {{"userns_range", "3000000:262144"}, {"userns_size", "65536"}};
  auto made = Containerizer::create(o);
  ASSERT_TRUE(made) << made.error().message();
  auto& c = **made;
  auto cfg = usernsShell(
      "grep -E '^(CapEff|Seccomp):' /proc/self/status; echo map $(cat /proc/self/uid_map); "
      "echo net $(ls /sys/class/net); echo host $(hostname); sleep 300");
  cfg.set_network_mode("none");
  cfg.mutable_resources()->set_mem_bytes(64 << 20);
  ASSERT_TRUE(c.launch(id("iso"), cfg));
  pid_t init = pidOf(c, "iso");
  ASSERT_GT(init, 0);
  auto cg = fs::readFile("/proc/" + std::to_string(init) + "/cgroup");
  ASSERT_TRUE(cg);
  EXPECT_NE(cg->find(env_.cgroups_root + "/iso"), std::string::npos) << *cg;
  // Its network namespace belongs to its user namespace: the host's root
  // made it (isolate ran) but the container's root owns it.
  char net[64] = {}, host_net[64] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(init) + "/ns/net").c_str(), net, sizeof net - 1), 0);
  ASSERT_GT(::readlink("/proc/self/ns/net", host_net, sizeof host_net - 1), 0);
  EXPECT_STRNE(net, host_net);
  std::string out;
  for (int i = 0; i < 100 && out.find("host ") == std::string::npos; ++i) {
    ::usleep(50000);
    out = fileOf("iso", "stdout");
  }
  EXPECT_NE(out.find("CapEff:\t0000000020000420\n"), std::string::npos) << out << fileOf("iso", "stderr");
  EXPECT_NE(out.find("Seccomp:\t2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("map 0 3000000 65536\n"), std::string::npos) << out;
  EXPECT_NE(out.find("net lo\n"), std::string::npos) << out;
  EXPECT_NE(out.find("host iso\n"), std::string::npos) << out;
  ASSERT_TRUE(c.destroy(id("iso")));
}

TEST_F(ROOT_UsernsE2E, TwoContainersGetDisjointRanges) {
  auto c = makeUserns();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("a"), usernsShell("sleep 300")));
  ASSERT_TRUE(c->launch(id("b"), usernsShell("sleep 300")));
  EXPECT_EQ(mapOf(pidOf(*c, "a")), "0 3000000 65536");
  EXPECT_EQ(mapOf(pidOf(*c, "b")), "0 3065536 65536");
  EXPECT_EQ(mapOf(pidOf(*c, "b"), "gid_map"), "0 3065536 65536");
  EXPECT_NE(nsOf(pidOf(*c, "a")), nsOf(pidOf(*c, "b")));
  ASSERT_TRUE(c->destroy(id("a")));
  ASSERT_TRUE(c->destroy(id("b")));
}

TEST_F(ROOT_UsernsE2E, RangeExhaustionIsOneLineAndLeavesNothing) {
  auto c = makeUserns(std::to_string(kStart) + ":" + std::to_string(kSize));  // room for one
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("first"), usernsShell("sleep 300")));
  auto second = c->launch(id("second"), usernsShell("sleep 300"));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("container 'second': no free range of 65536 ids left in "
                                          "--userns_range 3000000:65536 (1 held: first)"),
            std::string::npos)
      << second.error().message();
  EXPECT_EQ(second.error().message().find('\n'), std::string::npos);
  auto list = c->containers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/second"));
  EXPECT_FALSE(fs::exists(sandboxOf("second")));
  EXPECT_FALSE(fs::exists(recordOf("second")));
  // A container without a user namespace is not affected by the range.
  auto plain = run(*c, "plain", shell("true"));
  EXPECT_EQ(plain.termination.exit_code(), 0);
  // Once the first is gone its range is free again.
  ASSERT_TRUE(c->destroy(id("first")));
  ASSERT_TRUE(c->launch(id("second"), usernsShell("sleep 300")));
  EXPECT_EQ(mapOf(pidOf(*c, "second")), "0 3000000 65536");
  ASSERT_TRUE(c->destroy(id("second")));
}

// An overlay rootfs cannot be idmapped on this kernel: the launch fails
// with that reason (nothing runs unmapped) and leaves nothing behind.
TEST_F(ROOT_UsernsE2E, RootfsThatCannotBeIdmappedFailsTheLaunch) {
  std::string dir = env_.root + "/ovl";
  for (const char* d : {"/upper", "/work", "/merged"}) ASSERT_TRUE(fs::mkdirs(dir + d));
  std::string opts = "lowerdir=" + rootfs_ + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  ASSERT_EQ(::mount("overlay", (dir + "/merged").c_str(), "overlay", 0, opts.c_str()), 0) << strerror(errno);
  auto c = makeUserns();
  ASSERT_TRUE(c);
  auto cfg = usernsShell("true");
  cfg.set_rootfs(dir + "/merged");
  auto r = c->launch(id("ovl"), cfg);
  EXPECT_EQ(::umount2((dir + "/merged").c_str(), MNT_DETACH), 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("idmap rootfs '" + dir + "/merged' for the container's user namespace: "
                                     "Invalid argument (its file system cannot be idmapped"),
            std::string::npos)
      << r.error().message();
  auto list = c->containers();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  EXPECT_FALSE(fs::exists(recordOf("ovl")));
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/ovl"));
}

TEST_F(ROOT_UsernsE2E, RefusedWithOneLineWhenThePluginIsNotLoaded) {
  auto c = make();  // filesystem/linux, pid, volumes
  ASSERT_TRUE(c);
  auto r = c->launch(id("nouserns"), usernsShell("true"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "container 'nouserns': user_namespace is set but no isolator in --isolation takes it "
            "(isolator 'userns' would: add it to --isolation)");
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/nouserns"));
  EXPECT_FALSE(fs::exists(sandboxOf("nouserns")));
}

TEST_F(ROOT_UsernsE2E, NestedContainersShareTheParentsUserNamespace) {
  auto c = makeUserns();
  ASSERT_TRUE(c);
  auto parent = usernsShell("sleep 300");
  addVolume(parent, v1::Volume::SANDBOX_SELF, "shared", "/shared");
  ASSERT_TRUE(c->launch(id("p"), parent));
  pid_t ppid = pidOf(*c, "p");
  ASSERT_GT(ppid, 0);

  // Nested in the parent's root, writing to a parent: volume; the nested
  // one did not ask, it gets the parent's namespace all the same.
  auto kid = shell("echo map $(cat /proc/self/uid_map); echo uid=$(id -u); echo kid > /data/from-kid && echo wrote",
                   false);
  addVolume(kid, v1::Volume::SANDBOX_PARENT, "shared", "/data");
  ASSERT_TRUE(c->launch(id("p.kid"), kid));
  ASSERT_TRUE(c->launch(id("p.sleeper"), shell("sleep 300", false)));  // lives while we look
  EXPECT_EQ(nsOf(pidOf(*c, "p.sleeper")), nsOf(ppid));
  auto t = c->wait(id("p.kid"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->exit_code(), 0) << fileOf("p.kid", "stderr");
  std::string out = fileOf("p.kid", "stdout");
  EXPECT_NE(out.find("map 0 3000000 65536\n"), std::string::npos) << out << fileOf("p.kid", "stderr");
  EXPECT_NE(out.find("uid=0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("wrote\n"), std::string::npos) << out;
  EXPECT_EQ(ownerOf(sandboxOf("p") + "/shared/from-kid"), 0u);

  // Nested with its own (idmapped) rootfs.
  auto own = run(*c, "p.own", usernsShell("echo map $(cat /proc/self/uid_map); stat -c %u /bin/busybox", true));
  EXPECT_EQ(own.termination.exit_code(), 0) << own.err;
  EXPECT_NE(own.out.find("map 0 3000000 65536\n0\n"), std::string::npos) << own.out << own.err;
  // A DEBUG container joins it too.
  auto dbg = shell("echo map $(cat /proc/self/uid_map); id -u", false);
  dbg.set_container_class(v1::DEBUG);
  auto d = run(*c, "p.dbg", dbg);
  EXPECT_EQ(d.termination.exit_code(), 0) << d.err;
  EXPECT_EQ(d.out, "map 0 3000000 65536\n0\n") << d.err;
  EXPECT_FALSE(fs::exists(recordOf("p.kid")));  // nested ones hold no range of their own
  ASSERT_TRUE(c->destroy(id("p")));
  EXPECT_FALSE(fs::exists(recordOf("p")));
}

TEST_F(ROOT_UsernsE2E, NestedUserNamespaceUnderAPlainParentIsRefused) {
  auto c = makeUserns();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("plainp"), shell("sleep 300")));
  auto r = c->launch(id("plainp.kid"), usernsShell("true", false));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("container 'plainp.kid': user_namespace for a nested container needs a "
                                     "parent in a user namespace"),
            std::string::npos)
      << r.error().message();
  ASSERT_TRUE(c->destroy(id("plainp")));
}

TEST_F(ROOT_UsernsE2E, RecoveryKeepsTheAllocation) {
  {
    auto c = makeUserns();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->launch(id("r1"), usernsShell("sleep 300")));
  }
  // A lost record is rebuilt from the container's checkpoint.
  ASSERT_EQ(::unlink(recordOf("r1").c_str()), 0);
  auto c = makeUserns();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->recover());
  EXPECT_TRUE(fs::exists(recordOf("r1")));
  EXPECT_EQ(mapOf(pidOf(*c, "r1")), "0 3000000 65536");
  ASSERT_TRUE(c->launch(id("r2"), usernsShell("sleep 300")));
  EXPECT_EQ(mapOf(pidOf(*c, "r2")), "0 3065536 65536");  // r1's range is not handed out again
  // A record of a container warren does not know is released by recover.
  ASSERT_TRUE(fs::writeFile(recordOf("ghost"), record::seal("3131072 65536\n")));
  auto again = makeUserns();
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->recover());
  EXPECT_FALSE(fs::exists(recordOf("ghost")));
  EXPECT_TRUE(fs::exists(recordOf("r1")));
  EXPECT_TRUE(fs::exists(recordOf("r2")));
  ASSERT_TRUE(again->destroy(id("r1")));
  ASSERT_TRUE(again->destroy(id("r2")));
}

}  // namespace
}  // namespace warren::testing
