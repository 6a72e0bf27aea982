// Unit tests (no root): the spec codec, the exit_status format, and the
// host-side validation of a LaunchInfo.
#include <sched.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "launcher/exit_status.hpp"
#include "launcher/spec.hpp"
#include "launcher/spec_builder.hpp"
#include "launcher_fixture.hpp"

namespace warren::launcher {
namespace {

using testing::makeNs;

TEST(LauncherSpec, RoundTrip) {
  Spec s;
  s.runtime_dir = "/run/x";
  s.argv = {"/bin/sh", "-c", std::string("a\0b", 3)};
  s.env = {"A=1", "PATH=/bin"};
  s.namespaces = {{CLONE_NEWPID, true, "/proc/1/ns/pid"}, {CLONE_NEWPID, false, ""}};
  s.rootfs = "/r";
  s.readonly_rootfs = true;
  s.mounts = {{"/src", "/dst", "bind", {"rbind", "ro"}, true, false, "/"}};
  s.masked_paths = {"/proc/kcore"};
  s.readonly_paths = {"/proc/sys"};
  s.hostname = "h";
  s.user = "1:2";
  s.working_dir = "/w";
  s.capabilities = {0, 40};
  s.rlimits = {{RLIMIT_NOFILE, 10, 1ull << 40}};
  s.pre_exec = {{"true"}, {"echo", "x"}};
  std::string wire = encodeSpec(s);
  Spec d;
  ASSERT_TRUE(decodeSpec(wire.data(), wire.size(), &d));
  EXPECT_EQ(d.argv, s.argv);
  EXPECT_EQ(d.env, s.env);
  ASSERT_EQ(d.namespaces.size(), 2u);
  EXPECT_TRUE(d.namespaces[0].enter);
  EXPECT_EQ(d.namespaces[0].path, "/proc/1/ns/pid");
  EXPECT_EQ(d.namespaces[1].flag, static_cast<uint64_t>(CLONE_NEWPID));
  ASSERT_EQ(d.mounts.size(), 1u);
  EXPECT_EQ(d.mounts[0].options, s.mounts[0].options);
  EXPECT_TRUE(d.mounts[0].create_dir);
  EXPECT_EQ(d.mounts[0].source_root, "/");
  EXPECT_TRUE(d.readonly_rootfs);
  EXPECT_EQ(d.capabilities, s.capabilities);
  EXPECT_EQ(d.rlimits[0].hard, 1ull << 40);
  EXPECT_EQ(d.pre_exec, s.pre_exec);
  EXPECT_EQ(d.user, "1:2");
  // Truncations: a cut inside a record or the magic is rejected.
  for (size_t n = 0; n < 7; ++n) EXPECT_FALSE(decodeSpec(wire.data(), n, &d)) << n;
  for (size_t n = 7; n < wire.size(); ++n) {
    Spec t;
    (void)decodeSpec(wire.data(), n, &t);  // must not read past n
  }
  EXPECT_FALSE(decodeSpec(wire.data(), wire.size() - 1, &d));
  EXPECT_FALSE(decodeSpec("WSPEC1\n\x63\0\0\0\0", 12, &d));  // unknown tag
}

TEST(LauncherSpec, Names) {
  EXPECT_EQ(capabilityFromName("CAP_NET_ADMIN"), 12);
  EXPECT_EQ(capabilityFromName("sys_admin"), 21);
  EXPECT_EQ(capabilityFromName("CAP_NOPE"), -1);
  EXPECT_EQ(rlimitFromName("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimitFromName("nproc"), RLIMIT_NPROC);
  EXPECT_STREQ(rlimitName(RLIMIT_NOFILE), "RLIMIT_NOFILE");
}

TEST(LauncherExitStatus, FormatAndParse) {
  ExitStatus s{3 << 8, "exec_failed", "exec 'x': No such\nfile"};
  auto p = parseExitStatus(formatExitStatus(s));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->wait_status, 3 << 8);
  EXPECT_EQ(p->reason, "exec_failed");
  EXPECT_EQ(p->message, "exec 'x': No such file");
  EXPECT_FALSE(parseExitStatus("status x\nreason exited\n"));
  EXPECT_FALSE(parseExitStatus("status 1\nreason bogus\n"));
  EXPECT_FALSE(parseExitStatus("reason exited\n"));
}

LaunchRequest request() {
  LaunchRequest r;
  r.argv = {"true"};
  r.runtime_dir = "/tmp/x";
  return r;
}

TEST(LauncherSpecBuilder, Defaults) {
  auto r = request();
  auto s = buildSpec(r);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->env, std::vector<std::string>{
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  EXPECT_EQ(s->capabilities, defaultCapabilities());
}

TEST(LauncherSpecBuilder, RejectsBadInput) {
  auto expectError = [](LaunchRequest r, const std::string& text) {
    auto s = buildSpec(r);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find(text), std::string::npos) << s.error().message();
  };
  auto r = request();
  r.argv.clear();
  expectError(r, "empty command");
  r = request();
  r.launch_info.add_capabilities("CAP_BOGUS");
  expectError(r, "unknown capability 'CAP_BOGUS'");
  r = request();
  r.launch_info.add_rlimits()->set_type("RLIMIT_WHAT");
  expectError(r, "unknown rlimit 'RLIMIT_WHAT'");
  r = request();
  r.launch_info.set_rootfs("/some/rootfs");
  expectError(r, "needs the container's own mount namespace");
  r = request();
  r.launch_info.set_hostname("h");
  expectError(r, "needs a UTS namespace of the container's (CREATE or ENTER UTS)");
  r = request();
  *r.launch_info.add_namespaces() = makeNs(v1::Namespace::NET, v1::Namespace::ENTER, "relative");
  expectError(r, "absolute path");
  r = request();
  *r.launch_info.add_namespaces() = makeNs(v1::Namespace::NET, v1::Namespace::ENTER, "/proc/1/ns/net");
  *r.launch_info.add_namespaces() = makeNs(v1::Namespace::NET, v1::Namespace::CREATE);
  expectError(r, "net namespace is both entered and created");
  r = request();
  *r.launch_info.add_namespaces() = makeNs(v1::Namespace::MNT, v1::Namespace::CREATE);
  auto* m = r.launch_info.add_mounts();
  m->set_target("relative");
  m->set_type("tmpfs");
  expectError(r, "mount target 'relative'");
  // A source must lie beneath its source root, by whole components, no "..".
  for (const char* bad : {"/srv/datax/y", "/srv/data/../etc", "/etc", "relative"}) {
    r = request();
    *r.launch_info.add_namespaces() = makeNs(v1::Namespace::MNT, v1::Namespace::CREATE);
    m = r.launch_info.add_mounts();
    m->set_source(bad);
    m->set_source_root("/srv/data");
    m->set_target("/data");
    m->set_type("bind");
    expectError(r, "mount '/data': source '" + std::string(bad) + "' is not beneath its source root '/srv/data'");
  }
  r = request();
  *r.launch_info.add_namespaces() = makeNs(v1::Namespace::MNT, v1::Namespace::CREATE);
  m = r.launch_info.add_mounts();
  m->set_source("/srv/data/x/y");
  m->set_source_root("/srv/data/");
  m->set_target("/data");
  m->set_type("bind");
  auto ok = buildSpec(r);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->mounts[0].source_root, "/srv/data/");
}

// uid/gid mappings: only with a user namespace, mapping id 0, no empty,
// wrapping or overlapping lines.
TEST(LauncherSpecBuilder, ChecksIdMappings) {
  auto map = [](google::protobuf::RepeatedPtrField<v1::IdMapping>* out, uint32_t in, uint32_t host, uint32_t n) {
    auto* m = out->Add();
    m->set_container_id(in);
    m->set_host_id(host);
    m->set_size(n);
  };
  auto withUser = [&](v1::Namespace::Action a) {
    auto r = request();
    *r.launch_info.add_namespaces() = makeNs(v1::Namespace::USER, a, a == v1::Namespace::ENTER ? "/proc/1/ns/user" : "");
    return r;
  };
  auto expectError = [](const LaunchRequest& r, const std::string& text) {
    auto s = buildSpec(r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), text);
  };
  auto r = withUser(v1::Namespace::CREATE);
  expectError(r, "a new user namespace needs uid_mappings");
  map(r.launch_info.mutable_uid_mappings(), 0, 100000, 65536);
  expectError(r, "a new user namespace needs gid_mappings");
  map(r.launch_info.mutable_gid_mappings(), 0, 100000, 65536);
  auto ok = buildSpec(r);
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->namespaces.size(), 1u);
  EXPECT_EQ(ok->namespaces[0].flag, static_cast<uint64_t>(CLONE_NEWUSER));
  EXPECT_STREQ(namespaceName(CLONE_NEWUSER), "user");

