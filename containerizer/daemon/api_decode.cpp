#include "api_decode.hpp"

#include <signal.h>

#include <type_traits>

#include <google/protobuf/util/json_util.h>

#include "warren/sdk/ids.hpp"

namespace warren::daemon {

namespace {

using agent::v1::Call;
using agent::v1::ProcessIO;

HttpError badRequest(std::string message) { return {400, std::move(message)}; }

HttpError fromCode(const Error& e) { return {httpStatus(e.code()), e.message()}; }

HttpResult<Call> fromJson(const std::string& bytes, const char* what) {
  Call call;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(bytes, &call, o);
  if (!st.ok()) return tl::make_unexpected(badRequest(std::string("malformed JSON ") + what + ": " +
                                                      std::string(st.message())));
  return call;
}

// The container of one call's message, validated.
HttpResult<v1::ContainerID> idOf(const agent::v1::ContainerID& id, const char* field) {
  auto r = fromAgentId(id, field);
  if (!r) return tl::make_unexpected(fromCode(r.error()));
  return *r;
}

bool validSignal(int s) { return s > 0 && s < 65; }

}  // namespace

int httpStatus(Code code) {
  switch (code) {
    case Code::InvalidArgument: return 400;
    case Code::NotFound: return 404;
    case Code::AlreadyExists: return 409;
    case Code::PermissionDenied: return 403;
    case Code::FailedPrecondition: return 409;
    case Code::Unavailable: return 503;
    case Code::Unimplemented: return 501;
    default: return 500;
  }
}

HttpResult<Call> decodeCall(std::string_view content_type, const std::string& body) {
  std::string media = mediaType(content_type);
  if (media == "application/x-protobuf") {
    Call call;
    if (!call.ParseFromString(body)) return tl::make_unexpected(badRequest("malformed protobuf body: not an agent Call"));
    return call;
  }
  if (media == "application/json" || media.empty()) return fromJson(body, "body");
  return tl::make_unexpected(HttpError{415, "unsupported Content-Type '" + std::string(content_type) +
                                                "' (application/json or application/x-protobuf)"});
}

HttpResult<Call> decodeRecord(std::string_view message_content_type, const std::string& record) {
  if (mediaType(message_content_type) == "application/x-protobuf") {
    Call call;
    if (!call.ParseFromString(record)) {
      return tl::make_unexpected(badRequest("malformed protobuf record: not an agent Call"));
    }
    return call;
  }
  return fromJson(record, "record");
}

HttpResult<ApiCall> decodeApiCall(Call call, const std::string& agent_dir) {
  ApiCall out;
  out.call = std::move(call);
  const Call& c = out.call;
  auto need = [&](bool has, const char* field) -> std::optional<HttpError> {
    if (has) return std::nullopt;
    return badRequest(std::string("call ") + Call::Type_Name(c.type()) + " needs '" + field + "'");
  };
  // The target's ID, and what the call would do to it.
  auto target = [&](const agent::v1::ContainerID& id, const char* field, const char* verb,
                    bool group = false) -> std::optional<HttpError> {
    auto r = idOf(id, field);
    if (!r) return r.error();
    out.target = std::move(*r);
    out.verb = verb;
    out.group = group;
    return std::nullopt;
  };
  auto launch = [&](const auto& m, bool nested) -> std::optional<HttpError> {
    if (auto e = target(m.container_id(), "container_id", "launch")) return e;
    if (nested && !hasParent(*out.target)) {
      return badRequest(std::string(Call::Type_Name(c.type())) + " needs 'container_id.parent'");
    }
    LaunchShape s;
    if (m.has_command()) s.command = &m.command();
    if constexpr (std::is_same_v<std::decay_t<decltype(m)>, Call::LaunchContainer>) s.resources = &m.resources();
    if (m.has_container()) s.container = &m.container();
    if (m.has_warren()) s.warren = &m.warren();
    auto config = toConfig(s, agent_dir);
    if (!config) return fromCode(config.error());
    out.config = std::move(*config);
    return std::nullopt;
  };
  auto kill = [&](const auto& m) -> std::optional<HttpError> {
    if (auto e = target(m.container_id(), "container_id", "kill")) return e;
    out.signal = m.has_signal() ? m.signal() : SIGKILL;
    if (!validSignal(out.signal)) return badRequest("invalid signal " + std::to_string(out.signal));
    out.forwarded = m.forwarded();
    return std::nullopt;
  };
  auto group = [&](const Call::GroupRef& g, const char* verb, bool kills) -> std::optional<HttpError> {
    if (auto e = target(g.parent(), "parent", verb, true)) return e;
    if (!kills) return std::nullopt;
    out.signal = g.has_signal() ? g.signal() : SIGKILL;
    if (!validSignal(out.signal)) return badRequest("invalid signal " + std::to_string(out.signal));
    return std::nullopt;
  };

  std::optional<HttpError> e;
  switch (c.type()) {
    case Call::LAUNCH_CONTAINER:
      if (!(e = need(c.has_launch_container(), "launch_container"))) e = launch(c.launch_container(), false);
      break;
    case Call::LAUNCH_NESTED_CONTAINER:
      if (!(e = need(c.has_launch_nested_container(), "launch_nested_container"))) {
        e = launch(c.launch_nested_container(), true);
      }
      break;
    case Call::LAUNCH_NESTED_CONTAINER_SESSION:
      if (!(e = need(c.has_launch_nested_container_session(), "launch_nested_container_session"))) {
        e = launch(c.launch_nested_container_session(), true);
      }
      break;
    case Call::ATTACH_CONTAINER_OUTPUT:
      if (!(e = need(c.has_attach_container_output(), "attach_container_output"))) {
        e = target(c.attach_container_output().container_id(), "container_id", "attach to");
      }
      break;
    case Call::ATTACH_CONTAINER_INPUT:
      e = badRequest("ATTACH_CONTAINER_INPUT is a streamed request: send it with Content-Type "
                     "application/recordio (RecordIO records, chunked)");
      break;
    case Call::WAIT_CONTAINER:
      if (!(e = need(c.has_wait_container(), "wait_container"))) {
        e = target(c.wait_container().container_id(), "container_id", "wait on");
      }
      break;
    case Call::WAIT_NESTED_CONTAINER:
      if (!(e = need(c.has_wait_nested_container(), "wait_nested_container"))) {
        e = target(c.wait_nested_container().container_id(), "container_id", "wait on");
      }
      break;
    case Call::KILL_CONTAINER:
      if (!(e = need(c.has_kill_container(), "kill_container"))) e = kill(c.kill_container());
      break;
    case Call::KILL_NESTED_CONTAINER:
      if (!(e = need(c.has_kill_nested_container(), "kill_nested_container"))) e = kill(c.kill_nested_container());
      break;
    case Call::REMOVE_CONTAINER:
      if (!(e = need(c.has_remove_container(), "remove_container"))) {
        e = target(c.remove_container().container_id(), "container_id", "remove");
      }
      break;
    case Call::REMOVE_NESTED_CONTAINER:
      if (!(e = need(c.has_remove_nested_container(), "remove_nested_container"))) {
        e = target(c.remove_nested_container().container_id(), "container_id", "remove");
      }
      break;
    case Call::UPDATE_CONTAINER:
      if (!(e = need(c.has_update_container(), "update_container"))) {
        e = target(c.update_container().container_id(), "container_id", "update");
      }
      break;
    case Call::GET_CONTAINERS:
    case Call::SUBSCRIBE:  // authorizes its own filters (a container sees its subtree)
      break;
    case Call::LAUNCH_GROUP:
      if (!(e = need(c.has_launch_group(), "launch_group"))) {
        e = target(c.launch_group().parent(), "parent", "launch a task group under", true);
      }
      break;
    case Call::WAIT_GROUP:
      if (!(e = need(c.has_wait_group(), "wait_group"))) e = group(c.wait_group(), "wait on a task group under", false);
      break;
    case Call::KILL_GROUP:
      if (!(e = need(c.has_kill_group(), "kill_group"))) e = group(c.kill_group(), "kill a task group under", true);
      break;
    default:
      e = badRequest("unknown or unsupported call type " + std::to_string(c.type()) + " (" +
                     Call::Type_Name(c.type()) + ")");
  }
  if (e) return tl::make_unexpected(std::move(*e));
  return out;
}

HttpResult<v1::ContainerID> decodeInputHead(const Call& first) {
  if (first.type() != Call::ATTACH_CONTAINER_INPUT || !first.has_attach_container_input() ||
      first.attach_container_input().type() != Call::AttachContainerInput::CONTAINER_ID) {
    return tl::make_unexpected(badRequest("a streamed request must be ATTACH_CONTAINER_INPUT whose first record "
                                          "has type CONTAINER_ID"));
  }
  return idOf(first.attach_container_input().container_id(), "container_id");
}

HttpResult<ProcessIO> decodeInputBody(const Call& call) {
  if (call.type() != Call::ATTACH_CONTAINER_INPUT ||
      call.attach_container_input().type() != Call::AttachContainerInput::PROCESS_IO) {
    return tl::make_unexpected(badRequest("every record after the first must be ATTACH_CONTAINER_INPUT with "
                                          "PROCESS_IO"));
  }
  const auto& m = call.attach_container_input().process_io();
  if (m.type() == ProcessIO::DATA && m.data().type() != ProcessIO::Data::STDIN) {
    return tl::make_unexpected(badRequest("input records carry STDIN data only"));
  }
  return m;
}

}  // namespace warren::daemon
