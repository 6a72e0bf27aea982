// The config.json mapping (isolators/oci/oci_spec.cpp), without root: what
// each field becomes, and the exact one-line refusals.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci_spec.hpp"

namespace warren::oci {
namespace {

using nlohmann::json;

json base() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["/bin/sh", "-c", "exit 3"], "cwd": "/work", "env": ["PATH=/bin", "A=b=c"],
                "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [100]},
                "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
                "noNewPrivileges": false, "terminal": true, "consoleSize": {"height": 30, "width": 100}},
    "root": {"path": "/", "readonly": true},
    "hostname": "box",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
               {"destination": "/etc/hostname", "type": "bind", "source": "/etc/hostname", "options": ["rbind", "ro"]},
               {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                             {"type": "uts"}, {"type": "mount"}],
              "cgroupsPath": "/default/c1",
              "resources": {"memory": {"limit": 1048576}, "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                            "pids": {"limit": 10}, "devices": [{"allow": false, "access": "rwm"}]},
              "sysctl": {"net.ipv4.ping_group_range": "0 0"},
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
  })");
}

Result<Spec> parse(const json& j) { return parseSpec(j.dump(), "/tmp", "c1"); }

TEST(OciSpec, MapsProcessRootMountsNamespacesAndResources) {
  auto s = parse(base());
  ASSERT_TRUE(s) << s.error().message();
  const auto& c = s->config;
  EXPECT_EQ(c.command().value(), "/bin/sh");
  ASSERT_EQ(c.command().arguments_size(), 2);
  EXPECT_FALSE(c.command().shell());
  EXPECT_EQ(c.working_dir(), "/work");
  EXPECT_EQ(c.env().at("A"), "b=c");
  EXPECT_EQ(c.user(), "1000:100");
  EXPECT_EQ(c.rootfs(), "/");
  EXPECT_EQ(c.hostname(), "box");
  EXPECT_TRUE(c.inherit_stdio());
  EXPECT_EQ(c.tty_rows(), 30u);
  EXPECT_TRUE(s->terminal);
  const auto& li = s->launch;
  EXPECT_TRUE(li.readonly_rootfs());
  ASSERT_EQ(li.capabilities_size(), 2);
  ASSERT_EQ(li.rlimits_size(), 1);
  EXPECT_EQ(li.rlimits(0).soft(), 512u);
  // pid, network: new (lo brought up); mount/uts/ipc are warren's own.
  ASSERT_EQ(li.namespaces_size(), 2);
  EXPECT_EQ(li.namespaces(0).type(), v1::Namespace::PID);
  EXPECT_EQ(li.namespaces(0).action(), v1::Namespace::CREATE);
  EXPECT_EQ(li.namespaces(1).type(), v1::Namespace::NET);
  EXPECT_TRUE(s->new_netns);
  // /dev tmpfs brings the default device nodes; a file bind is create_file;
  // cgroup = tmpfs + the container's own cgroup per hierarchy, read-only.
  int devs = 0, cgroup_binds = 0;
  for (const auto& m : li.mounts()) {
    if (m.type() == "bind" && m.target().rfind("/dev/", 0) == 0) ++devs;
    if (m.target() == "/etc/hostname") EXPECT_TRUE(m.create_file());
    if (m.target().rfind("/sys/fs/cgroup/", 0) == 0) {
      ++cgroup_binds;
      EXPECT_EQ(m.source().substr(m.source().size() - 11), "/default/c1");
    }
  }
  EXPECT_EQ(devs, 6);
  EXPECT_EQ(cgroup_binds, static_cast<int>(cgroupControllers().size()));
  EXPECT_EQ(s->cgroup.path, "/default/c1");
  EXPECT_EQ(*s->cgroup.mem_limit, 1048576);
  EXPECT_EQ(*s->cgroup.cpu_quota, 50000);
  EXPECT_EQ(*s->cgroup.pids_limit, 10);
  ASSERT_EQ(s->cgroup.devices.size(), 1u);
  EXPECT_FALSE(s->cgroup.devices[0].allow);
  EXPECT_EQ(s->sysctl.at("net.ipv4.ping_group_range"), "0 0");
  EXPECT_EQ(li.masked_paths(0), "/proc/kcore");
}

