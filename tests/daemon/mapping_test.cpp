// Mesos v1 shapes <-> warren's (no root needed).
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include "daemon_flags.hpp"
#include "mapping.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::daemon {
namespace {

agent::v1::Call parse(const std::string& json) {
  agent::v1::Call c;
  auto st = google::protobuf::util::JsonStringToMessage(json, &c);
  EXPECT_TRUE(st.ok()) << st.message();
  return c;
}

TEST(DaemonMapping, ContainerIdWithParentsBecomesAPath) {
  auto c = parse(R"({"type":"WAIT_NESTED_CONTAINER","wait_nested_container":
      {"container_id":{"value":"c","parent":{"value":"b","parent":{"value":"a"}}}}})");
  auto id = fromAgentId(c.wait_nested_container().container_id(), "container_id");
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(formatId(*id), "a.b.c");
  auto back = toAgentId(*id);
  EXPECT_EQ(back.value(), "c");
  EXPECT_EQ(back.parent().value(), "b");
  EXPECT_EQ(back.parent().parent().value(), "a");
  EXPECT_FALSE(back.parent().parent().has_parent());
}

TEST(DaemonMapping, BadIdsAreRefusedNamingTheField) {
  agent::v1::ContainerID empty;
  auto r = fromAgentId(empty, "container_id");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'container_id' has an empty 'value'");
  agent::v1::ContainerID slash;
  slash.set_value("a/b");
  r = fromAgentId(slash, "container_id");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_NE(r.error().message().find("container_id"), std::string::npos);
}

TEST(DaemonMapping, CommandFollowsMesosShellRules) {
  // shell unset = true (Mesos default): `sh -c value`.
  auto c = parse(R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"},
      "command":{"value":"echo hi","environment":{"variables":[{"name":"A","value":"1"}]}},
      "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
                   {"name":"mem","type":"SCALAR","scalar":{"value":64}}],
      "container":{"type":"MESOS","hostname":"h1"}}})");
  const auto& m = c.launch_container();
  LaunchShape s{&m.command(), &m.resources(), &m.container(), nullptr};
  auto cfg = toConfig(s, "/run/agent");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_TRUE(cfg->command().shell());
  EXPECT_EQ(cfg->command().value(), "echo hi");
  EXPECT_EQ(cfg->env().at("A"), "1");
  EXPECT_DOUBLE_EQ(cfg->resources().cpus(), 0.5);
  EXPECT_EQ(cfg->resources().mem_bytes(), 64u << 20);
  EXPECT_EQ(cfg->hostname(), "h1");
  EXPECT_EQ(cfg->volumes_size(), 0);

  // shell=false: arguments is the whole argv, argv[0] first.
  c = parse(R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"},
      "command":{"shell":false,"value":"/bin/echo","arguments":["echo","a","b"]},
      "warren":{"agent_api":true,"config":{"rootfs":"/r"}}}})");
  const auto& m2 = c.launch_container();
  LaunchShape s2{&m2.command(), &m2.resources(), nullptr, &m2.warren()};
  cfg = toConfig(s2, "/run/agent");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_FALSE(cfg->command().shell());
  ASSERT_EQ(cfg->command().arguments_size(), 2);
  EXPECT_EQ(cfg->command().arguments(0), "a");
  EXPECT_EQ(cfg->rootfs(), "/r");
  ASSERT_EQ(cfg->volumes_size(), 1);
  EXPECT_EQ(cfg->volumes(0).source_path(), "/run/agent");
  EXPECT_EQ(cfg->volumes(0).container_path(), "/run/warren-agent");
  EXPECT_TRUE(cfg->volumes(0).read_only());
  EXPECT_EQ(cfg->env().at("WARREN_AGENT_SOCKET"), "/run/warren-agent/warrend.sock");
}

TEST(DaemonMapping, InvalidLaunchesSayWhatIsWrong) {
  auto c = parse(R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"},
      "command":{"value":"true"},"resources":[{"name":"ports","scalar":{"value":1}}]}})");
  const auto& m = c.launch_container();
  LaunchShape s{&m.command(), &m.resources(), nullptr, nullptr};
  auto cfg = toConfig(s, "/a");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "unknown resource 'ports' (cpus, mem, disk, gpus)");
  LaunchShape none{};
  cfg = toConfig(none, "/a");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "the launch has no command ('command.value')");
}