  map(r.launch_info.mutable_uid_mappings(), 10, 120000, 5);
  expectError(r, "uid_mappings line '10 120000 5' overlaps an earlier line");
  r = withUser(v1::Namespace::CREATE);
  map(r.launch_info.mutable_uid_mappings(), 1, 100000, 10);
  map(r.launch_info.mutable_gid_mappings(), 0, 100000, 10);
  expectError(r, "uid_mappings do not map id 0 of the container");
  r = withUser(v1::Namespace::CREATE);
  map(r.launch_info.mutable_uid_mappings(), 0, 4294967000u, 1000);
  expectError(r, "uid_mappings line '0 4294967000 1000' is empty or wraps past 4294967294");
  r = withUser(v1::Namespace::ENTER);
  expectError(r, "an entered user namespace needs its uid/gid mappings too");
  r = request();
  map(r.launch_info.mutable_uid_mappings(), 0, 100000, 10);
  expectError(r, "uid/gid mappings need a user namespace (CREATE or ENTER USER)");
}

TEST(LauncherSpec, IoRoundTripAndSandboxBeneathItsRoot) {
  Spec s;
  s.runtime_dir = "/run/x";
  s.argv = {"sh"};
  s.io.relay = true;
  s.io.tty = true;
  s.io.stdin_open = true;
  s.io.hold_output = false;
  s.io.rows = 300;
  s.io.cols = 65535;
  s.io.log_max_bytes = 16u << 20;
  s.io.sandbox_root = "/w/sandboxes";
  s.io.sandbox_dir = "/w/sandboxes/a/containers/b";
  std::string wire = encodeSpec(s);
  Spec d;
  ASSERT_TRUE(decodeSpec(wire.data(), wire.size(), &d));
  EXPECT_TRUE(d.io.relay);
  EXPECT_TRUE(d.io.tty);
  EXPECT_TRUE(d.io.stdin_open);
  EXPECT_FALSE(d.io.hold_output);
  EXPECT_EQ(d.io.rows, 300);
  EXPECT_EQ(d.io.cols, 65535);
  EXPECT_EQ(d.io.log_max_bytes, 16u << 20);
  EXPECT_EQ(d.io.sandbox_dir, s.io.sandbox_dir);
  // No relay: no I/O records at all.
  s.io.relay = false;
  wire = encodeSpec(s);
  Spec n;
  ASSERT_TRUE(decodeSpec(wire.data(), wire.size(), &n));
  EXPECT_FALSE(n.io.relay);
  EXPECT_TRUE(n.io.sandbox_dir.empty());
  // A short I/O record is malformed.
  EXPECT_FALSE(decodeSpec("WSPEC1\n\x11\x01\0\0\0\x01", 13, &d));

  auto r = request();
  r.io.relay = true;
  r.io.sandbox_root = "/w/sandboxes";
  r.io.sandbox_dir = "/w/sandboxes/../../etc";
  auto b = buildSpec(r);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("is not below '/w/sandboxes'"), std::string::npos) << b.error().message();
  r.io.sandbox_dir = "/w/sandboxes/a";
  EXPECT_TRUE(buildSpec(r));
}

}  // namespace
}  // namespace warren::launcher
