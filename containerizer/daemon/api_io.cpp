// The streaming calls (issue #15): ATTACH_CONTAINER_OUTPUT,
// ATTACH_CONTAINER_INPUT and LAUNCH_NESTED_CONTAINER_SESSION. warrend is a
// client of each container's I/O socket (served by its warren-init), so a
// restart of warrend never cuts a container's output: the logs go on being
// written and a new attach after the restart works.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <google/protobuf/util/json_util.h>

#include "api.hpp"
#include "api_decode.hpp"
#include "io_socket.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/socket.hpp"

namespace warren::daemon {

namespace {

using agent::v1::ProcessIO;

bool wantsProtobufMessages(const std::string& accept) {
  return accept.find("application/x-protobuf") != std::string::npos &&
         accept.find("application/json") == std::string::npos;
}

std::string encode(const ProcessIO& m, bool protobuf) {
  std::string out;
  if (protobuf) {
    m.SerializeToString(&out);
    return out;
  }
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

bool clientClosed(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  // A client has nothing to send on an output stream: discard it.
  char buf[4096];
  (void)::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return false;
}

Result<int> attachIo(const std::string& runtime_dir, const v1::ContainerID& id, char mode) {
  int fd = -1;
  std::string why;
  std::string cid = formatId(id);
  switch (ioAttach(ioSocketPath(runtime_dir, cid), mode, &fd, &why)) {
    case IoAttach::kAccepted: return fd;
    case IoAttach::kBusy: return fail(Code::AlreadyExists, "container '" + cid + "': " + why);
    case IoAttach::kNoStdin: return fail(Code::InvalidArgument, "container '" + cid + "': " + why);
    case IoAttach::kNoSocket:
      return fail(Code::FailedPrecondition, "container '" + cid + "' has no live I/O: " + why +
                                                 " (it ended, or its stdio is inherited)");
    default: return fail(Code::Internal, "container '" + cid + "': " + why);
  }
}

}  // namespace

bool writeRecord(int fd, const std::string& message) {
  std::string rec = std::to_string(message.size()) + "\n" + message;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx\r\n", rec.size());
  return net::sendAllBefore(fd, hex + rec + "\r\n", std::chrono::seconds(10));
}

bool Api::pumpOutput(int io_fd, int client_fd, bool protobuf) {
  while (true) {
    pollfd p[2] = {{io_fd, POLLIN, 0}, {client_fd, POLLIN | POLLRDHUP, 0}};
    if (::poll(p, 2, 1000) < 0 && errno != EINTR) return false;
    if (p[1].revents && clientClosed(client_fd)) return false;
    if (!p[0].revents) continue;
    int stream = 0;
    std::string data;
    if (!ioReadFrame(io_fd, &stream, &data)) return true;  // the container's output ended
    ProcessIO m;
    m.set_type(ProcessIO::DATA);
    m.mutable_data()->set_type(stream == 2 ? ProcessIO::Data::STDERR : ProcessIO::Data::STDOUT);
    m.mutable_data()->set_data(std::move(data));
    // A client that does not take a record within 10 s is dropped; the
    // container's logs never are (warren-init writes them itself).
    if (!writeRecord(client_fd, encode(m, protobuf))) return false;
  }
}

Reply Api::attachOutput(const Request& req, const v1::ContainerID& id) {
  auto st = c_.status(id);
  if (!st) return fromError(st.error());
  auto fd = attachIo(runtime_dir_, id, 'O');
  if (!fd) return fromError(fd.error());
  bool pb = wantsProtobufMessages(req.message_accept);
  log_->info("container_id={} output attached by {}", formatId(id), req.caller->describe());
  Reply r;
  r.content_type = pb ? "application/x-protobuf" : "application/json";
  int io = *fd;
  r.stream = [this, io, pb](int client) {
    (void)pumpOutput(io, client, pb);
    ::close(io);
  };
  return r;
}

Reply Api::launchSession(const Request& req, const v1::ContainerID& id, v1::ContainerConfig config) {
  // As in Mesos: a session is a DEBUG container unless the warren config
  // asks for another class; its stdin is open for ATTACH_CONTAINER_INPUT.
  if (config.container_class() == v1::CONTAINER_CLASS_UNSPECIFIED) config.set_container_class(v1::DEBUG);
  config.set_open_stdin(true);
  Reply launched = launchConfig(req, id, config);
  if (launched.status == 202) {
    return errorReply(409, "container '" + formatId(id) + "' already exists: a session launches a new one");
  }
  if (launched.status != 200) return launched;
  auto fd = attachIo(runtime_dir_, id, 'O');
  if (!fd) {
    (void)c_.kill(id, SIGKILL);
    (void)sup_.await(id, [] { return false; });
    (void)c_.destroy(id);
    sup_.refresh();
    return fromError(fd.error());
  }
  bool pb = wantsProtobufMessages(req.message_accept);
  std::string who = req.caller->describe();
  Reply r;
  r.content_type = pb ? "application/x-protobuf" : "application/json";
  int io = *fd;
  r.stream = [this, io, pb, id, who](int client) {
    bool ended = pumpOutput(io, client, pb);
    ::close(io);
    if (ended) return;  // it ended by itself: its record stays for WAIT/REMOVE
    // The client went away: the session goes with it.
    std::string cid = formatId(id);
    (void)c_.kill(id, SIGKILL);
    (void)sup_.await(id, [] { return false; });
    auto t = c_.destroy(id);
    sup_.refresh();
    log_->info("container_id={} session of {} closed: killed and removed{}", cid, who,
               t ? "" : " (" + t.error().message() + ")");
  };
  return r;
}

Reply Api::handleInputStream(const Request& req) {
  if (!ready_) return errorReply(503, "warrend is recovering; try again shortly");
  const Caller& who = *req.caller;
  if (!who.host_root && !who.container) {
    return errorReply(403, who.describe() + " may not call: only the host's root or a container's own processes may");
  }
  std::string rec;
  if (!req.next_record(&rec)) return errorReply(400, "ATTACH_CONTAINER_INPUT: the stream has no first record");
  auto first = decodeRecord(req.message_content_type, rec);
  if (!first) return errorReply(first.error().status, first.error().message);
  auto id = decodeInputHead(*first);
  if (!id) return errorReply(id.error().status, id.error().message);
  auto ok = authorize(who, *id, "attach to");
  if (!ok) return fromError(ok.error());
  return attachInput(req, *id);
}

Reply Api::attachInput(const Request& req, const v1::ContainerID& id) {
  auto st = c_.status(id);
  if (!st) return fromError(st.error());
  auto fd = attachIo(runtime_dir_, id, 'I');
  if (!fd) return fromError(fd.error());
  int io = *fd;
  log_->info("container_id={} input attached by {}", formatId(id), req.caller->describe());
  std::string rec;
  Reply out{200, "", ""};
  bool alive = true;
  while (req.next_record(&rec)) {
    auto m = decodeRecord(req.message_content_type, rec).and_then(
        [](const Call& call) { return decodeInputBody(call); });
    if (!m) {
      out = errorReply(m.error().status, m.error().message);
      break;
    }
    if (!alive) continue;  // the container's input is gone: the rest is read and dropped
    if (m->type() == ProcessIO::DATA) {
      alive = m->data().data().empty() ? ioSendEof(io) : ioSendData(io, m->data().data());
    } else if (m->type() == ProcessIO::CONTROL && m->control().type() == ProcessIO::Control::TTY_INFO) {
      const auto& w = m->control().tty_info().window_size();
      alive = ioSendWindow(io, static_cast<uint16_t>(std::min<uint32_t>(w.rows(), 65535)),
                           static_cast<uint16_t>(std::min<uint32_t>(w.columns(), 65535)));
    }  // HEARTBEAT and the rest: nothing to do
  }
  ::close(io);
  return out;
}

}  // namespace warren::daemon
