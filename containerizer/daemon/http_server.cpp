#include "http_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include "client.hpp"
#include "http_request.hpp"
#include "warren/sdk/socket.hpp"

namespace warren::daemon {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

// Reads what is available before the deadline. 0: EOF, -1: error or timeout.
ssize_t readSome(int fd, char* buf, size_t len, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long>(left, 1000)));
    if (r < 0 && errno != EINTR) return -1;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, buf, len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return n;
  }
}

bool clientGone(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::string render(const Reply& r, bool keep_alive) {
  http::response<http::string_body> res;
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "warrend");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  return os.str();
}

// A streamed request body, read record by record as it arrives.
class RecordReader {
 public:
  RecordReader(int fd, std::string pending, const std::atomic<bool>& stopping, bool chunked, uint64_t length)
      : fd_(fd), stopping_(stopping), decoder_(chunked, length) {
    decoder_.append(pending);
  }

  bool next(std::string* record) {
    while (true) {
      auto step = decoder_.next(record);
      if (!step) {
        error_ = step.error();
        return false;
      }
      if (*step == RecordDecoder::Step::kRecord) return true;
      if (*step == RecordDecoder::Step::kEnd || !readMore()) return false;
    }
  }
  // Why the stream ended early, if it was malformed.
  const std::optional<HttpError>& error() const { return error_; }

 private:
  // An input stream may be idle for long (an interactive shell): wait, but
  // not past warrend's stop or the client's leaving.
  bool readMore() {
    char buf[65536];
    ssize_t n = -1;
    while (!stopping_) {
      n = readSome(fd_, buf, sizeof buf, Clock::now() + std::chrono::seconds(1));
      if (n >= 0 || clientGone(fd_)) break;
    }
    if (n <= 0) return false;
    decoder_.append(std::string_view(buf, static_cast<size_t>(n)));
    return true;
  }

  int fd_;
  const std::atomic<bool>& stopping_;
  RecordDecoder decoder_;
  std::optional<HttpError> error_;
};

}  // namespace

void HttpServer::serveInputStream(int fd, const HttpRequest& hdr, std::string pending, uint64_t accepted_ticks) {
  Reply reply;
  if (hdr.method != "POST" || hdr.target != "/api/v1") {
    reply = errorReply(404, "a streamed request goes to POST /api/v1");
  } else {
    auto caller = identify(fd, accepted_ticks, sup_);
    if (!caller) {
      reply = errorReply(403, caller.error().message());
    } else {
      RecordReader reader(fd, std::move(pending), stopping_, hdr.chunked, hdr.content_length.value_or(0));
      Request req;
      req.content_type = "application/recordio";
      req.accept = hdr.accept;
      req.message_content_type = hdr.message_content_type;
      req.caller = &*caller;
      req.client_gone = [fd] { return clientGone(fd); };
      req.fd = fd;
      req.next_record = [&reader](std::string* r) { return reader.next(r); };
      reply = api_.handleInputStream(req);
      // A malformed stream is the answer, whatever the call made of its end.
      if (reader.error() && reply.status < 400) reply = errorReply(reader.error()->status, reader.error()->message);
      if (reply.status >= 400) {
        log_->info("{} -> {}: {}", caller->describe(), reply.status, reply.body.substr(0, 300));
      }
    }
  }
  (void)net::sendAllBefore(fd, render(reply, false), std::chrono::seconds(5));
}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::listen(const std::string& path, mode_t mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return fail(Code::InvalidArgument, "socket path '" + path + "' is longer than " +
                                           std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Only an answer counts: a socket a dead warrend left can still accept
  // connections for a moment (a half-spawned child may hold it).
  if (callAgent(path, "{\"type\":\"GET_CONTAINERS\"}", std::chrono::seconds(1)).status != 0) {
    return fail(Code::AlreadyExists, "another warrend answers on '" + path + "'");
  }
  (void)::unlink(path.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return failErrno("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return failErrno("bind '" + path + "'");
  }
  if (::chmod(path.c_str(), mode) != 0) return failErrno("chmod '" + path + "'");
  if (::listen(fd.get(), 512) != 0) return failErrno("listen '" + path + "'");
  listeners_.emplace_back(path, std::move(fd));
  return {};
}

void HttpServer::start() {
  for (auto& [path, fd] : listeners_) {
    int lfd = fd.get();
    acceptors_.emplace_back([this, lfd] { acceptLoop(lfd); });
  }
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& [path, fd] : listeners_) {
    ::shutdown(fd.get(), SHUT_RDWR);
    (void)::unlink(path.c_str());
  }
  for (auto& t : acceptors_) {
    if (t.joinable()) t.join();
  }
}

void HttpServer::acceptLoop(int listen_fd) {
  while (!stopping_) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) continue;
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    UniqueFd conn(c);
    uint64_t ticks = bootTicksNow();
    if (connections_.fetch_add(1) >= opts_.max_connections) {
      connections_.fetch_sub(1);
      (void)net::sendAllBefore(conn.get(), render(errorReply(503, "too many connections"), false),
                          std::chrono::milliseconds(100));
      continue;
    }
    std::thread([this, conn = std::move(conn), ticks]() mutable {
      serve(std::move(conn), ticks);
      connections_.fetch_sub(1);
    }).detach();
  }
}

