// Sending whole buffers on a stream socket, shared by warren's binaries, its
// plugins and tests: one loop instead of one per file. Both never raise
// SIGPIPE (a peer that went away is an error, not a signal) and retry EINTR;
// on false, errno says why (0 with sendAllBefore: the deadline passed).
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace warren::net {

// Blocks until every byte is sent or the socket fails.
inline bool sendAll(int fd, std::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Sends every byte before `timeout` runs out, without blocking in send()
// (a peer that stops reading cannot hold the caller past the deadline).
inline bool sendAllBefore(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + timeout;
  size_t off = 0;
  while (off < data.size()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      errno = 0;
      return false;
    }
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Sends `data` (at least one byte) with `fd` attached (SCM_RIGHTS), as one
// message; async-signal-safe (no allocation), so a forked child may use it.
inline bool sendFd(int sock, std::string_view data, int fd) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = ::sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace warren::net
