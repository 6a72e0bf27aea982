#include "client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace warren::daemon {

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(const std::string& path, std::string& err) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    err = "socket path '" + path + "' is too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = "connect '" + path + "': " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

int msLeft(Clock::time_point deadline) {
  auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return l < 0 ? 0 : static_cast<int>(std::min<long long>(l, 1 << 30));
}

}  // namespace

ClientReply callAgent(const std::string& socket_path, const std::string& body,
                      std::chrono::milliseconds timeout, const std::string& content_type,
                      const std::string& accept) {
  ClientReply out;
  int fd = connectTo(socket_path, out.error);
  if (fd < 0) return out;
  auto deadline = Clock::now() + timeout;
  std::string req = "POST /api/v1 HTTP/1.1\r\nHost: warrend\r\nConnection: close\r\nContent-Type: " +
                    content_type + "\r\nAccept: " + accept + "\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, msLeft(deadline)) <= 0) break;
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer early (413) and stop reading
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, msLeft(deadline));
    if (r <= 0) {
      if (resp.empty()) out.error = "no answer within the timeout";
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto hdr_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || hdr_end == std::string::npos) {
    if (out.error.empty()) out.error = "no HTTP answer";
    return out;
  }
  out.status = std::atoi(resp.c_str() + 9);
  std::string headers = resp.substr(0, hdr_end);
  for (size_t pos = headers.find("\r\n"); pos != std::string::npos; pos = headers.find("\r\n", pos + 2)) {
    std::string line = headers.substr(pos + 2, headers.find("\r\n", pos + 2) - pos - 2);
    std::string lower = line;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.rfind("content-type:", 0) == 0) {
      out.content_type = line.substr(13);
      while (!out.content_type.empty() && out.content_type[0] == ' ') out.content_type.erase(0, 1);
    }
  }
  out.body = resp.substr(hdr_end + 4);
  return out;
}

std::vector<ClientReply> callAgentPipelined(const std::string& socket_path, const std::vector<std::string>& bodies,
                                            std::chrono::milliseconds timeout) {
  std::vector<ClientReply> out(bodies.size());
  if (bodies.empty()) return out;
  std::string err;
  int fd = connectTo(socket_path, err);
  if (fd < 0) {
    for (auto& r : out) r.error = err;
    return out;
  }
  auto deadline = Clock::now() + timeout;
  // Every request at once, in order; the server answers them in order on
  // this connection (HTTP/1.1 pipelining). The last one closes it.
  std::string req;
  for (size_t i = 0; i < bodies.size(); ++i) {
    req += "POST /api/v1 HTTP/1.1\r\nHost: warrend\r\nConnection: " +
           std::string(i + 1 == bodies.size() ? "close" : "keep-alive") +
           "\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: " +
           std::to_string(bodies[i].size()) + "\r\n\r\n" + bodies[i];
  }
  size_t off = 0;
  while (off < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, msLeft(deadline)) <= 0) break;
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string resp;
  size_t next = 0;  // the answer being read
  char buf[65536];
  bool eof = false;
  while (next < bodies.size()) {
    // One whole answer in `resp`? (warrend always sends Content-Length.)
    auto hdr_end = resp.find("\r\n\r\n");
    if (hdr_end != std::string::npos) {
      ClientReply& r = out[next];
      if (resp.rfind("HTTP/1.", 0) != 0) {
        r.error = "no HTTP answer";
        break;
      }
      std::string headers = resp.substr(0, hdr_end);
      size_t length = 0;
      for (size_t pos = headers.find("\r\n"); pos != std::string::npos; pos = headers.find("\r\n", pos + 2)) {
        std::string line = headers.substr(pos + 2, headers.find("\r\n", pos + 2) - pos - 2);
        std::string lower = line;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        auto value = [&](size_t from) {
          std::string v = line.substr(from);
          while (!v.empty() && v[0] == ' ') v.erase(0, 1);
          return v;
        };
        if (lower.rfind("content-type:", 0) == 0) r.content_type = value(13);
        if (lower.rfind("content-length:", 0) == 0) length = std::strtoull(value(15).c_str(), nullptr, 10);
      }
      if (resp.size() >= hdr_end + 4 + length) {
        r.status = std::atoi(resp.c_str() + 9);
        r.body = resp.substr(hdr_end + 4, length);
        resp.erase(0, hdr_end + 4 + length);
        ++next;
        continue;
      }
    }
    if (eof) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, msLeft(deadline)) <= 0) {
      out[next].error = "no answer within the timeout";
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      eof = true;
      continue;
    }
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  for (size_t i = next; i < out.size(); ++i) {
    if (out[i].error.empty()) out[i].error = "connection closed before this answer";
  }
  return out;
}

bool daemonAnswers(const std::string& socket_path) {
  std::string err;
  int fd = connectTo(socket_path, err);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace warren::daemon