TEST(OciSpec, RefusesWhatItCannotHonourNamingTheField) {
  struct Case {
    const char* expect;
    void (*edit)(json&);
  };
  const Case cases[] = {
      {"config.json: linux.intelRdt: not supported by warren-oci", [](json& j) { j["linux"]["intelRdt"] = {{"closID", "a"}}; }},
      {"config.json: process.user.additionalGids: group 5:", [](json& j) { j["process"]["user"]["additionalGids"] = {5}; }},
      {"config.json: process.capabilities.ambient: must be within the inheritable set",
       [](json& j) { j["process"]["capabilities"]["ambient"] = {"CAP_KILL"}; }},
      {"config.json: process.capabilities.inheritable: must be within the bounding set",
       [](json& j) { j["process"]["capabilities"]["inheritable"] = {"CAP_SYS_ADMIN"}; }},
      {"config.json: process.capabilities.effective: must equal the ambient set for a non-root user",
       [](json& j) { j["process"]["capabilities"]["effective"] = {"CAP_KILL"}; }},
      {"config.json: linux.namespaces[5].type: 'user' namespaces are not supported",
       [](json& j) { j["linux"]["namespaces"].push_back({{"type", "user"}}); }},
      {"config.json: linux.namespaces[1].path: '/proc/self/ns/ipc' is not a network namespace",
       [](json& j) { j["linux"]["namespaces"][1]["path"] = "/proc/self/ns/ipc"; }},
      {"config.json: linux.namespaces[2].path: '/dev/null' is not a namespace",
       [](json& j) { j["linux"]["namespaces"][2]["path"] = "/dev/null"; }},
      {"config.json: linux.namespaces[0].path: cannot open '/nonexistent-warren/ns': No such file or directory",
       [](json& j) { j["linux"]["namespaces"][0]["path"] = "/nonexistent-warren/ns"; }},
      {"config.json: linux.namespaces[3].path: 'ns/uts' is not an absolute path",
       [](json& j) { j["linux"]["namespaces"][3]["path"] = "ns/uts"; }},
      {"config.json: linux.namespaces[4].path: joining an existing mount namespace is not supported",
       [](json& j) { j["linux"]["namespaces"][4]["path"] = "/proc/self/ns/mnt"; }},
      {"config.json: linux.namespaces: warren always gives a container its own uts namespace",
       [](json& j) { j["linux"]["namespaces"].erase(3); }},
      {"config.json: linux.cgroupsPath: 'a:b:c' is a systemd slice:prefix:name path",
       [](json& j) { j["linux"]["cgroupsPath"] = "a:b:c"; }},
      {"config.json: linux.resources.cpu.cpus: not supported", [](json& j) { j["linux"]["resources"]["cpu"]["cpus"] = "0-1"; }},
      {"config.json: linux.sysctl.kernel.hostname: only namespaced net.* and IPC sysctls",
       [](json& j) { j["linux"]["sysctl"]["kernel.hostname"] = "x"; }},
      {"config.json: mounts[1].options: option 'idmap' is not supported",
       [](json& j) { j["mounts"][1]["options"].push_back("idmap"); }},
      {"config.json: hooks.prestart: hooks are not supported by warren-oci yet",
       [](json& j) { j["hooks"]["prestart"] = json::array({{{"path", "/bin/true"}}}); }},
      {"config.json: ociVersion: '0.9' is not a 1.x runtime spec", [](json& j) { j["ociVersion"] = "0.9"; }},
      {"config.json: root.path: '/nonexistent-warren' is not a directory",
       [](json& j) { j["root"]["path"] = "/nonexistent-warren"; }},
  };
  for (const auto& c : cases) {
    json j = base();
    c.edit(j);
    auto s = parse(j);
    ASSERT_FALSE(s) << c.expect;
    EXPECT_EQ(s.error().message().rfind(c.expect, 0), 0u) << "got: " << s.error().message();
    EXPECT_EQ(s.error().message().find('\n'), std::string::npos);
  }
}

// A pod member (Podman's infra, a CRI sandbox) joins namespaces by path:
// ENTER for each (uts/ipc too: the core then makes none of its own), and no
// loopback set-up for a network namespace that is not the container's.
TEST(OciSpec, JoinsNamespacesByPath) {
  json j = base();
  j["linux"]["namespaces"] = json::array({{{"type", "pid"}, {"path", "/proc/self/ns/pid"}},
                                          {{"type", "network"}, {"path", "/proc/self/ns/net"}},
                                          {{"type", "ipc"}, {"path", "/proc/self/ns/ipc"}},
                                          {{"type", "uts"}, {"path", "/proc/self/ns/uts"}},
                                          {{"type", "mount"}}});
  auto s = parse(j);
  ASSERT_TRUE(s) << s.error().message();
  const auto& li = s->launch;
  ASSERT_EQ(li.namespaces_size(), 4);
  const v1::Namespace::Type types[] = {v1::Namespace::PID, v1::Namespace::NET, v1::Namespace::IPC,
                                       v1::Namespace::UTS};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(li.namespaces(i).type(), types[i]);
    EXPECT_EQ(li.namespaces(i).action(), v1::Namespace::ENTER);
    EXPECT_EQ(li.namespaces(i).path(), j["linux"]["namespaces"][i]["path"]);
  }
  EXPECT_FALSE(s->new_netns);
}

TEST(OciSpec, CgroupPathOfNeedsNoBundle) {
  EXPECT_EQ(cgroupPathOf(base().dump(), "c1"), "/default/c1");
  EXPECT_EQ(cgroupPathOf("{}", "c1"), "/warren-oci/c1");
  EXPECT_EQ(cgroupPathOf("not json", "c1"), "/warren-oci/c1");
}

}  // namespace
}  // namespace warren::oci
