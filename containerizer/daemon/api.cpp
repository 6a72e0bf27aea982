#include "api.hpp"

#include <signal.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "api_decode.hpp"
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

}  // namespace

Reply errorReply(int status, const std::string& message) {
  std::string one = message;
  for (auto& ch : one) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return {status, "application/json", "{\"error\":\"" + jsonEscape(one) + "\"}\n"};
}

Reply Api::fromError(const Error& e) { return errorReply(httpStatus(e.code()), e.message()); }

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
  auto call = decodeCall(req.content_type, req.body);
  if (!call) return errorReply(call.error().status, call.error().message);
  const Caller& who = *req.caller;
  if (!who.host_root && !who.container) {
    return errorReply(403, who.describe() +
                               " may not call: only the host's root or a container's own processes may");
  }
  auto api = decodeApiCall(std::move(*call), agent_dir_);
  if (!api) return errorReply(api.error().status, api.error().message);
  if (api->target) {
    auto ok = api->group ? authorizeParent(who, *api->target, api->verb) : authorize(who, *api->target, api->verb);
    if (!ok) return fromError(ok.error());
  }
  const Call& c = api->call;
  switch (c.type()) {
    case Call::LAUNCH_CONTAINER:
    case Call::LAUNCH_NESTED_CONTAINER:
      return launchConfig(req, *api->target, *api->config);
    case Call::LAUNCH_NESTED_CONTAINER_SESSION:
      return launchSession(req, *api->target, std::move(*api->config));
    case Call::ATTACH_CONTAINER_OUTPUT:
      return attachOutput(req, *api->target);
    case Call::WAIT_CONTAINER:
    case Call::WAIT_NESTED_CONTAINER:
      return wait(req, *api->target, c.type() == Call::WAIT_NESTED_CONTAINER);
    case Call::KILL_CONTAINER:
    case Call::KILL_NESTED_CONTAINER:
      return kill(req, *api->target, api->signal, api->forwarded);
    case Call::REMOVE_CONTAINER:
    case Call::REMOVE_NESTED_CONTAINER:
      return remove(req, *api->target);
    case Call::UPDATE_CONTAINER:
      return update(req, *api->target, c.update_container());
    case Call::GET_CONTAINERS:
      return getContainers(req, c.get_containers());
    case Call::LAUNCH_GROUP:
      return launchGroup(req, *api->target, c.launch_group());
    case Call::WAIT_GROUP:
      return waitGroup(req, *api->target, c.wait_group());
    case Call::KILL_GROUP:
      return killGroup(req, *api->target, c.kill_group().name(), api->signal);
    case Call::SUBSCRIBE:
      return subscribe(req, c.subscribe());
    default:  // decodeApiCall refuses every other type
      return errorReply(500, "call type " + std::string(Call::Type_Name(c.type())) + " decoded but not handled");
  }
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
  // No listing first: a launch of an existing ID fails AlreadyExists before
  // it makes anything, and only then is the existing one compared.
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
  if (t) sup_.forget(id);
  sup_.refresh();
  if (!t && t.error().code() != Code::NotFound) return fromError(t.error());
  log_->info("container_id={} removed by {}", formatId(id), req.caller->describe());
  return {200, "", ""};
}

Reply Api::update(const Request&, const v1::ContainerID& id, const Call::UpdateContainer& u) {
  auto r = c_.update(id, u.limits());
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

Reply Api::launchGroup(const Request& req, const v1::ContainerID& parent, const Call::LaunchGroup& g) {
  auto st = c_.launchGroup(parent, g.task_group());
  sup_.refresh();
  if (!st) return fromError(st.error());
  Response r;
  r.set_type(Response::LAUNCH_GROUP);
  for (const auto& s : *st) {
    auto* m = r.mutable_launch_group()->add_members();
    *m->mutable_container_id() = toAgentId(s.id());
    *m->mutable_status() = s;
  }
  log_->info("task group '{}' under '{}' launched by {}", g.task_group().name(), formatId(parent),
             req.caller->describe());
  return respond(req, r);
}

Reply Api::waitGroup(const Request& req, const v1::ContainerID& parent, const Call::GroupRef& g) {
  auto all = c_.containers();
  if (!all) return fromError(all.error());
  std::vector<v1::ContainerID> members;
  for (const auto& ci : *all) {
    if (ci.checkpoint.group() == g.name() && hasParent(ci.id) &&
        formatId(parentOf(ci.id)) == formatId(parent)) {
      members.push_back(ci.id);
    }
  }
  if (members.empty()) {
    return errorReply(404, "unknown task group '" + g.name() + "' under '" + formatId(parent) + "'");
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

Reply Api::killGroup(const Request&, const v1::ContainerID& parent, const std::string& name, int signal) {
  auto r = c_.killGroup(parent, name, signal);
  if (!r) return fromError(r.error());
  return {200, "", ""};
}

}  // namespace warren::daemon
