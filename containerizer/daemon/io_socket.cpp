#include "io_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "warren/sdk/socket.hpp"

namespace warren::daemon {
namespace {

bool readFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool sendFrame(int fd, char type, const std::string& payload) {
  std::string f(1, type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  f += payload;
  return net::sendAll(fd, f);
}

}  // namespace

std::string ioSocketPath(const std::string& runtime_dir, const std::string& container_id) {
  std::string p = runtime_dir + "/containers";
  size_t start = 0;
  bool first = true;
  while (start <= container_id.size()) {
    size_t dot = container_id.find('.', start);
    if (dot == std::string::npos) dot = container_id.size();
    if (!first) p += "/containers";
    p += "/" + container_id.substr(start, dot - start);
    first = false;
    start = dot + 1;
  }
  return p + "/io.sock";
}

IoAttach ioAttach(const std::string& socket_path, char mode, int* out, std::string* error) {
  *out = -1;
  // Through an fd of its directory: any depth of nesting fits sun_path.
  std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  int dfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    *error = "no I/O socket (" + dir + ": " + std::strerror(errno) + ")";
    return IoAttach::kNoSocket;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = "/proc/self/fd/" + std::to_string(dfd) + "/io.sock";
  std::strncpy(addr.sun_path, p.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::close(dfd);
    *error = std::string("socket: ") + std::strerror(errno);
    return IoAttach::kFailed;
  }
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  ::close(dfd);
  if (rc != 0) {
    ::close(fd);
    *error = std::string("its I/O socket does not answer (") + std::strerror(e) + ")";
    return (e == ENOENT || e == ECONNREFUSED) ? IoAttach::kNoSocket : IoAttach::kFailed;
  }
  char reply = 0;
  if (!net::sendAll(fd, std::string_view(&mode, 1)) || !readFull(fd, &reply, 1)) {
    ::close(fd);
    *error = "its I/O socket closed (the container is ending)";
    return IoAttach::kNoSocket;
  }
  if (reply != 'K') {
    ::close(fd);
    *error = reply == 'B' ? "another client is attached to its input" : "it has no stdin (launch it with open_stdin or tty)";
    return reply == 'B' ? IoAttach::kBusy : IoAttach::kNoStdin;
  }
  *out = fd;
  return IoAttach::kAccepted;
}

bool ioReadFrame(int fd, int* stream, std::string* data) {
  char h[5];
  if (!readFull(fd, h, 5)) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(h[1 + i])) << (8 * i);
  if (n > (64u << 20)) return false;
  *stream = h[0];
  data->resize(n);
  return n == 0 || readFull(fd, data->data(), n);
}

bool ioSendData(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size(); off += 65536) {
    if (!sendFrame(fd, 'D', data.substr(off, 65536))) return false;
  }
  return true;
}

bool ioSendEof(int fd) { return sendFrame(fd, 'E', ""); }

bool ioSendWindow(int fd, uint16_t rows, uint16_t cols) {
  std::string p;
  p.push_back(static_cast<char>(rows & 0xff));
  p.push_back(static_cast<char>(rows >> 8));
  p.push_back(static_cast<char>(cols & 0xff));
  p.push_back(static_cast<char>(cols >> 8));
  return sendFrame(fd, 'W', p);
}

}  // namespace warren::daemon