TEST(DaemonMapping, ScalarsOutOfRangeAreRefusedNotConverted) {
  // Found by the api_request fuzzer: mem of 7.34e48 MB was converted to uint64_t (UB).
  auto refusal = [](const std::string& name, const std::string& value) {
    auto c = parse(R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"},
        "command":{"value":"true"},"resources":[{"name":")" + name + R"(","type":"SCALAR","scalar":{"value":)" +
                   value + "}}]}}");
    const auto& m = c.launch_container();
    LaunchShape s{&m.command(), &m.resources(), nullptr, nullptr};
    auto cfg = toConfig(s, "/a");
    return cfg ? std::string("accepted") : cfg.error().message();
  };
  EXPECT_EQ(refusal("mem", "7.34e48"), "resource 'mem' of 7.34e+48 MB is too large");
  EXPECT_EQ(refusal("disk", "1e20"), "resource 'disk' of 1e+20 MB is too large");
  EXPECT_EQ(refusal("gpus", "1.5"), "resource 'gpus' of 1.5 is not a whole number of GPUs (at most 4096)");
  EXPECT_EQ(refusal("gpus", "1e10"), "resource 'gpus' of 1e+10 is not a whole number of GPUs (at most 4096)");
  EXPECT_EQ(refusal("cpus", "-1"), "resource 'cpus' needs a positive, finite scalar");
  // The largest mem that fits is still accepted (and the cgroups isolator then judges it).
  EXPECT_EQ(refusal("mem", "17592186044415"), "accepted");
  EXPECT_EQ(refusal("gpus", "2"), "accepted");
}

TEST(DaemonMapping, TerminationsBecomeMesosWaitResults) {
  v1::Termination t;
  t.set_has_exit_status(true);
  t.set_exit_code(3);
  t.set_reason(v1::Termination::COMMAND_EXITED);
  auto w = toWaitResult(t);
  EXPECT_EQ(w.exit_status(), 3 << 8);
  EXPECT_EQ(w.state(), agent::v1::TASK_FAILED);
  t.set_exit_code(0);
  EXPECT_EQ(toWaitResult(t).state(), agent::v1::TASK_FINISHED);
  v1::Termination k;
  k.set_signal(9);
  k.set_reason(v1::Termination::KILLED);
  w = toWaitResult(k);
  EXPECT_EQ(w.exit_status(), 9);
  EXPECT_EQ(w.state(), agent::v1::TASK_KILLED);
  EXPECT_EQ(w.termination().reason(), v1::Termination::KILLED);
  v1::Termination oom;
  oom.set_reason(v1::Termination::MEMORY_LIMIT);
  EXPECT_EQ(toWaitResult(oom).reason(), agent::v1::REASON_CONTAINER_LIMITATION_MEMORY);
  // Issue #18's reasons, as Mesos names them (TaskStatus.Reason 20 and 33).
  v1::Termination disk;
  disk.set_reason(v1::Termination::DISK_LIMIT);
  EXPECT_EQ(toWaitResult(disk).state(), agent::v1::TASK_FAILED);
  EXPECT_EQ(toWaitResult(disk).reason(), agent::v1::REASON_CONTAINER_LIMITATION_DISK);
  v1::Termination late;
  late.set_reason(v1::Termination::MAX_COMPLETION_TIME);
  late.set_signal(9);
  EXPECT_EQ(toWaitResult(late).state(), agent::v1::TASK_FAILED);
  EXPECT_EQ(toWaitResult(late).reason(), agent::v1::REASON_MAX_COMPLETION_TIME_REACHED);
}

TEST(DaemonFlags, OwnFlagsAreTakenOutTheRestGoToTheCliParser) {
  std::vector<std::string> a = {"warrend", "--runtime_dir=/tmp/r", "--api_socket", "/tmp/x.sock",
                                "--max_body_bytes=1M", "--isolation", "pid", "--log_format=json"};
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  auto f = parseDaemonFlags(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->api_socket, "/tmp/x.sock");
  EXPECT_EQ(f->max_body_bytes, 1u << 20);
  EXPECT_EQ(f->log_format, "json");
  EXPECT_EQ(f->global.options.runtime_dir, "/tmp/r");
  ASSERT_EQ(f->global.options.isolation.size(), 1u);

  std::vector<std::string> b = {"warrend", "--runtime_dir=/tmp/r"};
  argv.clear();
  for (auto& s : b) argv.push_back(s.data());
  f = parseDaemonFlags(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->api_socket, "/tmp/r/warrend.sock");

  std::vector<std::string> c = {"warrend", "--log_format=xml"};
  argv.clear();
  for (auto& s : c) argv.push_back(s.data());
  f = parseDaemonFlags(static_cast<int>(argv.size()), argv.data());
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message(), "invalid --log_format 'xml': expected text or json");
}

}  // namespace
}  // namespace warren::daemon
