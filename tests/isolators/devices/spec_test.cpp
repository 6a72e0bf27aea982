// CDI specs (JSON and YAML) and the edits of requested devices, without root.
#include <gtest/gtest.h>

#include "edits.hpp"
#include "spec.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using namespace isolators::cdi;

constexpr const char* kJson = R"({
  "cdiVersion": "0.6.0",
  "kind": "warren.test/gpu",
  "containerEdits": {"env": ["FAKE_DRIVER=1"]},
  "devices": [
    {"name": "0", "containerEdits": {
      "env": ["FAKE_GPU=0"],
      "deviceNodes": [{"path": "/dev/fake0", "hostPath": "/dev/null", "permissions": "rw"}],
      "mounts": [{"hostPath": "/etc", "containerPath": "/opt/etc", "options": ["ro", "bind"]}],
      "hooks": [{"hookName": "startContainer", "path": "/bin/true", "args": ["true", "x"]}]}},
    {"name": "1", "containerEdits": {
      "deviceNodes": [{"path": "/dev/fake1", "type": "c", "major": 195, "minor": 1}]}}
  ]
})";

constexpr const char* kYaml = R"(cdiVersion: "0.6.0"
kind: warren.test/gpu
devices:
  - name: "0"
    containerEdits:
      env: ["FAKE_GPU=yaml"]
      deviceNodes:
        - path: /dev/fake0
          type: c
          major: 195
          minor: 0
)";

Result<Spec> parse(const std::string& text, bool yaml = false) {
  auto doc = parseText(text, yaml);
  if (!doc) return fail(doc.error());
  return specFromJson(*doc);
}

std::string errorOf(const std::string& text, bool yaml = false) {
  auto s = parse(text, yaml);
  return s ? "no error" : s.error().message();
}

TEST(CdiSpec, JsonAndYamlParse) {
  auto j = parse(kJson);
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(j->kind, "warren.test/gpu");
  ASSERT_EQ(j->devices.size(), 2u);
  EXPECT_EQ(j->devices.at("1").device_nodes[0].major, 195);
  EXPECT_EQ(j->edits.env, std::vector<std::string>{"FAKE_DRIVER=1"});
  auto y = parse(kYaml, true);
  ASSERT_TRUE(y) << y.error().message();
  EXPECT_EQ(y->devices.at("0").device_nodes[0].minor, 0);
  EXPECT_EQ(y->devices.at("0").env, std::vector<std::string>{"FAKE_GPU=yaml"});
}

TEST(CdiSpec, MalformedSpecsAreClearErrors) {
  EXPECT_EQ(errorOf("{"), "not valid JSON");
  EXPECT_EQ(errorOf("kind: [", true), "YAML line 2: did not find expected node content");
  EXPECT_EQ(errorOf(R"({"kind": "a.b/c", "devices": []})"), "spec: no cdiVersion");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "nogpu", "devices": []})"),
            "kind 'nogpu' is not vendor.com/class");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": []})"),
            "devices: must be a non-empty list");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
              "containerEdits": {"deviceNodes": [{"hostPath": "/dev/null"}]}}]})"),
            "devices[0].containerEdits.deviceNodes[0]: no path");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
              "containerEdits": {"deviceNodes": [{"path": "/dev/x", "major": "195"}]}}]})"),
            "devices[0].containerEdits.deviceNodes[0].major: is not a non-negative integer");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
              "containerEdits": {"intelRdt": {}}}]})"),
            "devices[0].containerEdits: unsupported field 'intelRdt'");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
              "containerEdits": {"env": ["NOEQUALS"]}}]})"),
            "devices[0].containerEdits.env[0]: 'NOEQUALS' is not K=V");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
              "containerEdits": {}}, {"name": "x", "containerEdits": {}}]})"),
            "devices[1]: device 'x' is defined twice");
  EXPECT_EQ(errorOf(R"({"cdiVersion": "1.0.0", "kind": "a.b/c", "devices": []})"),
            "cdiVersion '1.0.0' is not supported");
}

TEST(CdiRegistry, LaterDirectoryWinsAndBadFilesAreNamed) {
  TestEnv env;
  std::string etc = env.root + "/etc-cdi", run = env.root + "/run-cdi";
  ASSERT_TRUE(fs::mkdirs(etc));
  ASSERT_TRUE(fs::mkdirs(run));
  ASSERT_TRUE(fs::writeFile(etc + "/gpu.json", kJson));
  ASSERT_TRUE(fs::writeFile(run + "/gpu.yaml", kYaml));
  auto reg = loadRegistry({etc, run, env.root + "/missing"});
  ASSERT_TRUE(reg) << reg.error().message();
  ASSERT_EQ(reg->devices.size(), 2u);
  EXPECT_EQ(reg->specs[reg->devices.at("warren.test/gpu=0").first].file, run + "/gpu.yaml");
  EXPECT_EQ(reg->specs[reg->devices.at("warren.test/gpu=1").first].file, etc + "/gpu.json");
  // The same device twice in one directory.
  ASSERT_TRUE(fs::writeFile(run + "/again.yml", kYaml));
  reg = loadRegistry({etc, run});
  ASSERT_FALSE(reg);
  EXPECT_EQ(reg.error().message(), "CDI spec '" + run + "/gpu.yaml': device 'warren.test/gpu=0' is also "
                                   "defined by another spec in " + run);
  ASSERT_TRUE(fs::writeFile(run + "/again.yml", "cdiVersion: 0.6.0\nkind: [\n"));
  reg = loadRegistry({etc, run});
  ASSERT_FALSE(reg);
  EXPECT_EQ(reg.error().message().rfind("CDI spec '" + run + "/again.yml': YAML line", 0), 0u)
      << reg.error().message();
}