void HttpServer::serve(UniqueFd conn, uint64_t accepted_ticks) {
  int fd = conn.get();
  std::string pending;  // bytes read past the previous request
  char buf[16384];
  HttpLimits limits;
  limits.max_body_bytes = opts_.max_body_bytes;
  // Bytes until the framer has a header (or the whole request): 1, 0 when
  // the client closed or the deadline passed, -1 when the request is refused
  // (answered here).
  auto frame = [&](RequestFramer& framer, RequestFramer::Step until, Clock::time_point deadline) -> int {
    while (true) {
      auto step = framer.feed(&pending);
      if (!step) {
        const HttpError& e = step.error();
        if (e.status == 413) {
          // What the client still sends is discarded (never kept) for a
          // moment, so that it can read the answer.
          log_->warn("refused a request: {}", e.message);
          (void)net::sendAllBefore(fd, render(errorReply(413, e.message), false), std::chrono::seconds(1));
          ::shutdown(fd, SHUT_WR);
          auto end = Clock::now() + std::chrono::seconds(2);
          while (readSome(fd, buf, sizeof buf, end) > 0) {
          }
        } else {
          (void)net::sendAllBefore(fd, render(errorReply(e.status, e.message), false), std::chrono::seconds(1));
        }
        return -1;
      }
      if (*step == until || *step == RequestFramer::Step::kComplete) return 1;
      if (*step == RequestFramer::Step::kNeedMore) {
        ssize_t n = readSome(fd, buf, sizeof buf, deadline);
        if (n <= 0) return 0;  // closed, broken or too slow: drop it
        pending.append(buf, static_cast<size_t>(n));
      }
    }
  };
  while (!stopping_) {
    RequestFramer framer(limits);
    if (frame(framer, RequestFramer::Step::kHeader, Clock::now() + opts_.header_timeout) <= 0) return;
    HttpRequest& msg = framer.request();
    if (msg.record_io) return serveInputStream(fd, msg, std::move(pending), accepted_ticks);
    if (msg.expect_continue) (void)net::sendAllBefore(fd, "HTTP/1.1 100 Continue\r\n\r\n", std::chrono::seconds(1));
    if (frame(framer, RequestFramer::Step::kComplete, Clock::now() + opts_.body_timeout) <= 0) return;
    bool keep = msg.keep_alive;
    Reply reply;
    if (msg.method != "POST") {
      reply = errorReply(405, "method " + msg.method + " not allowed (POST /api/v1)");
    } else if (msg.target != "/api/v1") {
      reply = errorReply(404, "unknown path '" + msg.target + "' (POST /api/v1)");
    } else {
      auto caller = identify(fd, accepted_ticks, sup_);
      if (!caller) {
        reply = errorReply(403, caller.error().message());
      } else {
        Request req;
        req.content_type = msg.content_type;
        req.accept = msg.accept;
        req.body = std::move(msg.body);
        req.caller = &*caller;
        req.client_gone = [fd] { return clientGone(fd); };
        req.fd = fd;
        req.message_accept = msg.message_accept;
        reply = api_.handle(req);
        if (reply.stream) {
          // A streamed answer: RecordIO records in chunks until it ends.
          std::string head = "HTTP/1.1 200 OK\r\nServer: warrend\r\nContent-Type: application/recordio\r\n"
                             "Message-Content-Type: " + reply.content_type +
                             "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
          if (net::sendAllBefore(fd, head, opts_.body_timeout)) {
            reply.stream(fd);
            (void)net::sendAllBefore(fd, "0\r\n\r\n", std::chrono::seconds(1));
          }
          return;
        }
        if (reply.status >= 400) {
          log_->info("{} -> {}: {}", caller->describe(), reply.status, reply.body.substr(0, 300));
        }
      }
    }
    if (!net::sendAllBefore(fd, render(reply, keep), opts_.body_timeout)) return;
    if (!keep) return;
  }
}

}  // namespace warren::daemon
