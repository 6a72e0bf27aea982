// The agent API's decoding from bytes (no root, no daemon):
// containerizer/daemon/api_decode.cpp. The same calls over warrend's socket
// are in api_test.cpp.
#include <signal.h>

#include <gtest/gtest.h>

#include "api_decode.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::daemon {
namespace {

HttpResult<ApiCall> decode(const std::string& json, const std::string& ct = "application/json") {
  auto call = decodeCall(ct, json);
  if (!call) return tl::make_unexpected(call.error());
  return decodeApiCall(std::move(*call), "/run/agent");
}

TEST(DaemonApiDecode, ALaunchBecomesATargetAndAConfig) {
  auto r = decode(R"({"type":"LAUNCH_NESTED_CONTAINER","launch_nested_container":{
      "container_id":{"value":"web","parent":{"value":"pod"}},
      "command":{"value":"/bin/echo","shell":false,"arguments":["echo","hi"]},
      "warren":{"agent_api":true}}})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->target);
  EXPECT_EQ(formatId(*r->target), "pod.web");
  EXPECT_EQ(r->verb, "launch");
  EXPECT_FALSE(r->group);
  ASSERT_TRUE(r->config);
  EXPECT_EQ(r->config->command().value(), "/bin/echo");
  ASSERT_EQ(r->config->command().arguments_size(), 1);
  EXPECT_EQ(r->config->command().arguments(0), "hi");
  ASSERT_EQ(r->config->volumes_size(), 1);
  EXPECT_EQ(r->config->volumes(0).source_path(), "/run/agent");
}

TEST(DaemonApiDecode, ProtobufAndJsonBodiesDecodeAlike) {
  agent::v1::Call c;
  c.set_type(agent::v1::Call::KILL_NESTED_CONTAINER);
  auto* k = c.mutable_kill_nested_container();
  k->mutable_container_id()->set_value("web");
  k->mutable_container_id()->mutable_parent()->set_value("pod");
  std::string bytes;
  ASSERT_TRUE(c.SerializeToString(&bytes));
  auto pb = decode(bytes, "Application/X-Protobuf; charset=binary");
  auto js = decode(R"({"type":"KILL_NESTED_CONTAINER","kill_nested_container":{
      "container_id":{"value":"web","parent":{"value":"pod"}}}})");
  ASSERT_TRUE(pb) << pb.error().message;
  ASSERT_TRUE(js) << js.error().message;
  EXPECT_EQ(formatId(*pb->target), formatId(*js->target));
  EXPECT_EQ(pb->signal, SIGKILL);  // the default
  EXPECT_EQ(js->signal, SIGKILL);
}

TEST(DaemonApiDecode, GroupCallsTargetTheirParent) {
  auto r = decode(R"({"type":"KILL_GROUP","kill_group":{"parent":{"value":"pod"},"name":"g","signal":15}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->group);
  EXPECT_EQ(formatId(*r->target), "pod");
  EXPECT_EQ(r->verb, "kill a task group under");
  EXPECT_EQ(r->signal, 15);
  r = decode(R"({"type":"GET_CONTAINERS"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->target);
}

TEST(DaemonApiDecode, BadCallsAreRefusedWithTheirStatusAndOneReason) {
  struct Case {
    std::string body, content_type;
    int status;
    std::string error;
  };
  std::vector<Case> cases = {
      {R"({"type": "GET_CONTAINERS",)", "application/json", 400, "malformed JSON body: "},
      {R"({"type": "GET_CONTAINERS"})", "text/plain", 415,
       "unsupported Content-Type 'text/plain' (application/json or application/x-protobuf)"},
      {"\x01\x02\x03", "application/x-protobuf", 400, "malformed protobuf body: not an agent Call"},
      {R"({"type": "UNKNOWN"})", "", 400, "unknown or unsupported call type 0 (UNKNOWN)"},
      {R"({"type": "WAIT_CONTAINER"})", "", 400, "call WAIT_CONTAINER needs 'wait_container'"},
      {R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"a b"},"command":{"value":"true"}}})",
       "", 400, "'container_id': "},
      {R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"}}})", "", 400,
       "the launch has no command ('command.value')"},
      {R"({"type":"LAUNCH_NESTED_CONTAINER","launch_nested_container":{"container_id":{"value":"x"},
          "command":{"value":"true"}}})",
       "", 400, "LAUNCH_NESTED_CONTAINER needs 'container_id.parent'"},
      {R"({"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"x"},"signal":99}})", "", 400,
       "invalid signal 99"},
      {R"({"type":"KILL_GROUP","kill_group":{"parent":{"value":"p"},"signal":0}})", "", 400, "invalid signal 0"},
      {R"({"type":"ATTACH_CONTAINER_INPUT"})", "", 400, "ATTACH_CONTAINER_INPUT is a streamed request"},
  };
  for (const auto& c : cases) {
    auto r = decode(c.body, c.content_type);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().status, c.status) << c.body;
    EXPECT_EQ(r.error().message.rfind(c.error, 0), 0u) << c.body << " -> " << r.error().message;
  }
}

TEST(DaemonApiDecode, InputStreamRecords) {
  auto first = decodeRecord("application/json", R"({"type":"ATTACH_CONTAINER_INPUT","attach_container_input":
      {"type":"CONTAINER_ID","container_id":{"value":"dbg","parent":{"value":"pod"}}}})");
  ASSERT_TRUE(first) << first.error().message;
  auto id = decodeInputHead(*first);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(formatId(*id), "pod.dbg");
  EXPECT_FALSE(decodeInputBody(*first));  // a head is no body

  auto out = decodeRecord("", R"({"type":"ATTACH_CONTAINER_INPUT","attach_container_input":
      {"type":"PROCESS_IO","process_io":{"type":"DATA","data":{"type":"STDOUT","data":"aGkK"}}}})");
  ASSERT_TRUE(out) << out.error().message;
  auto body = decodeInputBody(*out);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().message, "input records carry STDIN data only");
  EXPECT_FALSE(decodeInputHead(*out));
  auto bad = decodeRecord("application/x-protobuf", "\xff");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "malformed protobuf record: not an agent Call");
}

}  // namespace
}  // namespace warren::daemon
