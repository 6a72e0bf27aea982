#include "stream_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "warren/sdk/socket.hpp"

namespace warren::daemon {
namespace {

using Clock = std::chrono::steady_clock;

int connectUnix(const std::string& path, std::string* err) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *err = "socket path '" + path + "' is too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *err = "connect '" + path + "': " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

// Reads more into s.raw; false on EOF/error/timeout.
bool readMore(AgentStream& s, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  pollfd p{s.fd, POLLIN, 0};
  int r = ::poll(&p, 1, left < 0 ? 0 : static_cast<int>(left));
  if (r == 0) {
    s.error = "timeout";
    return false;
  }
  char buf[65536];
  ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
  if (n <= 0) {
    s.ended = true;
    return false;
  }
  s.raw.append(buf, static_cast<size_t>(n));
  return true;
}

std::string lower(std::string v) {
  for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return v;
}

// Parses the response header in s.raw; false until complete.
bool parseHeader(AgentStream& s) {
  auto end = s.raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string headers = s.raw.substr(0, end);
  s.raw.erase(0, end + 4);
  s.status = headers.rfind("HTTP/1.", 0) == 0 ? std::atoi(headers.c_str() + 9) : 0;
  size_t content_length = std::string::npos;
  for (size_t pos = headers.find("\r\n"); pos != std::string::npos; pos = headers.find("\r\n", pos + 2)) {
    std::string line = headers.substr(pos + 2, headers.find("\r\n", pos + 2) - pos - 2);
    std::string l = lower(line);
    auto value = [&](size_t n) {
      std::string v = line.substr(n);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      return v;
    };
    if (l.rfind("content-type:", 0) == 0) s.content_type = value(13);
    if (l.rfind("transfer-encoding:", 0) == 0 && lower(value(18)) == "chunked") s.chunked = true;
    if (l.rfind("content-length:", 0) == 0) content_length = std::strtoul(value(15).c_str(), nullptr, 10);
  }
  if (s.status != 200 || !s.chunked) {
    // A plain answer: read it whole.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while ((content_length == std::string::npos || s.raw.size() < content_length) && readMore(s, deadline)) {
    }
    s.body = content_length == std::string::npos ? s.raw : s.raw.substr(0, content_length);
    s.raw.clear();
    s.ended = true;
  }
  return true;
}

// Moves complete chunks from raw to records; false on a malformed chunk.
bool dechunk(AgentStream& s) {
  while (true) {
    auto eol = s.raw.find("\r\n");
    if (eol == std::string::npos) return true;
    size_t n = std::strtoul(s.raw.substr(0, eol).c_str(), nullptr, 16);
    if (n == 0) {
      s.ended = true;
      s.raw.clear();
      return true;
    }
    if (s.raw.size() < eol + 2 + n + 2) return true;
    s.records.append(s.raw, eol + 2, n);
    s.raw.erase(0, eol + 2 + n + 2);
  }
}

}  // namespace

AgentStream openOutputStream(const std::string& socket_path, const std::string& call_json,
                             std::chrono::milliseconds header_timeout) {
  AgentStream s;
  s.fd = connectUnix(socket_path, &s.error);
  if (s.fd < 0) return s;
  std::string req = "POST /api/v1 HTTP/1.1\r\nHost: warrend\r\nContent-Type: application/json\r\n"
                    "Accept: application/recordio\r\nMessage-Accept: application/json\r\nContent-Length: " +
                    std::to_string(call_json.size()) + "\r\n\r\n" + call_json;
  if (!net::sendAll(s.fd, req)) {
    s.error = "send: " + std::string(std::strerror(errno));
    closeStream(s);
    return s;
  }
  auto deadline = Clock::now() + header_timeout;
  while (!parseHeader(s)) {
    if (!readMore(s, deadline)) {
      if (s.error.empty()) s.error = "no answer";
      closeStream(s);
      return s;
    }
  }
  if (s.ended) closeStream(s);
  return s;
}

bool nextRecord(AgentStream& s, std::string* record, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (!dechunk(s)) return false;
    auto eol = s.records.find('\n');
    if (eol != std::string::npos) {
      size_t n = std::strtoul(s.records.substr(0, eol).c_str(), nullptr, 10);
      if (s.records.size() >= eol + 1 + n) {
        *record = s.records.substr(eol + 1, n);
        s.records.erase(0, eol + 1 + n);
        return true;
      }
    }
    if (s.ended || s.fd < 0) return false;
    s.error.clear();
    if (!readMore(s, deadline)) return false;
  }
}

AgentStream openInputStream(const std::string& socket_path) {
  AgentStream s;
  s.fd = connectUnix(socket_path, &s.error);
  if (s.fd < 0) return s;
  std::string req = "POST /api/v1 HTTP/1.1\r\nHost: warrend\r\nContent-Type: application/recordio\r\n"
                    "Message-Content-Type: application/json\r\nAccept: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
  if (!net::sendAll(s.fd, req)) {
    s.error = "send: " + std::string(std::strerror(errno));
    closeStream(s);
  }
  return s;
}

bool sendRecord(AgentStream& s, const std::string& record_json) {
  if (s.fd < 0) return false;
  std::string rec = std::to_string(record_json.size()) + "\n" + record_json;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx\r\n", rec.size());
  return net::sendAll(s.fd, hex + rec + "\r\n");
}

bool finishInput(AgentStream& s, std::chrono::milliseconds timeout) {
  if (s.fd < 0) return false;
  (void)net::sendAll(s.fd, "0\r\n\r\n");
  auto deadline = Clock::now() + timeout;
  while (!parseHeader(s)) {
    if (!readMore(s, deadline)) {
      closeStream(s);
      return false;
    }
  }
  closeStream(s);
  return true;
}

void closeStream(AgentStream& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
}

}  // namespace warren::daemon
