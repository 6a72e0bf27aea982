#include "api.hpp"

#include <signal.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "warren/sdk/ids.hpp"

namespace warren::daemon {

namespace {

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += ch;
        }
    }
  }
  return o;
}

bool wantsProtobuf(const std::string& accept) {
  return accept.find("application/x-protobuf") != std::string::npos &&
         accept.find("application/json") == std::string::npos;
}

std::string mediaType(const std::string& ct) {
  std::string m = ct.substr(0, ct.find(';'));
  while (!m.empty() && m.back() == ' ') m.pop_back();
  for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return m;
}

}  // namespace

Reply errorReply(int status, const std::string& message) {
  std::string one = message;
  for (auto& ch : one) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return {status, "application/json", "{\"error\":\"" + jsonEscape(one) + "\"}\n"};
}

Reply Api::fromError(const Error& e) {
  int status = 500;
  switch (e.code()) {
    case Code::InvalidArgument: status = 400; break;
    case Code::NotFound: status = 404; break;
    case Code::AlreadyExists: status = 409; break;
    case Code::PermissionDenied: status = 403; break;
    case Code::FailedPrecondition: status = 409; break;
    case Code::Unavailable: status = 503; break;
    case Code::Unimplemented: status = 501; break;
    default: status = 500; break;
  }
  return errorReply(status, e.message());
}

Reply Api::respond(const Request& req, const Response& r) {
  if (wantsProtobuf(req.accept)) {
    std::string out;
    r.SerializeToString(&out);
    return {200, "application/x-protobuf", std::move(out)};
  }
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(r, &out, o);
  if (!st.ok()) return errorReply(500, "encoding the response: " + std::string(st.message()));
  return {200, "application/json", out + "\n"};
}

