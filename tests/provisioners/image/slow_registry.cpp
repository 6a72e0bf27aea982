#include "slow_registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "image_builder.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/socket.hpp"

namespace warren::testing {

namespace {

void notFound(int fd, const std::string& why) {
  std::string body = R"({"errors":[{"message":")" + why + R"("}]})";
  std::string r = "HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body;
  net::sendAll(fd, r);
}

// True when the peer closed or reset the connection.
bool peerGone(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace

SlowRegistry::SlowRegistry(std::string layout, std::map<std::string, std::string> tags)
    : layout_(std::move(layout)), tags_(std::move(tags)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  ::listen(listen_fd_, 16);
  accept_ = std::thread([this] {
    while (!stop_) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      std::lock_guard<std::mutex> g(mu_);
      conns_.emplace_back([this, c] {
        serve(c);
        ::close(c);
      });
    }
  });
}

SlowRegistry::~SlowRegistry() {
  stop_ = true;
  release();
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  accept_.join();
  std::lock_guard<std::mutex> g(mu_);
  for (auto& t : conns_) t.join();
}

void SlowRegistry::stallBlobsOver(size_t min_size, size_t stall_after) {
  std::lock_guard<std::mutex> g(mu_);
  min_size_ = min_size;
  stall_after_ = stall_after;
  released_ = false;
}

void SlowRegistry::release() {
  {
    std::lock_guard<std::mutex> g(mu_);
    released_ = true;
  }
  cv_.notify_all();
}

void SlowRegistry::serve(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  // "GET /v2/<name>/<manifests|blobs>/<ref> HTTP/1.1"
  std::string line = req.substr(0, req.find("\r\n"));
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 + 1);
  if (line.rfind("GET /v2/", 0) != 0 || sp2 == std::string::npos) return notFound(fd, "unknown path");
  std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto last = path.rfind('/');
  auto kind_start = path.rfind('/', last - 1);
  std::string kind = path.substr(kind_start + 1, last - kind_start - 1);
  std::string ref = path.substr(last + 1);
  if (kind != "manifests" && kind != "blobs") return notFound(fd, "unknown path");
  std::string digest = kind == "manifests" && tags_.count(ref) ? tags_.at(ref) : ref;
  if (digest.rfind("sha256:", 0) != 0) return notFound(fd, "unknown tag");
  std::string file = images::blobPath(layout_, digest);
  if (!fs::exists(file)) return notFound(fd, "blob unknown");
  std::string type = "application/octet-stream";
  if (kind == "manifests") {
    auto body = fs::readFile(file);
    auto j = nlohmann::json::parse(body ? *body : "", nullptr, false);
    type = j.is_object() ? j.value("mediaType", "application/vnd.oci.image.manifest.v1+json")
                         : "application/vnd.oci.image.manifest.v1+json";
  }
  sendBlob(fd, file, type, digest);
}

void SlowRegistry::sendBlob(int fd, const std::string& path, const std::string& type, const std::string& digest) {
  auto body = fs::readFile(path);
  if (!body) return;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body->size()) +
                     "\r\nContent-Type: " + type + "\r\nDocker-Content-Digest: " + digest +
                     "\r\nConnection: close\r\n\r\n";
  if (!net::sendAll(fd, head)) return;
  size_t limit = body->size();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (type == "application/octet-stream" && !released_ && min_size_ > 0 && body->size() > min_size_) {
      limit = stall_after_;
    }
  }
  if (!net::sendAll(fd, std::string_view(body->data(), limit))) return;
  if (limit == body->size()) return;
  ++stalled_;
  std::unique_lock<std::mutex> g(mu_);
  while (!released_) {
    cv_.wait_for(g, std::chrono::milliseconds(20));
    if (peerGone(fd)) {
      ++aborted_;
      return;
    }
  }
  g.unlock();
  net::sendAll(fd, std::string_view(*body).substr(limit));
}

}  // namespace warren::testing
