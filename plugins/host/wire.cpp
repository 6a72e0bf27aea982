#include "host/wire.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "warren/sdk/socket.hpp"

namespace warren::plugins::wire {
namespace {

Result<void> writeAll(int fd, const char* p, size_t n) {
  if (!net::sendAll(fd, std::string_view(p, n))) return fail(Error::errnoNow("write to the plugin socket"));
  return {};
}

// false at EOF before the first byte; error on EOF mid-way or a read error.
Result<bool> readAll(int fd, char* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(Error::errnoNow("read from the plugin socket"));
    }
    if (r == 0) {
      if (got == 0) return false;
      return fail(Code::Unavailable, "the plugin socket closed in the middle of a frame");
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

Result<void> writeFrame(int fd, uint32_t type, uint64_t id, int32_t arg, const std::string& payload) {
  if (payload.size() > kMaxPayload) {
    return fail(Code::InvalidArgument, "a plugin message of " + std::to_string(payload.size()) +
                                           " bytes is over the limit of " +
                                           std::to_string(kMaxPayload));
  }
  Header h{type, static_cast<uint32_t>(payload.size()), id, arg, 0};
  std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
  buf += payload;
  return writeAll(fd, buf.data(), buf.size());
}

Result<Frame> readFrame(int fd) {
  Frame f;
  WARREN_ASSIGN_OR_RETURN(bool any, readAll(fd, reinterpret_cast<char*>(&f.h), sizeof f.h));
  if (!any) return fail(Code::Unavailable, "closed");
  if (f.h.len > kMaxPayload) {
    return fail(Code::Internal, "a plugin frame claims " + std::to_string(f.h.len) + " bytes");
  }
  f.payload.resize(f.h.len);
  if (f.h.len > 0) {
    WARREN_ASSIGN_OR_RETURN(bool full, readAll(fd, f.payload.data(), f.h.len));
    if (!full) return fail(Code::Unavailable, "the plugin socket closed in the middle of a frame");
  }
  return f;
}

}  // namespace warren::plugins::wire