Reply Api::handle(const Request& req) {
  if (!ready_) return errorReply(503, "warrend is recovering; try again shortly");
  Call call;
  std::string media = mediaType(req.content_type);
  if (media == "application/x-protobuf") {
    if (!call.ParseFromString(req.body)) return errorReply(400, "malformed protobuf body: not an agent Call");
  } else if (media == "application/json" || media.empty()) {
    google::protobuf::util::JsonParseOptions o;
    o.ignore_unknown_fields = false;
    auto st = google::protobuf::util::JsonStringToMessage(req.body, &call, o);
    if (!st.ok()) return errorReply(400, "malformed JSON body: " + std::string(st.message()));
  } else {
    return errorReply(415, "unsupported Content-Type '" + req.content_type +
                               "' (application/json or application/x-protobuf)");
  }
  const Caller& who = *req.caller;
  if (!who.host_root && !who.container) {
    return errorReply(403, who.describe() +
                               " may not call: only the host's root or a container's own processes may");
  }
  auto need = [&](bool has, const char* field) -> std::optional<Reply> {
    if (has) return std::nullopt;
    return errorReply(400, std::string("call ") + Call::Type_Name(call.type()) + " needs '" + field + "'");
  };
  auto idOf = [&](const agent::v1::ContainerID& id, const char* field,
                  const char* what) -> Result<v1::ContainerID> {
    WARREN_ASSIGN_OR_RETURN(auto wid, fromAgentId(id, field));
    WARREN_TRY(authorize(who, wid, what));
    return wid;
  };
#define WARREN_API_ID(var, msg, what)                                        \
  auto var##_r = idOf((msg).container_id(), "container_id", what);           \
  if (!var##_r) return fromError(var##_r.error());                           \
  const v1::ContainerID& var = *var##_r;

  switch (call.type()) {
    case Call::LAUNCH_CONTAINER: {
      if (auto r = need(call.has_launch_container(), "launch_container")) return *r;
      const auto& m = call.launch_container();
      WARREN_API_ID(id, m, "launch");
      LaunchShape s;
      if (m.has_command()) s.command = &m.command();
      s.resources = &m.resources();
      if (m.has_container()) s.container = &m.container();
      if (m.has_warren()) s.warren = &m.warren();
      return launch(req, id, s);
    }
    case Call::LAUNCH_NESTED_CONTAINER: {
      if (auto r = need(call.has_launch_nested_container(), "launch_nested_container")) return *r;
      const auto& m = call.launch_nested_container();
      WARREN_API_ID(id, m, "launch");
      if (!hasParent(id)) return errorReply(400, "LAUNCH_NESTED_CONTAINER needs 'container_id.parent'");
      LaunchShape s;
      if (m.has_command()) s.command = &m.command();
      if (m.has_container()) s.container = &m.container();
      if (m.has_warren()) s.warren = &m.warren();
      return launch(req, id, s);
    }
    case Call::LAUNCH_NESTED_CONTAINER_SESSION: {
      if (auto r = need(call.has_launch_nested_container_session(), "launch_nested_container_session")) return *r;
      const auto& m = call.launch_nested_container_session();
      WARREN_API_ID(id, m, "launch");
      if (!hasParent(id)) {
        return errorReply(400, "LAUNCH_NESTED_CONTAINER_SESSION needs 'container_id.parent'");
      }
      LaunchShape s;
      if (m.has_command()) s.command = &m.command();
      if (m.has_container()) s.container = &m.container();
      if (m.has_warren()) s.warren = &m.warren();
      return launchSession(req, id, s);
    }
    case Call::ATTACH_CONTAINER_OUTPUT: {
      if (auto r = need(call.has_attach_container_output(), "attach_container_output")) return *r;
      WARREN_API_ID(id, call.attach_container_output(), "attach to");
      return attachOutput(req, id);
    }
    case Call::ATTACH_CONTAINER_INPUT:
      return errorReply(400, "ATTACH_CONTAINER_INPUT is a streamed request: send it with Content-Type "
                             "application/recordio (RecordIO records, chunked)");
    case Call::WAIT_CONTAINER: {
      if (auto r = need(call.has_wait_container(), "wait_container")) return *r;
      WARREN_API_ID(id, call.wait_container(), "wait on");
      return wait(req, id, false);
    }
    case Call::WAIT_NESTED_CONTAINER: {
      if (auto r = need(call.has_wait_nested_container(), "wait_nested_container")) return *r;
      WARREN_API_ID(id, call.wait_nested_container(), "wait on");
      return wait(req, id, true);
    }
    case Call::KILL_CONTAINER: {
      if (auto r = need(call.has_kill_container(), "kill_container")) return *r;
      WARREN_API_ID(id, call.kill_container(), "kill");
      const auto& m = call.kill_container();
      return kill(req, id, m.has_signal() ? m.signal() : SIGKILL, m.forwarded());
    }
    case Call::KILL_NESTED_CONTAINER: {
      if (auto r = need(call.has_kill_nested_container(), "kill_nested_container")) return *r;
      const auto& m = call.kill_nested_container();
      WARREN_API_ID(id, m, "kill");
      return kill(req, id, m.has_signal() ? m.signal() : SIGKILL, m.forwarded());
    }
    case Call::REMOVE_CONTAINER: {
      if (auto r = need(call.has_remove_container(), "remove_container")) return *r;
      WARREN_API_ID(id, call.remove_container(), "remove");
      return remove(req, id);
    }
    case Call::REMOVE_NESTED_CONTAINER: {
      if (auto r = need(call.has_remove_nested_container(), "remove_nested_container")) return *r;
      WARREN_API_ID(id, call.remove_nested_container(), "remove");
      return remove(req, id);
    }
    case Call::UPDATE_CONTAINER:
      if (auto r = need(call.has_update_container(), "update_container")) return *r;
      return update(req, call.update_container());
    case Call::GET_CONTAINERS:
      return getContainers(req, call.get_containers());
    case Call::LAUNCH_GROUP:
      if (auto r = need(call.has_launch_group(), "launch_group")) return *r;
      return launchGroup(req, call.launch_group());
    case Call::WAIT_GROUP:
      if (auto r = need(call.has_wait_group(), "wait_group")) return *r;
      return waitGroup(req, call.wait_group());
    case Call::KILL_GROUP:
      if (auto r = need(call.has_kill_group(), "kill_group")) return *r;
      return killGroup(req, call.kill_group());
    case Call::SUBSCRIBE:
      return subscribe(req, call.subscribe());
    default:
      return errorReply(400, "unknown or unsupported call type " + std::to_string(call.type()) + " (" +
                                 Call::Type_Name(call.type()) + ")");
  }
#undef WARREN_API_ID
}

Reply Api::launch(const Request& req, const v1::ContainerID& id, const LaunchShape& shape) {
  auto config = toConfig(shape, agent_dir_);
  if (!config) return fromError(config.error());
  return launchConfig(req, id, *config);
}

Reply Api::launchConfig(const Request& req, const v1::ContainerID& id, const v1::ContainerConfig& cfg) {
  const v1::ContainerConfig* config = &cfg;
  std::string cid = formatId(id);
  // Idempotent: the same ID with the same config is accepted again (202),
  // with another config it is a conflict (409).
  auto existing = [&]() -> std::optional<Reply> {
    auto all = c_.containers();
    if (!all) return fromError(all.error());
    for (const auto& ci : *all) {
      if (formatId(ci.id) != cid) continue;
      if (google::protobuf::util::MessageDifferencer::Equivalent(ci.checkpoint.config(), *config)) {
        return Reply{202, "", ""};
      }
      return errorReply(409, "container '" + cid + "' already exists with a different config");
    }
    return std::nullopt;
  };
  if (auto r = existing()) return *r;
  auto st = c_.launch(id, *config);
  sup_.refresh();
  if (!st) {
    if (st.error().code() == Code::AlreadyExists) {
      if (auto r = existing()) return *r;
    }
    log_->info("container_id={} launch refused for {}: {}", cid, req.caller->describe(),
               st.error().message());
    return fromError(st.error());
  }
  log_->info("container_id={} launched by {}", cid, req.caller->describe());
  return {200, "", ""};
}

Reply Api::wait(const Request& req, const v1::ContainerID& id, bool nested) {
  auto t = sup_.await(id, req.client_gone);
  if (!t) return fromError(t.error());
  Response r;
  r.set_type(nested ? Response::WAIT_NESTED_CONTAINER : Response::WAIT_CONTAINER);
  auto w = toWaitResult(*t);
  if (nested) *r.mutable_wait_nested_container() = w;
  else *r.mutable_wait_container() = w;
  return respond(req, r);
}

Reply Api::kill(const Request& req, const v1::ContainerID& id, int signal, bool forwarded) {
  if (signal <= 0 || signal >= 65) return errorReply(400, "invalid signal " + std::to_string(signal));
  auto st = c_.status(id);
  if (!st) return fromError(st.error());
  if (sup_.ended(id)) return {200, "", ""};  // already over: nothing to do
  auto r = forwarded ? c_.forwardSignal(id, signal) : c_.kill(id, signal);
  if (!r) {
    if (r.error().code() == Code::FailedPrecondition && st->state() == v1::TERMINATED) return {200, "", ""};
    return fromError(r.error());
  }
  log_->info("container_id={} sent signal {}{} by {}", formatId(id), signal, forwarded ? " (forwarded)" : "",
             req.caller->describe());
  return {200, "", ""};
}

Reply Api::remove(const Request& req, const v1::ContainerID& id) {
  auto st = c_.status(id);
  if (!st) {
    if (st.error().code() == Code::NotFound) return {200, "", ""};  // removing twice is fine
    return fromError(st.error());
  }
  if (!sup_.ended(id)) {
    // Maybe it ended a moment ago and the supervisor is finishing it.
    if (st->state() == v1::TERMINATED) {
      auto t = sup_.await(id, [] { return true; });
      (void)t;
    }
    if (!sup_.ended(id)) {
      return errorReply(400, "container '" + formatId(id) + "' is " + v1::State_Name(st->state()) +
                                 "; kill it and wait before removing it");
    }
  }
  auto t = c_.destroy(id);
  sup_.refresh();
  if (!t && t.error().code() != Code::NotFound) return fromError(t.error());
  log_->info("container_id={} removed by {}", formatId(id), req.caller->describe());
  return {200, "", ""};
}

Reply Api::update(const Request& req, const Call::UpdateContainer& u) {
  auto id = fromAgentId(u.container_id(), "container_id");
  if (!id) return fromError(id.error());
  auto ok = authorize(*req.caller, *id, "update");
  if (!ok) return fromError(ok.error());
  auto r = c_.update(*id, u.limits());
  if (!r) return fromError(r.error());
  return {200, "", ""};
}

Reply Api::getContainers(const Request& req, const Call::GetContainers& g) {
  auto all = c_.containers();
  if (!all) return fromError(all.error());
  Response r;
  r.set_type(Response::GET_CONTAINERS);
  (void)r.mutable_get_containers();
  const Caller& who = *req.caller;
  for (const auto& ci : *all) {
    if (hasParent(ci.id) && !g.show_nested()) continue;
    if (!who.host_root && !(who.container && isDescendant(ci.id, *who.container))) continue;
    auto* c = r.mutable_get_containers()->add_containers();
    *c->mutable_container_id() = toAgentId(ci.id);
    c->mutable_container_status()->set_executor_pid(ci.pid > 0 ? static_cast<uint32_t>(ci.pid) : 0);
    *c->mutable_container_status()->mutable_container_id() = toAgentId(ci.id);
    c->set_state(v1::State_Name(ci.state));
    if (ci.termination) *c->mutable_termination() = *ci.termination;
    if (ci.state == v1::RUNNING) {
      auto u = c_.usage(ci.id);
      if (u) *c->mutable_resource_statistics() = toAgentStats(*u);
      else log_->debug("container_id={} usage: {}", formatId(ci.id), u.error().message());
    }
  }
  return respond(req, r);
}

Reply Api::launchGroup(const Request& req, const Call::LaunchGroup& g) {
  auto parent = fromAgentId(g.parent(), "parent");
  if (!parent) return fromError(parent.error());
  auto ok = authorizeParent(*req.caller, *parent, "launch a task group under");
  if (!ok) return fromError(ok.error());
  auto st = c_.launchGroup(*parent, g.task_group());
  sup_.refresh();
  if (!st) return fromError(st.error());
  Response r;
  r.set_type(Response::LAUNCH_GROUP);
  for (const auto& s : *st) {
    auto* m = r.mutable_launch_group()->add_members();
    *m->mutable_container_id() = toAgentId(s.id());
    *m->mutable_status() = s;
  }
  log_->info("task group '{}' under '{}' launched by {}", g.task_group().name(), formatId(*parent),
             req.caller->describe());
  return respond(req, r);
}

Reply Api::waitGroup(const Request& req, const Call::GroupRef& g) {
  auto parent = fromAgentId(g.parent(), "parent");
  if (!parent) return fromError(parent.error());
  auto ok = authorizeParent(*req.caller, *parent, "wait on a task group under");
  if (!ok) return fromError(ok.error());
  auto all = c_.containers();
  if (!all) return fromError(all.error());
  std::vector<v1::ContainerID> members;
  for (const auto& ci : *all) {
    if (ci.checkpoint.group() == g.name() && hasParent(ci.id) &&
        formatId(parentOf(ci.id)) == formatId(*parent)) {
      members.push_back(ci.id);
    }
  }
  if (members.empty()) {
    return errorReply(404, "unknown task group '" + g.name() + "' under '" + formatId(*parent) + "'");
  }
  Response r;
  r.set_type(Response::WAIT_GROUP);
  for (const auto& id : members) {
    auto t = sup_.await(id, req.client_gone);
    if (!t) return fromError(t.error());
    auto* m = r.mutable_wait_group()->add_members();
    *m->mutable_container_id() = toAgentId(id);
    *m->mutable_termination() = toWaitResult(*t);
  }
  return respond(req, r);
}

Reply Api::killGroup(const Request& req, const Call::GroupRef& g) {
  auto parent = fromAgentId(g.parent(), "parent");
  if (!parent) return fromError(parent.error());
  auto ok = authorizeParent(*req.caller, *parent, "kill a task group under");
  if (!ok) return fromError(ok.error());
  int sig = g.has_signal() ? g.signal() : SIGKILL;
  if (sig <= 0 || sig >= 65) return errorReply(400, "invalid signal " + std::to_string(sig));
  auto r = c_.killGroup(*parent, g.name(), sig);
  if (!r) return fromError(r.error());
  return {200, "", ""};
}

}  // namespace warren::daemon