Registry registry() {
  Registry reg;
  reg.specs.push_back(*parse(kJson));
  reg.devices["warren.test/gpu=0"] = {0, "0"};
  reg.devices["warren.test/gpu=1"] = {0, "1"};
  return reg;
}

TEST(CdiEdits, RequestedDevicesBecomeLaunchInfo) {
  std::vector<std::string> skipped;
  auto li = applyEdits(registry(), {"warren.test/gpu=0", "warren.test/gpu=1"}, true, {}, &skipped);
  ASSERT_TRUE(li) << li.error().message();
  EXPECT_EQ(li->env().at("FAKE_DRIVER"), "1");  // the spec's edits, once
  EXPECT_EQ(li->env().at("FAKE_GPU"), "0");
  ASSERT_EQ(li->devices_size(), 2);
  EXPECT_EQ(li->devices(0).path(), "/dev/fake0");  // from /dev/null's numbers
  EXPECT_EQ(li->devices(0).type(), "c");
  EXPECT_EQ(li->devices(0).major(), 1);
  EXPECT_EQ(li->devices(0).minor(), 3);
  EXPECT_EQ(li->devices(0).access(), "rw");
  EXPECT_EQ(li->devices(1).major(), 195);
  EXPECT_EQ(li->devices(1).access(), "rwm");
  ASSERT_EQ(li->mounts_size(), 3);  // node 0, /opt/etc, node 1
  EXPECT_EQ(li->mounts(0).source(), "/dev/null");
  EXPECT_EQ(li->mounts(0).target(), "/dev/fake0");
  EXPECT_TRUE(li->mounts(0).create_file());
  EXPECT_EQ(li->mounts(1).target(), "/opt/etc");
  EXPECT_TRUE(li->mounts(1).create_dir());
  ASSERT_EQ(li->pre_exec_size(), 1);
  EXPECT_EQ(li->pre_exec(0).value(), "/bin/true");
  EXPECT_EQ(li->pre_exec(0).arguments(0), "x");
}

TEST(CdiEdits, BadRequestsAreClearErrors) {
  std::vector<std::string> skipped;
  auto r = applyEdits(registry(), {"warren.test/gpu=9"}, true, {}, &skipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CDI device 'warren.test/gpu=9' is not defined by any spec in the CDI spec dirs");
  r = applyEdits(registry(), {"gpu0"}, true, {}, &skipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CDI device 'gpu0' is not a qualified name vendor.com/class=name");
  r = applyEdits(registry(), {"warren.test/gpu=1", "warren.test/gpu=1"}, true, {}, &skipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CDI device 'warren.test/gpu=1' is requested twice");
  // Without a rootfs of its own, a node path missing on the host cannot be made.
  r = applyEdits(registry(), {"warren.test/gpu=1"}, false, {}, &skipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "CDI device 'warren.test/gpu=1': '/dev/fake1' does not exist and the container has no root "
            "filesystem of its own to create it in");
}

TEST(CdiEdits, UnsupportedHooksAreRefusedUnlessSkipped) {
  Registry reg;
  auto spec = parse(R"({"cdiVersion": "0.6.0", "kind": "a.b/c", "devices": [{"name": "x",
      "containerEdits": {"hooks": [{"hookName": "createContainer", "path": "/usr/bin/nvidia-ctk"}]}}]})");
  ASSERT_TRUE(spec) << spec.error().message();
  reg.specs.push_back(*spec);
  reg.devices["a.b/c=x"] = {0, "x"};
  std::vector<std::string> skipped;
  auto r = applyEdits(reg, {"a.b/c=x"}, true, {}, &skipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "CDI device 'a.b/c=x': createContainer hook '/usr/bin/nvidia-ctk' is not supported (warren "
            "runs startContainer hooks without env, inside the container; set skip_unsupported_hooks to "
            "launch without it)");
  Options o;
  o.skip_unsupported_hooks = true;
  r = applyEdits(reg, {"a.b/c=x"}, true, o, &skipped);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(skipped, std::vector<std::string>{"CDI device 'a.b/c=x': createContainer hook '/usr/bin/nvidia-ctk'"});
}

}  // namespace
}  // namespace warren::testing
