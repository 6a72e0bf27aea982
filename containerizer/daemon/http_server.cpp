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

bool isRecordIo(const std::string& content_type) {
  std::string m = content_type.substr(0, content_type.find(';'));
  for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!m.empty() && m.back() == ' ') m.pop_back();
  return m == "application/recordio";
}

// A chunked request body, split into RecordIO records as they arrive.
class RecordReader {
 public:
  // chunked, or else a body of `length` bytes (Content-Length).
  RecordReader(int fd, std::string pending, const std::atomic<bool>& stopping, bool chunked, uint64_t length)
      : fd_(fd), raw_(std::move(pending)), stopping_(stopping), chunked_(chunked), left_(length) {}

  bool next(std::string* record) {
    while (true) {
      auto eol = data_.find('\n');
      if (eol != std::string::npos) {
        if (eol > 20) return false;
        size_t n = std::strtoull(data_.substr(0, eol).c_str(), nullptr, 10);
        if (n > kMaxRecord) return false;
        if (data_.size() >= eol + 1 + n) {
          *record = data_.substr(eol + 1, n);
          data_.erase(0, eol + 1 + n);
          return true;
        }
      }
      if (!more()) return false;
    }
  }

 private:
  static constexpr size_t kMaxRecord = 4u << 20;

  // De-chunks what is buffered, reading more when needed; false at the end.
  bool more() {
    while (!chunked_ && !ended_) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(left_, raw_.size()));
      data_.append(raw_, 0, take);
      raw_.erase(0, take);
      left_ -= take;
      if (left_ == 0) ended_ = true;
      if (take > 0) return true;
      if (!readMore()) return false;
    }
    while (!ended_) {
      auto eol = raw_.find("\r\n");
      if (eol != std::string::npos) {
        size_t n = std::strtoull(raw_.substr(0, eol).c_str(), nullptr, 16);
        if (n == 0) {
          ended_ = true;
          return false;
        }
        if (n > kMaxRecord + 32) return false;
        if (raw_.size() >= eol + 2 + n + 2) {
          data_.append(raw_, eol + 2, n);
          raw_.erase(0, eol + 2 + n + 2);
          return true;
        }
      } else if (raw_.size() > 64) {
        return false;  // no chunk size line
      }
      if (!readMore()) return false;
    }
    return false;
  }

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
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string raw_, data_;
  const std::atomic<bool>& stopping_;
  bool chunked_;
  uint64_t left_;
  bool ended_ = false;
};

}  // namespace

