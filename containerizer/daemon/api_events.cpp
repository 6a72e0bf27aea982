// SUBSCRIBE: the lifecycle event stream (warren extension, call 1004).
//
// The Mesos v1 agent API has no subscription (only the master's operator API
// has SUBSCRIBE), so this is warren's own call shaped like that one: a 200
// with Content-Type application/recordio, one `Event` per record (JSON, or
// protobuf by Message-Accept), SUBSCRIBED first, HEARTBEAT when nothing
// happened for the interval. Events come from the supervisor, which derives
// them from the records it keeps (the termination is the one every waiter
// gets). A container caller sees only its descendants.
#include <poll.h>
#include <sys/socket.h>

#include <google/protobuf/util/json_util.h>

#include "api.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::daemon {

namespace {

using agent::v1::Event;

bool peerClosed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) return true;
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);  // a subscriber sends nothing: discard
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

std::string encodeEvent(const Event& e, bool protobuf) {
  std::string out;
  if (protobuf) {
    e.SerializeToString(&out);
    return out;
  }
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(e, &out, o);
  return out;
}

}  // namespace

Reply Api::subscribe(const Request& req, const Call::Subscribe& sub) {
  const Caller& who = *req.caller;
  // Filters: named containers must be the caller's to see (403 otherwise).
  std::vector<std::string> ids;
  for (const auto& a : sub.container_ids()) {
    auto id = fromAgentId(a, "subscribe.container_ids");
    if (!id) return fromError(id.error());
    if (auto ok = authorize(who, *id, "watch"); !ok) return fromError(ok.error());
    ids.push_back(formatId(*id));
  }
  std::optional<v1::ContainerID> parent;
  if (sub.has_parent()) {
    auto p = fromAgentId(sub.parent(), "subscribe.parent");
    if (!p) return fromError(p.error());
    if (auto ok = authorizeParent(who, *p, "watch the containers under"); !ok) return fromError(ok.error());
    parent = *p;
  }
  auto beat = std::chrono::seconds(sub.heartbeat_interval_secs() ? sub.heartbeat_interval_secs() : 15);
  bool pb = req.message_accept.find("application/x-protobuf") != std::string::npos &&
            req.message_accept.find("application/json") == std::string::npos;
  bool pulls = sub.pull_progress();
  if (pulls && !who.host_root) return errorReply(403, who.describe() + " may not watch pulls: only the host's root may");
  auto visible = [who, ids, parent](const v1::ContainerID& id) {
    if (!who.host_root && !(who.container && isDescendant(id, *who.container))) return false;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), formatId(id)) == ids.end()) return false;
    if (parent && !isDescendant(id, *parent)) return false;
    return true;
  };
  // Subscribed before the answer starts: nothing after SUBSCRIBED is missed.
  auto s = sup_.subscribe();
  std::string caller = who.describe();
  log_->info("events subscriber {}", caller);
  Reply r(200, pb ? "application/x-protobuf" : "application/json", "");
  r.stream = [this, s, pb, beat, visible, caller, pulls](int fd) {
    Event hello;
    hello.set_type(Event::SUBSCRIBED);
    hello.set_timestamp(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    bool ok = writeRecord(fd, encodeEvent(hello, pb));
    auto last = std::chrono::steady_clock::now();
    while (ok) {
      auto e = s->next(std::chrono::milliseconds(250));
      if (!e) {
        if (s->closed()) {
          log_->info("events subscriber {} ended: {}", caller, s->closeReason());
          break;
        }
        if (peerClosed(fd)) break;
        if (std::chrono::steady_clock::now() - last >= beat) {
          Event hb;
          hb.set_type(Event::HEARTBEAT);
          ok = writeRecord(fd, encodeEvent(hb, pb));
          last = std::chrono::steady_clock::now();
        }
        continue;
      }
      if (e->type() == Event::PULL_PROGRESS) {
        if (!pulls) continue;
      } else {
        auto id = fromAgentId(e->container_id(), "container_id");
        if (!id || !visible(*id)) continue;
      }
      ok = writeRecord(fd, encodeEvent(*e, pb));
      last = std::chrono::steady_clock::now();
    }
    sup_.unsubscribe(s);
  };
  return r;
}

}  // namespace warren::daemon