void HttpServer::serveInputStream(int fd, const http::request_header<>& hdr, std::string pending,
                                  uint64_t accepted_ticks) {
  Reply reply;
  if (hdr.method() != http::verb::post || hdr.target() != "/api/v1") {
    reply = errorReply(404, "a streamed request goes to POST /api/v1");
  } else {
    auto caller = identify(fd, accepted_ticks, sup_);
    if (!caller) {
      reply = errorReply(403, caller.error().message());
    } else {
      std::string te(hdr[http::field::transfer_encoding]);
      for (auto& ch : te) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      uint64_t length = 0;
      std::string cl(hdr[http::field::content_length]);
      if (!cl.empty()) length = std::strtoull(cl.c_str(), nullptr, 10);
      RecordReader reader(fd, std::move(pending), stopping_, te.find("chunked") != std::string::npos, length);
      Request req;
      req.content_type = "application/recordio";
      req.accept = std::string(hdr[http::field::accept]);
      req.message_content_type = std::string(hdr["Message-Content-Type"]);
      req.caller = &*caller;
      req.client_gone = [fd] { return clientGone(fd); };
      req.fd = fd;
      req.next_record = [&reader](std::string* r) { return reader.next(r); };
      reply = api_.handleInputStream(req);
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
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(opts_.max_body_bytes);
    boost::beast::error_code ec;
    auto feed = [&](Clock::time_point deadline) -> int {  // 1 progress, 0 closed, -1 error
      if (!pending.empty()) {
        size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
        pending.erase(0, used);
        if (!ec) return 1;
        if (ec != http::error::need_more) return -1;
        ec = {};
        if (used > 0) return 1;
      }
      ssize_t n = readSome(fd, buf, sizeof buf, deadline);
      if (n <= 0) return n == 0 ? 0 : -1;
      pending.append(buf, static_cast<size_t>(n));
      return 1;
    };
    // 413 from the header alone; what the client still sends is discarded
    // (never kept) for a moment so that it can read the answer.
    auto refuse = [&](const std::string& size) {
      log_->warn("refused a request body of {} (limit {} bytes)", size, opts_.max_body_bytes);
      (void)net::sendAllBefore(fd,
                          render(errorReply(413, "request body of " + size + " is over the limit of " +
                                                     std::to_string(opts_.max_body_bytes) + " bytes"),
                                 false),
                          std::chrono::seconds(1));
      ::shutdown(fd, SHUT_WR);
      auto end = Clock::now() + std::chrono::seconds(2);
      while (readSome(fd, buf, sizeof buf, end) > 0) {
      }
    };
    auto header_deadline = Clock::now() + opts_.header_timeout;
    while (!parser.is_header_done()) {
      int r = feed(header_deadline);
      if (r == 0) return;
      if (r < 0) {
        if (ec == http::error::body_limit) {
          auto cl = parser.content_length();
          return refuse(cl ? std::to_string(*cl) + " bytes" : std::string("unknown size"));
        }
        if (ec && ec != http::error::need_more) {
          (void)net::sendAllBefore(fd, render(errorReply(400, "malformed HTTP request: " + ec.message()), false),
                              std::chrono::seconds(1));
        }
        return;  // timeout or broken client: drop it
      }
    }
    auto& hdr = parser.get();
    if (isRecordIo(std::string(hdr[http::field::content_type]))) {
      return serveInputStream(fd, hdr, pending, accepted_ticks);
    }
    auto cl = parser.content_length();
    bool too_big = cl && *cl > opts_.max_body_bytes;
    if (too_big) return refuse(std::to_string(*cl) + " bytes");
    if (hdr[http::field::expect] == "100-continue") {
      (void)net::sendAllBefore(fd, "HTTP/1.1 100 Continue\r\n\r\n", std::chrono::seconds(1));
    }
    auto body_deadline = Clock::now() + opts_.body_timeout;
    while (!parser.is_done()) {
      int r = feed(body_deadline);
      if (r == 0) return;
      if (r < 0) {
        if (ec == http::error::body_limit) {
          (void)net::sendAllBefore(fd, render(errorReply(413, "request body is over the limit of " +
                                                             std::to_string(opts_.max_body_bytes) + " bytes"),
                                         false),
                              std::chrono::seconds(1));
        } else if (ec) {
          (void)net::sendAllBefore(fd, render(errorReply(400, "malformed HTTP request: " + ec.message()), false),
                              std::chrono::seconds(1));
        }
        return;
      }
    }
    auto& msg = parser.get();
    bool keep = msg.keep_alive();
    Reply reply;
    if (msg.method() != http::verb::post) {
      reply = errorReply(405, "method " + std::string(msg.method_string()) + " not allowed (POST /api/v1)");
    } else if (msg.target() != "/api/v1") {
      reply = errorReply(404, "unknown path '" + std::string(msg.target()) + "' (POST /api/v1)");
    } else {
      auto caller = identify(fd, accepted_ticks, sup_);
      if (!caller) {
        reply = errorReply(403, caller.error().message());
      } else {
        Request req;
        req.content_type = std::string(msg[http::field::content_type]);
        req.accept = std::string(msg[http::field::accept]);
        req.body = std::move(msg.body());
        req.caller = &*caller;
        req.client_gone = [fd] { return clientGone(fd); };
        req.fd = fd;
        req.message_accept = std::string(msg["Message-Accept"]);
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
